package loop

import (
	"fmt"
	"runtime/debug"
	"time"
	"weak"

	"github.com/corolang/coro/coroutine"
	"github.com/corolang/coro/starlark"
)

// State is a task's lifecycle state (Task.state).
type State uint8

const (
	StateReady State = iota
	StateRunning
	StateWaiting
	StateDone
	StateFailed
	StateCancelled
)

var stateNames = [...]string{"ready", "running", "waiting", "done", "failed", "cancelled"}

func (s State) String() string { return stateNames[s] }

// A Deferred is a call registered with defer().
type Deferred struct {
	Fn     starlark.Callable
	Args   starlark.Tuple
	Kwargs []starlark.Tuple
}

// deferBound bounds the time deferred functions of one task may wait.
const deferBound = 5 * time.Second

// A Task is a Starlark call running as a coroutine on the engine's loop.
//
// A task's size is most of what spawning costs (the memory is fresh, and
// a spawned task is mostly first writes to it): TestTaskSize keeps it in
// its allocation size class, so the one-byte fields share one word and
// what is rarely set sits behind a pointer.
type Task struct {
	eng  *Engine
	id   int64
	name string
	fn   starlark.Callable
	args starlark.Tuple
	link *spawnLink // how the task came to be, for tracebacks (diag.go)
	rare *taskRare  // what few tasks have (taskRare); nil until needed

	thread *starlark.Thread
	exec   Exec
	worker *worker
	result starlark.Value
	err    *Error

	state   State
	cleanup bool // made by SpawnCleanup
	queued  bool // in a group, waiting for a slot (group.go)
	// delivered: the task's cancellation reached it while computing once;
	// final: it did again, and now unwinds the whole stack (preempt).
	delivered, final bool
	// observed and pending track the report of the task's failure
	// (report.go).
	observed, pending bool
	// unwound: the task waits with its thread unwound (ParkThen); it
	// has no worker until it runs again.
	unwound bool

	waiter   *Waiter // the current park
	why      Reason
	watchers WakerList     // completion waiters
	watch1   [1]wakerEntry // watchers' first slot, so one waiter costs no allocation

	// sleep's waiter and timer (see Exec.Sleep; the reason is the task
	// itself, sleepReason).
	sleepWaiter Waiter
	sleepTimer  timer

	// root is the task's own cancel scope (task.cancel() cancels it) and
	// scope its innermost open one (scope.go). sprev and snext link the
	// tasks started in the scope root hangs below (a group's).
	root         CancelScope
	scope        *CancelScope
	sprev, snext *Task

	// val is the task's script value while the task is live, ref once
	// it ended.
	val *TaskValue
	ref weak.Pointer[TaskValue]

	// parkTimer and then are an unwound wait's timeout and what gives
	// the builtin's outcome (afterPark).
	parkTimer *timer
	then      WaitEnd
	// second, if set, runs once the task's function has returned (Then).
	second func(th *starlark.Thread, v starlark.Value, err error) (starlark.Value, error)

	// prev, next link the engine's list of live tasks.
	prev, next *Task
}

// taskRare holds what few tasks have. It is made on first need
// (Task.more), so that a Task stays in its size class (TestTaskSize).
type taskRare struct {
	kwargs   []starlark.Tuple // the function's keyword arguments, until it starts
	injected *Error           // an interruption delivered through thread.Cancel
	defers   []Deferred       // the task function's, registered with defer()
	// onEnd runs when the task finishes, after its deferred functions
	// (generators it made are closed this way): a list, in the order
	// registered, from which a hook is removed in place (EndHook.Remove).
	onEnd endList
	// body is the generator body the task waits in (WaitIn), if any.
	body *Exec
}

// more returns the task's rare fields, making them on first use.
func (t *Task) more() *taskRare {
	if t.rare == nil {
		t.rare = new(taskRare)
	}
	return t.rare
}

// WaitIn records that the task waits in x, the context of a generator
// body that runs for it on a thread of its own (nil once it runs on), so
// that its stack (StackOf: tasks(), the deadlock report) goes on into the
// body's frames, and those of the bodies that resumed it (Body). It is
// set for each wait, not for each item a body emits: that costs nothing
// on a generator's hot path. A wait in a nested body passes through the
// bodies that resumed it: the innermost, which records itself first, is
// kept, and WaitIn reports false to the others, which then must not clear
// it (nil clears it).
func (t *Task) WaitIn(x *Exec) bool {
	if x != nil && t.rare != nil && t.rare.body != nil {
		return false
	}
	if x != nil || t.rare != nil {
		t.more().body = x
	}
	return true
}

