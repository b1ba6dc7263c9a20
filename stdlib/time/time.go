// Package timemod is the script module `time`: the interpreter's time
// module, with now() and monotonic() reading the engine's clock (so they
// follow the virtual clock).
package time

import (
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	starlarktime "github.com/corolang/coro/starlark/lib/time"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// Module returns the time module.
func Module() *starlarkstruct.Module {
	// Every failure of the interpreter's time functions is bad input.
	members := loop.ValueModule("time", starlarktime.Module.Members)
	members["now"] = starlark.NewBuiltin("time.now", now)
	members["monotonic"] = starlark.NewBuiltin("time.monotonic", monotonic)
	return &starlarkstruct.Module{Name: "time", Members: members}
}

func engineOf(th *starlark.Thread, fn string) (*loop.Engine, error) {
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	return x.Task.Engine(), nil
}

func now(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	e, err := engineOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return starlarktime.Time(e.Wall()), nil
}

func monotonic(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	e, err := engineOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	return starlark.Float(e.Now().Seconds()), nil
}
