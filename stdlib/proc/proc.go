// Package procmod is the script module `proc` (SPEC 7): run a process to
// completion (proc.run) or start one and talk to it through streaming
// pipes (proc.start). Pipes are pollable file descriptors, so a goroutine
// waiting on one holds no OS thread; completions come back to the loop
// through Engine.Post.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// waitDelay bounds how long proc.run waits for the output pipes to close
// after the child exited (a grandchild may hold them open).
const waitDelay = 2 * time.Second

// Module returns the proc module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "proc", Members: starlark.StringDict{
		"run":   starlark.NewBuiltin("proc.run", run),
		"start": starlark.NewBuiltin("proc.start", start),
	}}
}

// reason is what a task parked in a proc call waits on (TaskInfo.waiting_on).
type reason string

func (r reason) WaitingOn() string { return string(r) }

// spec is the parsed common arguments of run and start.
type spec struct {
	argv []string
	env  []string // nil: inherit
	cwd  string
	dir  string // the child's working directory as exec takes it (workDir)
}

// shown is argv as messages, str(Process) and waiting_on show it,
// clipped as every script string in a message is (loop.Clip): an argv of
// a megabyte was all of each.
func (s *spec) shown() string { return loop.Clip(strings.Join(s.argv, " ")) }

// parseSpec checks and converts argv, env and cwd, the arguments of run
// and start that go to the system: a NUL byte in any of them, a '=' in
// an environment variable's name, or an empty name, is a value error
// naming which, before the start (it was the start's io error, EINVAL,
// or the name and value split elsewhere than the script said).
func parseSpec(fn string, argv, env, cwd starlark.Value) (*spec, error) {
	s := &spec{}
	seq, ok := argv.(starlark.Indexable)
	if !ok || argv.Type() == "string" || argv.Type() == "bytes" {
		return nil, loop.Errorf(loop.KindValue, "%s: for parameter argv: got %s, want a list of strings", fn, argv.Type())
	}
	for i := 0; i < seq.Len(); i++ {
		a, ok := starlark.AsString(seq.Index(i))
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: argv[%d]: got %s, want string", fn, i, seq.Index(i).Type())
		}
		if err := loop.CheckNUL(fn, fmt.Sprintf("argv[%d]", i), a); err != nil {
			return nil, err
		}
		s.argv = append(s.argv, a)
	}
	if len(s.argv) == 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: argv is empty", fn)
	}
	// No program is no more a command than no argv: it was exec's io
	// error, ": exec: no command".
	if s.argv[0] == "" {
		return nil, loop.Errorf(loop.KindValue, "%s: argv[0], the program, is empty", fn)
	}
	if env != nil && env != starlark.None {
		items, err := starutil.StringDict(fn, "env", env)
		if err != nil {
			return nil, err
		}
		s.env = []string{}
		for _, kv := range items {
			k, v := kv[0], kv[1]
			if err := loop.CheckNUL(fn, "env name", k); err != nil {
				return nil, err
			}
			if k == "" {
				return nil, loop.Errorf(loop.KindValue, "%s: env name is empty", fn)
			}
			if strings.Contains(k, "=") {
				return nil, loop.Errorf(loop.KindValue, "%s: env name %s has a '=' (the system splits NAME=VALUE at the first)", fn, loop.Quote(k, strings.IndexByte(k, '=')))
			}
			if err := loop.CheckNUL(fn, "env["+loop.QuoteArg(k)+"]", v); err != nil {
				return nil, err
			}
			s.env = append(s.env, k+"="+v)
		}
		sort.Strings(s.env)
	}
	if cwd != nil && cwd != starlark.None {
		c, ok := starlark.AsString(cwd)
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: for parameter cwd: got %s, want string", fn, cwd.Type())
		}
		if err := loop.CheckNUL(fn, "cwd", c); err != nil {
			return nil, err
		}
		s.cwd = c
	}
	return s, nil
}

// prepare finishes the arguments of run and start: it unpacks stdin
// (None: the child reads end of input at once; a string or bytes: fed to
// it), finds the calling task and checks that the engine may run
// processes.
func prepare(th *starlark.Thread, fn string, stdin starlark.Value) (input starutil.OptionalBytes, x *loop.Exec, e *loop.Engine, err error) {
	// Unpacked here rather than by UnpackArgs, which quotes the name of
	// a parameter given by keyword ("stdin"), as every other message of
	// proc does not.
	if err := input.Unpack(stdin); err != nil {
		return input, nil, nil, loop.Errorf(loop.KindValue, "%s: for parameter stdin: %v", fn, err)
	}
	if x, err = loop.TaskOf(th, fn); err != nil {
		return input, nil, nil, err
	}
	e = x.Task.Engine()
	if err := e.CheckRun(fn); err != nil {
		return input, nil, nil, err
	}
	return input, x, e, nil
}

