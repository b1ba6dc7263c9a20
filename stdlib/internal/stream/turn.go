package stream

import (
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// WaitOn parks x's task until something broadcasts on list, or the wait
// ends otherwise (timeout, cancellation), then drops its registration:
// the wait of a stream (or socket) for the outside world, which keeps the
// run going (loop.Exec.WaitOnList). Inside a builtin made with
// loop.Retrying (the read methods, Listener.accept), the wait is handed
// to it: the caller returns WaitOn's error at once, and once woken the
// builtin runs again, as the caller's loop would have tried again.
func WaitOn(x *loop.Exec, list *loop.WakerList, why loop.Reason, timeout time.Duration, op string) error {
	return x.WaitOnList(list, why, timeout, op)
}

// A Turn lets the operations of one stream that run off the loop (a
// file's reads and writes, the writes to a pipe) run one at a time, in
// the order they got it: a write must not overtake an earlier one, nor a
// file's read move the offset under a write. Loop only.
type Turn struct {
	busy    bool
	waiters loop.WakerList
}

// Take waits until no other operation holds the turn, then holds it; the
// caller gives it back (Give), or hands it to Offload.
func (t *Turn) Take(x *loop.Exec, why loop.Reason, fn string) error {
	for t.busy {
		if err := WaitOn(x, &t.waiters, why, loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	t.busy = true
	return nil
}

// Give ends the operation that holds the turn and lets the next go.
func (t *Turn) Give() {
	t.busy = false
	t.waiters.Broadcast(nil, nil)
}

// Offload runs o for x's task (loop.Exec.Offload) while the caller holds
// the turn, and gives the turn back when the work has ended: delivered,
// dropped (the task stopped waiting: the work still runs to its end, and
// the next operation waits for it), or never started.
func (t *Turn) Offload(x *loop.Exec, o loop.Offload) (starlark.Value, error) {
	if err := x.Checkpoint(); err != nil {
		// Offload would not start the work, and neither Done nor Drop
		// would run to give the turn back.
		t.Give()
		return nil, err
	}
	done, drop := o.Done, o.Drop
	o.Done = func(v starlark.Value, err error) (starlark.Value, error) {
		t.Give()
		if done != nil {
			return done(v, err)
		}
		return v, err
	}
	o.Drop = func(v starlark.Value, err error) {
		t.Give()
		if drop != nil {
			drop(v, err)
		}
	}
	return x.Offload(o)
}
