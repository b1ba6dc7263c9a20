// Package generator implements coro's generators (SPEC 5): the Generator
// value, the generator, emit and emit_all builtins, and FromFunc, which
// lets Go code (a socket's or a file's lines()) offer the same value.
//
// A generator body has its own Starlark thread, whose execution context
// (loop.Exec) names the consumer's task, so a body may wait (sleep, recv,
// read) like a task: its wait is the consumer task's, and time slicing and
// cancellation reach bodies through the same path as they reach tasks (an
// async iterator without new syntax).
//
// A Starlark body runs in line, on its consumer's goroutine: emit unwinds
// the body's thread (starlark.Thread.Unwind) and the value goes to the
// consumer; the next resume continues the thread, the continuation giving
// emit's outcome. A wait in the body unwinds it too, and the consumer's
// task waits. So an item costs no coroutine switch, and a parked body no
// goroutine. An emit under a Go function (catch(emit, x), sorted's key,
// emit_all, a deferred function) cannot unwind, and that Go frame would
// sit on the consumer's stack: so before a builtin marked
// starlark.Builtin.Stackful runs (Thread.OnStackful), and to run deferred
// functions, the body moves to a coroutine of its own, where emit
// suspends the coroutine and a wait forwards to the consumer, whose side
// yields the task and then resumes the body. Go bodies run there from the
// start.
//
// A generator dropped half-way is closed (its pending emit fails with
// cancelled, its deferred functions run) when the task that made it ends or
// when its Generator value becomes unreachable, whichever comes first; see
// lifecycle.go.
package generator

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/corolang/coro/coroutine"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// phase is where a generator's body is.
type phase uint8

const (
	fresh     phase = iota // created; nothing has run
	suspended              // parked at an emit
	running                // resumed by a consumer (computing or waiting)
	finished               // returned, failed or closed
)

// Messages between consumer and body. They travel by value through the
// coroutine, so the per-item path allocates nothing.
type inMsg struct {
	op  uint8 // opSend, opThrow, opClose or opContinue
	v   starlark.Value
	err error
}

const (
	opSend     uint8 = iota // emit returns v
	opThrow                 // emit fails with err
	opClose                 // emit fails with cancelled
	opContinue              // the consumer's task yielded as the body asked; go on
)

type outMsg struct {
	op uint8 // outEmit, outYield or outReturn
	v  starlark.Value
}

const (
	outEmit   uint8 = iota // the body emitted v
	outYield               // the body's task must yield to the loop (it waits, or its slice is up)
	outReturn              // the body ended; see state.result and state.err
)

// GoBody is the body of a Go-bodied generator (FromFunc). It runs on its
// own coroutine and may wait using th like any builtin (loop.TaskOf(th)
// gives the consumer's context). emit hands a value to the consumer and
// returns once the consumer wants the next one; it returns an error when
// the generator is closed (kind cancelled) or a throw() arrives, and the
// body should then return (that error or its own).
type GoBody func(th *starlark.Thread, emit func(starlark.Value) error) error

// A Generator is the Starlark value. It is only a handle on the state: the
// running body references the state, never the handle, so the handle can
// become unreachable while the body is parked, which is what closes an
// abandoned generator (lifecycle.go).
type Generator struct{ s *state }

var (
	_ starlark.Iterable = (*Generator)(nil)
	_ starlark.HasAttrs = (*Generator)(nil)
)

