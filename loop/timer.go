package loop

import (
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/corolang/coro/starlark"
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

// timerHeap is the loop's timers, a 4-ary min-heap by (when, seq). Each
// entry carries its deadline, so that ordering 100k timers reads the heap
// array and not the timers it points to (the timers workload spent most
// of its heap time in cache misses there).
type timerHeap []timerEntry

type timerEntry struct {
	when time.Duration
	seq  uint64
	t    *timer
}

func (a *timerEntry) before(b *timerEntry) bool {
	return a.when < b.when || a.when == b.when && a.seq < b.seq
}

func (h *timerHeap) push(t *timer) {
	if len(*h) == cap(*h) {
		// Double it: append grows a large slice by a quarter at a time,
		// each time a copy into fresh memory, and 100k timers set at
		// once copied five times their size (first touches, faults).
		*h = slices.Grow(*h, max(len(*h), minTimerHeap))
	}
	*h = append(*h, timerEntry{t.when, t.seq, t})
	h.up(len(*h) - 1)
}

// minTimerHeap is the fewest entries the heap's array has room for once
// it has any, and the size below which it never shrinks.
const minTimerHeap = 64

// pop removes and returns the earliest timer.
func (h *timerHeap) pop() *timer {
	t := (*h)[0].t
	h.remove(0)
	return t
}

// remove removes the entry at i.
func (h *timerHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	old[i].t.index = -1
	if i != n {
		old[i] = old[n]
	}
	old[n] = timerEntry{}
	*h = old[:n]
	if i != n {
		h.up(i)
		h.down(i)
	}
	if c := cap(old); c > minTimerHeap && n <= c/4 {
		// A burst of timers has drained: let its array go, halving so
		// that a heap of steady size does not grow and shrink by turns.
		*h = append(make(timerHeap, 0, c/2), old[:n]...)
	}
}

// set puts e at i, and tells its timer where it is.
func (h timerHeap) set(i int, e timerEntry) {
	h[i] = e
	e.t.index = i
}

func (h timerHeap) up(i int) {
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.before(&h[p]) {
			break
		}
		h.set(i, h[p])
		i = p
	}
	h.set(i, e)
}

func (h timerHeap) down(i int) {
	n := len(h)
	e := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if h[k].before(&h[m]) {
				m = k
			}
		}
		if !h[m].before(&e) {
			break
		}
		h.set(i, h[m])
		i = m
	}
	h.set(i, e)
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

// never reports whether a deadline at when never comes: it is the end of
// the virtual clock, which jumps to deadlines and cannot pass its end
// (pushTimer).
func (c *clock) never(when time.Duration) bool { return c.virtual && when == math.MaxInt64 }

// advance moves the virtual clock d forward, saturating at the end of
// time (a computation running for centuries of slices) rather than
// wrapping negative.
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
// overflowed saturates at the end of time. On the virtual clock a timer
// at the end of time never fires: the clock jumps to deadlines and cannot
// pass its end (about 292 years), so firing there would end a sleep early
// (two sleep(5e9) returned after 9.2e9 seconds). A task that waits for it
// waits for ever, and with nothing else to wake, that is a deadlock.
func (e *Engine) pushTimer(t *timer, when time.Duration) {
	if when < 0 {
		when = math.MaxInt64
	}
	if e.clock.never(when) {
		t.when, t.index = when, -1
		return
	}
	e.timerSeq++
	t.when, t.seq = when, e.timerSeq
	e.timers.push(t)
}

// AfterFunc schedules fn to run on the loop d from now. Loop goroutine only.
func (e *Engine) AfterFunc(d time.Duration, fn func()) *timer {
	return e.addTimer(e.clock.now()+d, fn)
}

// stopTimer removes t if it has not fired.
func (e *Engine) stopTimer(t *timer) {
	if t != nil && t.index >= 0 {
		e.timers.remove(t.index)
	}
}

// dropWhenGone removes the timer *at from the heap once owner, the script
// value it fires for (a Timer, a ticker's channel), has been collected:
// nothing can wait on it any more, so it is let go rather than kept until
// it fires (Go's time.After before 1.23: select(c, after(3600)) in a loop
// kept every timer for its hour, 46 MB for 100k). The heap must refer to
// owner only weakly (weak.Pointer), or owner is never collected. *at is
// read on the loop, so an owner may re-arm (a ticker's next tick); a
// timer that fired or was stopped meanwhile is left alone (stopTimer).
// Stop the returned cleanup once the timer is done for good.
func dropWhenGone[T any](e *Engine, owner *T, at **timer) runtime.Cleanup {
	return runtime.AddCleanup(owner, timerGone, goneTimer{e, at})
}

// A goneTimer is a timer whose owner was collected (dropWhenGone).
type goneTimer struct {
	e  *Engine
	at **timer
}

// timerGone runs on the runtime's cleanup goroutine: it queues g for the
// loop, and posts dropGone for the first of a batch (a loop of selects
// lets go of many timers at each collection).
func timerGone(g goneTimer) {
	e := g.e
	e.mu.Lock()
	first := len(e.gone) == 0
	e.gone = append(e.gone, g.at)
	e.mu.Unlock()
	if first {
		e.Post(e.dropGone)
	}
}

// dropGone removes the timers of owners that were collected. Loop only.
func (e *Engine) dropGone() {
	e.mu.Lock()
	gone := e.gone
	e.gone = nil
	e.mu.Unlock()
	for _, at := range gone {
		e.stopTimer(*at)
	}
}

// fireTimers runs every timer due by now, in order.
func (e *Engine) fireTimers() {
	if len(e.timers) == 0 {
		return
	}
	now := e.clock.now()
	for len(e.timers) > 0 && e.timers[0].when <= now {
		t := e.timers.pop()
		if t.wake != nil {
			t.wake.Complete(0, starlark.None, nil)
		} else {
			t.fn()
		}
	}
}

// strongTimerPending reports whether some timer will wake a task.
func (e *Engine) strongTimerPending() bool {
	for i := range e.timers {
		if t := e.timers[i].t; t.keep == nil || t.keep() {
			return true
		}
	}
	return false
}

// DurationOf converts seconds (from SecondsArg) to a duration, saturating
// at the largest one: converting an out-of-range float to an integer is
// undefined in Go, and on amd64 it yields a negative number, which made
// sleep(1e12) return at once. Modules convert with it too.
func DurationOf(seconds float64) time.Duration {
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
