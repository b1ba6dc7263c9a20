package loop

import (
	"errors"
	"fmt"
	"time"

	"github.com/corolang/coro/starlark"
)

// A Waker receives the outcome of an operation a task waits for. Sources
// (channels, tasks, futures, timers, events) hold (Waker, index) pairs and,
// once an operation can complete, ask Accepts first, then perform the
// operation (take the value, say) and call Complete. All on the loop.
type Waker interface {
	// Accepts reports whether case index still wants an outcome.
	Accepts(index int) bool
	// Complete delivers the outcome of case index.
	Complete(index int, v starlark.Value, err error)
}

// A Waiter is a one-shot Waker: the first Complete wins and makes its task
// ready; that is what gives select its exactly-one-case guarantee.
type Waiter struct {
	task  *Task
	fired bool
	// Index is the case that completed the waiter (-1: a timeout or an
	// interruption). An int32 shares fired's word: a Waiter is 48 bytes,
	// and a Task, which holds one, stays in its size class (TestTaskSize).
	Index int32
	Value starlark.Value
	Err   error
}

// NewWaiter returns a waiter for the task that will park on it.
func NewWaiter(t *Task) *Waiter { return &Waiter{task: t, Index: -1} }

// Task returns the task that parks on the waiter.
func (w *Waiter) Task() *Task { return w.task }

// Fired reports whether the waiter has an outcome.
func (w *Waiter) Fired() bool      { return w.fired }
func (w *Waiter) Accepts(int) bool { return !w.fired }
func (w *Waiter) Complete(index int, v starlark.Value, err error) {
	if w.fired {
		return
	}
	w.fired, w.Index, w.Value, w.Err = true, int32(index), v, err
	if w.task.state == StateWaiting {
		w.task.eng.makeReady(w.task)
	}
}

// Result returns the waiter's outcome as a builtin's return values.
func (w *Waiter) Result() (starlark.Value, error) {
	if w.Err != nil {
		return nil, w.Err
	}
	if w.Value == nil {
		return starlark.None, nil
	}
	return w.Value, nil
}

// An Awaitable is a value a task can wait for: Task, Future, Timer, a
// channel operation, an event's wait_op. wait, join, race and select take
// any of them.
type Awaitable interface {
	starlark.Value
	// Poll performs the operation if it can complete now, without waiting.
	Poll(t *Task) (v starlark.Value, err error, ok bool)
	// Enqueue registers w so that, once the operation can complete, it is
	// performed for w (if w.Accepts(index)) and w completed with index.
	Enqueue(w Waker, index int)
	// Dequeue removes w's registrations, if any are left.
	Dequeue(w Waker)
	// WaitingOn describes the wait, for diagnostics: "recv on channel#3 (0/2 buffered)".
	WaitingOn() string
}

// A Reason describes what a parked task waits on (TaskInfo.waiting_on).
type Reason interface{ WaitingOn() string }

// ReasonString is a fixed Reason.
type ReasonString string

func (r ReasonString) WaitingOn() string { return string(r) }

// NoTimeout is the timeout argument of Park meaning "wait as long as it takes".
const NoTimeout time.Duration = -1

// An Exec is the execution context of one Starlark thread: the task it runs
// for, how it gives control back toward the loop, and where defer() puts
// deferred calls. A task's own thread has one; so has each generator body's
// thread, whose Task is its current consumer and whose Yield passes through
// the consumer (see package generator).
type Exec struct {
	Task  *Task
	Yield func()
	// Defers is the list defer() adds to: a generator body's own. A
	// task's own context leaves it nil: the task keeps its list
	// (Task.deferred), made on first use (deferList).
	Defers *[]Deferred
	// Body is the generator body this context runs, for package generator
	// (emit finds its generator here: a field, not a thread-local map). If
	// it is a loop.Body, StackOf follows it to the context that resumed it.
	Body   any
	thread *starlark.Thread // set by SetExec; Raise cancels it
	// retry is retryArmed while a Retrying builtin's body runs on a
	// thread that may unwind, and the wait it handed over once it has;
	// retrySpare is the task's record of such waits, reused.
	retry, retrySpare *retryWait
}

// deferList returns the list defer() adds to in x, or nil where nothing
// may defer (a task that has finished, a context of no task).
func (x *Exec) deferList() *[]Deferred {
	if x.Defers != nil {
		return x.Defers
	}
	if t := x.Task; t != nil && x == &t.exec && !t.Done() {
		return &t.more().defers
	}
	return nil
}

// ExecOf returns the execution context of thread, or nil for a thread the
// engine did not make (then no builtin that waits can be used).
func ExecOf(thread *starlark.Thread) *Exec {
	x, _ := thread.Host.(*Exec)
	return x
}

