// Package handle closes what a script value holds a descriptor for (a
// socket) whichever comes first: the script's close(), the engine's
// closing, or the garbage collector once nothing refers to the value.
// It is shared by the modules with such values (net, http), and by fs
// for its watches (WhenDropped).
package handle

import (
	"context"
	"io"
	"runtime"
	"weak"

	"github.com/corolang/coro/loop"
)

// A Handle is what every value over a descriptor of its own (a net
// Conn, Listener or Socket, an http WebSocket) shares: the engine it
// belongs to, and what closes its descriptor. Three things
// close it: the script's close(); the engine's closing (an embedder's
// engine must not leave sockets and their goroutines behind); and the
// garbage collector, once nothing refers to the value any more, as an
// unreachable fs File or proc pipe is closed (by os.File's own cleanup).
//
// The handle is an object apart from its value so that the collector's
// cleanup (dropped) can reach the descriptor without keeping the value
// alive. For the same reason nothing the engine holds refers to the
// value itself: the reactor's registration refers to it weakly
// (WatchWeakly), and the engine's closing reaches only the closer. A
// value some task waits on is reachable all the same, from that task.
type Handle struct {
	Eng       *loop.Engine
	closer    io.Closer     // the descriptor's owner: net.Conn, net.Listener, *net.UDPConn
	Watch     *loop.FDWatch // the descriptor in the engine's reactor, if it is
	stopClose func() bool   // ends the engine's closing of closer
	cleanup   runtime.Cleanup
	// keep is the value itself while what it holds must outlive the
	// script's references (a write still being sent): a cleanup's
	// argument is held by the runtime, so the value is not collected
	// meanwhile.
	Keep any
}

// New makes the handle of owner, a value of e whose descriptor closer
// closes. Loop only.
func New[T any](owner *T, e *loop.Engine, closer io.Closer) *Handle {
	h := &Handle{Eng: e}
	h.SetCloser(closer)
	h.cleanup = WhenDropped(e, owner, (*Handle).dropped, h)
	return h
}

// SetCloser makes closer what the handle closes, in place of the one
// before it (which is left open). Loop only.
func (h *Handle) SetCloser(closer io.Closer) {
	if h.stopClose != nil {
		h.stopClose()
	}
	h.closer = closer
	h.stopClose = context.AfterFunc(h.Eng.Context(), func() { closer.Close() })
}

// CloseFD stops the watch (WatchFD asks for that before the descriptor
// closes) and closes the descriptor; the value's close() calls it.
// Closing twice is harmless. Loop only.
func (h *Handle) CloseFD() error {
	if h.Watch != nil {
		h.Watch.Stop()
	}
	err := h.closer.Close()
	h.stopClose()
	h.cleanup.Stop()
	h.Keep = nil
	return err
}

// dropped runs on the loop once nothing refers to the handle's value
// (WhenDropped). An engine closed meanwhile runs nothing posted, but its
// closing closed the descriptor already.
func (h *Handle) dropped() { h.CloseFD() }

// WhenDropped arranges for dropped(arg) to run on e's loop once nothing
// refers to owner: the collector's cleanup, on a goroutine of the
// runtime, posts it to the loop, the only place what owner holds may be
// touched. arg is what dropped releases, an object apart from owner: it
// must not refer to owner, which would then stay reachable for ever. The
// caller stops the returned Cleanup when it releases arg itself (the
// script's close()). An engine closed meanwhile runs nothing posted: its
// closing must release what owner held. For a value without a
// descriptor of its own (an fs.watch channel); New is this for one with.
func WhenDropped[T, A any](e *loop.Engine, owner *T, dropped func(A), arg A) runtime.Cleanup {
	return runtime.AddCleanup(owner, func(a A) { e.Post(func() { dropped(a) }) }, arg)
}

// WatchWeakly registers fd with e's reactor for owner: ready runs with
// owner on each of its events, as long as owner is reachable otherwise.
// The registration, held by the engine, refers to owner weakly, so that
// a descriptor in the reactor does not keep its value from being
// collected (Handle). Loop only.
func WatchWeakly[T any](e *loop.Engine, fd int, owner *T, ready func(*T, loop.IOEvents)) (*loop.FDWatch, error) {
	p := weak.Make(owner)
	return e.WatchFD(fd, func(ev loop.IOEvents) {
		if o := p.Value(); o != nil {
			ready(o, ev)
		}
	})
}

// Weakly is f with owner, made for a goroutine's result posted to the
// loop (loop.Engine.Go): it refers to owner weakly, and does nothing
// once owner is collected (Handle).
func Weakly[T any](owner *T, f func(*T)) func() {
	p := weak.Make(owner)
	return func() {
		if o := p.Value(); o != nil {
			f(o)
		}
	}
}