// A Body is what a generator body's context holds in Exec.Body: while it
// runs, the context that resumed it.
type Body interface{ ResumedBy() *Exec }

// deferred returns the task's list of deferred calls, nil if it has none.
func (t *Task) deferred() *[]Deferred {
	if t.rare == nil {
		return nil
	}
	return &t.rare.defers
}

// injected returns the interruption delivered through thread.Cancel, or nil.
func (t *Task) injected() *Error {
	if t.rare == nil {
		return nil
	}
	return t.rare.injected
}

// setInjected records (or, with nil, clears) the interruption delivered
// through thread.Cancel.
func (t *Task) setInjected(err *Error) {
	if err != nil || t.rare != nil {
		t.more().injected = err
	}
}

// ID returns the task's id.
func (t *Task) ID() int64 { return t.id }

// Name returns the task's name.
func (t *Task) Name() string { return t.name }

// Engine returns the task's engine.
func (t *Task) Engine() *Engine { return t.eng }

// State returns the task's state.
func (t *Task) State() State { return t.state }

// SpawnedAt returns the file:line:col of the spawn call ("" for main).
func (t *Task) SpawnedAt() string {
	if t.link == nil {
		return ""
	}
	return t.link.at
}

// Thread returns the task's Starlark thread (nil before it starts).
func (t *Task) Thread() *starlark.Thread { return t.thread }

// Why returns what the task waits on, or nil.
func (t *Task) Why() Reason { return t.why }

// Unwound reports whether the task waits unwound: its frames saved on the
// heap and no goroutine of its own (Exec.ParkThen).
func (t *Task) Unwound() bool { return t.unwound && t.worker == nil }

// Done reports whether the task has finished in any way.
func (t *Task) Done() bool { return t.state >= StateDone }

// Err returns the task's error once it failed or was cancelled.
func (t *Task) Err() *Error { return t.err }

// Result returns the task's value once it finished.
func (t *Task) Result() starlark.Value { return t.result }

// Then sets fn to run in the task once its function has returned or
// failed, before its deferred functions, with that outcome, which fn's
// result replaces: a second phase of the task's work that needs the
// task (an HTTP handler's streamed response) while its function runs
// with no Go frame below it, free to wait unwound. fn runs on the task's
// thread and its waits park in place. Call it before the task first runs.
func (t *Task) Then(fn func(th *starlark.Thread, v starlark.Value, err error) (starlark.Value, error)) {
	t.second = fn
}

// OnEnd registers fn to run on the loop when the task finishes. What is
// registered for an object that may go first (a streamed response, a
// socket) is removed when the object goes (EndHook.Remove): in a task
// that runs long, the list held each one, and all it refers to, until
// the task ended.
func (t *Task) OnEnd(fn func()) *EndHook {
	h := &EndHook{fn: fn, list: &t.more().onEnd}
	h.list.push(h)
	return h
}

// EndHooks returns how many functions wait for the task's end (OnEnd),
// for tests: what closes before it must leave none behind.
func (t *Task) EndHooks() int {
	if t.rare == nil {
		return 0
	}
	return t.rare.onEnd.n
}

// An EndHook is a function registered with Task.OnEnd.
type EndHook struct {
	fn         func()
	list       *endList // nil once it ran or was removed
	prev, next *EndHook
}

// Remove unregisters the hook, in constant time; a hook that ran or was
// removed already is left alone. Loop only.
func (h *EndHook) Remove() {
	if h != nil && h.list != nil {
		h.list.unlink(h)
	}
}

// endList is a task's EndHooks, doubly linked.
type endList struct {
	first, last *EndHook
	n           int
}

func (l *endList) push(h *EndHook) {
	h.prev = l.last
	if l.last != nil {
		l.last.next = h
	} else {
		l.first = h
	}
	l.last = h
	l.n++
}

func (l *endList) unlink(h *EndHook) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		l.first = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		l.last = h.prev
	}
	h.prev, h.next, h.list = nil, nil, nil
	h.fn = nil // what it refers to goes with it
	l.n--
}

// run runs the hooks in order, each removed first: one may remove
// another (closing what that one would close), or add one, which runs
// too.
func (l *endList) run() {
	for h := l.first; h != nil; h = l.first {
		fn := h.fn
		l.unlink(h)
		fn()
	}
}

