package loop

import "context"

// Serve drives the loop on the calling goroutine until ctx is done, for a
// host that lives longer than any one task (the REPL): work arrives through
// Post (a Post may Spawn), and running out of tasks is not an end. When
// tasks are blocked and nothing can wake them, onDeadlock (if set) gets the
// deadlock error, on the loop, and the loop then waits for the next Post;
// what to do about it is the host's call (it can also Keep the loop alive
// while it waits for input, so that idle is not a deadlock). Serve leaves
// live tasks alone when it returns: Close cancels them and runs their
// deferred functions.
func (e *Engine) Serve(ctx context.Context, onDeadlock func(*Error)) error {
	if err := e.takeLoop(); err != nil {
		return err
	}
	defer e.releaseLoop()
	defer e.startDiag()()
	never := func() bool { return false }
	for {
		err := e.runLoop(ctx, never, true)
		if ctx.Err() != nil {
			return nil
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
			return nil
		}
	}
}