// state is a generator's body and its progress. Loop only.
type state struct {
	// exec is the body's execution context: Task is the current consumer's
	// task (updated on each resume), Yield forwards to the consumer, and
	// Defers is the body's own defer list.
	exec loop.Exec
	co   *coroutine.Coroutine[inMsg, outMsg]
	// resumer is the context that resumed the body, while it runs.
	resumer *loop.Exec
	// scopes are the cancel scopes the body opened and has not closed
	// (a timeout() it emits inside), while it is suspended.
	scopes loop.BodyScopes
	// thread is the body's thread (nil until started and once finished).
	thread *starlark.Thread
	phase  phase
	// closing makes every emit fail with cancelled at once (sticky, like a
	// task's cancellation), so a body that catches it cannot go on emitting.
	closing bool
	// closePending asks the consumer that is resuming the body now to close
	// it as soon as the body next emits (its creator ended meanwhile).
	closePending bool

	eng     *loop.Engine
	id      int64
	name    string
	fn      starlark.Callable
	args    starlark.Tuple
	kwargs  []starlark.Tuple
	goBody  GoBody
	goEmit  func(starlark.Value) error
	creator *loop.Task // until started
	outlive bool       // made by a task whose generators outlive it (Outlive)
	defers  []loop.Deferred
	// depth is how many bodies this one's consumer is nested in, plus
	// one, while it runs (depthOf).
	depth int

	// inline: the body runs on its consumer's goroutine, its thread
	// unwinding at each emit (and wait), rather than on a coroutine (co).
	// out: it unwound in emit, handing out out (nil otherwise). in: what
	// the consumer sends the pending emit (afterEmit, bound once as
	// emitK). stackful: it is about to call a Stackful builtin and moves
	// to a coroutine first (onStackful).
	inline, stackful bool
	out              starlark.Value
	in               inMsg
	emitK            func(*starlark.Thread) (starlark.Value, error)

	result starlark.Value
	err    *loop.Error // the body's failure, until reported once
	// stopped is the failure Stop left for the next step to report, once.
	stopped *loop.Error

	// lifecycle.go: the creator's list of started generators, and the
	// cleanup that closes the generator when its handle is unreachable.
	members    []*membership // the tasks that hold it (lifecycle.go)
	cleanup    runtime.Cleanup
	hasCleanup bool
}

var nextID atomic.Int64

func newGenerator(th *starlark.Thread, name string) *Generator {
	s := &state{id: nextID.Add(1), name: name, result: starlark.None}
	if x := loop.ExecOf(th); x != nil && x.Task != nil {
		s.creator = x.Task
		s.eng = x.Task.Engine()
		s.outlive = outlives(x.Task)
	}
	return &Generator{s: s}
}

// FromFunc returns a generator whose body is Go code, for modules that
// offer lazy sequences (lines of a socket, a file or a process): nothing
// runs until the first next, send or iteration; body may wait through th;
// the generator is closed like any other when it is dropped. th is the
// calling builtin's thread: the task running it is the generator's creator.
func FromFunc(th *starlark.Thread, name string, body GoBody) *Generator {
	g := newGenerator(th, name)
	g.s.goBody = body
	return g
}

// Starlark value methods.

var phaseNames = [...]string{"fresh", "suspended", "running", "done"}

// String shows the body's name and where it is, like a Task's string.
func (g *Generator) String() string {
	return fmt.Sprintf("<generator '%s' %s>", g.s.name, phaseNames[g.s.phase])
}
func (g *Generator) Type() string          { return "Generator" }
func (g *Generator) Freeze()               {}
func (g *Generator) OwnedByLoop()          {}
func (g *Generator) Truth() starlark.Bool  { return true }
func (g *Generator) Hash() (uint32, error) { return uint32(g.s.id), nil }

// Done reports whether the body has finished (returned, failed or closed).
func (g *Generator) Done() bool { return g.s.phase == finished }

// withFrames returns err with the consumer's frames (th's stack) above the
// body's, so a body's failure shows where it was consumed and where in the
// body it arose. err is copied: it may be shared (a task's stored error).
func withFrames(th *starlark.Thread, err *loop.Error) *loop.Error {
	ne := *err
	ne.Stack = append(th.CallStack(), err.Stack...)
	return &ne
}

// start prepares the body's coroutine and thread on the first resume. Its
// maker, if it has not ended, and the task that starts it hold it from
// here on (lifecycle.go): one made by a task and handed to another (over
// a channel, as a task's result) runs for that one, even once its maker
// has ended.
func (s *state) start(g *Generator, cx *loop.Exec) {
	if s.eng == nil {
		s.eng = cx.Task.Engine()
	}
	s.outlive = s.outlive || outlives(cx.Task)
	s.exec.Defers = &s.defers
	s.exec.Body = s
	s.exec.Task = cx.Task
	s.thread = s.eng.NewThread("generator "+s.name, &s.exec)
	if s.goBody != nil {
		s.goEmit = s.emitGo
		s.toCoroutine(func() (starlark.Value, error) { return nil, s.callGo() })
	} else {
		// A Starlark body starts in line: its emits and waits unwind its
		// thread, with no coroutine switch per item.
		s.inline = true
		s.thread.SetUnwindable(true)
		s.thread.OnStackful = s.onStackful
		s.emitK = s.afterEmit
	}
	s.phase = suspended
	track(g, s, s.creator, cx.Task)
	// From here on the members stand for the creator. A started
	// generator must not hold tasks: one of them may hold the handle (a
	// task's result), and the handle must be able to become unreachable.
	s.creator = nil
}

