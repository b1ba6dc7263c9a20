package loop

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// A call that waits for the loop (Do, Call, Exec, Close) made from the
// loop's own code (a builtin, or a host callback such as
// Options.OnFailure) would wait for itself: the loop cannot go on until
// that code returns. Such a call fails instead (errOnLoop). Go gives
// goroutines no identity on purpose, so the engine keeps the ids of the
// goroutines that run its code and compares the caller's, read from its
// stack's header. That costs ~2 µs, so it is asked only of a call that
// has already waited a while for the loop (onLoopAfter) or that cannot
// be undone once posted (Close).

// errOnLoop is lockLoop's failure for a caller that runs the loop's code.
var errOnLoop = errors.New("called on the engine's own loop")

// onLoopError is the error of what (an Engine method) called on the loop.
func onLoopError(what string) error {
	return Errorf(KindError, "%s: called on the engine's own loop (from a builtin, or a callback such as Options.OnFailure), where it would wait for itself; call it from another goroutine, or spawn a task", what)
}

// loopGoroutines are the goroutines that run an engine's code.
type loopGoroutines struct {
	held    atomic.Bool  // a goroutine drives the loop (loopMu)
	workers sync.Map     // goroutine id → struct{}: those running its code (AsLoopCode)
	host    atomic.Int64 // the goroutine running a host callback (callHost), or 0
}

// onLoop reports whether the calling goroutine runs the engine's code
// now: one of its workers (a task's builtin), or the one in a host
// callback.
func (e *Engine) onLoop() bool {
	if !e.goroutines.held.Load() {
		return false
	}
	g := goroutineID()
	if e.goroutines.host.Load() == g {
		return true
	}
	_, ok := e.goroutines.workers.Load(g)
	return ok
}

// AsLoopCode runs body, known meanwhile as running e's code: the body
// of a goroutine that runs only while the loop waits for it, a coroutine
// (e's workers; a generator's body, in package generator). A call that
// would wait for the loop fails from there (errOnLoop) instead of
// waiting for itself. It costs ~2 µs (goroutineID).
func (e *Engine) AsLoopCode(body func()) {
	g := goroutineID()
	e.goroutines.workers.Store(g, struct{}{})
	defer e.goroutines.workers.Delete(g)
	body()
}

// callHostKnown is callHost for a callback that may call back into the
// engine (Options.OnFailure, Do's function): its goroutine is known as
// running the engine's code meanwhile.
func (e *Engine) callHostKnown(what string, fn func()) *hostPanic {
	prev := e.goroutines.host.Swap(goroutineID())
	defer e.goroutines.host.Store(prev)
	return callHost(what, fn)
}

// goroutineID returns the calling goroutine's id, from the first line of
// its stack trace ("goroutine 42 [running]:").
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, _ = bytes.CutPrefix(b, []byte("goroutine "))
	var id int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}