// worker is a pooled coroutine that runs tasks one after another, so that
// spawning reuses goroutines (and their grown stacks) and Starlark threads.
// The loop itself runs on a worker too (loopRun), and runs the tasks it
// can in line, on its own stack: a task that starts, or resumes unwound,
// then costs no coroutine switch. If such a task must wait in place (under
// a Go callback, at the end of its time slice), the worker stays with it
// and the loop goes on on another worker (handoff).
type worker struct {
	co     *coroutine.Coroutine[work, bool]
	thread *starlark.Thread // made on first use, reset for each task
	yield  func()           // suspends back to the resumer (bound once)
	// layers counts loops this worker was handed off from: their frames
	// stay below whatever it runs next, so it is pooled only a few times.
	layers int
}

// work is what a worker is resumed with: a task to run, or the loop; the
// zero work retires the worker.
type work struct {
	t    *Task
	loop *loopRun
}

// maxLayers bounds the stale loop frames a pooled worker may carry.
const maxLayers = 4

func newWorker(e *Engine) *worker {
	w := &worker{}
	w.yield = func() { w.co.Suspend(false) }
	w.co = coroutine.New(func(c *coroutine.Coroutine[work, bool], first work) bool {
		growStack()
		e.AsLoopCode(func() { w.serve(first) })
		return true
	})
	return w
}

// serve runs what the worker is given until it is retired.
func (w *worker) serve(next work) {
	for next != (work{}) {
		if next.t != nil {
			next.t.run(w)
		} else {
			next.loop.run(w)
		}
		next = w.co.Suspend(true) // done; wait for more (zero: retire)
	}
}

// run executes the task's call, its deferred functions, and finishes it.
// It runs on the worker's coroutine, with the worker's thread reset for it.
//
// A task waiting in a builtin that unwinds its thread (ParkThen) leaves
// run with t.unwound set: its Starlark frames are on the heap, and the
// worker is free for other tasks. The next run of the task, on whichever
// worker, resumes the thread instead of starting it.
func (t *Task) run(w *worker) {
	e := t.eng
	var v starlark.Value
	var err error
	th := t.thread
	if t.unwound {
		t.unwound = false
		t.exec.Yield = w.yield
		v, err = ResumeFn(th)
	} else {
		th = w.thread
		if th == nil {
			th = e.NewThread(t.name, nil)
			w.thread = th
		} else {
			th.Name = t.name
			th.Steps = 0
			th.SetMaxExecutionSteps(e.slice)
			th.Uncancel()
		}
		t.exec = Exec{Task: t, Yield: w.yield}
		SetExec(th, &t.exec)
		e.threadHook(th)
		t.thread = th

		// A task queued behind its group's limit starts here, granted a
		// slot or interrupted (group.go).
		t.waiter, t.why = nil, nil
		if ierr := t.interruption(); ierr != nil {
			// Cancelled before it first ran: it never runs (its group's
			// cancellation, too, ends the tasks still queued this way).
			err = ierr
		} else {
			th.SetUnwindable(true)
			var kwargs []starlark.Tuple
			if t.rare != nil {
				kwargs, t.rare.kwargs = t.rare.kwargs, nil
			}
			v, err = CallFn(th, t.fn, t.args, kwargs)
		}
		t.args = nil
	}
	if starlark.IsUnwound(err) {
		// Parked with its frames on the heap: the thread goes with the
		// task, and the worker makes another for its next task.
		t.unwound = true
		if w.thread == th {
			w.thread = nil
		}
		return
	}
	th.SetUnwindable(false) // deferred calls wait in place
	if w.thread == nil {
		w.thread = th // a resumed task's thread serves the worker next
	}
	if second := t.second; second != nil {
		t.second = nil
		v0, err0 := v, err
		v, err = callFn(th, func() (starlark.Value, error) { return second(th, v0, err0) })
	}
	if derr := t.exec.runDefers(th, t.deferred()); derr != nil && err == nil {
		err = derr
	}
	t.finish(v, err)
}

// CallFn calls fn from a builtin running on thread, turning a Go panic into
// an error and an interruption delivered through thread.Cancel back into
// its coro error. Every builtin that calls back into script uses it. A
// call that unwinds the thread (starlark.IsUnwound) is passed through.
func CallFn(th *starlark.Thread, fn starlark.Callable, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
	defer recoverCall(&v, &err)
	v, err = starlark.Call(th, fn, args, kwargs)
	return afterCall(th, v, err)
}

