// Package starutil holds what the batteries modules (re, hashlib, csv,
// yaml, ...) share: a method table for their values, in the form package
// syncmod uses (each method a builtin bound to its receiver, naming itself
// "type.method" in errors through core.MethodName), an argument type for
// "string or bytes", and a Pacer that lets a long walk over script values
// give the loop to other tasks.
package starutil

import (
	"fmt"
	"slices"

	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/starlark"
)

// Func is the signature of a builtin's body.
type Func = func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Methods is a type's table of script methods by name. Each body finds
// its receiver with b.Receiver() and names itself core.MethodName(b)
// ("pattern.search") in its errors.
type Methods map[string]Func

// Bind returns the method name bound to recv, or nil (no such attribute).
func (m Methods) Bind(name string, recv starlark.Value) starlark.Value {
	if fn, ok := m[name]; ok {
		return starlark.NewBuiltin(name, fn).BindReceiver(recv)
	}
	return nil
}

// Names returns the sorted names of the methods and of fields, the
// type's other attributes, for AttrNames.
func (m Methods) Names(fields ...string) []string {
	names := slices.Clone(fields)
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Bytes is an argument that may be a string or bytes, unpacked by
// starlark.UnpackArgs to its bytes (as a Go string).
type Bytes string

// Unpack implements starlark.Unpacker.
func (b *Bytes) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case starlark.String:
		*b = Bytes(v)
	case starlark.Bytes:
		*b = Bytes(v)
	default:
		return fmt.Errorf("got %s, want string or bytes", v.Type())
	}
	return nil
}

// Unpack is starlark.UnpackArgs with its error as a value error.
func Unpack(fn string, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	if err := starlark.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return core.ValueError(err)
	}
	return nil
}

// Str is Starlark's str(v): a string's own text, else its repr.
func Str(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		return string(s)
	}
	return v.String()
}

// PaceBudget is how much work (in the caller's units, about bytes) a
// Pacer lets run between two turns of the loop: about a millisecond.
const PaceBudget = 256 << 10

// A Pacer spreads a long computation that must run on the loop (a walk
// over script values, which other tasks may change, so it cannot move to
// another goroutine) over many turns: every PaceBudget units of work it
// lets every other ready task run once. The calling task stays in the
// middle of its call meanwhile. Outside a task (inside parallel) it never
// yields.
type Pacer struct {
	x    *core.Exec
	work int
}

// NewPacer returns a Pacer for the task th runs for.
func NewPacer(th *starlark.Thread) *Pacer {
	p := &Pacer{}
	if x := core.ExecOf(th); x != nil && x.Task != nil {
		p.x = x
	}
	return p
}

// Step counts n units of work and yields once the budget is spent. It
// fails with the task's interruption (cancelled, an expired timeout()).
func (p *Pacer) Step(n int) error {
	p.work += n
	if p.work < PaceBudget || p.x == nil {
		return nil
	}
	p.work = 0
	return p.x.YieldNow()
}
