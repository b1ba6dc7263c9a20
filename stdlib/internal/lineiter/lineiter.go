// Package lineiter makes the value of a lines() method (fs File, proc
// streams): a generator (SPEC 5) with a Go body that reads one line per
// step, suspending whichever task consumes it.
package lineiter

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/generator"
	"go.starlark.net/starlark"
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
