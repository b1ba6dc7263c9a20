package loop

import (
	"context"
	"errors"
)

// Serve drives the loop on the calling goroutine until ctx is done, for a
// host that lives longer than any one task (the REPL): work arrives through
// Post (a Post may Spawn), and running out of tasks is not an end. When
// tasks are blocked and nothing can wake them, onDeadlock (if set) gets the
// deadlock error, on the loop, and the loop then waits for the next Post;
// what to do about it is the host's call (it can also Keep the loop alive
// while it waits for input, so that idle is not a deadlock).
//
// Serve is driven as a run is (RunFile): ctx's end cancels every task,
// even one computing, at its next time slice, and Serve returns nil once
// their deferred functions have run. Options.MaxMemory holds too: past it
// every task is cancelled the same way and Serve returns the cancelled
// error naming the limit.
func (e *Engine) Serve(ctx context.Context, onDeadlock func(*Error)) error {
	if err := e.takeLoop(ctx, "Serve"); err != nil {
		return err
	}
	defer e.releaseLoop()
	e.newRun()                  // an os.exit of an earlier run is not the session's
	var guarded context.Context // ctx, under the memory limit
	err := e.driveLoop(ctx, func(ctx context.Context) error {
		guarded = ctx
		return e.serve(ctx, onDeadlock)
	})
	var overLimit *memoryLimitError
	if ctx.Err() != nil && !errors.As(context.Cause(guarded), &overLimit) {
		// The host ended it, not the limit (which the host may have
		// ended it after, before the cleanups were done): no failure.
		return nil
	}
	return err
}

// serve is Serve's loop, on the ctx driveLoop watches: it returns ctx's
// error once that is done, so that driveLoop ends the run.
func (e *Engine) serve(ctx context.Context, onDeadlock func(*Error)) error {
	never := func() bool { return false }
	for {
		err := e.runLoop(ctx, never, true)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ce, ok := err.(*Error)
		if !ok || ce.Kind != KindDeadlock {
			return err
		}
		// With no task at all the loop is merely idle.
		if onDeadlock != nil && e.live > 0 {
			onDeadlock(ce)
		}
		if e.ready.n > 0 || e.npost.Load() > 0 {
			continue
		}
		// Nothing the hook did can run: wait for the outside world.
		stop := context.AfterFunc(ctx, e.wake)
		e.sleep(ctx, NoTimeout)
		stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
