package loop

import (
	"fmt"

	"github.com/corolang/coro/starlark"
)

// An ExitError ends the run with a status (os.exit). Package engine
// returns it from RunFile; the coro command exits with Code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Exit implements os.exit: it runs the calling task's deferred functions,
// then stops the run: every other task is cancelled (their deferred
// functions run too) and RunFile returns an *ExitError. It ends the run,
// not the engine: the next run clears it (newRun).
//
// Called from a deferred function, it leaves the deferred functions to
// the run already going on (with its bound, deferBound), and the last
// status asked for wins, as a second sys.exit in a finally block does in
// Python. Running them again here nested a new run, with a new bound,
// per call: a deferred function that deferred itself and called os.exit
// recursed for ever, deaf to interrupts (found by fuzzing).
func (x *Exec) Exit(th *starlark.Thread, code int) error {
	t := x.Task
	if t.deferredScope() == nil {
		x.runDefers(th, x.deferList())
	}
	e := t.eng
	e.exitCode = &ExitError{Code: code}
	e.teardown = "exit" // tasks spawned from now on start cancelled
	for o := e.head; o != nil; o = o.next {
		if o != t {
			o.Cancel("exit")
		}
	}
	// The calling task ends as cancelled, which is not a failure.
	if t.root.err == nil {
		t.root.err = &Error{Kind: KindCancelled, Msg: "exit"}
	}
	return t.scopeError(&t.root)
}

// ExitCode returns the status os.exit asked for in the current run, or nil.
func (e *Engine) ExitCode() *ExitError { return e.exitCode }
