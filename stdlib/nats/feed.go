package nats

import (
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// feedCapacity is how many values a subscription's or a watch's channel
// holds; past it the client's callback waits, and the messages behind it
// queue in the client, up to its pending limits (pendingMsgs,
// pendingBytes), past which NATS drops them for a slow consumer, as it
// does for any client that cannot keep up. Memory stays bounded either way.
const (
	feedCapacity = 256
	pendingMsgs  = 4096
	pendingBytes = 16 << 20
)

// A feed moves values that arrive on a NATS client's goroutine into a
// channel of the loop. It holds one credit per free place of the channel:
// send takes one (waiting when there is none), and it is given back once
// the value has left the channel (or went straight to a waiting
// receiver). A task waiting on the channel keeps the run going (Keep).
type feed struct {
	e       *loop.Engine
	c       *loop.Channel
	credits chan struct{}
	done    chan struct{}
}

// newFeed makes a feed and its channel; onClose runs (on the loop) when
// the channel is closed, to stop what feeds it. Loop only.
func newFeed(e *loop.Engine, onClose func()) *feed {
	f := &feed{e: e, c: e.NewChannel(feedCapacity), credits: make(chan struct{}, feedCapacity), done: make(chan struct{})}
	for range feedCapacity {
		f.credits <- struct{}{}
	}
	e.Keep(f.c, f.c.Receiving)
	f.c.OnClose(func() {
		e.Unkeep(f.c)
		close(f.done)
		onClose()
	})
	return f
}

// send hands the value mk makes (on the loop) to the channel, waiting
// for a credit; it reports false once the channel or the engine is
// closed. Off the loop.
func (f *feed) send(mk func() starlark.Value) bool {
	select {
	case <-f.credits:
	case <-f.done:
		return false
	case <-f.e.Context().Done():
		return false
	}
	f.e.Post(func() {
		if f.c.Closed() {
			return
		}
		n := f.c.Len()
		f.c.SendDropOldest(mk())
		if f.c.Len() > n {
			f.c.OnTake(f.took) // buffered: the credit comes back when taken
		} else {
			f.give()
		}
	})
	return true
}

// took runs on the loop when a receiver took a buffered value.
func (f *feed) took() {
	f.give()
	if f.c.Len() > 0 {
		f.c.OnTake(f.took)
	}
}

func (f *feed) give() {
	select {
	case f.credits <- struct{}{}:
	default:
	}
}
