package generator

import (
	"runtime"
	"slices"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// A started generator holds its body's frames, and on a coroutine a
// goroutine, until its body ends, and its deferred functions have yet to
// run, so one dropped half-way must be closed (SPEC 5): when the task that
// made it ends, or when its Generator value becomes unreachable, whichever
// comes first. Both paths close it in a task of its own
// ("generator-close"), because closing runs script code (the body
// unwinding, its deferred functions) that may wait, and waiting needs a
// task; neither the ending task (already finished) nor the garbage
// collector's goroutine is one.
//
// "The task that made it" counts every task that made or resumed it: a
// started generator is closed once all of them have ended. So one made by
// a task and consumed by another (handed over a channel, returned as a
// task's result, a top-level generator read by a spawned task while the
// main module ends) is not dropped when its maker ends, and one shared by
// workers is not closed when the first of them ends. Closing it at its
// maker's end emptied or cut short what another task was reading.
//
// Only started generators are tracked: a fresh one holds nothing.
//
// On the virtual clock (coro test, --virtual-time) a generator that some
// task holds is closed only when the tasks holding it have ended, never
// when it becomes unreachable: the collector finds it at a moment no seed
// fixes, and its close spawns a task (taking a task id) and runs the
// body's deferred functions there, so a seeded run would not replay. It
// costs memory: a dropped body is kept until its holders end. One made at
// the REPL (Outlive), which no task holds, is still closed when
// unreachable. One started by a closer (a closed body's deferred function
// made it) after its maker ended has no holder either, join skipping
// closers: it is not closed, as on the real clock when the run ends before
// the collector finds it. Holding it in the closer would close it when
// the closer ends, in a new closer, and a body whose deferred function
// starts a generator of itself would then never let the run end.

// owner is a task's list of the started, unfinished generators it made or
// resumed (its memberships). The owners of an engine's tasks are engine
// state (Engine.Local), touched on the loop only.
type owner struct {
	task *loop.Task
	head *membership
	// outlive: the task's generators are not closed when it ends (Outlive).
	outlive bool
}

// A membership is one task's hold on one started generator: it is on the
// task's list (owner) and in the generator's (state.members).
type membership struct {
	o          *owner
	s          *state
	prev, next *membership
}

type ownerMap map[*loop.Task]*owner

// ownersKey is the key of an engine's ownerMap.
var ownersKey = new(byte)

func ownersOf(t *loop.Task) ownerMap {
	return t.Engine().Local(ownersKey, func() any { return ownerMap{} }).(ownerMap)
}

// ownerOf returns t's owner, made (with its OnEnd) on first need.
func ownerOf(t *loop.Task) *owner {
	owners := ownersOf(t)
	o := owners[t]
	if o == nil {
		o = &owner{task: t}
		owners[t] = o
		t.OnEnd(o.ended)
	}
	return o
}

// Outlive makes the generators that task t makes outlive it: they are not
// closed when t ends, only once unreachable. It is for the REPL, where each
// statement runs as a task of its own but what it makes lives on in the
// session's globals (g = generator(f), then g.next() on the next line).
// Call it on the loop before t runs.
func Outlive(t *loop.Task) {
	ownerOf(t).outlive = true
}

// outlives reports whether generators made by t outlive it.
func outlives(t *loop.Task) bool {
	o := ownersOf(t)[t]
	return o != nil && o.outlive
}

// track registers a generator that has just started, for consumer task
// t, as held by its maker (if it has not ended) and by t, and with the
// garbage collector unless the engine runs on the virtual clock.
func track(g *Generator, s *state, maker, t *loop.Task) {
	if !s.outlive {
		if maker != nil && maker != t && !maker.Done() {
			join(s, maker)
		}
		join(s, t)
		if s.eng.Virtual() {
			return
		}
	}
	// The cleanup's argument is the state, never the handle g, which
	// would then stay reachable forever.
	s.cleanup = runtime.AddCleanup(g, unreachable, s)
	s.hasCleanup = true
}

// join records that task t holds s (it resumes it), unless it does
// already or is a closer.
func join(s *state, t *loop.Task) {
	if s.outlive || t.Cleanup() {
		return
	}
	for _, m := range s.members {
		if m.o.task == t {
			return
		}
	}
	o := ownerOf(t)
	m := &membership{o: o, s: s, next: o.head}
	if o.head != nil {
		o.head.prev = m
	}
	o.head = m
	s.members = append(s.members, m)
}

// untrack forgets a generator that has finished.
func untrack(s *state) {
	for _, m := range s.members {
		m.o.remove(m)
	}
	s.members = nil
	if s.hasCleanup {
		s.cleanup.Stop()
		s.hasCleanup = false
	}
}

// remove takes m off o's list.
func (o *owner) remove(m *membership) {
	if m.prev != nil {
		m.prev.next = m.next
	} else if o.head == m {
		o.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	}
	m.prev, m.next = nil, nil
}

// ended is a task's OnEnd: it lets go of the generators it held, and
// closes those no live task holds any more.
func (o *owner) ended() {
	delete(ownersOf(o.task), o.task)
	var list []*state
	for m := o.head; m != nil; m = m.next {
		s := m.s
		s.members = slices.DeleteFunc(s.members, func(x *membership) bool { return x == m })
		if len(s.members) == 0 {
			list = append(list, s)
		}
	}
	o.head = nil
	if len(list) > 0 {
		spawnCloser(o.task.Engine(), list, true)
	}
}

// unreachable runs on the garbage collector's cleanup goroutine once a
// started generator's handle is unreachable; the close is posted to the
// loop, the only place a generator may be touched.
func unreachable(s *state) {
	s.eng.Post(func() {
		if s.phase == suspended || s.phase == running {
			spawnCloser(s.eng, []*state{s}, false)
		}
	})
}

// A closer is a task that closes generators nobody will resume: those
// the last task that held them left (dropped), or one whose handle is
// unreachable.
type closer struct {
	eng     *loop.Engine
	list    []*state
	dropped bool
	ran     bool
}

func spawnCloser(e *loop.Engine, list []*state, dropped bool) {
	c := &closer{eng: e, list: list, dropped: dropped}
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
		if c.dropped && len(s.members) > 0 {
			continue // a task resumed it meanwhile: it holds it now
		}
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
		if (s.phase == suspended || s.phase == running) && (!c.dropped || len(s.members) == 0) {
			left = append(left, s)
		}
	}
	if len(left) > 0 {
		spawnCloser(c.eng, left, c.dropped)
	}
}
