package sync

import (
	"fmt"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/handle"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// A Watch is sync.watch(initial): a value that changes over time, where
// each task keeps track of the last value it saw (through get or changed).
// changed waits until the value differs (by ==) from that one and returns
// the value current when the task resumes; setting an equal value wakes
// nobody. A task that has not looked yet has seen
// nothing, so its first changed returns the current value at once.
type Watch struct {
	object
	value   starlark.Value
	seen    seenBy
	waiters queue
}

// seenBy is what each task last saw of a Watch, with the hook that drops
// the task's record when it ends. The hooks refer to this map, not to
// the Watch, so a long task does not keep every Watch it looked at (and
// its last value) until it ends; once the Watch is collected, a cleanup
// removes them.
type seenBy map[*loop.Task]seen

// forget removes the hooks, once their Watch is collected. Loop only.
func (s seenBy) forget() {
	for _, e := range s {
		e.hook.Remove()
	}
}

type seen struct {
	v    starlark.Value
	hook *loop.EndHook
}

func newWatch(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var initial starlark.Value
	if err := starlark.UnpackArgs("sync.watch", args, kwargs, "initial", &initial); err != nil {
		return nil, loop.ValueError(err)
	}
	o, err := newObject(th, "sync.watch", "watch")
	if err != nil {
		return nil, err
	}
	wt := &Watch{object: o, value: initial, seen: seenBy{}}
	handle.WhenDropped(o.eng, wt, seenBy.forget, wt.seen)
	return wt, nil
}

func (wt *Watch) String() string      { return fmt.Sprintf("<watch#%d %s>", wt.id, wt.value.String()) }
func (wt *Watch) Type() string        { return "Watch" }
func (wt *Watch) AttrNames() []string { return watchMethods.Names() }
func (wt *Watch) WaitingOn() string   { return "change of " + wt.name() }
func (wt *Watch) Attr(name string) (starlark.Value, error) {
	return watchMethods.Bind(name, wt), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (wt *Watch) Method(name string) *starlark.Builtin { return watchMethods.Method(name) }

var (
	watchMethods = starutil.NewMethods("Watch", map[string]starutil.Func{"changed": watchChanged, "get": watchGet, "set": watchSet})
)

// see records that t has seen v; a task's record goes when it ends.
func (wt *Watch) see(t *loop.Task, v starlark.Value) {
	e, ok := wt.seen[t]
	if !ok {
		s := wt.seen
		e.hook = t.OnEnd(func() { delete(s, t) })
	}
	e.v = v
	wt.seen[t] = e
}

// isNew reports whether v differs from what t last saw.
func (wt *Watch) isNew(t *loop.Task, v starlark.Value) bool {
	old, ok := wt.seen[t]
	if !ok {
		return true
	}
	eq, err := starlark.Equal(old.v, v)
	return err != nil || !eq // values that cannot be compared count as changed
}

func watchGet(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wt := b.Receiver().(*Watch)
	x, err := wt.enter(th, b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	wt.see(x.Task, wt.value)
	return wt.value, nil
}

func watchSet(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wt := b.Receiver().(*Watch)
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v); err != nil {
		return nil, loop.ValueError(err)
	}
	if _, err := wt.exec(th, b.Name()); err != nil {
		return nil, err
	}
	wt.value = v
	// Wake exactly the waiters for whom v is new; the rest keep waiting.
	wt.waiters.Filter(func(w loop.Waker, _ int) bool {
		p := w.(*loop.Waiter)
		if wt.isNew(p.Task(), v) {
			p.Complete(0, v, nil)
			return false
		}
		return true
	})
	return starlark.None, nil
}

func watchChanged(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wt := b.Receiver().(*Watch)
	x, d, err := wt.enterTimed(th, b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	return wt.changed(th, b, x, d, wt.eng.Now()+d)
}

// changed is watch.changed() for the builtin b on th once past its
// checks: the wait until the value is new to x's task, which ends by the
// deadline if d >= 0. Woken by a set, the task returns the value current
// when it runs: values set in between are skipped (a watch is about the
// latest state), and if the value went back to the one it saw, it waits
// on.
func (wt *Watch) changed(th *starlark.Thread, b *starlark.Builtin, x *loop.Exec, d, deadline time.Duration) (starlark.Value, error) {
	if wt.isNew(x.Task, wt.value) {
		wt.see(x.Task, wt.value)
		return wt.value, nil
	}
	left := loop.NoTimeout
	if d >= 0 {
		left = max(0, deadline-wt.eng.Now())
	}
	return wt.waiters.wait(th, b, x, wt, left, b.Name(), func(_ starlark.Value, err error) (starlark.Value, error) {
		if err != nil {
			if ierr := x.Checkpoint(); ierr != nil {
				return nil, ierr // cancelled, or a timeout() scope expired
			}
			// Our own timeout: name the whole wait, not the last stretch.
			return nil, loop.Errorf(loop.KindTimeout, "%s exceeded %gs", b.Name(), d.Seconds())
		}
		return wt.changed(th, b, x, d, deadline)
	})
}
