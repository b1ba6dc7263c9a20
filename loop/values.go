package loop

import (
	"fmt"
	"runtime"
	"time"
	"weak"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// ---- Task as a Starlark value ----

// A TaskValue is a task as scripts see it. Scripts hold TaskValues and the
// loop holds *Tasks, so that the engine can tell when no script value
// refers to a task any more (report.go). Task.Value returns it.
type TaskValue struct{ t *Task }

var (
	_ Awaitable           = (*TaskValue)(nil)
	_ starlark.HasAttrs   = (*TaskValue)(nil)
	_ starlark.Comparable = (*TaskValue)(nil)
)

// Task returns the task the value stands for.
func (v *TaskValue) Task() *Task { return v.t }

func (v *TaskValue) String() string        { return v.t.String() }
func (v *TaskValue) Type() string          { return "Task" }
func (v *TaskValue) Freeze()               {}
func (v *TaskValue) OwnedByLoop()          {}
func (v *TaskValue) Truth() starlark.Bool  { return true }
func (v *TaskValue) Hash() (uint32, error) { return v.t.Hash() }

// CompareSameType compares by task, for ==: a task has one value at a
// time, but this does not depend on it.
func (v *TaskValue) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	w := y.(*TaskValue)
	switch op {
	case syntax.EQL:
		return v.t == w.t, nil
	case syntax.NEQ:
		return v.t != w.t, nil
	}
	return false, fmt.Errorf("%s %s %s not implemented", v.Type(), op, w.Type())
}

func (v *TaskValue) AttrNames() []string {
	return []string{"cancel", "done", "error", "id", "name", "result", "state", "wait"}
}

func (v *TaskValue) Attr(name string) (starlark.Value, error) {
	t := v.t
	switch name {
	case "id":
		return starlark.MakeInt64(t.id), nil
	case "name":
		return starlark.String(t.name), nil
	case "state":
		return starlark.String(t.state.String()), nil
	case "done":
		return starlark.Bool(t.Done()), nil
	case "error":
		if t.Done() {
			t.observe()
		}
		if t.err == nil {
			return starlark.None, nil
		}
		return t.err, nil
	case "result":
		if !t.Done() {
			return nil, Errorf(KindValue, "task '%s' has not finished (state %s)", t.name, t.state)
		}
		t.observe()
		if t.err != nil {
			return nil, t.err
		}
		return t.result, nil
	case "wait":
		return starlark.NewBuiltin("wait", taskWait).BindReceiver(v), nil
	case "cancel":
		return starlark.NewBuiltin("cancel", taskCancel).BindReceiver(v), nil
	}
	return nil, nil
}

// The value waits as its task does; waits unwrap it first (Unwrap), so
// that what a task waits on, for diagnostics, is the task.
func (v *TaskValue) Poll(t *Task) (starlark.Value, error, bool) { return v.t.Poll(t) }
func (v *TaskValue) Enqueue(w Waker, index int)                 { v.t.Enqueue(w, index) }
func (v *TaskValue) Dequeue(w Waker)                            { v.t.Dequeue(w) }
func (v *TaskValue) WaitingOn() string                          { return v.t.WaitingOn() }

// Unwrap returns the *Task behind a script's Task value, and any other
// awaitable as it is.
func Unwrap(a Awaitable) Awaitable {
	if v, ok := a.(*TaskValue); ok {
		return v.t
	}
	return a
}

// A *Task is an Awaitable for the loop's own use (join's and race's
// callables, what a task waits on); scripts get its TaskValue.
var _ Awaitable = (*Task)(nil)

func (t *Task) String() string        { return fmt.Sprintf("<task '%s' %s>", t.name, t.state) }
func (t *Task) Type() string          { return "Task" }
func (t *Task) Freeze()               {}
func (t *Task) OwnedByLoop()          {}
func (t *Task) Truth() starlark.Bool  { return true }
func (t *Task) Hash() (uint32, error) { return uint32(t.id), nil }

// A *Task handed to scripts by Go code (a builtin returning the result of
// Engine.Spawn) still works as a Task, but give scripts t.Value(): only a
// TaskValue keeps the task observable, so that its failure waits for its
// report until scripts let go of it.
func (t *Task) AttrNames() []string                      { return t.Value().AttrNames() }
func (t *Task) Attr(name string) (starlark.Value, error) { return t.Value().Attr(name) }