// SetExec attaches x to thread; it must be called before the thread runs.
// It is kept in thread.Host, not a thread-local: every builtin looks it up.
func SetExec(thread *starlark.Thread, x *Exec) {
	thread.Host = x
	x.thread = thread
}

// Thread returns the thread x is attached to (SetExec), or nil: for
// code that gets no thread, such as a starlark.Iterator's Next.
func (x *Exec) Thread() *starlark.Thread { return x.thread }

// Raise makes x's thread fail with err at its next step, as if the
// running builtin had returned it. It is for code that waits but cannot
// return an error, such as a starlark.Iterator's Next (for v in ch).
func (x *Exec) Raise(err *Error) {
	if x.thread == nil || x.Task == nil || x.Task.injected() != nil {
		return
	}
	x.Task.setInjected(err)
	x.thread.Cancel(err.Error())
}

// Checkpoint returns the error a wait of x's task would fail with now
// (cancelled, an expired timeout() scope), or nil. Operations that may
// complete without waiting (a free lock, a channel with room) call it
// first, so that a cancelled task fails them as it fails every wait.
func (x *Exec) Checkpoint() error {
	if err := x.Task.interruption(); err != nil {
		return err
	}
	return nil
}

// TaskOf returns the task that thread runs for, or an error naming fn when
// called where no task runs (a parallel worker, a foreign thread).
func TaskOf(thread *starlark.Thread, fn string) (*Exec, error) {
	x := ExecOf(thread)
	if x == nil || x.Task == nil {
		if name, ok := thread.Local(parallelKey).(string); ok {
			return nil, Errorf(KindValue, "%s: I/O and waiting are not allowed inside parallel %s() (only computation runs on another core)", fn, name)
		}
		return nil, Errorf(KindValue, "%s: cannot wait here (not inside a coro task)", fn)
	}
	return x, nil
}

// Park suspends the calling task until w completes, the task is interrupted
// (cancelled, or its timeout() scope expires), or timeout passes (then
// w.Err is a timeout error naming op). The caller must have registered w
// with whatever will complete it, and must dequeue it afterwards.
func (x *Exec) Park(w *Waiter, why Reason, timeout time.Duration, op string) {
	tm, ok := x.parkStart(w, why, timeout, op)
	if !ok {
		return
	}
	x.Yield()
	x.parkEnd(tm)
}

// ParkThen is Park followed by then, for the builtin b running on th,
// which returns ParkThen's result: then reads the outcome from w, and is
// given w and why, so that a wait's end can be one function rather than
// a closure made per wait. Where
// th may unwind (starlark.Thread.CanUnwind: only Starlark functions below
// b, in a task's own thread), the task waits with its frames on the heap
// and no goroutine, and then runs when it is resumed; elsewhere the task
// parks in place. A waiting task costs much less memory unwound, so the
// builtins tasks wait in most (sleep, Channel.send and recv) use this.
//
// With b nil (Go code calling a wait: Exec.WaitOne, Channel.Send), the
// task parks in place: each wait has one implementation, its start
// before ParkThen and its end in then, whoever calls it.
func (x *Exec) ParkThen(th *starlark.Thread, b *starlark.Builtin, w *Waiter, why Reason, timeout time.Duration, op string, then WaitEnd) (starlark.Value, error) {
	if b == nil || !th.CanUnwind(b) {
		x.Park(w, why, timeout, op)
		return then(w, why)
	}
	return x.parkUnwound(th, false, w, why, timeout, op, then)
}

// ParkIterThen is ParkThen for the NextOn of a for loop's iterator
// (starlark.WaitingIterator) running on th: then keeps what the wait
// brought in the iterator, and returns only an error. Where th may unwind
// (starlark.Thread.CanUnwindIter) the task waits unwound, and
// ParkIterThen returns the sentinel NextOn returns; the loop's step runs
// again once then has run. Elsewhere it parks in place and returns then's
// error.
func (x *Exec) ParkIterThen(th *starlark.Thread, w *Waiter, why Reason, timeout time.Duration, op string, then WaitEnd) error {
	var err error
	if !th.CanUnwindIter() {
		x.Park(w, why, timeout, op)
		_, err = then(w, why)
	} else {
		_, err = x.parkUnwound(th, true, w, why, timeout, op, then)
	}
	return err
}