// toCoroutine moves the body to a coroutine of its own, where body runs
// it on (from the start, from where it unwound, or its ending), and its
// emits and waits suspend the coroutine: a Go body; a Starlark body about
// to call a Stackful builtin (a Go frame that may call back into it), or
// ending with deferred functions to run.
func (s *state) toCoroutine(body func() (starlark.Value, error)) {
	s.inline = false
	s.thread.SetUnwindable(false)
	s.thread.OnStackful = nil
	s.exec.Yield = s.forwardYield
	s.co = coroutine.New(func(_ *coroutine.Coroutine[inMsg, outMsg], _ inMsg) (out outMsg) {
		// Builtins the body calls run on this goroutine.
		s.eng.AsLoopCode(func() {
			v, err := body()
			out = s.ended(v, err)
		})
		return out
	})
}

// ended runs the body's deferred functions (with the consumer of the
// moment as their task) and records the outcome.
func (s *state) ended(v starlark.Value, err error) outMsg {
	s.fn, s.args, s.kwargs = nil, nil, nil
	if derr := s.exec.RunDefers(s.thread, &s.defers); derr != nil {
		// The body's own failure wins, except the cancellation close
		// caused: a deferred function's failure is news to close's caller.
		if err == nil || (s.closing && loop.KindOf(err) == loop.KindCancelled) {
			err = derr
		}
	}
	if err != nil {
		s.err = loop.ToError(err)
	} else if v != nil {
		s.result = v
	}
	return outMsg{op: outReturn}
}

// onStackful is an in-line body thread's OnStackful: the body moves to a
// coroutine before the builtin runs.
func (s *state) onStackful(*starlark.Thread, *starlark.Builtin) bool {
	s.stackful = true
	return true
}

// callGo runs a Go body, turning a panic into an error as CallFn does.
func (s *state) callGo() (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == coroutine.ErrAbandoned {
				panic(r)
			}
			err = loop.Errorf(loop.KindError, "internal error in generator %s: %v", s.name, r)
		}
	}()
	return s.goBody(s.thread, s.goEmit)
}

// forwardYield is the body's Exec.Yield: the body's task must give the
// loop a turn (it parked, or its time slice is up), but the task's own
// goroutine is the consumer's. So the body suspends with a marker and the
// consumer side (resume) yields the task, then resumes the body.
func (s *state) forwardYield() {
	s.co.Suspend(outMsg{op: outYield})
}

// suspendEmit hands v to the consumer from a body on its coroutine, and
// returns what it sent back. Once the generator is closing, it does not
// suspend: it reports the close.
func (s *state) suspendEmit(v starlark.Value) inMsg {
	if s.closing {
		return inMsg{op: opClose}
	}
	if s.inline {
		return inMsg{op: opThrow, err: s.stuck()}
	}
	return s.co.Suspend(outMsg{op: outEmit, v: v})
}

// outcome is what the emit that in answers returns: the value send
// passed in, or the error throw or close delivered.
func (in inMsg) outcome() (starlark.Value, error) {
	switch in.op {
	case opSend:
		return in.v, nil
	case opThrow:
		return nil, in.err
	}
	return nil, closedError()
}

// emit is emit() inside the body, b the builtin running on th. In line,
// the body's thread unwinds, and afterEmit gives emit's outcome once the
// consumer resumes it; on a coroutine, the coroutine suspends.
func (s *state) emit(th *starlark.Thread, b *starlark.Builtin, v starlark.Value) (starlark.Value, error) {
	if !s.inline || s.closing {
		return s.suspendEmit(v).outcome()
	}
	if !th.CanUnwind(b) {
		return nil, s.stuck()
	}
	s.out = v
	return nil, th.Unwind(s.emitK)
}

