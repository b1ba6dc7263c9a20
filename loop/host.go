package loop

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/corolang/coro/starlark"
)

// This file is the engine's side toward Go code that embeds it (SPEC 10):
// Call, Do, Start, Poll and TaskInfos may be used from any goroutine. They
// share one rule: a request is posted to the loop, and whoever finds the
// loop undriven drives it (RunFile, Exec, Serve, another Call or Poll may
// be driving it already, and then simply runs the request among its work).
// So Go callers never need a dedicated loop goroutine, and background
// tasks keep progressing whoever drives.

// hostState is the engine's bookkeeping for host requests. Loop only.
type hostState struct {
	// calls counts Call tasks not yet finished. While one is live, tasks
	// blocked on each other are not reported as a deadlock: another Call
	// may still bring what they wait for, so a Call is bounded by its ctx.
	calls int
	kept  bool // the keeper for calls is registered
	// closing is set when Close begins: requests arriving later fail
	// with closed instead of starting tasks nobody would cancel.
	closing bool
	// polling is set while Poll drives: a task then yields at the end of
	// every time slice, so that Poll can keep to its budget.
	polling bool
	// cut is set when Close began while tasks were live: a run it ended
	// did not run to its end (Exec reports it).
	cut bool
}

// A hostReq is one request from a Go goroutine, finished on the loop.
type hostReq struct {
	done     chan struct{} // closed once finished
	finished bool          // loop only: the driver's stop condition
	v        starlark.Value
	err      error
	panicked *hostPanic // Do's function panicked: Do panics with it
	// abandoned is set when the requester ran on the loop itself and
	// returned an error (await): what it posted must then do nothing.
	abandoned atomic.Bool
}

func newHostReq() *hostReq { return &hostReq{done: make(chan struct{})} }

// admit reports, on the loop, whether what r asks is to run: not once its
// requester gave up (abandoned), nor on a closed engine, where r then
// finishes with the closed error.
func (e *Engine) admit(r *hostReq) bool {
	if r.abandoned.Load() {
		return false
	}
	if e.closed || e.host.closing {
		r.finish(nil, Errorf(KindClosed, "engine is closed"))
		return false
	}
	return true
}

// finish records the outcome and wakes the requester. Loop only.
func (r *hostReq) finish(v starlark.Value, err error) {
	r.v, r.err, r.finished = v, err, true
	close(r.done)
}

// await returns once r has finished, driving the loop whenever no other
// goroutine does: a caller that cannot take the loop waits for its result
// or for the loop to be released, then tries again.
func (e *Engine) await(r *hostReq, what string) {
	switch e.lockLoop(r.done) {
	case nil:
		defer e.releaseLoop()
		e.driveFor(r)
	case errOnLoop:
		// The loop runs what posted r only once the caller returns.
		r.abandoned.Store(true)
		r.err = onLoopError(what)
	}
}

// driveFor runs the loop until r has finished. The caller holds the loop.
// No deadlock can end it early: a request still posted counts as pending
// work, and a Call's live task keeps the loop alive (hostState.calls).
func (e *Engine) driveFor(r *hostReq) {
	if r.finished {
		return
	}
	stop := func() bool { return r.finished }
	for !r.finished {
		if err := e.runLoop(context.Background(), stop, true); err != nil {
			// Only reachable if the request was lost; fail it rather
			// than spin (the error says why the loop stopped).
			r.finish(nil, err)
		}
	}
}

// Do runs fn on the loop, where it may touch script values and engine
// state, and returns once it has run. It is safe from any goroutine.
// Called from the loop itself (a builtin, Options.OnFailure), where it
// would wait for itself, it fails instead, and fn never runs.
func (e *Engine) Do(fn func()) error {
	return e.do("Do", fn)
}

