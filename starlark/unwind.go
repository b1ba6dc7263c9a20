package starlark

// coro patch (ORIGIN 18): unwinding a thread while a builtin waits.
//
// A host that runs many threads concurrently, each waiting most of the
// time (coro's tasks), would otherwise park each waiting thread's
// goroutine inside the builtin that waits, keeping a Go stack per thread.
// Unwind lets the builtin leave instead: it hands the thread a
// continuation and returns a sentinel that every Starlark function frame
// below it answers by saving its state (operand stack, program counter,
// iterators) in its heap frame and returning the sentinel in turn, until
// Call returns it to the host. The frames stay on the thread's stack (so
// CallStack still shows where it waits). Later the host calls Resume,
// which runs the continuation in the builtin's frame and carries its
// result back into each Starlark frame, continuing each where it was.
// This is Lua's lua_yieldk.
//
// A builtin may unwind only when every frame below it is a Starlark
// function (a Go function in between, such as sorted calling its key,
// has Go state that cannot be saved), and only on a thread whose host
// handles the sentinel (Unwindable). CanUnwind tells.

import "errors"

// errUnwound is what Call returns for a call that unwound (IsUnwound).
var errUnwound = errors.New("starlark: thread unwound (not an error: the host resumes it with Thread.Resume)")

// A suspension is what an unwound Starlark function's frame keeps: its
// interpreter state, and, once resumed, the outcome of the call it was in.
// (The unwound builtin's frame holds builtinUnwound.)
//
// Every unwound function frame of a parked task has one, so its size
// counts: retry shares next's word, which keeps it in the 96-byte size
// class (coro patch, ORIGIN 31; TestSuspensionSize). Placed last, it
// made the struct 104 bytes, in the 112-byte class.
type suspension struct {
	space []Value // locals and operand stack
	sp    int
	next  uint32 // the pc after the CALL that unwound, or of the ITERJMP
	// retry: the frame unwound in a for loop's Next (a WaitingIterator),
	// which runs again when resumed; no call result comes back.
	retry     bool
	iterstack []Iterator
	result    Value // the call's outcome, set by Resume
	err       error
}

// builtinUnwound marks the frame of the builtin that unwound; its
// continuation is the thread's (Thread.cont): only the innermost frame
// has one.
var builtinUnwound = &suspension{}

// SetUnwindable says whether the host handles an unwound Call (a Call that
// returns an error for which IsUnwound holds) by calling Resume later.
func (thread *Thread) SetUnwindable(on bool) { thread.unwindable = on }

// CanUnwind reports whether the builtin b, running on thread, may unwind
// it: the thread is Unwindable, b's is the innermost frame, and every
// frame below b is a Starlark function.
func (thread *Thread) CanUnwind(b *Builtin) bool {
	n := len(thread.stack)
	return thread.unwindable && n > 0 && thread.stack[n-1].callable == Callable(b) && onlyFunctions(thread.stack[:n-1])
}

// onlyFunctions reports whether every frame is a Starlark function's.
func onlyFunctions(frames []*frame) bool {
	for _, fr := range frames {
		if _, ok := fr.callable.(*Function); !ok {
			return false
		}
	}
	return true
}

// Unwind makes the running builtin's call unwind the thread (CanUnwind
// must hold): the builtin returns Unwind's result as its error, and Resume
// later calls k in the builtin's frame for the call's outcome.
func (thread *Thread) Unwind(k func(*Thread) (Value, error)) error {
	thread.frameAt(0).susp = builtinUnwound
	thread.cont = k
	return errUnwound
}

// A WaitingIterator is an Iterator whose Next may wait (a channel's, in a
// host such as coro). A for loop in a Starlark function calls NextOn
// instead of Next; where the iterator must wait and CanUnwindIter holds,
// NextOn may return UnwindIter's result: the function's frame, and every
// frame below, unwind as for a builtin's Unwind, and Resume later runs k
// and then the loop's step again, calling NextOn once more (k's error
// instead fails the loop there). So k typically ends the wait and keeps
// what it brought in the iterator, for that NextOn to return.
type WaitingIterator interface {
	Iterator
	NextOn(thread *Thread, p *Value) (bool, error)
}

// CanUnwindIter reports whether a WaitingIterator's NextOn, called by the
// for loop running on thread, may unwind it: the thread is Unwindable and
// every frame is a Starlark function.
func (thread *Thread) CanUnwindIter() bool {
	return thread.unwindable && onlyFunctions(thread.stack)
}

// UnwindIter makes the running for loop's NextOn unwind the thread
// (CanUnwindIter must hold): NextOn returns UnwindIter's result as its
// error, and Resume later calls k before the loop's step runs again.
func (thread *Thread) UnwindIter(k func(*Thread) (Value, error)) error {
	thread.cont = k
	return errUnwound
}

// suspend records, in fr, the state of a function frame that unwinds
// (reusing s, its previous suspension, if any).
//
//go:noinline
func suspend(fr *frame, s *suspension, space []Value, sp int, next uint32, iterstack []Iterator, retry bool) {
	if s == nil {
		s = new(suspension)
	}
	// A copy: iterstack may be in the Go frame that is returning (coro
	// patch, ORIGIN 78). s's own array is reused; iterstack may be it.
	iters := append(s.iterstack[:0], iterstack...)
	*s = suspension{space: space, sp: sp, next: next, iterstack: iters, retry: retry}
	fr.susp = s
}

// IsUnwound reports whether err, from Call or Resume, means the thread
// unwound: it is waiting, to be resumed with Resume.
func IsUnwound(err error) bool { return err == errUnwound }

// Resume continues a thread that unwound: it runs the innermost
// builtin's continuation, then every Starlark frame below it from where
// it was, and returns what the host's Call would have returned; or
// unwinds again (IsUnwound).
func (thread *Thread) Resume() (Value, error) {
	fr := thread.frameAt(0)
	k := thread.cont
	thread.cont = nil
	var v Value
	var err error
	if s := fr.susp; s != builtinUnwound {
		// A for loop's NextOn unwound (UnwindIter): k ends its wait, and
		// the loop's step runs again, or fails with k's error.
		if _, err := k(thread); err != nil {
			s.err = err
		}
		v, err = fr.callable.(*Function).CallInternal(thread, nil, nil)
	} else {
		fr.susp = nil
		thread.beginProfSpan()
		v, err = k(thread)
	}
	if err == errUnwound {
		return nil, err // it waits again
	}
	for {
		v, err = callResult(thread, fr.callable, v, err)
		thread.popFrame(fr)
		if len(thread.stack) == 0 {
			return v, err
		}
		fr = thread.frameAt(0)
		fn := fr.callable.(*Function) // CanUnwind held
		fr.susp.result, fr.susp.err = v, err
		v, err = fn.CallInternal(thread, nil, nil)
		if err == errUnwound {
			return nil, err
		}
	}
}
