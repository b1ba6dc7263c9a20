package loop

import (
	"fmt"
	"slices"

	"github.com/corolang/coro/starlark"
)

// selectReason describes a task parked in select: "select on 3 cases".
type selectReason int

func (r selectReason) WaitingOn() string { return fmt.Sprintf("select on %d cases", int(r)) }

// Select waits until one of cases can proceed and performs exactly that
// one (SPEC 3). It returns the case's index and value; with dflt and no
// case ready now, (-1, None) at once.
//
// Exactly-one rests on two things. Polling performs an operation only when
// it can complete, and polling stops at the first that does. While parked,
// every case is registered with one Waiter, and sources ask Accepts before
// they act (take a value, deliver one), so the first completion makes every
// other registration inert; they are removed afterwards.
//
// Fairness: cases are polled in a uniformly random order (e.Rand, so
// --seed replays it), and the first ready case of a uniformly random order
// is a uniformly random ready case. biased polls in argument order.
func (x *Exec) Select(cases []Awaitable, dflt, biased bool) (int, starlark.Value, error) {
	i, v, err, w := x.firstStart(cases, dflt, biased)
	if w == nil {
		return i, v, err
	}
	x.Park(w, selectReason(len(cases)), NoTimeout, "select")
	return firstEnd(cases, w)
}

// firstStart begins waiting for the first of cases that can complete
// (select, race): it performs one that can now and returns its index and
// outcome (w nil); with dflt and none ready, -1 and None (w nil); an
// interruption is index -1 and its error (w nil). Otherwise every case is
// registered with w, for the caller to park on and end with firstEnd.
func (x *Exec) firstStart(cases []Awaitable, dflt, biased bool) (int, starlark.Value, error, *Waiter) {
	t := x.Task
	if err := t.interruption(); err != nil {
		return -1, nil, err, nil
	}
	n := len(cases)
	var obuf [16]int
	var order []int
	if n <= len(obuf) {
		order = obuf[:n]
	} else {
		order = make([]int, n)
	}
	for i := range order {
		order[i] = i
	}
	if !biased {
		r := t.eng.Rand
		for i := n - 1; i > 0; i-- {
			j := r.IntN(i + 1)
			order[i], order[j] = order[j], order[i]
		}
	}
	for _, i := range order {
		if v, err, ok := cases[i].Poll(t); ok {
			return i, noneIfNil(v), err, nil
		}
	}
	if dflt {
		return -1, starlark.None, nil, nil
	}
	w := NewWaiter(t)
	for i, a := range cases {
		a.Enqueue(w, i)
	}
	return 0, nil, nil, w
}

// firstEnd ends the wait firstStart began: the case that completed, or
// index -1 and the error of an interruption or timeout.
func firstEnd(cases []Awaitable, w *Waiter) (int, starlark.Value, error) {
	for _, a := range cases {
		a.Dequeue(w)
	}
	return int(w.Index), noneIfNil(w.Value), w.Err
}

func noneIfNil(v starlark.Value) starlark.Value {
	if v == nil {
		return starlark.None
	}
	return v
}

// selectOptions unpacks select's keyword arguments (apart from the hot
// path, so that the flags' addresses do not make them escape there).
func selectOptions(kwargs []starlark.Tuple) (dflt, biased bool, err error) {
	if err := starlark.UnpackArgs("select", nil, kwargs, "default?", &dflt, "biased?", &biased); err != nil {
		return false, false, ValueError(err)
	}
	return dflt, biased, nil
}

// builtinSelect is select(*cases, default=False, biased=False).
func builtinSelect(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dflt, biased bool
	if len(kwargs) > 0 {
		var err error
		if dflt, biased, err = selectOptions(kwargs); err != nil {
			return nil, err
		}
	}
	if len(args) == 0 && !dflt {
		return nil, Errorf(KindValue, "select: needs at least one case (or default=True)")
	}
	var cbuf [16]Awaitable
	var cases []Awaitable
	if len(args) <= len(cbuf) {
		cases = cbuf[:len(args)]
	} else {
		cases = make([]Awaitable, len(args))
	}
	for i, v := range args {
		a, ok := v.(Awaitable)
		if !ok {
			return nil, Errorf(KindValue, "select: case %d: got %s, want a channel, channel op, Timer, Task, Future or event.wait_op()", i+1, v.Type())
		}
		cases[i] = Unwrap(a)
	}
	x, err := TaskOf(th, "select")
	if err != nil {
		return nil, err
	}
	if err := x.checkSelfWait("select", "case", args); err != nil {
		return nil, err
	}
	i, v, err, w := x.firstStart(cases, dflt, biased)
	if w == nil {
		return selectResult(i, v, err)
	}
	parked := slices.Clone(cases) // cases may live on this frame's stack
	return x.ParkThen(th, b, w, selectReason(len(parked)), NoTimeout, "select", func(*Waiter, Reason) (starlark.Value, error) {
		return selectResult(firstEnd(parked, w))
	})
}

// selectResult is select's (index, value), or its error.
func selectResult(i int, v starlark.Value, err error) (starlark.Value, error) {
	if err != nil {
		return nil, err
	}
	return starlark.Tuple{starlark.MakeInt(i), v}, nil
}