// ResumeFn is CallFn's resumption of a thread that unwound
// (starlark.Thread.Resume).
func ResumeFn(th *starlark.Thread) (v starlark.Value, err error) {
	defer recoverCall(&v, &err)
	v, err = th.Resume()
	return afterCall(th, v, err)
}

// callFn is CallFn of any call made on th.
func callFn(th *starlark.Thread, call func() (starlark.Value, error)) (v starlark.Value, err error) {
	defer recoverCall(&v, &err)
	v, err = call()
	return afterCall(th, v, err)
}

// recoverCall, deferred by CallFn, turns a panic into an internal error
// (the result of the call).
func recoverCall(v *starlark.Value, err *error) {
	if r := recover(); r != nil {
		if r == coroutine.ErrAbandoned {
			panic(r)
		}
		e := Errorf(KindError, "internal error: %v", r)
		e.GoStack = string(debug.Stack())
		*v, *err = nil, e
	}
}

// afterCall is CallFn's outcome of a call on th that gave v, err.
func afterCall(th *starlark.Thread, v starlark.Value, err error) (starlark.Value, error) {
	if starlark.IsUnwound(err) {
		return nil, err
	}
	// An interruption delivered through th.Cancel (preempt), or an error
	// raised into th by an iterator (Exec.Raise: list(g), for x in ch), is
	// fn's failure, even if fn returned normally without noticing it. A
	// raised error carries its own frames (a generator body's): they go
	// below the frames of the thread that noticed it.
	if x := ExecOf(th); x != nil && x.Task != nil && x.Task.injected() != nil {
		inj := x.Task.injected()
		if x.Task.final {
			th.Cancel(inj.Error()) // this thread too (a generator's consumer)
		} else {
			x.Task.setInjected(nil)
			th.Uncancel()
		}
		var outer starlark.CallStack
		if err != nil {
			outer = ToError(err).Stack
		} else {
			outer = th.CallStack()
		}
		ce := *inj
		ce.Stack = append(outer, inj.Stack...)
		return nil, &ce
	}
	if err == nil {
		return v, nil
	}
	ce := ToError(err)
	if ce.Task == "" && th.CallStackDepth() == 0 {
		if x := ExecOf(th); x != nil && x.Task != nil {
			x.Task.setOrigin(ce)
		}
	}
	return nil, ce
}

// runDefers runs the deferred calls in *list, last first, shielded from
// the task's cancellation and bounded by deferBound. It returns the first
// error a deferred call raised. A generator body's deferred functions may
// emit, and another task resume the body: x.Task is then that task, whose
// stack the scopes are on (BodyScopes).
func (x *Exec) runDefers(th *starlark.Thread, list *[]Deferred) error {
	if list == nil || len(*list) == 0 {
		return nil
	}
	t := x.Task
	e := t.eng
	if t.final {
		// A cancellation that unwound the stack stops at the deferred
		// functions: they run with it lifted.
		t.setInjected(nil)
		t.final = false
		th.Uncancel()
	}
	sh := &CancelScope{shield: true}
	bound := &CancelScope{deferred: true}
	t.push(sh)
	t.push(bound)
	tm := e.AfterFunc(deferBound, func() {
		bound.Cancel(Errorf(KindTimeout, "deferred functions exceeded %s", fmtSeconds(deferBound.Seconds())))
	})
	var first error
	for len(*list) > 0 {
		d := (*list)[len(*list)-1]
		*list = (*list)[:len(*list)-1]
		if _, err := CallFn(th, d.Fn, d.Args, d.Kwargs); err != nil && first == nil {
			first = err
		}
	}
	e.stopTimer(tm)
	x.Task.pop(sh)
	return first
}

// RunDefers runs a generator body's (or other context's) deferred calls.
func (x *Exec) RunDefers(th *starlark.Thread, list *[]Deferred) error {
	return x.runDefers(th, list)
}

// deferralsOver returns the error of the bound of the deferred functions
// running now, once it has expired: they may no longer defer more.
// Otherwise a deferred function that deferred itself again ran for ever,
// past the bound and deaf to cancellation (found by fuzzing).
func (t *Task) deferralsOver() *Error {
	if sc := t.deferredScope(); sc != nil {
		return sc.err
	}
	return nil
}

// deferredScope returns the bound of the deferred functions running now
// (the innermost, if they nest), or nil if none are.
func (t *Task) deferredScope() *CancelScope {
	for sc := t.scope; sc != nil && sc != &t.root; sc = sc.parent {
		if sc.deferred {
			return sc
		}
	}
	return nil
}

// Cleanup reports whether the task was made by Engine.SpawnCleanup.
func (t *Task) Cleanup() bool { return t.cleanup }