// afterEmit is the continuation of an emit that unwound.
func (s *state) afterEmit(*starlark.Thread) (starlark.Value, error) {
	in := s.in
	s.in = inMsg{}
	return in.outcome()
}

// stuck is the error of an emit in a body running in line that cannot
// suspend: a Go function below it, not marked Stackful, called back into
// the body (a bug of that function's declaration).
func (s *state) stuck() *loop.Error {
	return loop.Errorf(loop.KindError, "emit: generator %s cannot suspend here: a Go function below emit calls back into the body without being marked Stackful (please report this)", s.name)
}

// emitGo is the emit function a Go body gets.
func (s *state) emitGo(v starlark.Value) error {
	_, err := s.suspendEmit(v).outcome()
	return err
}

func closedError() *loop.Error { return loop.Errorf(loop.KindCancelled, "generator closed") }

// MaxDepth bounds how many generator bodies may be resuming one another
// (emit_all(generator(body)) inside body, say), as the interpreter bounds
// call depth: each running body holds a coroutine and a thread, so an
// unbounded nesting grows until memory runs out.
const MaxDepth = 1000

// depthOf is how many generator bodies the context x is nested in: 0 for
// a task, n+1 for a body resumed from a context of depth n.
func depthOf(x *loop.Exec) int {
	if s, ok := x.Body.(*state); ok {
		return s.depth
	}
	return 0
}

// resume runs the body for consumer cx until it emits (emitted true, v the
// value) or ends (emitted false; err is the body's failure, reported only
// to the consumer that saw it end). method names the operation for errors.
// The caller keeps the handle alive across the call (runtime.KeepAlive),
// since an unreachable handle closes the generator.
func (s *state) resume(g *Generator, cx *loop.Exec, in inMsg, method string) (v starlark.Value, emitted bool, err *loop.Error) {
	switch s.phase {
	case running:
		return nil, false, loop.Errorf(loop.KindValue, "%s: generator %s is already running", method, s.name)
	case finished:
		err, s.stopped = s.stopped, nil
		return nil, false, err
	}
	depth := depthOf(cx)
	if depth >= MaxDepth {
		// Checked before start: a generator that never ran stays fresh.
		return nil, false, loop.Errorf(loop.KindError, "%s: generators nested too deeply (over %d resuming one another)", method, MaxDepth)
	}
	switch s.phase {
	case fresh:
		if why := s.eng.Ending(); why != "" && cx.Task != nil && cx.Task.Cleanup() {
			// A generator's deferred function, run by a closer while
			// the run ends, may not start another generator: closing
			// that one would need another closer, and a body whose
			// deferred function starts a generator of itself never
			// let the run end.
			return nil, false, loop.Errorf(loop.KindCancelled, "%s: the run is ending (%s): no generator may start while generators are closed", method, why)
		}
		s.start(g, cx)
	case suspended:
		join(s, cx.Task)
	}
	s.phase = running
	s.exec.Task = cx.Task
	s.depth = depth + 1
	e := s.eng
	prev := e.SetCurrentExec(&s.exec)
	s.resumer = cx
	base := s.scopes.Resume(cx.Task)
	var out outMsg
	fin := false
	if s.inline {
		out = s.stepInline(cx, in, prev)
		if !s.inline {
			in = inMsg{op: opContinue} // it moved to a coroutine: go on there
		}
	}
	if !s.inline {
		out, fin = s.co.Resume(in)
		for !fin && out.op == outYield {
			// The body waits or its slice is up: yield the consumer's task.
			s.yieldConsumer(cx, prev)
			out, fin = s.co.Resume(inMsg{op: opContinue})
		}
	}
	s.scopes.Suspend(cx.Task, base)
	s.resumer = nil
	e.SetCurrentExec(prev)
	if fin || out.op == outReturn {
		err = s.err
		s.err = nil
		s.finish()
		return nil, false, err
	}
	s.phase = suspended
	s.exec.Task = nil // see start: no task held while suspended
	if s.closePending {
		s.closePending = false
		if cerr := s.close(g, cx); cerr != nil {
			return nil, false, cerr
		}
	}
	return out.v, true, nil
}

