package engine

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// AsyncFunc is the Go side of an AsyncBuiltin.
type AsyncFunc func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// AsyncBuiltin returns a builtin named name whose Go function runs on its
// own goroutine while the calling task waits; every other task keeps
// running meanwhile. (In goja, a Go function that blocks stalls every
// script; here a slow query costs only the task that asked for it.)
//
// ctx is cancelled when the calling task is cancelled or its timeout()
// expires (the task's wait then fails at once with cancelled or timeout,
// and a result the function returns later is dropped) and when the engine
// closes; fn should honour it. A returned error fails the call with a
// kind: an *Error (see Errorf) in the error's chain keeps its kind,
// context.Canceled becomes cancelled, context.DeadlineExceeded timeout,
// anything else error; the message starts with name. A panic in fn is an
// error too.
//
// Because other tasks run while fn does, fn gets copies of the mutable
// lists, dicts and sets among its arguments, and of the tuples and
// structs (starlarkstruct) that hold them (frozen values, and values of
// other types, are passed as they are: a host type must be safe to share).
// Each is copied once, so a value that contains itself, or one list
// reached twice, arrives as a copy that does the same.
// The value fn returns is handed to the script, which owns it from then on.
func AsyncBuiltin(name string, fn AsyncFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, name)
		if err != nil {
			return nil, err
		}
		var c copier
		args = c.tuple(args)
		kw := make([]starlark.Tuple, len(kwargs))
		for i, kv := range kwargs {
			kw[i] = starlark.Tuple{kv[0], c.copy(kv[1])}
		}
		c.fill()
		return x.Offload(loop.Offload{Why: asyncReason(name), Op: name, Timeout: loop.NoTimeout, Own: true,
			Work: func(ctx context.Context) (starlark.Value, error) {
				return callAsync(ctx, name, fn, args, kw)
			}})
	})
}

// callAsync runs fn on its goroutine and converts its outcome.
func callAsync(ctx context.Context, name string, fn AsyncFunc, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			ce := loop.Errorf(loop.KindError, "%s: panic: %v", name, r)
			ce.GoStack = string(debug.Stack())
			v, err = nil, ce
		}
	}()
	v, err = fn(ctx, args, kwargs)
	if err != nil {
		return nil, loop.FromGo(name, err)
	}
	if v == nil {
		v = starlark.None
	}
	return v, nil
}

type asyncReason string

func (r asyncReason) WaitingOn() string { return fmt.Sprintf("host call %s()", string(r)) }

// A copier copies the mutable containers in the values a task hands to
// another goroutine, which that task (or another) could change while the
// goroutine reads them. Each list, dict, set or tuple is copied once, by
// identity: a value that contains itself is copied as one that contains
// its copy, a value reached by many paths is copied once (following every
// path, 40 levels of a = [a, a] was 2^40 copies), and the work is a list
// of copies still to fill rather than recursion, so depth costs no Go
// stack (a cyclic list overflowed it and crashed the host). Loop only.
type copier struct {
	copies map[any]starlark.Value // by the original's identity
	todo   []func()               // fills of copies already handed out
}

// tupleID is a tuple's identity: its elements' array and length (slicing
// a tuple shares its array).
type tupleID struct {
	first *starlark.Value
	n     int
}

// copy returns v, or its copy if it may hold a mutable container; a copy
// may be filled only by the next fill.
func (c *copier) copy(v starlark.Value) starlark.Value {
	switch v := v.(type) {
	case starlark.Tuple:
		return c.tuple(v)
	case *starlark.List:
		if v.Frozen() {
			return v // and so is everything in it
		}
		if cp, ok := c.copies[v]; ok {
			return cp
		}
		elems := make([]starlark.Value, v.Len())
		cp := starlark.NewList(elems)
		c.add(v, cp, func() {
			for i := range elems {
				elems[i] = c.copy(v.Index(i))
			}
		})
		return cp
	case *starlark.Dict:
		if v.Frozen() {
			return v // and so is everything in it
		}
		if cp, ok := c.copies[v]; ok {
			return cp
		}
		cp := starlark.NewDict(v.Len())
		c.add(v, cp, func() {
			// Keys are hashable, so hold no list, dict or set.
			for _, kv := range v.Items() {
				cp.SetKey(kv[0], c.copy(kv[1]))
			}
		})
		return cp
	case *starlark.Set:
		if v.Frozen() {
			return v // and so is everything in it
		}
		if cp, ok := c.copies[v]; ok {
			return cp
		}
		cp := starlark.NewSet(v.Len())
		iter := v.Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			cp.Insert(x) // hashable: nothing to copy inside
		}
		c.add(v, cp, nil)
		return cp
	case *starlarkstruct.Struct:
		// Its fields are fixed, but a field may be a mutable container:
		// the copy has the fields' copies. A struct cannot contain itself
		// but through a container, whose filling comes later (fill), so
		// the copy is whole once made.
		if cp, ok := c.copies[v]; ok {
			return cp
		}
		fields := make(starlark.StringDict, v.Len())
		same := true
		for name, f := range v.Entries() {
			fields[name] = c.copy(f)
			same = same && fields[name] == f
		}
		if same {
			return v
		}
		cp := starlarkstruct.FromStringDict(v.Constructor(), fields)
		c.add(v, cp, nil)
		return cp
	}
	return v
}

// tuple returns t, or its copy if an element is a container.
func (c *copier) tuple(t starlark.Tuple) starlark.Tuple {
	if !holdsContainer(t) {
		return t
	}
	id := tupleID{&t[0], len(t)}
	if cp, ok := c.copies[id]; ok {
		return cp.(starlark.Tuple)
	}
	cp := make(starlark.Tuple, len(t))
	c.add(id, cp, func() {
		for i, x := range t {
			cp[i] = c.copy(x)
		}
	})
	return cp
}

func (c *copier) add(id any, cp starlark.Value, fill func()) {
	if c.copies == nil {
		c.copies = make(map[any]starlark.Value)
	}
	c.copies[id] = cp
	if fill != nil {
		c.todo = append(c.todo, fill)
	}
}

// fill fills every copy handed out, and those their filling makes.
func (c *copier) fill() {
	for len(c.todo) > 0 {
		f := c.todo[len(c.todo)-1]
		c.todo = c.todo[:len(c.todo)-1]
		f()
	}
}

// holdsContainer reports whether a tuple has an element that is a list,
// dict, set, struct or non-empty tuple.
func holdsContainer(t starlark.Tuple) bool {
	for _, x := range t {
		switch x := x.(type) {
		case *starlark.List, *starlark.Dict, *starlark.Set, *starlarkstruct.Struct:
			return true
		case starlark.Tuple:
			if len(x) > 0 {
				return true
			}
		}
	}
	return false
}
