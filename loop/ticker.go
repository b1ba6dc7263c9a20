package loop

import (
	"math"
	"time"
	"weak"

	"github.com/corolang/coro/starlark"
)

// MinTickerPeriod is the shortest period ticker() accepts: a shorter one
// would wake the loop more often than it can do anything useful.
const MinTickerPeriod = time.Millisecond

// NewTicker returns a channel that receives 1, 2, 3, ... every d (tick n
// is due at start + n*d, so ticks do not drift). Like Go's time.Ticker it
// buffers one tick and drops ticks a slow receiver has not taken: the
// numbers count ticks since the start, so a gap shows how many were
// missed. A tick that fires late (the loop was busy) is numbered by the
// latest tick due and the ticks it passed are dropped, not fired one by
// one. Closing the channel stops the ticker, and so does letting go of
// it: the timer refers to the channel weakly, and is removed once the
// channel is collected (dropWhenGone). Its timer is weak: a
// ticker nobody waits on does not keep the run alive (SPEC 1). Only the
// ticker sends on the channel: a script's send fails (Channel.recvOnly).
func (e *Engine) NewTicker(d time.Duration) *Channel {
	c := e.NewChannel(1)
	c.recvOnly = "a ticker's channel"
	wc := weak.Make(c)
	start := e.clock.now()
	n := 0
	keep := func() bool { // the timer matters only while a receiver waits
		c := wc.Value()
		return c != nil && c.recvq.waiting()
	}
	var tm *timer
	var tick func()
	// arm schedules tick k. There is none past the end of time: saturated
	// there, it would be due at once, for ever, once the clock got there.
	arm := func(k int) {
		tm = nil
		if time.Duration(k) > (math.MaxInt64-start)/d {
			return
		}
		tm = e.addTimer(start+time.Duration(k)*d, tick)
		tm.keep = keep
	}
	tick = func() {
		tm = nil
		c := wc.Value()
		if c == nil {
			return // let go of: its removal is on its way
		}
		n++
		if due := int((e.clock.now() - start) / d); due > n {
			n = due // late: the ticks passed meanwhile are dropped
		}
		c.TrySend(starlark.MakeInt(n)) // full: this tick is dropped
		if c.n == c.cap {
			// A tick waits in the buffer: every tick until a receiver
			// takes it would be dropped, so none is armed until then;
			// the next is the first due after the take. (Armed at each
			// period, an unread ticker beside a long sleep made the
			// virtual clock step through every period, found by
			// FuzzBuiltinArgs: a year of 1 ms ticks never ended.)
			c.onTake = func() {
				if !c.closed {
					arm(int((e.clock.now()-start)/d) + 1)
				}
			}
			return
		}
		arm(n + 1)
	}
	arm(1)
	cleanup := dropWhenGone(e, c, &tm)
	c.OnClose(func() {
		e.stopTimer(tm)
		c.onTake = nil
		cleanup.Stop()
	})
	return c
}

// builtinTicker is ticker(seconds).
func builtinTicker(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var secs starlark.Value
	if err := starlark.UnpackArgs("ticker", args, kwargs, "seconds", &secs); err != nil {
		return nil, ValueError(err)
	}
	s, err := SecondsArg("ticker", "seconds", secs)
	if err != nil {
		return nil, err
	}
	d := DurationOf(s)
	if d < MinTickerPeriod {
		return nil, Errorf(KindValue, "ticker: seconds must be at least %g, got %s", MinTickerPeriod.Seconds(), secs.String())
	}
	x, err := TaskOf(th, "ticker")
	if err != nil {
		return nil, err
	}
	return x.Task.eng.NewTicker(d), nil
}