// yieldConsumer yields the task of consumer cx for the body, which waits
// or whose slice is up; the consumer's context (prev) is current while
// the task is parked.
func (s *state) yieldConsumer(cx, prev *loop.Exec) {
	s.eng.SetCurrentExec(prev)
	innermost := cx.Task.WaitIn(&s.exec)
	cx.Yield()
	if innermost {
		cx.Task.WaitIn(nil)
	}
	s.eng.SetCurrentExec(&s.exec)
}

// ResumedBy is the context that resumed the body, while it runs
// (loop.Body: a task's stack goes on into the bodies it runs).
func (s *state) ResumedBy() *loop.Exec { return s.resumer }

// stepInline runs a body in line for consumer cx (prev is the context
// current before it) until it emits, ends, or moves to a coroutine
// (s.inline false: resume goes on there).
func (s *state) stepInline(cx *loop.Exec, in inMsg, prev *loop.Exec) outMsg {
	s.exec.Yield = cx.Yield // the body's turns are its consumer's
	s.in = in
	var v starlark.Value
	var err error
	if s.fn != nil { // the body's call starts
		v, err = loop.CallFn(s.thread, s.fn, s.args, s.kwargs)
		s.fn, s.args, s.kwargs = nil, nil, nil
	} else {
		v, err = loop.ResumeFn(s.thread)
	}
	for starlark.IsUnwound(err) {
		switch {
		case s.out != nil:
			v := s.out
			s.out = nil
			return outMsg{op: outEmit, v: v}
		case s.stackful:
			s.stackful = false
			s.toCoroutine(func() (starlark.Value, error) { return loop.ResumeFn(s.thread) })
			return outMsg{}
		}
		// The body waits unwound, and its wait is its consumer's task's:
		// the task yields until woken, then the body goes on.
		s.yieldConsumer(cx, prev)
		v, err = loop.ResumeFn(s.thread)
	}
	if len(s.defers) > 0 {
		// Deferred functions run under a Go frame, and may emit.
		s.toCoroutine(func() (starlark.Value, error) { return v, err })
		return outMsg{}
	}
	return s.ended(v, err)
}

// finish marks the generator finished and lets go of the body.
func (s *state) finish() {
	s.phase = finished
	s.co = nil
	s.thread = nil
	s.fn, s.args, s.kwargs, s.goBody, s.goEmit = nil, nil, nil, nil, nil
	s.exec = loop.Exec{}
	untrack(s)
}

// Stop ends g now if it is suspended, for the Go code its body reads
// from: what that body would read next is gone (the stream a lines()
// generator reads was closed), so its body unwinds at once, as close
// unwinds it, rather than staying parked, with all it holds, until the
// collector finds the dropped handle (a loop left early). The next step
// of g then fails with err, as the body would have had it gone on; a
// generator not suspended is left alone (one running is inside a read,
// which fails by itself). It runs for the engine's current context; from
// no task (a handle closed by the collector) a closer ends it. Loop only.
func (g *Generator) Stop(err error) {
	s := g.s
	if s.phase != suspended {
		return
	}
	cx := s.eng.CurrentExec()
	if cx == nil || cx.Task == nil {
		spawnCloser(s.eng, []*state{s}, false)
		return
	}
	if cerr := s.close(g, cx); cerr != nil {
		err = cerr
	}
	s.stopped = loop.ToError(err)
}

// close ends the generator for consumer cx: a fresh one never runs; a
// suspended one has its pending emit fail with cancelled, and its body
// unwinds and runs its deferred functions. A failure other than that
// cancellation (a deferred function's, say) is returned.
func (s *state) close(g *Generator, cx *loop.Exec) *loop.Error {
	switch s.phase {
	case fresh:
		s.finish()
		return nil
	case finished:
		return nil
	case running:
		return loop.Errorf(loop.KindValue, "Generator.close: generator %s is running", s.name)
	}
	s.closing = true
	_, _, err := s.resume(g, cx, inMsg{op: opClose}, "Generator.close")
	if err != nil && err.Kind == loop.KindCancelled {
		err = nil
	}
	return err
}
