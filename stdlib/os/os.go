// Package osmod is the script module `os`: arguments, environment, exit
// and signals.
package os

import (
	"os"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// Module returns the os module for an engine with the given script arguments.
func Module(args []string) *starlarkstruct.Module {
	list := make([]starlark.Value, len(args))
	for i, a := range args {
		list[i] = starlark.String(a)
	}
	argv := starlark.NewList(list)
	argv.Freeze()
	return &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
		"args":   argv,
		"env":    starlark.NewBuiltin("os.env", env),
		"exit":   starlark.NewBuiltin("os.exit", exit),
		"signal": starlark.NewBuiltin("os.signal", osSignal),
	}}
}

func env(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
		return nil, loop.ValueError(err)
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	if err := x.Task.Engine().CheckEnv(b.Name()); err != nil {
		return nil, err
	}
	if v, ok := os.LookupEnv(name); ok {
		return starlark.String(v), nil
	}
	return def, nil
}

func exit(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	code := 0
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "code?", &code); err != nil {
		return nil, loop.ValueError(err)
	}
	if code < 0 || code > 255 {
		// A process status is one byte: 256 would silently read as 0.
		return nil, loop.Errorf(loop.KindValue, "%s: code must be in 0..255, got %d", b.Name(), code)
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return nil, x.Exit(th, code)
}