// command makes the exec.Cmd; with a ctx, its end (a timeout, the
// engine closing) kills the child's process group (launch).
func (s *spec) command(ctx context.Context) *exec.Cmd {
	var cmd *exec.Cmd
	if ctx != nil {
		cmd = exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	} else {
		cmd = exec.Command(s.argv[0], s.argv[1:]...)
	}
	cmd.Env = s.env
	cmd.Dir = s.dir
	if s.dir != s.cwd && s.env == nil {
		// exec would set PWD to the descriptor's name, which means
		// nothing once the child runs: leave PWD out (getcwd still works).
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PWD=") })
	}
	return cmd
}

// workDir resolves cwd as a read of it (SPEC 7). In a sandbox the folder
// is opened through its grant's root and the child changes into it by
// descriptor (/proc/self/fd/N, which the child still holds between fork
// and exec), so it starts in that very folder whatever is renamed
// meanwhile. The returned file, if any, is to be closed once the child
// started.
func (s *spec) workDir(e *loop.Engine, fn string) (*os.File, error) {
	s.dir = s.cwd
	if s.cwd == "" {
		return nil, nil
	}
	p, err := e.PlaceRead(fn, s.cwd)
	if err != nil || !p.Confined() {
		return nil, err
	}
	d, _, err := p.Dir(false)
	if err != nil {
		var ce *loop.Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		kind := loop.KindIO
		switch {
		case errors.Is(err, fs.ErrNotExist):
			kind = loop.KindNotFound
		case errors.Is(err, fs.ErrPermission):
			kind = loop.KindPermission
		}
		return nil, loop.Errorf(kind, "%s: cwd %s: %v", fn, s.cwd, unwrapExec(err))
	}
	s.dir = loop.FdPath(d)
	return d, nil
}

// cwdError is a start that failed because of the working directory,
// not the program: the child's chdir and its exec report the same errno
// (ENOENT, ENOTDIR) through the same path, so exec's error names argv[0]
// whichever of the two failed. (os.StartProcess checks Dir beforehand
// only when no SysProcAttr is set, and launch always sets one.)
type cwdError struct {
	dir string
	err error // the errno
}

func (e *cwdError) Error() string { return "cwd " + e.dir + ": " + e.err.Error() }
func (e *cwdError) Unwrap() error { return e.err }

// blameCwd tells whether a failed start (err) was the fault of the
// working directory dir, as exec took it by name (outside a sandbox: in
// one, workDir opened it already and the child changes into it by
// descriptor). It looks at dir after the fact, off the loop: if dir is
// missing or not a directory and that is the very errno the start
// failed with, the start failed on dir. A dir fixed in between only
// leaves the blame on argv[0], as before.
func blameCwd(dir string, err error) error {
	if dir == "" || !(errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR)) {
		return err
	}
	var fault error
	if fi, serr := os.Stat(dir); serr != nil {
		fault = unwrapExec(serr)
	} else if !fi.IsDir() {
		fault = syscall.ENOTDIR
	}
	if fault == nil || !errors.Is(err, fault) {
		return err
	}
	return &cwdError{dir: dir, err: fault}
}

