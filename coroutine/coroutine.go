// Package coroutine provides a stackful coroutine for Go code: a function
// that runs on its own goroutine but only ever runs while its caller waits,
// with control handed back and forth by the runtime's coroutine switch (the
// mechanism behind iter.Pull) rather than by channels, which cost about
// three times as much per switch.
//
// A coroutine is started by the first Resume. Inside, the body calls Suspend
// to hand a value to the resumer and wait for the next Resume, whose value
// Suspend returns. When the body returns, the last Resume reports done.
// Abandon ends a suspended coroutine: its pending Suspend panics with a
// sentinel that unwinds the body (running its deferred calls) and is
// recovered by the coroutine itself.
package coroutine

import (
	"errors"
	"fmt"
	"iter"
	"runtime/debug"
)

// ErrAbandoned is the value a suspended body's Suspend panics with when the
// coroutine is abandoned. Bodies must not recover it (or must re-panic).
var ErrAbandoned = errors.New("coroutine abandoned")

// A Coroutine runs a body of type func(*Coroutine[I, O], I) O.
// I is what Resume passes in; O is what Suspend and the body's return pass out.
// A Coroutine is not safe for concurrent use: one goroutine drives it.
type Coroutine[I, O any] struct {
	next     func() (O, bool)
	stop     func()
	yield    func(O) bool
	in       I
	started  bool
	finished bool
	running  bool
	panicked any
	// panicStack is the body's stack where it panicked: the resumer
	// re-raises the panic on its own goroutine, whose trace would not
	// show where (the engine's loop runs on a coroutine).
	panicStack []byte
}

// New returns a coroutine that will run body on its first Resume.
func New[I, O any](body func(c *Coroutine[I, O], first I) O) *Coroutine[I, O] {
	c := &Coroutine[I, O]{}
	c.next, c.stop = iter.Pull(func(yield func(O) bool) {
		c.yield = yield
		out, ok := c.runBody(body)
		c.finished = true
		if ok {
			yield(out)
		}
	})
	return c
}

// runBody runs body and recovers the abandonment sentinel; any other panic
// is captured and re-raised in the resumer's goroutine by Resume.
func (c *Coroutine[I, O]) runBody(body func(*Coroutine[I, O], I) O) (out O, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != ErrAbandoned {
				c.panicked = r
				c.panicStack = debug.Stack()
				ok = true // deliver a zero value so Resume can re-panic
				return
			}
			ok = false
		}
	}()
	return body(c, c.in), true
}

// Resume runs the coroutine until it suspends or returns, passing in as the
// value of the pending Suspend (or as the body's first argument). It returns
// the value passed out and whether the body has returned.
// A panic in the body is re-raised here. Resuming a finished coroutine panics.
func (c *Coroutine[I, O]) Resume(in I) (out O, done bool) {
	if c.finished {
		panic("coroutine: Resume of a finished coroutine")
	}
	if c.running {
		panic("coroutine: Resume of a running coroutine")
	}
	c.in = in
	c.started = true
	c.running = true
	out, _ = c.next()
	c.running = false
	if c.finished {
		c.stop() // let the body's goroutine exit
	}
	if c.panicked != nil {
		p, stack := c.panicked, c.panicStack
		c.panicked, c.panicStack = nil, nil
		panic(fmt.Sprintf("coroutine body panicked: %v\n\nthe body's stack:\n%s", p, stack))
	}
	return out, c.finished
}

// Suspend hands out to the resumer and waits for the next Resume, returning
// its value. It must be called only from inside the body.
func (c *Coroutine[I, O]) Suspend(out O) I {
	if !c.yield(out) {
		panic(ErrAbandoned)
	}
	return c.in
}

// Done reports whether the body has returned (or the coroutine was abandoned).
func (c *Coroutine[I, O]) Done() bool { return c.finished }

// Started reports whether the coroutine has been resumed at least once.
func (c *Coroutine[I, O]) Started() bool { return c.started }

// Abandon ends the coroutine. A suspended body unwinds from its Suspend
// (running its deferred calls); a coroutine that never started never runs.
// Abandoning a finished coroutine does nothing.
func (c *Coroutine[I, O]) Abandon() {
	c.stop()
	c.finished = true
}