func taskWait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := MethodName(b) // Task.wait, Future.wait, Timer.wait
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "timeout?", &timeout); err != nil {
		return nil, ValueError(err)
	}
	return waitWithTimeout(th, b, fn, b.Receiver().(Awaitable), timeout)
}

// waitWithTimeout is the wait of the builtin b (wait, Task.wait, ...).
func waitWithTimeout(th *starlark.Thread, b *starlark.Builtin, fn string, a Awaitable, timeout starlark.Value) (starlark.Value, error) {
	d, err := TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	return x.WaitOneIn(th, b, Unwrap(a), d)
}

func taskCancel(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	reason := "cancelled"
	if err := starlark.UnpackArgs("Task.cancel", args, kwargs, "reason?", &reason); err != nil {
		return nil, ValueError(err)
	}
	b.Receiver().(*TaskValue).t.Cancel(reason)
	return starlark.None, nil
}

// ---- Future ----

// A Future is a value to be set later (future()).
type Future struct {
	set     bool
	value   starlark.Value
	err     error
	waiters WakerList
}

var _ Awaitable = (*Future)(nil)

func (f *Future) String() string {
	if f.set {
		return "<future done>"
	}
	return "<future pending>"
}
func (f *Future) Type() string          { return "Future" }
func (f *Future) Freeze()               {}
func (f *Future) OwnedByLoop()          {}
func (f *Future) Truth() starlark.Bool  { return true }
func (f *Future) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Future") }
func (f *Future) AttrNames() []string   { return []string{"done", "fail", "set", "wait"} }
func (f *Future) Attr(name string) (starlark.Value, error) {
	switch name {
	case "done":
		return starlark.Bool(f.set), nil
	case "set":
		return starlark.NewBuiltin("set", futureSet).BindReceiver(f), nil
	case "fail":
		return starlark.NewBuiltin("fail", futureFail).BindReceiver(f), nil
	case "wait":
		return starlark.NewBuiltin("wait", taskWait).BindReceiver(f), nil
	}
	return nil, nil
}

// Resolve sets the future's outcome; false if it was already set.
func (f *Future) Resolve(v starlark.Value, err error) bool {
	if f.set {
		return false
	}
	f.set, f.value, f.err = true, v, err
	f.waiters.Broadcast(v, err)
	return true
}

func futureSet(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value = starlark.None
	if err := starlark.UnpackArgs("Future.set", args, kwargs, "value?", &v); err != nil {
		return nil, ValueError(err)
	}
	if !b.Receiver().(*Future).Resolve(v, nil) {
		return nil, Errorf(KindValue, "Future.set: future is already done")
	}
	return starlark.None, nil
}

func futureFail(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	if err := starlark.UnpackArgs("Future.fail", args, kwargs, "message", &msg); err != nil {
		return nil, ValueError(err)
	}
	e := Errorf(KindError, "%s", msg)
	e.Stack = th.CallStack()
	if !b.Receiver().(*Future).Resolve(nil, e) {
		return nil, Errorf(KindValue, "Future.fail: future is already done")
	}
	return starlark.None, nil
}

func (f *Future) Poll(*Task) (starlark.Value, error, bool) {
	if f.set {
		return f.value, f.err, true
	}
	return nil, nil, false
}
func (f *Future) Enqueue(w Waker, index int) { f.waiters.Add(w, index) }
func (f *Future) Dequeue(w Waker)            { f.waiters.Remove(w) }
func (f *Future) WaitingOn() string          { return "wait future" }

// ---- Timer (after) ----

// A Timer becomes ready at a point in time and stays ready (after()).
type Timer struct {
	e       *Engine
	when    time.Duration
	fired   bool
	waiters WakerList
}

var _ Awaitable = (*Timer)(nil)

// NewTimer returns a Timer that fires d from now. The loop's heap refers
// to it weakly: a Timer no value refers to any more (the after() of a
// select that returned through another case) is collected, and its heap
// entry removed (dropWhenGone). One that is referenced, or that a task
// waits on (the wait refers to it), fires and stays ready.
func (e *Engine) NewTimer(d time.Duration) *Timer {
	tv := &Timer{e: e, when: e.clock.now() + d}
	wp := weak.Make(tv)
	var tm *timer
	var cleanup runtime.Cleanup
	tm = e.addTimer(tv.when, func() {
		cleanup.Stop()
		if tv := wp.Value(); tv != nil {
			tv.fired = true
			tv.waiters.Broadcast(starlark.None, nil)
		}
	})
	tm.keep = func() bool {
		tv := wp.Value()
		return tv != nil && tv.waiters.HasAccepting()
	}
	if tm.index >= 0 { // not past the end of the virtual clock (pushTimer)
		cleanup = dropWhenGone(e, tv, &tm)
	}
	return tv
}