// parkUnwound is the wait of ParkThen (iter false) and ParkIterThen
// where th may unwind.
func (x *Exec) parkUnwound(th *starlark.Thread, iter bool, w *Waiter, why Reason, timeout time.Duration, op string, then WaitEnd) (starlark.Value, error) {
	tm, ok := x.parkStart(w, why, timeout, op)
	if !ok {
		return then(w, why)
	}
	// The continuation is one function for every task (afterPark): only
	// then is new per wait.
	t := x.Task
	t.parkTimer, t.then = tm, then
	if iter {
		return nil, th.UnwindIter(afterPark)
	}
	return nil, th.Unwind(afterPark)
}

// afterPark is the continuation of a task that unwound in ParkThen or
// YieldThen: the wait ends, and then (YieldThen's end if nil) gives the
// builtin's outcome.
func afterPark(th *starlark.Thread) (starlark.Value, error) {
	t := ExecOf(th).Task
	w, why := t.waiter, t.why // parkStart's, which parkEnd clears
	t.exec.parkEnd(t.parkTimer)
	then := t.then
	t.parkTimer, t.then = nil, nil
	if then == nil {
		return t.yieldEnd()
	}
	return then(w, why)
}

// A WaitEnd ends a wait of ParkThen: it undoes what the caller did to be
// woken (dequeue w from what it waited for, why) and gives the outcome.
type WaitEnd = func(w *Waiter, why Reason) (starlark.Value, error)

// A BuiltinFunc is the body of a builtin (starlark.NewBuiltin's).
type BuiltinFunc = func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Retrying makes f, the body of a builtin whose operation changes nothing
// until it can complete (a read that found no data, an accept with no
// connection waiting), wait unwound: a wait its operation reaches through
// WaitOnList or WaitThen is handed back here instead of parking in place;
// the task waits unwound (ParkThen), and once woken f runs again from the
// start, as the operation's own loop would have tried again. f must
// return that wait's error at once and keep no progress in Go variables
// across it (what it read stays in the stream's buffer, say). Where the
// thread cannot unwind, f runs as it is and its waits park in place.
func Retrying(f BuiltinFunc) BuiltinFunc {
	var self BuiltinFunc
	self = func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x := ExecOf(th)
		if x == nil || x.Task == nil || x.retry != nil || !th.CanUnwind(b) {
			return f(th, b, args, kwargs)
		}
		x.retry = retryArmed
		v, err := f(th, b, args, kwargs)
		r := x.retry
		x.retry = nil
		if r == retryArmed {
			return v, err // it did not wait
		}
		if err != errRetry {
			// It went on after handing over its wait: a program error;
			// undo the registration rather than leave it behind.
			r.finish()
			return v, err
		}
		r.self, r.th, r.b, r.args, r.kwargs = self, th, b, args, kwargs
		// r.again is bound once, rather than a closure made per wait.
		return x.ParkThen(th, b, r.w, r.why, r.timeout, r.op, r.again)
	}
	return self
}

// A retryWait is a wait handed to Retrying, and the call to make again.
// A task keeps one (Exec.retrySpare) and reuses it for each such wait,
// with its waiter when the wait is on a WakerList: a read that waits
// allocates nothing for it after the first (or after one that timed out).
type retryWait struct {
	x       *Exec
	w       *Waiter
	why     Reason
	timeout time.Duration
	op      string
	// What ends the wait: end (WaitThen), or list and the engine's hold
	// (WaitOnList, whose waiter is own: reused while no entry of it can
	// be left in a list, see finish).
	end  func() error
	list *WakerList
	own  *Waiter
	// The builtin to run again, and again (resume, bound once): what
	// ParkThen runs once the task is woken.
	self   BuiltinFunc
	th     *starlark.Thread
	b      *starlark.Builtin
	args   starlark.Tuple
	kwargs []starlark.Tuple
	again  WaitEnd
}

// retryArmed marks an Exec whose Retrying body runs and has not waited.
var retryArmed = &retryWait{}

// errRetry is what a wait returns when it was handed to Retrying.
var errRetry = errors.New("loop: the wait was handed to the retrying builtin (not an error)")

// handOver returns x's retryWait if a Retrying body runs and has not
// waited, marked as handed over; else nil.
func (x *Exec) handOver() *retryWait {
	if x.retry != retryArmed {
		return nil
	}
	r := x.retrySpare
	if r == nil {
		r = &retryWait{x: x}
		r.again = r.resume
		x.retrySpare = r
	}
	x.retry = r
	return r
}

// finish ends the wait: the registration is removed, and the wait's error
// returned. r may be used again once it has.
func (r *retryWait) finish() error {
	if end := r.end; end != nil {
		r.end = nil
		return end()
	}
	r.x.Task.eng.releaseList()
	r.list.Remove(r.w)
	r.list = nil
	if r.w.Index != 0 {
		// Not woken through the list: its entry may be left there, dead
		// (waitList), so the next wait gets a new waiter.
		r.own = nil
	}
	return r.w.Err
}

