// Package syncmod is the script module `sync` (SPEC 6): lock, semaphore,
// event, wait_group, broadcast and watch. Every object belongs to the
// engine whose task made it and is touched only on that engine's loop;
// waits use the core primitives (Exec.Park, Waiter), so they honour
// cancellation, timeout() scopes and deadlock detection like any other.
package sync

import (
	"fmt"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// Module returns the sync module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "sync", Members: starlark.StringDict{
		"lock":       starlark.NewBuiltin("sync.lock", newLock),
		"semaphore":  starlark.NewBuiltin("sync.semaphore", newSemaphore),
		"event":      starlark.NewBuiltin("sync.event", newEvent),
		"wait_group": starlark.NewBuiltin("sync.wait_group", newWaitGroup),
		"broadcast":  starlark.NewBuiltin("sync.broadcast", newBroadcast),
		"watch":      starlark.NewBuiltin("sync.watch", newWatch),
	}}
}

// object is what every sync value shares: its engine and its number there
// (lock#2), which diagnostics show.
type object struct {
	eng  *loop.Engine
	id   int
	kind string
}

func newObject(th *starlark.Thread, fn, kind string) (object, error) {
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return object{}, err
	}
	e := x.Task.Engine()
	return object{eng: e, id: e.NextID(kind), kind: kind}, nil
}

func (o *object) name() string { return fmt.Sprintf("%s#%d", o.kind, o.id) }

// exec returns the calling task's context, which must run on o's engine:
// the object's state belongs to one loop.
func (o *object) exec(th *starlark.Thread, fn string) (*loop.Exec, error) {
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if x.Task.Engine() != o.eng {
		return nil, loop.Errorf(loop.KindValue, "%s: %s belongs to another engine", fn, o.name())
	}
	return x, nil
}

func (o *object) Freeze()               {}
func (o *object) OwnedByLoop()          {}
func (o *object) Truth() starlark.Bool  { return true }
func (o *object) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", o.kind) }

// queue is a FIFO of tasks waiting on a lock, semaphore or watch, each
// as its waiter (loop.Waiter.Task): those hand the thing waited for to a
// particular task. It is a loop.WakerList, whose waiters are removed in
// O(1) when their wait ends otherwise (a timeout, a cancellation).
type queue struct{ loop.WakerList }

// pop removes and returns the first waiter that still accepts (one that
// timed out or was cancelled no longer does).
func (q *queue) pop() (*loop.Waiter, bool) {
	w, _, ok := q.PopAccepting()
	if !ok {
		return nil, false
	}
	return w.(*loop.Waiter), true
}

// wait parks x's task in q until an entry is completed for it, the timeout
// passes or the task is interrupted, and returns then's result for that
// outcome. It is the wait of the builtin b running on th, which returns
// its result: the task waits unwound where it can (loop.Exec.ParkThen);
// b nil parks in place.
func (q *queue) wait(th *starlark.Thread, b *starlark.Builtin, x *loop.Exec, why loop.Reason, timeout time.Duration, op string, then func(starlark.Value, error) (starlark.Value, error)) (starlark.Value, error) {
	w := loop.NewWaiter(x.Task)
	q.Add(w, 0)
	return x.ParkThen(th, b, w, why, timeout, op, func(*loop.Waiter, loop.Reason) (starlark.Value, error) {
		if w.Err != nil {
			q.Remove(w)
		}
		return then(w.Result())
	})
}

func timeoutKwarg(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (time.Duration, error) {
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "timeout?", &timeout); err != nil {
		return 0, loop.ValueError(err)
	}
	return loop.TimeoutArg(fn, timeout)
}

func noArgs(fn string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return loop.ValueError(err)
	}
	return nil
}

// enter begins a method that takes no arguments: it checks there are
// none and that the caller runs on o's engine, and returns its context.
func (o *object) enter(th *starlark.Thread, fn string, args starlark.Tuple, kwargs []starlark.Tuple) (*loop.Exec, error) {
	if err := noArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	return o.exec(th, fn)
}

