// Package lineiter makes the value of a lines() method (fs File, proc
// streams): a generator (SPEC 5) with a Go body that reads one line per
// step, suspending whichever task consumes it.
package lineiter

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/starlark"
)

// New returns a generator over next, which returns the next line for the
// task in x ("" at the end of the stream). Each line keeps its newline, as
// read_line returns it (and as Python's file iteration does); the last one
// may lack it. th is the thread of the lines() call; name names the
// generator (and the source) in diagnostics.
func New(th *starlark.Thread, name string, next func(x *core.Exec) (starlark.Value, error)) starlark.Value {
	return generator.FromFunc(th, name, func(body *starlark.Thread, emit func(starlark.Value) error) error {
		for {
			// The consumer may change between steps: ask every time.
			x, err := core.TaskOf(body, name)
			if err != nil {
				return err
			}
			v, err := next(x)
			if err != nil {
				return err
			}
			if s, ok := v.(starlark.String); ok && s == "" {
				return nil
			}
			if err := emit(v); err != nil {
				return err
			}
		}
	})
}

// A Source reads the next line of a stream for the task of x ("" at the
// end); fn names the method the line is read for, in errors.
type Source func(x *core.Exec, fn string) (starlark.Value, error)

// Method is the signature of a builtin's body.
type Method = func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// ReadLine makes the body of a read_line() method over next: no
// arguments, the next line with its newline, "" at the end.
func ReadLine(next Source) Method {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, core.ValueError(err)
		}
		x, err := core.TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		return next(x, b.Name())
	}
}

// Lines makes the body of a lines() method over next: no arguments, a
// generator (New) named "lines of " + name.
func Lines(name string, next Source) Method {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, core.ValueError(err)
		}
		if _, err := core.TaskOf(th, b.Name()); err != nil {
			return nil, err
		}
		return New(th, "lines of "+name, func(x *core.Exec) (starlark.Value, error) {
			return next(x, b.Name())
		}), nil
	}
}
