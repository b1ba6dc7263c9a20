package loop

import (
	"container/heap"
	"github.com/corolang/coro/starlark"
	"math"
	"time"
)

// A timer is one entry of the loop's heap. Entries due at the same instant
// fire in the order they were made (seq breaks ties).
type timer struct {
	when  time.Duration // on the engine's clock
	seq   uint64
	fn    func()
	wake  *Waiter // instead of fn: complete this waiter (sleep)
	index int     // in the heap; -1 once fired or stopped
	// weak timers (after(), ticker()) do not by themselves keep the run alive
	// or rule out a deadlock: keep reports whether a task depends on them now.
	keep func() bool
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}

// clock is the engine's time source: real (monotonic since start) or virtual.
type clock struct {
	virtual bool
	start   time.Time
	vnow    time.Duration
}

func (c *clock) now() time.Duration {
	if c.virtual {
		return c.vnow
	}
	return time.Since(c.start)
}

// wall returns the wall-clock time corresponding to the engine's now.
func (c *clock) wall() time.Time { return c.start.Add(c.now()) }

// jumpToNextTimer moves the virtual clock forward to the earliest timer's
// deadline (never backward), so that timer fires next.
func (e *Engine) jumpToNextTimer() {
	if len(e.timers) > 0 && e.timers[0].when > e.clock.vnow {
		e.clock.vnow = e.timers[0].when
	}
}

// advance moves the virtual clock d forward, saturating at the end of
// time (a sleep(1e300) jumps it there) rather than wrapping negative.
func (c *clock) advance(d time.Duration) {
	if c.vnow > math.MaxInt64-d {
		c.vnow = math.MaxInt64
		return
	}
	c.vnow += d
}

// addTimer schedules fn to run on the loop at (engine) time when. A
// deadline that overflowed (now plus a saturated duration) means "never
// before anything else".
func (e *Engine) addTimer(when time.Duration, fn func()) *timer {
	t := &timer{fn: fn}
	e.pushTimer(t, when)
	return t
}

// pushTimer schedules t (its fn or wake set) at when; a deadline that
// overflowed saturates at the end of time.
func (e *Engine) pushTimer(t *timer, when time.Duration) {
	if when < 0 {
		when = math.MaxInt64
	}
	e.timerSeq++
	t.when, t.seq = when, e.timerSeq
	heap.Push(&e.timers, t)
}

// AfterFunc schedules fn to run on the loop d from now. Loop goroutine only.
func (e *Engine) AfterFunc(d time.Duration, fn func()) *timer {
	return e.addTimer(e.clock.now()+d, fn)
}

// stopTimer removes t if it has not fired.
func (e *Engine) stopTimer(t *timer) {
	if t != nil && t.index >= 0 {
		heap.Remove(&e.timers, t.index)
		t.index = -1
	}
}

// fireTimers runs every timer due by now, in order.
func (e *Engine) fireTimers() {
	if len(e.timers) == 0 {
		return
	}
	now := e.clock.now()
	for len(e.timers) > 0 && e.timers[0].when <= now {
		t := heap.Pop(&e.timers).(*timer)
		if t.wake != nil {
			t.wake.Complete(0, starlark.None, nil)
		} else {
			t.fn()
		}
	}
}

// strongTimerPending reports whether some timer will wake a task.
func (e *Engine) strongTimerPending() bool {
	for _, t := range e.timers {
		if t.keep == nil || t.keep() {
			return true
		}
	}
	return false
}

// durationOf converts seconds to a duration, saturating at the largest one:
// converting an out-of-range float to an integer is undefined in Go, and
// on amd64 it yields a negative number, which made sleep(1e12) return at once.
func durationOf(seconds float64) time.Duration {
	if seconds >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(seconds * float64(time.Second))
}

// Schedule runs fn on the loop d from now unless stop is called first:
// AfterFunc for modules, which cannot name the timer (a listener's
// backoff after a failed accept). The timer keeps the run alive. Loop only.
func (e *Engine) Schedule(d time.Duration, fn func()) (stop func()) {
	t := e.AfterFunc(d, fn)
	return func() { e.stopTimer(t) }
}
