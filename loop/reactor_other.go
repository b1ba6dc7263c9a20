//go:build !linux

package loop

import (
	"errors"
	"time"
)

// reactor, without epoll, is a channel the loop sleeps on (reactor.go);
// descriptors cannot be watched, so modules wait for readiness through
// Go's netpoller on goroutines of their own (Engine.Go).
type reactor struct {
	wakeCh chan struct{}
	timer  *time.Timer
}

func newReactor() reactor {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return reactor{wakeCh: make(chan struct{}, 1), timer: t}
}

// An FDWatch is a descriptor registered with the engine's reactor; there
// are none without epoll.
type FDWatch struct{}

// WatchFD is not supported here: it returns errors.ErrUnsupported, and
// the caller waits for fd through Go's netpoller instead.
func (e *Engine) WatchFD(fd int, fn func(IOEvents)) (*FDWatch, error) {
	return nil, errors.ErrUnsupported
}

// Stop does nothing: no watch is ever made.
func (w *FDWatch) Stop() {}

func (e *Engine) watching() bool                  { return false }
func (e *Engine) initIO() error                   { return nil }
func (e *Engine) sleepWithout(time.Duration) bool { return true }
func (e *Engine) pollIO()                         {}
func (e *Engine) closeIO()                        {}

func (e *Engine) signal() {
	if e.sleepState.CompareAndSwap(asleep, signaled) {
		select {
		case e.io.wakeCh <- struct{}{}:
		default:
		}
	}
}

func (e *Engine) waitIO(d time.Duration) bool {
	var tc <-chan time.Time
	if d >= 0 {
		e.io.timer.Reset(d)
		tc = e.io.timer.C
	}
	select {
	case <-e.io.wakeCh:
		e.io.timer.Stop() // no stale tick follows (Go 1.23 timers)
		return false
	case <-tc:
		return true
	}
}
