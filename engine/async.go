package engine

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
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
// lists, dicts and sets among its arguments (frozen values, and values of
// other types, are passed as they are: a host type must be safe to share).
// The value fn returns is handed to the script, which owns it from then on.
func AsyncBuiltin(name string, fn AsyncFunc) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, name)
		if err != nil {
			return nil, err
		}
		args = detachTuple(args)
		kw := make([]starlark.Tuple, len(kwargs))
		for i, kv := range kwargs {
			kw[i] = starlark.Tuple{kv[0], detach(kv[1])}
		}
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

// detach copies the mutable containers in v that a task could change while
// another goroutine reads them. Loop only.
func detach(v starlark.Value) starlark.Value {
	switch v := v.(type) {
	case starlark.Tuple:
		return detachTuple(v)
	case *starlark.List:
		elems := make([]starlark.Value, v.Len())
		for i := range elems {
			elems[i] = detach(v.Index(i))
		}
		return starlark.NewList(elems)
	case *starlark.Dict:
		d := starlark.NewDict(v.Len())
		for _, kv := range v.Items() {
			d.SetKey(detach(kv[0]), detach(kv[1]))
		}
		return d
	case *starlark.Set:
		s := starlark.NewSet(v.Len())
		iter := v.Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			s.Insert(x)
		}
		return s
	}
	return v
}

func detachTuple(t starlark.Tuple) starlark.Tuple {
	if !mutableInside(t) {
		return t
	}
	out := make(starlark.Tuple, len(t))
	for i, x := range t {
		out[i] = detach(x)
	}
	return out
}

// mutableInside reports whether a tuple holds a list, dict or set.
func mutableInside(t starlark.Tuple) bool {
	for _, x := range t {
		switch x := x.(type) {
		case *starlark.List, *starlark.Dict, *starlark.Set:
			return true
		case starlark.Tuple:
			if mutableInside(x) {
				return true
			}
		}
	}
	return false
}