// do is Do, for the Engine method what.
func (e *Engine) do(what string, fn func()) error {
	r := newHostReq()
	e.Post(func() {
		if !e.admit(r) {
			return
		}
		r.panicked = e.callHostKnown("Engine.Do's function", fn)
		r.finish(nil, nil)
	})
	e.await(r, what)
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// A hostPanic is what the host's own code panicked with while the loop
// ran it (callHost): Do panics with it in Do's caller.
type hostPanic struct {
	What  string // "Engine.Do's function", "Options.OnFailure"
	Value any    // what it panicked with
	Stack string // the panicking goroutine's stack
}

func (p *hostPanic) Error() string {
	return fmt.Sprintf("panic in %s: %v\n\n%s", p.What, p.Value, p.Stack)
}

// callHost runs fn, the host's code called on the loop (what says
// which), and returns what it panicked with, if anything. A panic there
// unwound through the loop into whichever goroutine drove it, another
// Call's, and left the loop held for good: every later Call, Exec and
// Close waited for ever.
func callHost(what string, fn func()) (p *hostPanic) {
	defer func() {
		if r := recover(); r != nil {
			p = &hostPanic{What: what, Value: r, Stack: string(debug.Stack())}
		}
	}()
	fn()
	return nil
}

// reportHostPanic writes p on stderr: the panic of a host callback that
// has no caller to panic in (Options.OnFailure, Options.ThreadHook).
// The engine goes on.
func (e *Engine) reportHostPanic(p *hostPanic) {
	if p != nil {
		fmt.Fprintf(e.stderr, "coro: %v", p)
	}
}

// Call runs fn(*args) as a task on the loop and returns its value. It is
// safe from any goroutine, and many calls may run at once; while one
// waits, the loop runs every other task. Cancelling ctx cancels the call's
// task (its wait fails with cancelled, its deferred functions run) and
// Call returns once it has finished. A task that waits for something that
// never comes is bounded only by ctx: another Call may still provide it,
// so Call does not report deadlocks.
//
// The arguments and the result are shared with the scripts: do not change
// a mutable argument after passing it, and copy or freeze a result that a
// task may still modify. Called from the loop itself (a builtin,
// Options.OnFailure), where it would wait for itself, Call fails instead
// and fn is not called (spawn a task there).
func (e *Engine) Call(ctx context.Context, fn starlark.Value, args ...starlark.Value) (starlark.Value, error) {
	c, ok := fn.(starlark.Callable)
	if !ok {
		return nil, Errorf(KindValue, "Call: got %s, want a callable", typeName(fn))
	}
	if err := nilArg("Call", args); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError("call", err)
	}
	r := newHostReq()
	var task *Task
	e.Post(func() {
		if !e.admit(r) {
			return
		}
		e.hostRun()
		e.keepForCalls()
		e.host.calls++
		task = e.Spawn(c, starlark.Tuple(args), nil, "", nil, "")
		task.OnEnd(func() { e.host.calls-- })
		// Watching the task makes its failure the caller's to handle,
		// not an unhandled one reported on stderr.
		task.Enqueue(callWaker{e, r}, 0)
	})
	if ctx.Done() != nil { // a ctx that can be cancelled
		// The cancel is posted after the spawn, so on the loop task is set.
		stop := context.AfterFunc(ctx, func() {
			e.Post(func() {
				if task != nil {
					task.Cancel("call cancelled: " + ctx.Err().Error())
				}
			})
		})
		defer stop()
	}
	e.await(r, "Call")
	if r.err == nil {
		return r.v, nil
	}
	if ee, ok := r.err.(*ExitError); ok {
		return nil, ee
	}
	ce := ToError(r.err)
	if ce.Kind == KindCancelled && ctx.Err() != nil && task != nil && task.cancelRequested() {
		ce = &Error{Kind: ctxKind(ctx.Err()), Msg: ce.Msg, Stack: ce.Stack, Task: ce.Task, cause: ctx.Err()}
	}
	return nil, hostErr(ce)
}

// callWaker finishes a Call's request when its task ends: a task that
// os.exit ended (its own or another's) ends the Call with the *ExitError.
type callWaker struct {
	e *Engine
	r *hostReq
}

func (w callWaker) Accepts(int) bool { return !w.r.finished }

func (w callWaker) Complete(_ int, v starlark.Value, err error) {
	if err != nil && w.e.exitCode != nil && ToError(err).Kind == KindCancelled {
		err = w.e.exitCode
	}
	w.r.finish(v, err)
}

// hostRun is called when a Call or Start spawns its task: with no run
// going on (no Exec, RunFile, Run or Wait), the request begins a new one,
// so an earlier os.exit from a Call or a polled task does not cancel it.
// Loop only.
func (e *Engine) hostRun() {
	if !e.running {
		e.newRun()
	}
}

