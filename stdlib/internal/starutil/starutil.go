// Package starutil holds what the script modules share: the one way to
// declare a value's methods (Methods: each a builtin named "Type.method",
// so every message of a method names it so), the one check of a "string
// or bytes" argument (Bytes, OptionalBytes) and of a dict of strings
// (StringDict), and a Pacer that lets a long
// walk over script values give the loop to other tasks.
package starutil

import (
	"fmt"
	"slices"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// Func is the signature of a builtin's body.
type Func = func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Methods is a value type's table of script methods. Each method is a
// builtin named "Type.method", Type as the value's Type() reports it (as
// type(x) shows it to scripts): a body finds its receiver with
// b.Receiver() and names itself b.Name() in argument errors, in its own
// messages and as the operation of its waits, so every message of a
// method reads "Conn.read: ...", "Lock.acquire exceeded 1s".
type Methods struct {
	byName map[string]*starlark.Builtin
	funcs  map[string]Func
	names  []string // sorted: a Bound keeps a method at its name's position
}

// NewMethods makes the table of type typ from the bodies of its methods
// by name; several maps (a shared set, such as package stream's, and the
// type's own) are merged.
func NewMethods(typ string, funcs ...map[string]Func) *Methods {
	m := &Methods{byName: map[string]*starlark.Builtin{}, funcs: map[string]Func{}}
	for _, fs := range funcs {
		for name, fn := range fs {
			m.funcs[name] = fn
			// Made once here: binding one to a receiver (Bind) is then
			// the only allocation of a method lookup.
			m.byName[name] = starlark.NewBuiltin(typ+"."+name, fn)
		}
	}
	for name := range m.byName {
		m.names = append(m.names, name)
	}
	slices.Sort(m.names)
	return m
}

// Stackful marks the named methods as builtins that call back into
// Starlark (starlark.Builtin.Stackful: a generator body that calls one
// moves to a goroutine of its own first). It returns m.
func (m *Methods) Stackful(names ...string) *Methods {
	for _, name := range names {
		m.byName[name].Stackful()
	}
	return m
}

// BorrowsArgs marks the named methods as builtins that keep no reference
// to their arguments' slice (starlark.Builtin.BorrowsArgs): a call then
// passes them in place, not a copy, an allocation fewer. A method that
// may wait unwound (loop.Retrying keeps its arguments for the retry)
// must not be marked. It returns m.
func (m *Methods) BorrowsArgs(names ...string) *Methods {
	for _, name := range names {
		m.byName[name].BorrowsArgs()
	}
	return m
}

// Method returns the method name, unbound, or nil: what a type's
// starlark.HasMethods Method returns, so that a call recv.name(...) runs
// it without binding it (the interpreter binds it for the call).
func (m *Methods) Method(name string) *starlark.Builtin { return m.byName[name] }

// Bind returns the method name bound to recv, or nil (no such attribute:
// what Attr returns for a name it does not know).
func (m *Methods) Bind(name string, recv starlark.Value) starlark.Value {
	if b, ok := m.byName[name]; ok {
		return b.BindReceiver(recv)
	}
	return nil
}

// A Bound keeps one value's bound methods, each made on its first use
// (Methods.BindOnce): a method called in a loop (data = conn.read()) is
// then bound once rather than on every call, an allocation each, and
// x.m is x.m. It is for values that one engine's loop alone uses, such
// as its connections; a value frozen and shared between threads must
// not have one.
type Bound struct{ methods []*starlark.Builtin }

// BindOnce is Bind keeping the bound method in c, for the next lookup.
func (m *Methods) BindOnce(name string, recv starlark.Value, c *Bound) starlark.Value {
	i, ok := slices.BinarySearch(m.names, name)
	if !ok {
		return nil
	}
	if c.methods == nil {
		c.methods = make([]*starlark.Builtin, len(m.names))
	}
	if c.methods[i] == nil {
		c.methods[i] = m.byName[name].BindReceiver(recv)
	}
	return c.methods[i]
}

// Func returns the body of method name, or nil (for a module function
// that shares a method's body, as re.search and Pattern.search do).
func (m *Methods) Func(name string) Func {
	return m.funcs[name]
}

// Has reports whether the type has a method name.
func (m *Methods) Has(name string) bool {
	_, ok := m.byName[name]
	return ok
}

// Names returns the sorted names of the methods and of fields, the
// type's other attributes, for AttrNames.
func (m *Methods) Names(fields ...string) []string {
	names := append(slices.Clone(fields), m.names...)
	slices.Sort(names)
	return names
}

// Bytes is an argument that may be a string or bytes, unpacked by
// starlark.UnpackArgs to its bytes (as a Go string): what every write and
// every codec takes (SPEC 7: "writes take strings or bytes"). This is the
// one place that check is made.
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

// OptionalBytes is a Bytes argument that may also be None (Set false).
type OptionalBytes struct {
	Bytes
	Set bool
}

// Unpack implements starlark.Unpacker.
func (b *OptionalBytes) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*b = OptionalBytes{}
		return nil
	}
	b.Set = true
	return b.Bytes.Unpack(v)
}

// Unpack is starlark.UnpackArgs with its error as a value error.
func Unpack(fn string, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	if err := starlark.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return loop.ValueError(err)
	}
	return nil
}

// StringDict unpacks v, the dict argument param of fn whose keys and
// values are all strings (proc's env, http's and nats's headers), in the
// dict's order. A bad entry is a value error that names its key as the
// script wrote it, the same way for each: `env["PORT"]: got int, want
// string`; it said only which types ("env: got string: int, want
// string: string"), leaving the script to find the key.
func StringDict(fn, param string, v starlark.Value) ([][2]string, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "%s: for parameter %s: got %s, want dict", fn, param, v.Type())
	}
	items := d.Items()
	out := make([][2]string, len(items))
	for i, it := range items {
		k, ok := starlark.AsString(it[0])
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: %s: got a key of type %s, want string", fn, param, it[0].Type())
		}
		val, ok := starlark.AsString(it[1])
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: %s[%s]: got %s, want string", fn, param, loop.QuoteArg(k), it[1].Type())
		}
		out[i] = [2]string{k, val}
	}
	return out, nil
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
	x    *loop.Exec
	work int
}

// NewPacer returns a Pacer for the task th runs for.
func NewPacer(th *starlark.Thread) *Pacer {
	p := PacerOf(loop.ExecOf(th))
	return &p
}

// PacerOf returns a Pacer for the task of x (nil, or no task: one that
// never yields), for code that has the execution context at hand.
func PacerOf(x *loop.Exec) Pacer {
	if x != nil && x.Task != nil {
		return Pacer{x: x}
	}
	return Pacer{}
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
