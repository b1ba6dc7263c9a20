package core

import (
	"container/heap"
	"time"
)

// A timer is one entry of the loop's heap. Entries due at the same instant
// fire in the order they were made (seq breaks ties).
type timer struct {
	when  time.Duration // on the engine's clock
	seq   uint64
	fn    func()
	index int // in the heap; -1 once fired or stopped
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

// addTimer schedules fn to run on the loop at (engine) time when.
func (e *Engine) addTimer(when time.Duration, fn func()) *timer {
	e.timerSeq++
	t := &timer{when: when, seq: e.timerSeq, fn: fn}
	heap.Push(&e.timers, t)
	return t
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
		t.fn()
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

// Seconds converts a duration to engine seconds.
func durationOf(seconds float64) time.Duration {
	return time.Duration(seconds * float64(time.Second))
}
