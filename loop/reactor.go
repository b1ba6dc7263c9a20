package loop

import (
	"context"
	"runtime"
	"time"
)

// The loop owns the reactor: when nothing is ready, the loop itself
// sleeps in the system's readiness wait (epoll on Linux, reactor_linux.go)
// until a watched descriptor is ready, the next timer is due, or another
// goroutine wakes it (Post, a stop request, a drive's ctx ending). Readiness
// callbacks run on the loop as soon as the wait returns: no goroutine
// carries an event, and a wake-up of the loop serves every ready socket.
// Elsewhere (reactor_other.go) the loop sleeps on a channel and modules
// wait for readiness through Go's netpoller.

// IOEvents is what a watched descriptor became ready for (WatchFD).
type IOEvents uint32

const (
	// IORead: there is data to read, a connection to accept, or the end
	// of stream.
	IORead IOEvents = 1 << iota
	// IOWrite: there is room to write.
	IOWrite
	// IOHangup: the peer ended its side or the descriptor failed. A read
	// that returns less than asked no longer proves the socket empty
	// (the end of stream is still to be read) and no further event will
	// say so.
	IOHangup
)

// The loop's sleep states (Engine.sleepState). The loop sets asleep, then
// checks once more for work (posted completions, a stop request, its
// ctx); a goroutine that brings work first makes it visible, then moves
// asleep to signaled and only then makes the wake-up system call. Each
// side reads what the other wrote before, so no wake-up is lost, and a
// Post to a loop that is awake (the common case under load) costs no
// system call.
const (
	awake int32 = iota
	asleep
	signaled
)

// wake makes a sleeping loop return from its wait. Any goroutine.
func (e *Engine) wake() {
	if e.sleepState.Load() == asleep {
		e.signal()
	}
}

// sleep waits until another goroutine wakes the loop, a watched
// descriptor is ready (its callback has run when sleep returns), or d has
// passed (d < 0: no limit). It reports whether d passed. Loop only.
// spinRounds is how many times sleep yields the processor, looking for a
// posted completion, before it sleeps in epoll.
const spinRounds = 50

func (e *Engine) sleep(ctx context.Context, d time.Duration) (timedOut bool) {
	// Made before asleep is published: a waker that saw asleep must find
	// something to signal.
	ioErr := e.initIO()
	if d != 0 && e.completionsExpected() {
		// Work is in flight on other goroutines (a request being parsed,
		// a read, offloaded work): its completion often comes within
		// microseconds, and finding it here costs less than a sleep and
		// an eventfd wake-up. Gosched lets those goroutines run. Tasks
		// waiting on descriptors the reactor watches alone do not spin:
		// epoll, not a Post, wakes them (50 yields before each epoll_wait
		// were a tenth of an echo server's CPU outside the kernel).
		for range spinRounds {
			if e.npost.Load() > 0 {
				return false
			}
			runtime.Gosched()
		}
	}
	e.sleepState.Store(asleep)
	if e.npost.Load() > 0 || e.stopReq.Load() != nil || ctx.Err() != nil {
		e.sleepState.Store(awake)
		return false
	}
	if ioErr != nil {
		// No reactor (a closed engine, the system refusing): only time
		// can pass, as nothing is watched and no one can signal.
		timedOut = e.sleepWithout(d)
	} else {
		timedOut = e.waitIO(d)
	}
	e.sleepState.Store(awake)
	return timedOut
}
