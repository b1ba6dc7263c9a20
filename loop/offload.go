package loop

import (
	"context"
	"time"

	"github.com/corolang/coro/starlark"
)

// An Offload is blocking work handed off the loop while the calling task
// waits for it (Exec.Offload): Trio's to_thread, tokio's spawn_blocking.
// It is the one way engine code and modules run something that may block
// (a file system call, a DNS lookup, an HTTP exchange, a host function):
// the loop must never block, so every such call goes through here, and
// its outcome comes back through the engine's one completion queue (Post).
//
// Cancellation: once the task stops waiting (it was cancelled, its
// timeout() scope or Timeout expired, the engine closed), Work's ctx is
// done. Work still queued on the pool then never starts; work under way
// (and Own work, which starts at once) runs to its end on its goroutine (ctx tells it to hurry: an HTTP request
// is aborted, a host function told), and its outcome is dropped: Drop, if
// set, gets it on the loop, so that what it holds is released at once (a
// file opened too late is closed) rather than when the collector finds
// it (Drop runs whenever the loop next runs: a run whose tasks have all
// finished does not wait for dropped work). While work is in flight,
// delivered or dropped, blocked tasks are not a deadlock and the virtual
// clock does not jump.
type Offload struct {
	// Why is what the task waits on (TaskInfo.waiting_on); Op names the
	// operation in a timeout error.
	Why Reason
	Op  string
	// Timeout bounds the wait (NoTimeout: as long as it takes); past it
	// the task gets a timeout error and the outcome is dropped.
	Timeout time.Duration
	// Finish keeps the task waiting until Work has ended, even once it
	// is cancelled or its timeout() expires; that is delivered when
	// Work has ended, as Trio's to_thread.run_sync does by default. For
	// a write to a file: abandoned, it went on behind the task's back,
	// under the next write to the same file, and was cut short when the
	// run ended and the process exited (a signal, os.exit, a failing
	// main), leaving half a file. Only for work that ends by itself
	// (the disk, not a FIFO's reader): the task cannot be stopped
	// meanwhile. Timeout should be NoTimeout.
	Finish bool
	// Own runs Work on a goroutine of its own instead of the bounded
	// pool: for work that waits for the outside world (the network, a
	// child process, a host function, a computation) rather than holds
	// a thread in a system call. On the pool such work would take one of
	// PoolSize slots for as long as it waits, and the file system calls
	// of every other task would queue behind it.
	Own bool
	// Work runs off the loop: it must not touch engine state or any
	// Starlark value it did not make itself.
	Work func(ctx context.Context) (starlark.Value, error)
	// Done, if set, runs on the loop with Work's outcome when the task
	// still waits for it, and returns what the task gets: the place to
	// make loop-side values out of Go ones and to map errors to kinds.
	Done func(v starlark.Value, err error) (starlark.Value, error)
	// Drop, if set, runs on the loop with Work's outcome when nobody
	// waits for it any more; (nil, a cancelled error) when Work never
	// ran (it was still queued on the pool). An outcome that is a Discardable is discarded as well.
	Drop func(v starlark.Value, err error)
}

// A Discardable is an outcome of offloaded work that holds a resource (an
// open file): when it is dropped (Offload), Discard is called on the loop.
type Discardable interface {
	starlark.Value
	Discard()
}

// Offload runs o.Work off the loop and suspends the calling task until it
// has finished, returning its outcome (through o.Done); the loop and
// every other task run meanwhile. See Offload for what cancellation does.
// Inside a Retrying builtin the wait is handed over (WaitThen): only the
// outcome's side effects (Done, Drop) count, since the builtin runs
// again once the work has ended.
func (x *Exec) Offload(o Offload) (starlark.Value, error) {
	t := x.Task
	if err := t.interruption(); err != nil {
		return nil, err
	}
	e := t.eng
	ctx, cancel := context.WithCancel(e.ctx)
	w := NewWaiter(t)
	var v starlark.Value
	var err error
	ran := false
	e.offload(o.Own, true, func() {
		if !o.Own && ctx.Err() != nil {
			return // nobody waits any more: do not start queued work
		}
		ran = true
		v, err = o.Work(ctx)
	}, func() {
		if !ran {
			v, err = nil, Errorf(KindCancelled, "%s: abandoned before it started", o.Op)
		}
		if w.Fired() {
			if d, ok := v.(Discardable); ok {
				d.Discard()
			}
			if o.Drop != nil {
				o.Drop(v, err)
			}
			return
		}
		if o.Done != nil {
			v, err = o.Done(v, err)
		}
		w.Complete(0, v, err)
	})
	if o.Finish && x.retry != retryArmed {
		sh := &CancelScope{shield: true}
		t.push(sh)
		defer t.pop(sh)
	}
	// Inside a Retrying builtin (a read of a body or a file, whose
	// chunk lands in its source through Done or Drop), the wait is
	// handed over and the task waits unwound.
	var res starlark.Value
	rerr := x.WaitThen(w, o.Why, o.Timeout, o.Op, func() error {
		cancel()
		var err error
		res, err = w.Result()
		return err
	})
	return res, rerr
}

// Go runs work on a goroutine of its own and then done (if set) on the
// loop, for work no task waits on: a child's exit, a pipe's next chunk, a
// server's graceful shutdown. Unlike Exec.Offload it does not keep the run
// alive by itself: the task that will wait for what done provides does,
// by parking with Hold (or through an Awaitable that holds). Safe from
// the loop only.
func (e *Engine) Go(work func(), done func()) { e.offload(true, false, work, done) }

// offload is the one hand-off: work runs on the pool (or its own
// goroutine), then done on the loop through Post. With hold, the run is
// kept alive until done has run.
func (e *Engine) offload(own, hold bool, work, done func()) {
	if hold {
		e.Hold()
	}
	e.inflight++
	run := func() {
		work()
		e.Post(func() {
			e.inflight--
			if hold {
				e.Release()
			}
			if done != nil {
				done()
			}
		})
	}
	if own {
		go run()
	} else {
		pool.submit(run)
	}
}