// resume ends a handed-over wait and runs the builtin again.
func (r *retryWait) resume(*Waiter, Reason) (starlark.Value, error) {
	self, th, b, args, kwargs := r.self, r.th, r.b, r.args, r.kwargs
	r.self, r.th, r.b, r.args, r.kwargs = nil, nil, nil, nil, nil
	err := r.finish()
	r.w, r.why = nil, nil
	if err != nil {
		return nil, err
	}
	return self(th, b, args, kwargs)
}

// WaitThen parks the task until w completes (as Park) and returns end's
// outcome, end undoing what the caller did to be woken (dequeue w) and
// returning the wait's error. Inside a Retrying body that may unwind it
// parks nothing: it hands the wait over and returns an error the caller
// returns at once (see Retrying).
func (x *Exec) WaitThen(w *Waiter, why Reason, timeout time.Duration, op string, end func() error) error {
	if r := x.handOver(); r != nil {
		r.w, r.why, r.timeout, r.op, r.end = w, why, timeout, op, end
		return errRetry
	}
	x.Park(w, why, timeout, op)
	return end()
}

// WaitOnList parks the task until something broadcasts on list, or the
// wait ends otherwise (timeout, cancellation), then drops its
// registration, and returns the wait's error. It is the wait for the
// outside world (a socket, a child, a stream: stream.WaitOn): the engine
// is held (Engine.Hold) meanwhile, so that the deadlock detector does not
// call a task that waits on a socket blocked for good (SPEC 1: such a
// wait keeps the run going). Inside a Retrying body it is handed over, as
// WaitThen's.
func (x *Exec) WaitOnList(list *WakerList, why Reason, timeout time.Duration, op string) error {
	e := x.Task.eng
	if r := x.handOver(); r != nil {
		if r.own == nil {
			r.own = NewWaiter(x.Task)
		} else {
			*r.own = Waiter{task: x.Task, Index: -1}
		}
		r.w, r.why, r.timeout, r.op, r.list = r.own, why, timeout, op, list
		list.Add(r.w, 0)
		e.holdList()
		return errRetry
	}
	w := NewWaiter(x.Task)
	list.Add(w, 0)
	e.holdList()
	x.Park(w, why, timeout, op)
	e.releaseList()
	list.Remove(w)
	return w.Err
}

// parkStart prepares the task to wait for w: ok is false when it need not
// (interrupted, or w already completed). tm is the timeout's timer.
func (x *Exec) parkStart(w *Waiter, why Reason, timeout time.Duration, op string) (tm *timer, ok bool) {
	t := x.Task
	if err := t.interruption(); err != nil {
		w.Complete(-1, nil, err)
		return nil, false
	}
	if w.fired {
		return nil, false
	}
	e := t.eng
	if timeout >= 0 {
		tm = e.AfterFunc(timeout, func() {
			w.Complete(-1, nil, Errorf(KindTimeout, "%s exceeded %s", op, fmtSeconds(timeout.Seconds())))
		})
	}
	t.state = StateWaiting
	t.waiter = w
	t.why = why
	return tm, true
}

// parkEnd ends a wait that parkStart began, once the task runs again.
func (x *Exec) parkEnd(tm *timer) {
	t := x.Task
	t.waiter = nil
	t.why = nil
	if tm != nil {
		t.eng.stopTimer(tm)
	}
}

// YieldThen is YieldNow for the builtin b running on th, which returns
// YieldThen's result (None, or the interruption): where th may unwind, the
// task waits in the ready queue unwound, as in ParkThen.
func (x *Exec) YieldThen(th *starlark.Thread, b *starlark.Builtin) (starlark.Value, error) {
	t := x.Task
	if b == nil || !th.CanUnwind(b) {
		if err := x.YieldNow(); err != nil {
			return nil, err
		}
		return starlark.None, nil
	}
	if err := t.interruption(); err != nil {
		return nil, err
	}
	t.eng.makeReady(t)
	t.parkTimer, t.then = nil, nil
	return nil, th.Unwind(afterPark)
}