// interrupt delivers the task's pending interruption now if it is parked;
// a running or ready task gets it at its next wait or time-slice boundary.
func (t *Task) interrupt() {
	if t.state == StateWaiting && t.waiter != nil {
		if err := t.interruption(); err != nil {
			t.waiter.Complete(-1, nil, err)
		}
	}
}

// Cancel cancels the task (SPEC 4): its current or next wait fails with
// cancelled, a computing task is stopped within one time slice, and every
// later wait fails again. A finished task is left alone.
//
// It cancels the task's root scope, so the tasks of every group the task
// is in the body of are cancelled too.
func (t *Task) Cancel(reason string) {
	if t.Done() || t.root.err != nil {
		return
	}
	t.eng.traceEvent(t, "cancel")
	t.root.Cancel(&Error{Kind: KindCancelled, Msg: reason})
}

// cancelRequested reports whether the task itself was cancelled (Cancel).
func (t *Task) cancelRequested() bool { return t.root.err != nil }

// finish records the outcome, wakes waiters and reports an unobserved failure.
func (t *Task) finish(v starlark.Value, err error) {
	e := t.eng
	if err != nil {
		ce := ToError(err)
		t.setOrigin(ce)
		t.err = ce
		if ce.Kind == KindCancelled && t.cancelledFromOutside() {
			t.state = StateCancelled
		} else {
			t.state = StateFailed
		}
		t.result = nil
	} else {
		t.state = StateDone
		if v == nil {
			v = starlark.None
		}
		t.result = v
	}
	if s := t.root.parent; s != nil {
		s.leave(t)
		t.root.parent = nil
		if s.onTaskEnd != nil {
			s.onTaskEnd(t)
		}
	}
	if t.rare != nil {
		t.rare.onEnd.run()
	}
	watched := t.watchers.broadcast(t.result, t.errOrNil())
	e.taskEnded(t, watched)
}

func (t *Task) errOrNil() error {
	if t.err == nil {
		return nil
	}
	return t.err
}

// Awaitable implementation: waiting on a task returns its value or raises its error.

func (t *Task) Poll(*Task) (starlark.Value, error, bool) {
	if t.Done() {
		t.observe()
		return t.result, t.errOrNil(), true
	}
	return nil, nil, false
}
func (t *Task) Enqueue(w Waker, index int) { t.watchers.Add(w, index) }
func (t *Task) Dequeue(w Waker)            { t.watchers.Remove(w) }
func (t *Task) WaitingOn() string          { return fmt.Sprintf("wait task '%s'", t.name) }

// WakerList is a list of (Waker, index) registrations, the building block
// of Awaitable sources: a waitList (see there what removing costs).
type WakerList struct{ q waitList[wakerEntry] }

// Add registers w for case index.
func (l *WakerList) Add(w Waker, index int) { l.q.push(wakerEntry{w, index}) }

// Remove drops every registration of w. Call it once the wait ended (w
// accepts nothing more), as Dequeue is: then it costs O(1) amortised.
func (l *WakerList) Remove(w Waker) { l.q.remove(w) }

// Broadcast completes every registration that accepts, with (v, err), and clears the list.
func (l *WakerList) Broadcast(v starlark.Value, err error) { l.broadcast(v, err) }

// broadcast is Broadcast; it reports whether some registration accepted.
func (l *WakerList) broadcast(v starlark.Value, err error) (accepted bool) {
	all := l.q.takeAll() // what a completion registers meanwhile goes to a new array
	for _, we := range all {
		if we.w.Accepts(we.index) {
			accepted = true
			we.w.Complete(we.index, v, err)
		}
	}
	l.q.reuse(all)
	return accepted
}

// PopAccepting removes and returns the first registration that still
// accepts, dropping stale ones; ok is false when none is left.
func (l *WakerList) PopAccepting() (w Waker, index int, ok bool) {
	we, ok := l.q.pop()
	return we.w, we.index, ok
}

// Filter calls keep for every registration that still accepts, in order,
// and drops those it returns false for (with the stale ones): a source
// that wakes some of its waiters and not others (a watch wakes those to
// whom its value is new). keep must not register on l.
func (l *WakerList) Filter(keep func(w Waker, index int) bool) {
	l.q.filter(func(e *wakerEntry) bool { return live(e) && keep(e.w, e.index) })
}

// HasAccepting reports whether some registration still accepts.
func (l *WakerList) HasAccepting() bool { return l.q.waiting() }
