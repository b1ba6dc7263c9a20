package core

import (
	"fmt"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// ---- Task as a Starlark value ----

var _ Awaitable = (*Task)(nil)

func (t *Task) String() string        { return fmt.Sprintf("<task '%s' %s>", t.name, t.state) }
func (t *Task) Type() string          { return "Task" }
func (t *Task) Freeze()               {}
func (t *Task) Truth() starlark.Bool  { return true }
func (t *Task) Hash() (uint32, error) { return uint32(t.id), nil }
func (t *Task) AttrNames() []string {
	return []string{"cancel", "done", "error", "id", "name", "result", "state", "wait"}
}

func (t *Task) Attr(name string) (starlark.Value, error) {
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
		if t.err == nil {
			return starlark.None, nil
		}
		return t.err, nil
	case "result":
		if !t.Done() {
			return nil, Errorf(KindValue, "task '%s' has not finished (state %s)", t.name, t.state)
		}
		if t.err != nil {
			return nil, t.err
		}
		return t.result, nil
	case "wait":
		return starlark.NewBuiltin("wait", taskWait).BindReceiver(t), nil
	case "cancel":
		return starlark.NewBuiltin("cancel", taskCancel).BindReceiver(t), nil
	}
	return nil, nil
}

func taskWait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := MethodName(b) // task.wait, future.wait, timer.wait
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "timeout?", &timeout); err != nil {
		return nil, ValueError(err)
	}
	return waitWithTimeout(th, fn, b.Receiver().(Awaitable), timeout)
}

func waitWithTimeout(th *starlark.Thread, fn string, a Awaitable, timeout starlark.Value) (starlark.Value, error) {
	d, err := TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	x, err := TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	return x.WaitOne(a, d)
}

func taskCancel(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	reason := "cancelled"
	if err := starlark.UnpackArgs("task.cancel", args, kwargs, "reason?", &reason); err != nil {
		return nil, ValueError(err)
	}
	b.Receiver().(*Task).Cancel(reason)
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
	if err := starlark.UnpackArgs("future.set", args, kwargs, "value?", &v); err != nil {
		return nil, ValueError(err)
	}
	if !b.Receiver().(*Future).Resolve(v, nil) {
		return nil, Errorf(KindValue, "future.set: future is already done")
	}
	return starlark.None, nil
}

func futureFail(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	if err := starlark.UnpackArgs("future.fail", args, kwargs, "message", &msg); err != nil {
		return nil, ValueError(err)
	}
	e := Errorf(KindError, "%s", msg)
	e.Stack = th.CallStack()
	if !b.Receiver().(*Future).Resolve(nil, e) {
		return nil, Errorf(KindValue, "future.fail: future is already done")
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

// NewTimer returns a Timer that fires d from now.
func (e *Engine) NewTimer(d time.Duration) *Timer {
	tv := &Timer{e: e, when: e.clock.now() + d}
	tm := e.addTimer(tv.when, func() {
		tv.fired = true
		tv.waiters.Broadcast(starlark.None, nil)
	})
	tm.keep = tv.waiters.HasAccepting
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

var resultCtor = starlark.String("Result")

// NewResult returns a Result value (catch, join(settle=True)).
func NewResult(v starlark.Value, err error) starlark.Value {
	if err != nil {
		return starlarkstruct.FromStringDict(resultCtor, starlark.StringDict{
			"ok": starlark.False, "value": starlark.None, "error": ToError(err),
		})
	}
	if v == nil {
		v = starlark.None
	}
	return starlarkstruct.FromStringDict(resultCtor, starlark.StringDict{
		"ok": starlark.True, "value": v, "error": starlark.None,
	})
}