// yieldEnd is the outcome of YieldThen once the task runs again.
func (t *Task) yieldEnd() (starlark.Value, error) {
	if err := t.interruption(); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// YieldNow puts the calling task at the back of the ready queue and lets
// every other ready task run once (sleep(0)). It returns the task's pending
// interruption, if any.
func (x *Exec) YieldNow() error {
	t := x.Task
	if err := t.interruption(); err != nil {
		return err
	}
	t.eng.makeReady(t)
	x.Yield()
	if err := t.interruption(); err != nil {
		return err
	}
	return nil
}

// WaitOne waits for a single awaitable, for Go code.
func (x *Exec) WaitOne(a Awaitable, timeout time.Duration) (starlark.Value, error) {
	return x.WaitOneIn(nil, nil, a, timeout)
}

// WaitOneIn is WaitOne for the builtin b running on th (wait(), .wait(),
// Event.wait), which returns its result: the task waits unwound where it
// can (ParkThen). b nil is WaitOne. Its errors name b as MethodName does
// ("timeout: Future.wait exceeded 1s", as Channel.recv's name it), where
// every .wait said "wait".
func (x *Exec) WaitOneIn(th *starlark.Thread, b *starlark.Builtin, a Awaitable, timeout time.Duration) (starlark.Value, error) {
	op := "wait"
	if b != nil {
		op = MethodName(b)
	}
	if a == Awaitable(x.Task) {
		return nil, selfWaitError(op, "", -1)
	}
	if err := x.Task.interruption(); err != nil {
		return nil, err
	}
	if v, err, ok := a.Poll(x.Task); ok {
		return v, err
	}
	w := NewWaiter(x.Task)
	a.Enqueue(w, 0)
	return x.ParkThen(th, b, w, a, timeout, op, waitEnd)
}

// waitEnd ends wait's wait on the Awaitable why.
func waitEnd(w *Waiter, why Reason) (starlark.Value, error) {
	why.(Awaitable).Dequeue(w)
	return w.Result()
}

// selfWaitError is the value error for a task waiting on itself, which
// could never end (asyncio and Trio raise too): i is the argument's
// position ("argument" or "case" says which), or -1 when there is one.
func selfWaitError(fn, what string, i int) *Error {
	if i < 0 {
		return Errorf(KindValue, "%s: a task cannot wait for itself", fn)
	}
	return Errorf(KindValue, "%s: %s %d is the calling task; a task cannot wait for itself", fn, what, i+1)
}

// checkSelfWait fails when one of items (what: "argument", "case") is the
// calling task.
func (x *Exec) checkSelfWait(fn, what string, items starlark.Tuple) error {
	for i, v := range items {
		if t, ok := v.(*TaskValue); ok && t.t == x.Task {
			return selfWaitError(fn, what, i)
		}
	}
	return nil
}

// AsAwaitable converts a value to an Awaitable, or returns a value error
// naming fn and the argument's position.
func AsAwaitable(fn string, i int, v starlark.Value) (Awaitable, error) {
	if a, ok := v.(Awaitable); ok {
		return Unwrap(a), nil
	}
	return nil, Errorf(KindValue, "%s: argument %d: got %s, want an awaitable (Task, Future, Timer, channel op, event.wait_op())", fn, i+1, v.Type())
}

// TimeoutArg unpacks an optional timeout in seconds (None = no timeout).
func TimeoutArg(fn string, v starlark.Value) (time.Duration, error) {
	if v == nil || v == starlark.None {
		return NoTimeout, nil
	}
	s, err := SecondsArg(fn, "timeout", v)
	if err != nil {
		return 0, err
	}
	return DurationOf(s), nil
}

// SecondsArg unpacks a non-negative number of seconds, the one place
// where every duration a script gives (sleep, after, ticker, timeout,
// timeout=) is read. An int is read as the float nearest it, +Inf past
// the floats: sleep(1 << 80) is sleep(1.2089258196146292e+24), capped
// by DurationOf as sleep(1e300) is, where it was "out of range".
func SecondsArg(fn, param string, v starlark.Value) (float64, error) {
	var s float64
	switch v := v.(type) {
	case starlark.Int:
		s = float64(v.Float())
	case starlark.Float:
		s = float64(v)
	default:
		return 0, Errorf(KindValue, "%s: for parameter %s: got %s, want int or float", fn, param, v.Type())
	}
	if s < 0 || s != s {
		return 0, Errorf(KindValue, "%s: %s must be >= 0, got %s", fn, param, v.String())
	}
	return s, nil
}

// sleepReason is a sleeping task as the Reason it waits for: its own
// sleep timer says until when, so the reason takes no room of its own.
type sleepReason Task

func (r *sleepReason) WaitingOn() string {
	t := (*Task)(r)
	if t.eng.clock.never(t.sleepTimer.when) {
		return "sleep past the end of the virtual clock"
	}
	return fmt.Sprintf("sleep until +%.2fs", (t.sleepTimer.when - t.eng.clock.now()).Seconds())
}