// enterTimed begins a method that may wait and takes only timeout=None:
// the caller's context on o's engine and the timeout.
func (o *object) enterTimed(th *starlark.Thread, fn string, args starlark.Tuple, kwargs []starlark.Tuple) (*loop.Exec, time.Duration, error) {
	d, err := timeoutKwarg(fn, args, kwargs)
	if err != nil {
		return nil, 0, err
	}
	x, err := o.exec(th, fn)
	return x, d, err
}

// permits is what lock and semaphore share: a count of free permits and
// the tasks queued for one, first come, first served. release hands a
// permit straight to the first waiter, so a task that releases and at
// once acquires again cannot barge ahead of it.
type permits struct {
	free    int
	waiters queue
}

// acquire takes a permit for x's task, waiting up to timeout, for the
// builtin b on th (nil: in place, see queue.wait); it returns None. taken,
// if not nil, is called with the task that gets the permit, before that
// task resumes.
func (p *permits) acquire(th *starlark.Thread, b *starlark.Builtin, x *loop.Exec, fn string, why loop.Reason, timeout time.Duration, taken func(*loop.Task)) (starlark.Value, error) {
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	if p.free > 0 {
		p.free--
		if taken != nil {
			taken(x.Task)
		}
		return starlark.None, nil
	}
	return p.waiters.wait(th, b, x, why, timeout, fn, acquired) // on success release handed us the permit
}

// acquired is acquire's outcome once it waited: None, or the error.
func acquired(_ starlark.Value, err error) (starlark.Value, error) {
	if err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// release hands a permit to the first waiter, or frees it. taken, if not
// nil, is called with the task that gets it, or with nil.
func (p *permits) release(taken func(*loop.Task)) {
	if w, ok := p.waiters.pop(); ok {
		if taken != nil {
			taken(w.Task())
		}
		w.Complete(0, starlark.None, nil)
		return
	}
	p.free++
	if taken != nil {
		taken(nil)
	}
}

// holder is what lock and semaphore share for acquire, release and hold.
type holder interface {
	starlark.Value
	exec(th *starlark.Thread, fn string) (*loop.Exec, error)
	// acquire is acquire() for the builtin b on th (nil: in place).
	acquire(th *starlark.Thread, b *starlark.Builtin, x *loop.Exec, fn string, timeout time.Duration) (starlark.Value, error)
	// release is release(): any task may call it.
	release(fn string) error
	// releaseBy is the release at the end of hold() by x.
	releaseBy(x *loop.Exec) error
}

// acquire is lock.acquire(timeout=None) and semaphore.acquire.
func acquire(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	h := b.Receiver().(holder)
	fn := b.Name() // Lock.acquire, Semaphore.acquire
	d, err := timeoutKwarg(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	x, err := h.exec(th, fn)
	if err != nil {
		return nil, err
	}
	return h.acquire(th, b, x, fn, d)
}

// release is lock.release() and semaphore.release().
func release(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	h := b.Receiver().(holder)
	fn := b.Name() // Lock.release, Semaphore.release
	if err := noArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	if _, err := h.exec(th, fn); err != nil {
		return nil, err
	}
	if err := h.release(fn); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// hold is lock.hold(fn, *args, **kwargs) and semaphore.hold: acquire, call
// fn, release, whether fn returns, fails or is cancelled.
func hold(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	h := b.Receiver().(holder)
	name := b.Name() // Lock.hold, Semaphore.hold
	if len(args) == 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: missing function argument", name)
	}
	fn, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "%s: for parameter fn: got %s, want callable", name, args[0].Type())
	}
	x, err := h.exec(th, name)
	if err != nil {
		return nil, err
	}
	// fn runs under this Go frame, so nothing here unwinds: in place.
	if _, err := h.acquire(nil, nil, x, name, loop.NoTimeout); err != nil {
		return nil, err
	}
	v, err := loop.CallFn(th, fn, args[1:], kwargs)
	if rerr := h.releaseBy(x); rerr != nil && err == nil {
		err = rerr
	}
	return v, err
}
