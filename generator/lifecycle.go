package generator

import (
	"runtime"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// A started generator holds its body's frames, and on a coroutine a
// goroutine, until its body ends, and its deferred functions have yet to
// run, so one dropped half-way must be closed (SPEC 5): when the task that
// made it ends, or when its Generator value becomes unreachable, whichever
// comes first. Both paths close it in a task of its own ("generator-close"),
// because closing runs script code (the body unwinding, its deferred
// functions) that may wait, and waiting needs a task; neither the ending
// task (already finished) nor the garbage collector's goroutine is one.
//
// Only started generators are tracked: a fresh one holds nothing, and
// start checks whether its creator has ended (then it never runs).

// owner is a task's list of the started, unfinished generators it made.
// The owners of an engine's tasks are engine state (Engine.Local), touched
// on the loop only.
type owner struct {
	task *loop.Task
	head *state
	// outlive: the task's generators are not closed when it ends (Outlive).
	outlive bool
}

type ownerMap map[*loop.Task]*owner

// ownersKey is the key of an engine's ownerMap.
var ownersKey = new(byte)

func ownersOf(t *loop.Task) ownerMap {
	return t.Engine().Local(ownersKey, func() any { return ownerMap{} }).(ownerMap)
}

// Outlive makes the generators that task t makes outlive it: they are not
// closed when t ends, only once unreachable. It is for the REPL, where each
// statement runs as a task of its own but what it makes lives on in the
// session's globals (g = generator(f), then g.next() on the next line).
// Call it on the loop before t runs.
func Outlive(t *loop.Task) {
	owners := ownersOf(t)
	o := owners[t]
	if o == nil {
		o = &owner{task: t}
		owners[t] = o
	}
	o.outlive = true
	t.OnEnd(o.ended)
}

// outlives reports whether generators made by t outlive it.
func outlives(t *loop.Task) bool {
	o := ownersOf(t)[t]
	return o != nil && o.outlive
}

// track registers a generator that has just started with its creator's
// list and with the garbage collector.
func track(g *Generator, s *state) {
	// The cleanup's argument is the state, never the handle g, which
	// would then stay reachable forever.
	s.cleanup = runtime.AddCleanup(g, unreachable, s)
	s.hasCleanup = true
	if s.outlive {
		return
	}
	t := s.creator
	owners := ownersOf(t)
	o := owners[t]
	fresh := o == nil
	if fresh {
		o = &owner{task: t}
		owners[t] = o
	}
	if fresh {
		t.OnEnd(o.ended)
	}
	s.owner = o
	s.prev, s.next = nil, o.head
	if o.head != nil {
		o.head.prev = s
	}
	o.head = s
}

// untrack forgets a generator that has finished.
func untrack(s *state) {
	if o := s.owner; o != nil {
		if s.prev != nil {
			s.prev.next = s.next
		} else if o.head == s {
			o.head = s.next
		}
		if s.next != nil {
			s.next.prev = s.prev
		}
		s.owner, s.prev, s.next = nil, nil, nil
	}
	if s.hasCleanup {
		s.cleanup.Stop()
		s.hasCleanup = false
	}
}

// ended is the creator task's OnEnd: close what it left open.
func (o *owner) ended() {
	delete(ownersOf(o.task), o.task)
	var list []*state
	for s := o.head; s != nil; s = s.next {
		list = append(list, s)
	}
	if len(list) > 0 {
		spawnCloser(o.task.Engine(), list)
	}
}

// unreachable runs on the garbage collector's cleanup goroutine once a
// started generator's handle is unreachable; the close is posted to the
// loop, the only place a generator may be touched.
func unreachable(s *state) {
	s.eng.Post(func() {
		if s.phase == suspended || s.phase == running {
			spawnCloser(s.eng, []*state{s})
		}
	})
}

// A closer is a task that closes generators nobody will resume.
type closer struct {
	eng  *loop.Engine
	list []*state
	ran  bool
}

func spawnCloser(e *loop.Engine, list []*state) {
	c := &closer{eng: e, list: list}
	// A cleanup task: it runs even while the run is ending, when tasks
	// spawned start cancelled (a closer retrying itself looped for ever).
	t := e.SpawnCleanup(starlark.NewBuiltin("close_generators", c.run), "generator-close")
	t.OnEnd(c.ended)
}

func (c *closer) run(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	c.ran = true
	cx, err := loop.TaskOf(th, "close")
	if err != nil {
		return nil, err
	}
	var first error
	for _, s := range c.list {
		switch s.phase {
		case suspended:
			if err := s.close(nil, cx); err != nil && first == nil {
				first = err
			}
		case running:
			// Some task is inside the body (waiting there): it closes
			// the generator when the body next emits.
			s.closePending = true
		}
	}
	c.list = nil
	return starlark.None, first
}

// ended retries with a new closer if this one was cancelled before it ran
// (a failed main module cancels every task, closers it spawned included).
func (c *closer) ended() {
	if c.ran {
		return
	}
	var left []*state
	for _, s := range c.list {
		if s.phase == suspended || s.phase == running {
			left = append(left, s)
		}
	}
	if len(left) > 0 {
		spawnCloser(c.eng, left)
	}
}
