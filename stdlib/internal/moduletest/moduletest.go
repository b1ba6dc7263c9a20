// Package moduletest runs scripts against one stdlib module in-process, for
// the modules' own tests: they cannot use package engine (or scripttest,
// which builds on it), because engine imports every module.
package moduletest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// Run executes src on a fresh engine whose scripts see the core builtins
// and module as name, with perms, and returns what it printed. Only stdout
// is returned: stderr may carry the loop's stall warnings on a loaded
// machine.
func Run(t testing.TB, perms loop.Permissions, name string, module starlark.Value, src string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := loop.Builtins()
	d[name] = module
	e := loop.New(loop.Options{Stdout: &out, Stderr: &errOut, Permissions: perms}, d)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", src)
	return out.String(), err
}

// RunWith is Run with the engine options and predeclared names (beside
// the core builtins) given: several modules, Unwound.
func RunWith(t testing.TB, opts loop.Options, pre starlark.StringDict, src string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := loop.Builtins()
	for k, v := range pre {
		d[k] = v
	}
	opts.Stdout, opts.Stderr = &out, &errOut
	e := loop.New(opts, d)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", src)
	return out.String(), err
}

// Unwound is unwound(tasks) for tests: for each task of the list, whether
// it waits unwound, without a goroutine (loop.Task.Unwound).
var Unwound = starlark.NewBuiltin("unwound", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tasks *starlark.List
	if err := starlark.UnpackArgs("unwound", args, kwargs, "tasks", &tasks); err != nil {
		return nil, err
	}
	var out []starlark.Value
	for v := range tasks.Elements() {
		tv, ok := v.(*loop.TaskValue)
		if !ok {
			return nil, fmt.Errorf("unwound: got %s, want Task", v.Type())
		}
		out = append(out, starlark.Bool(tv.Task().Unwound()))
	}
	return starlark.NewList(out), nil
})

// GC is gc() for tests: a garbage collection, after which what a script
// dropped is unreachable and its cleanups (closing a dropped socket, say)
// are under way. They end on goroutines of the runtime and may post to
// the loop: a script sleeps a moment before it looks.
var GC = starlark.NewBuiltin("gc", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	runtime.GC()
	return starlark.None, nil
})

// OpenFDs is open_fds() for tests: how many file descriptors the process
// has open (on Linux: the entries of /proc/self/fd).
var OpenFDs = starlark.NewBuiltin("open_fds", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt(len(fds)), nil
})

// EndHooks is end_hooks() for tests: how many functions wait for the
// calling task's end (loop.Task.OnEnd), so that a test can see a value
// closed before it leave none behind.
var EndHooks = starlark.NewBuiltin("end_hooks", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt(x.Task.EndHooks()), nil
})

// Serve runs src, a server, on a fresh engine with network permission,
// module as name and a builtin ready(addr) that src calls once it
// listens; it returns that address and the function that stops the
// server and waits for the run to end. For benchmarks that drive a
// script's server from a Go client.
func Serve(t testing.TB, name string, module starlark.Value, src string) (addr string, stop func()) {
	t.Helper()
	addrs := make(chan string, 1)
	d := loop.Builtins()
	d[name] = module
	d["ready"] = starlark.NewBuiltin("ready", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var a string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "addr", &a); err != nil {
			return nil, err
		}
		addrs <- a
		return starlark.None, nil
	})
	var errOut bytes.Buffer
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: &errOut, Permissions: loop.Permissions{Net: true}}, d)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Exec(ctx, "server.star", src)
		done <- err
	}()
	select {
	case addr = <-addrs:
	case err := <-done:
		e.Close()
		t.Fatalf("the server ended before it was ready: %v\n%s", err, errOut.String())
	}
	return addr, func() {
		cancel()
		<-done
		e.Close()
	}
}
