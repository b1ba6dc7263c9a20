package nats

import (
	"sync"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// feedCapacity is how many values a subscription's or a watch's channel
// holds, and feedBytes the most bytes of data they may hold together (a
// value larger than that alone still goes in, when the channel is
// empty); past either the client's callback waits, and the messages
// behind it queue in the client, up to its pending limits (pendingMsgs,
// pendingBytes), past which NATS drops them for a slow consumer, as it
// does for any client that cannot keep up. So a subscription holds at
// most about feedBytes + pendingBytes: with a count alone, 256 messages
// of the largest payload (1 MB) were a quarter of a GB.
const (
	feedCapacity = 256
	feedBytes    = 16 << 20
	pendingMsgs  = 4096
	pendingBytes = 16 << 20
)

// A feed moves values that arrive on a NATS client's goroutine into a
// channel of the loop. It holds one credit per free place of the channel:
// send takes one (waiting when there is none), and it is given back once
// the value has left the channel (or went straight to a waiting
// receiver); the bytes of the values in the channel, or on their way to
// it, are counted the same way. A task waiting on the channel keeps the
// run going (Keep).
type feed struct {
	e       *loop.Engine
	c       *loop.Channel
	credits chan struct{}
	done    chan struct{}

	mu    sync.Mutex
	bytes int           // of the values sent and not yet taken
	room  chan struct{} // signalled when bytes fall
	sizes []int         // loop only: of the values buffered in c, in order
}

// newFeed makes a feed and its channel; onClose runs (on the loop) when
// the channel is closed, to stop what feeds it. Loop only.
func newFeed(e *loop.Engine, onClose func()) *feed {
	f := &feed{e: e, c: e.NewChannel(feedCapacity), credits: make(chan struct{}, feedCapacity), done: make(chan struct{}), room: make(chan struct{}, 1)}
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
// for a credit and for room for its size in bytes; it reports false once
// the channel or the engine is closed. Off the loop.
func (f *feed) send(size int, mk func() starlark.Value) bool {
	select {
	case <-f.credits:
	case <-f.done:
		return false
	case <-f.e.Context().Done():
		return false
	}
	for !f.reserve(size) {
		select {
		case <-f.room:
		case <-f.done:
			return false
		case <-f.e.Context().Done():
			return false
		}
	}
	f.e.Post(func() {
		if f.c.Closed() {
			return
		}
		n := f.c.Len()
		f.c.SendDropOldest(mk())
		if f.c.Len() > n {
			// Buffered: the credit and the bytes come back when taken.
			if f.sizes = append(f.sizes, size); len(f.sizes) == 1 {
				f.c.OnTake(f.took)
			}
		} else {
			f.give(size)
		}
	})
	return true
}

// reserve counts size bytes as sent, if they fit (or nothing else is
// counted).
func (f *feed) reserve(size int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes > 0 && f.bytes+size > feedBytes {
		return false
	}
	f.bytes += size
	return true
}

// took runs on the loop when a receiver took a buffered value.
func (f *feed) took() {
	size := f.sizes[0]
	f.sizes = f.sizes[1:]
	f.give(size)
	if len(f.sizes) > 0 {
		f.c.OnTake(f.took)
	}
}

// give returns a credit and size bytes.
func (f *feed) give(size int) {
	f.mu.Lock()
	f.bytes -= size
	f.mu.Unlock()
	select {
	case f.room <- struct{}{}:
	default:
	}
	select {
	case f.credits <- struct{}{}:
	default:
	}
}