func (tv *Timer) String() string {
	if tv.fired {
		return "<timer fired>"
	}
	return fmt.Sprintf("<timer +%.2fs>", (tv.when - tv.e.clock.now()).Seconds())
}
func (tv *Timer) Type() string          { return "Timer" }
func (tv *Timer) Freeze()               {}
func (tv *Timer) OwnedByLoop()          {}
func (tv *Timer) Truth() starlark.Bool  { return true }
func (tv *Timer) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Timer") }
func (tv *Timer) AttrNames() []string   { return []string{"done", "wait"} }
func (tv *Timer) Attr(name string) (starlark.Value, error) {
	switch name {
	case "done":
		return starlark.Bool(tv.fired), nil
	case "wait":
		return starlark.NewBuiltin("wait", taskWait).BindReceiver(tv), nil
	}
	return nil, nil
}
func (tv *Timer) Poll(*Task) (starlark.Value, error, bool) {
	if tv.fired {
		return starlark.None, nil, true
	}
	return nil, nil, false
}
func (tv *Timer) Enqueue(w Waker, index int) { tv.waiters.Add(w, index) }
func (tv *Timer) Dequeue(w Waker)            { tv.waiters.Remove(w) }
func (tv *Timer) WaitingOn() string {
	return fmt.Sprintf("timer until +%.2fs", (tv.when - tv.e.clock.now()).Seconds())
}

// ---- Result ----

// A Result is the outcome of a call as a value (catch, join(settle=True)):
// .ok, .value, .error. It is a type of its own, as Task and Error are:
// as a struct, type(r) said "struct" and a missing attribute's error
// "\"Result\" struct has no .status attribute".
type Result struct {
	value starlark.Value // None when the call failed
	err   starlark.Value // an *Error, or None when it returned
}

var (
	_ starlark.HasAttrs       = (*Result)(nil)
	_ starlark.ComparableWith = (*Result)(nil)
)

// NewResult returns a Result value (catch, join(settle=True)).
func NewResult(v starlark.Value, err error) starlark.Value {
	if err != nil {
		return &Result{value: starlark.None, err: ToError(err)}
	}
	if v == nil {
		v = starlark.None
	}
	return &Result{value: v, err: starlark.None}
}

func (r *Result) ok() starlark.Bool { return r.err == starlark.None }

// String writes the fields in the order of AttrNames, as a struct did.
func (r *Result) String() string {
	return fmt.Sprintf("Result(error = %s, ok = %s, value = %s)", r.err, r.ok(), r.value)
}
func (r *Result) Type() string         { return "Result" }
func (r *Result) Freeze()              { r.value.Freeze() }
func (r *Result) Truth() starlark.Bool { return true }
func (r *Result) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: Result")
}

// CompareSameType makes == compare outcomes, as it did of the struct:
// the same ok, equal values, the same error.
func (r *Result) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return r.CompareSameTypeWith(new(starlark.Comparer), op, y, depth)
}

// CompareSameTypeWith compares the values with c, the comparison's
// (starlark.ComparableWith): it charges the thread, so that comparing
// large values stops at a cancellation and ends time slices.
func (r *Result) CompareSameTypeWith(c *starlark.Comparer, op syntax.Token, y starlark.Value, depth int) (bool, error) {
	o := y.(*Result)
	var eq bool
	switch {
	case op != syntax.EQL && op != syntax.NEQ:
		return false, fmt.Errorf("%s %s %s not implemented", r.Type(), op, y.Type())
	case r.err != starlark.None || o.err != starlark.None:
		eq = r.err == o.err
	default:
		var err error
		if eq, err = c.Compare(syntax.EQL, r.value, o.value, depth-1); err != nil {
			return false, err
		}
	}
	return eq == (op == syntax.EQL), nil
}

func (r *Result) AttrNames() []string { return []string{"error", "ok", "value"} }
func (r *Result) Attr(name string) (starlark.Value, error) {
	switch name {
	case "ok":
		return r.ok(), nil
	case "value":
		return r.value, nil
	case "error":
		return r.err, nil
	}
	return nil, nil // "Result has no .name field or method"
}