// startError converts a failure to start a process into a coro error,
// naming the program, or the working directory if that was at fault
// (blameCwd). The kinds are those of fs and of cwd in a sandbox
// (workDir): not a directory is io.
func startError(fn string, argv0 string, err error) error {
	kind := loop.KindIO
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		kind = loop.KindNotFound
	case errors.Is(err, fs.ErrPermission):
		kind = loop.KindPermission
	}
	var ce *cwdError
	if errors.As(err, &ce) {
		return loop.Errorf(kind, "%s: %v", fn, ce)
	}
	return loop.Errorf(kind, "%s: %s: %v", fn, loop.Clip(argv0), unwrapExec(err))
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// startCmd starts cmd off the loop (fork and exec can take a while in a
// big process) through launch, and waits for that in the task of x. Once
// the start is over, the child's ends of pipes made for it (childEnds) are
// closed, and on failure so are the parent's (parentEnds). If the task is
// interrupted meanwhile, a child that did start is killed (its group).
func startCmd(x *loop.Exec, fn string, s *spec, cmd *exec.Cmd, graceful bool, childEnds, parentEnds []*os.File) (*child, error) {
	e := x.Task.Engine()
	argv0 := s.argv[0]
	byName := "" // the working directory exec changes into by name
	if s.dir == s.cwd {
		byName = s.cwd
	}
	var ch *child
	_, err := x.Offload(loop.Offload{Why: reason("start " + argv0), Op: fn, Timeout: loop.NoTimeout, Own: true,
		// Own goroutine: fork and exec are quick but a pool slot is
		// for file system calls.
		Work: func(context.Context) (starlark.Value, error) {
			var err error
			ch, err = launch(e.Context(), cmd, graceful)
			if err != nil {
				err = blameCwd(byName, err)
			}
			return nil, err
		},
		Done: func(_ starlark.Value, err error) (starlark.Value, error) {
			closeAll(childEnds)
			if err != nil {
				closeAll(parentEnds)
				return nil, startError(fn, argv0, err)
			}
			return nil, nil
		},
		Drop: func(_ starlark.Value, err error) { // abandoned
			closeAll(childEnds)
			closeAll(parentEnds)
			if ch != nil && err == nil {
				killGroup(cmd.Process, syscall.SIGKILL)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// exitCode is the child's status, or minus the signal that killed it (as
// Python's subprocess reports it).
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return ps.ExitCode()
}

func run(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var argv, timeout, env, cwd starlark.Value = nil, starlark.None, starlark.None, starlark.None
	var stdin starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "argv", &argv, "stdin?", &stdin, "timeout?", &timeout, "env?", &env, "cwd?", &cwd); err != nil {
		return nil, loop.ValueError(err)
	}
	s, err := parseSpec(b.Name(), argv, env, cwd)
	if err != nil {
		return nil, err
	}
	d, err := loop.TimeoutArg(b.Name(), timeout)
	if err != nil {
		return nil, err
	}
	input, x, e, err := prepare(th, b.Name(), stdin)
	if err != nil {
		return nil, err
	}
	dir, err := s.workDir(e, b.Name())
	if err != nil {
		return nil, err
	}
	var childEnds []*os.File
	if dir != nil {
		childEnds = append(childEnds, dir)
	}

	ctx, kill := context.WithCancel(e.Context())
	defer kill() // a timeout or cancellation kills the child's group
	cmd := s.command(ctx)
	cmd.WaitDelay = waitDelay
	if input.Set {
		cmd.Stdin = strings.NewReader(string(input.Bytes))
	}
	stdout, stderr := &capped{stop: kill}, &capped{stop: kill}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ch, err := startCmd(x, b.Name(), s, cmd, false, childEnds, nil)
	if err != nil {
		return nil, err
	}
	// Own goroutine: it waits for the child, holding no thread.
	return x.Offload(loop.Offload{Why: reason(fmt.Sprintf("proc.run %s (pid %d)", s.shown(), cmd.Process.Pid)), Op: b.Name(), Timeout: d, Own: true,
		Work: func(context.Context) (starlark.Value, error) {
			<-ch.exited
			return nil, ch.err
		},
		Done: func(_ starlark.Value, err error) (starlark.Value, error) {
			var ee *exec.ExitError
			for _, c := range []struct {
				name string
				out  *capped
			}{{"stdout", stdout}, {"stderr", stderr}} {
				if c.out.over {
					return nil, loop.Errorf(loop.KindValue, "%s: %s wrote more than %s to its %s (the most proc.run collects): read it as it comes with proc.start", b.Name(), loop.QuoteArg(s.argv[0]), stream.MaxWholeText(), c.name)
				}
			}
			if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
				return nil, loop.Errorf(loop.KindIO, "%s: %s: %v", b.Name(), s.argv[0], err)
			}
			return starlarkstruct.FromStringDict(starlark.String("result"), starlark.StringDict{
				"code":   starlark.MakeInt(exitCode(cmd.ProcessState)),
				"stdout": starlark.String(stdout.String()),
				"stderr": starlark.String(stderr.String()),
			}), nil
		}})
}

// capped collects a child's output for proc.run, at most stream.MaxWhole
// bytes (1 GiB, as one read returns): past it the child is killed (stop)
// and the run fails, where "yes" or "cat /dev/zero" grew the heap until
// the process died.
//
// The buffer is a field, not embedded: a bytes.Buffer is an
// io.ReaderFrom, which io.Copy (exec's copy of the pipe) would call
// instead of Write.
type capped struct {
	buf  bytes.Buffer
	stop func()
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > stream.MaxWhole() {
		c.over = true
		c.stop()
		return 0, errTooMuch
	}
	return c.buf.Write(p)
}

func (c *capped) String() string { return c.buf.String() }

var errTooMuch = errors.New("more output than proc.run collects")