// keepForCalls registers, once, the keeper that makes live Call tasks
// keep the loop alive. Loop only.
func (e *Engine) keepForCalls() {
	if !e.host.kept {
		e.host.kept = true
		e.Keep(&e.host, func() bool { return e.host.calls > 0 && !e.host.closing })
	}
}

// Start queues fn(*args) as a new task and returns at once; the task runs
// whenever the loop is driven (Poll, Call, RunFile, Exec). Its failure, if
// nobody waits on it, is reported like any task's (Options.OnFailure).
// It is the way a host that drives the loop with Poll starts work.
func (e *Engine) Start(name string, fn starlark.Value, args ...starlark.Value) error {
	c, ok := fn.(starlark.Callable)
	if !ok {
		return Errorf(KindValue, "Start: got %s, want a callable", typeName(fn))
	}
	if err := nilArg("Start", args); err != nil {
		return err
	}
	if !e.tryLockLoop() {
		e.Post(func() {
			if !e.closed && !e.host.closing {
				e.hostRun()
				e.Spawn(c, starlark.Tuple(args), nil, name, nil, "")
			}
		})
		return nil
	}
	defer e.releaseLoop()
	if e.closed {
		return Errorf(KindClosed, "engine is closed")
	}
	e.hostRun()
	e.Spawn(c, starlark.Tuple(args), nil, name, nil, "")
	return nil
}

// Poll drives the loop for a host with its own loop (a game loop, a GUI)
// and returns without blocking: it takes posted completions, fires due
// timers and runs ready tasks, pass after pass, until nothing is ready or
// budget has been used up. budget is wall-clock time, checked after each
// task's turn (a turn is at most one time slice, Options.TimeSlice steps,
// unless a builtin blocks), so Poll may overrun it by one turn; budget <= 0
// means a single pass, in which each task ready at its start runs once.
// On the virtual clock, when nothing is ready and only timers are pending,
// time jumps to the next one, as in RunFile.
//
// Poll returns the number of task turns it ran: 0 when nothing was ready,
// or when another goroutine is driving the loop (then the work gets done
// there). It never reports a deadlock, since the host may still bring what
// blocked tasks wait for; TaskInfos shows them.
func (e *Engine) Poll(budget time.Duration) (int, error) {
	if !e.tryLockLoop() {
		return 0, nil
	}
	defer e.releaseLoop()
	if e.closed {
		return 0, Errorf(KindClosed, "engine is closed")
	}
	e.host.polling = true
	defer func() { e.host.polling = false }()
	start := time.Now()
	ran := 0
	for {
		e.drainPosted()
		e.pollIO() // never sleeps
		if e.ready.n == 0 && e.clock.virtual && e.external == 0 && e.strongTimerPending() {
			e.jumpToNextTimer()
		}
		e.fireTimers()
		spent := budget <= 0 || time.Since(start) >= budget
		if e.ready.n == 0 {
			if e.npost.Load() == 0 || spent {
				return ran, nil
			}
			continue // completions arrived meanwhile
		}
		for n := e.ready.n; n > 0 && e.ready.n > 0; n-- {
			e.runTask(e.ready.pop())
			ran++
			if budget > 0 && time.Since(start) >= budget {
				return ran, nil
			}
		}
		if budget <= 0 {
			return ran, nil
		}
	}
}

// TaskInfo describes one live task for Go code: the dump of tasks()
// (SPEC 8) as Go values.
type TaskInfo struct {
	ID        int64
	Name      string
	State     string // ready, running, waiting
	WaitingOn string // what it waits for; "" unless waiting
	SpawnedAt string // file:line:col of the spawn call; "" for main and host calls
	Stack     []string
}

// TaskInfos returns every live task, oldest first. Safe from any
// goroutine; on the loop itself it fails, as Do does.
func (e *Engine) TaskInfos() ([]TaskInfo, error) {
	var out []TaskInfo
	err := e.do("TaskInfos", func() {
		for t := e.head; t != nil; t = t.next {
			ti := TaskInfo{ID: t.id, Name: t.name, State: t.state.String(), SpawnedAt: t.SpawnedAt(), Stack: StackOf(t)}
			if t.why != nil {
				ti.WaitingOn = t.why.WaitingOn()
			}
			out = append(out, ti)
		}
	})
	return out, err
}

// NewError returns an Error of kind with msg whose cause (for errors.Is
// and errors.As) is cause; for host code that turns a Go error into a
// script failure.
func NewError(kind Kind, msg string, cause error) *Error {
	return &Error{Kind: kind, Msg: msg, cause: cause}
}

// FromGo converts an error returned by host Go code into a script error:
// an *Error anywhere in its chain keeps its kind, context.Canceled becomes
// cancelled, context.DeadlineExceeded timeout, an argument error of
// starlark.UnpackArgs value, anything else error. prefix (a builtin's
// name) starts the message, once: a message that already starts with it
// (as UnpackArgs's do) keeps its own.
func FromGo(prefix string, err error) *Error {
	kind := KindError
	var ce *Error
	switch {
	case errors.As(err, &ce):
		kind = ce.Kind
		if err == error(ce) {
			// The host made this Error for the script: keep its message.
			return &Error{Kind: kind, Msg: withPrefix(prefix, ce.Msg), cause: ce.cause}
		}
	case errors.Is(err, context.Canceled):
		kind = KindCancelled
	case errors.Is(err, context.DeadlineExceeded):
		kind = KindTimeout
	case IsArgError(err):
		kind = KindValue
	}
	return &Error{Kind: kind, Msg: withPrefix(prefix, err.Error()), cause: err}
}

// withPrefix returns msg starting with "prefix: ", adding it unless there.
func withPrefix(prefix, msg string) string {
	if prefix == "" || strings.HasPrefix(msg, prefix+": ") {
		return msg
	}
	return prefix + ": " + msg
}

// ctxError is the error of a host request whose ctx was done before it began.
func ctxError(op string, err error) *Error {
	return &Error{Kind: ctxKind(err), Msg: op + " cancelled: " + err.Error(), cause: err}
}

// ctxKind is the kind of a host request's end by its ctx, whenever it
// comes: timeout for a deadline (as FromGo has it), else cancelled. (A
// Call whose deadline passed while it ran said cancelled, before it began
// timeout.)
func ctxKind(err error) Kind {
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	return KindCancelled
}

// A hostError is how a script failure leaves the engine toward Go code
// (RunFile, Exec, Call): its text holds the kind, the message and the
// script traceback, and errors.As finds the *Error with the kind.
type hostError struct{ err *Error }

func (h *hostError) Error() string {
	s := h.err.Error()
	if h.err.SpawnedAt != "" || hasScriptFrames(h.err.Stack) {
		s += "\n" + strings.TrimSuffix(h.err.Traceback(), "\n")
	}
	return s
}

func (h *hostError) Unwrap() error { return h.err }

// hostErr wraps a failure for Go callers; nil, an *ExitError (os.exit is
// not a failure) and an already wrapped error pass unchanged.
func hostErr(err error) error {
	if err == nil {
		return nil
	}
	switch err.(type) {
	case *hostError, *ExitError:
		return err
	}
	return &hostError{ToError(err)}
}

func hasScriptFrames(st starlark.CallStack) bool {
	for _, fr := range st {
		if fr.Pos.Line > 0 {
			return true
		}
	}
	return false
}

// String renders the info as one line of a dump.
func (ti TaskInfo) String() string {
	s := fmt.Sprintf("task '%s' (%s)", ti.Name, ti.State)
	if ti.WaitingOn != "" {
		s += ": " + ti.WaitingOn
	}
	return s
}

// beginClose is what Close posts to a loop another goroutine drives: no
// new host requests, and every task cancelled, so the driver finishes.
func (e *Engine) beginClose() {
	e.host.closing = true
	e.host.cut = e.live > 0
	e.endRun("engine closed")
}

// nilArg is the error of a host request given a nil argument: the
// function called would see a parameter never assigned ("local variable
// x referenced before assignment").
func nilArg(op string, args []starlark.Value) error {
	for i, a := range args {
		if a == nil {
			return Errorf(KindValue, "%s: argument %d: got nil, want a value", op, i+1)
		}
	}
	return nil
}

// typeName is v's Starlark type, or "nil" for a missing value (a global
// the module did not define, looked up by the host).
func typeName(v starlark.Value) string {
	if v == nil {
		return "nil"
	}
	return v.Type()
}
