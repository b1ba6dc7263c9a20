package loop

import (
	"fmt"
	"strconv"

	"github.com/corolang/coro/starlark"
)

// Task groups (SPEC 11): structured concurrency, built on a cancel scope
// (scope.go). group(body) pushes the group's scope on the calling task's
// stack and calls body(g) there; every task spawned into g hangs its root
// below that scope. So one Cancel of the scope cancels the group's tasks
// and the waits of body, and the scopes outside it (the caller's own
// task.cancel(), a timeout() around group()) reach the group's tasks too.
// Popping the scope when group() returns lifts the group's cancellation.

// A Group is the value body gets: g.spawn, g.cancel, g.tasks, g.limit.
type Group struct {
	scope CancelScope // the group's tasks are started in it
	limit int         // at most this many tasks run at once; 0: no limit

	running int     // tasks holding a slot (started, not finished)
	queue   []*Task // tasks waiting for a slot, oldest first (some may have left)

	closing bool   // g.cancel() or a failure: no more spawns
	ended   bool   // group() has returned
	quiet   bool   // g.cancel() was called
	first   *Error // the first failure, of body or a task
	more    int    // failures after the first
	idle    *Waiter
}

var _ starlark.HasAttrs = (*Group)(nil)

func (g *Group) String() string {
	if g.ended {
		return "<group ended>"
	}
	return fmt.Sprintf("<group of %d tasks>", g.scope.n)
}
func (g *Group) Type() string          { return "Group" }
func (g *Group) Freeze()               {}
func (g *Group) OwnedByLoop()          {}
func (g *Group) Truth() starlark.Bool  { return true }
func (g *Group) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Group") }
func (g *Group) AttrNames() []string   { return []string{"cancel", "limit", "spawn", "tasks"} }

func (g *Group) Attr(name string) (starlark.Value, error) {
	switch name {
	case "spawn":
		return starlark.NewBuiltin("spawn", groupSpawn).BindReceiver(g), nil
	case "cancel":
		return starlark.NewBuiltin("cancel", groupCancel).BindReceiver(g), nil
	case "tasks":
		live := g.scope.Tasks()
		out := make([]starlark.Value, len(live))
		for i, t := range live {
			out[i] = t.Value()
		}
		return starlark.NewList(out), nil
	case "limit":
		if g.limit == 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt(g.limit), nil
	}
	return nil, nil
}

// builtinGroup is group(body, *args, limit=None, **kwargs).
func builtinGroup(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	body, rest, kw, limitV, err := splitCall("group", args, kwargs, 0, "limit")
	if err != nil {
		return nil, err
	}
	limit := 0
	if limitV != nil && limitV != starlark.None {
		n, ok := limitV.(starlark.Int)
		if !ok {
			return nil, Errorf(KindValue, "group: for parameter limit: got %s, want int or None", limitV.Type())
		}
		if n.Sign() < 1 {
			return nil, Errorf(KindValue, "group: limit must be >= 1, got %s", limitV.String())
		}
		// An int past int's range is named so, as channel(capacity) names
		// it (it said "got int, want int").
		if err := starlark.AsInt(n, &limit); err != nil {
			return nil, Errorf(KindValue, "group: for parameter limit: %v", err)
		}
	}
	x, err := TaskOf(th, "group")
	if err != nil {
		return nil, err
	}
	// group waits: like every wait, it fails at once in a cancelled task.
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	g := &Group{limit: limit}
	g.scope.onTaskEnd = g.taskEnded
	x.Task.push(&g.scope)
	// x.Task, once body has run: another task's, if body is a generator
	// body's code that emitted and another task resumed (BodyScopes).
	defer func() { x.Task.pop(&g.scope) }()

	bargs := make(starlark.Tuple, 0, 1+len(rest))
	bargs = append(append(bargs, g), rest...)
	v, err := CallFn(th, body, bargs, kw)
	// propagate is an interruption from outside the group (the caller's
	// cancellation, a deadline around group()): it ends the group, and
	// group() raises it, as any wait would.
	var propagate *Error
	if err != nil {
		ce := ToError(err)
		switch outer := x.Task.interruptionOutside(&g.scope); {
		case outer != nil && (ce.Kind == KindCancelled || ce.Kind == KindTimeout):
			propagate = ce
		case ce.Kind == KindCancelled && g.scope.err != nil, ce.refusedBy == g:
			// The group's own cancellation, or a spawn it refused
			// because of it: not a failure.
		default:
			g.failed(ce)
		}
	}
	if propagate != nil {
		g.close(&Error{Kind: KindCancelled, Msg: "cancelled"})
	}
	x.waitGroup(g)
	g.ended, g.closing = true, true
	switch {
	case g.first != nil:
		e := *g.first
		if g.more > 0 {
			e.Msg += fmt.Sprintf(" (and %d more errors)", g.more)
		}
		return nil, &e
	case propagate != nil:
		return nil, propagate
	}
	if outer := x.Task.interruptionOutside(&g.scope); outer != nil {
		// Cancelled (or past a deadline) while it waited for the tasks.
		return nil, outer
	}
	if g.quiet {
		return starlark.None, nil
	}
	return v, nil
}

// waitGroup waits, once body has returned, until every task of g has
// finished. An interruption (a failure in g, g.cancel(), the caller's own
// cancellation) cancels g, and the wait goes on, shielded: the group's
// tasks are cancelled and their deferred functions are bounded, so it ends.
func (x *Exec) waitGroup(g *Group) {
	t := x.Task
	var sh *CancelScope
	for g.scope.n > 0 {
		w := NewWaiter(t)
		g.idle = w
		x.Park(w, groupReason{g}, NoTimeout, "group")
		g.idle = nil
		if w.Err != nil && sh == nil {
			g.close(&Error{Kind: KindCancelled, Msg: "cancelled"})
			sh = &CancelScope{shield: true}
			t.push(sh)
		}
	}
	if sh != nil {
		t.pop(sh)
	}
}

// close stops g taking tasks and cancels its scope with err (the first
// cancellation stands): its tasks are cancelled, and so is every wait of
// its body; tasks still queued end cancelled without running.
func (g *Group) close(err *Error) {
	g.closing = true
	g.scope.Cancel(err)
}

// failed records a failure of body or of one of g's tasks: the first one
// cancels the group; later ones are counted.
func (g *Group) failed(err *Error) {
	if g.first != nil {
		g.more++
		return
	}
	g.first = err
	g.close(&Error{Kind: KindCancelled, Msg: "cancelled"})
}

// taskEnded is the scope's hook: one of g's tasks finished. The group
// observes its failure (SPEC 4): it is g's to raise, never reported.
func (g *Group) taskEnded(t *Task) {
	if t.queued {
		t.queued = false // cancelled before it was given a slot
	} else {
		g.running--
	}
	if t.state == StateFailed {
		t.observe()
		if t.err.refusedBy != g {
			g.failed(t.err)
		}
	}
	g.fillSlots()
	if g.scope.n == 0 && g.idle != nil {
		g.idle.Complete(0, nil, nil)
	}
}

// fillSlots starts queued tasks, oldest first, while slots are free.
func (g *Group) fillSlots() {
	for len(g.queue) > 0 && (g.limit == 0 || g.running < g.limit) {
		t := g.queue[0]
		g.queue[0] = nil
		g.queue = g.queue[1:]
		if !t.queued || t.waiter == nil || t.waiter.Fired() {
			continue // cancelled while queued: it ends without a slot
		}
		t.queued = false
		g.running++
		t.waiter.Complete(0, nil, nil) // makes it ready
	}
	if len(g.queue) == 0 {
		g.queue = nil // let the array go
	}
}

// groupSpawn is g.spawn(fn, *args, name=None, **kwargs).
func groupSpawn(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := b.Receiver().(*Group)
	x, fn, rest, kw, name, err := spawnArgs(th, "Group.spawn", args, kwargs)
	if err != nil {
		return nil, err
	}
	if g.closing {
		why := "it has ended"
		switch {
		case g.ended:
		case g.first != nil:
			why = "it failed"
		default:
			why = "it was cancelled"
		}
		e := Errorf(KindClosed, "Group.spawn: the group is closed (%s)", why)
		e.refusedBy = g
		return nil, e
	}
	e := x.Task.eng
	t := e.newTask(fn, rest, kw, name, x.Task, Callers(th), &g.scope)
	if g.limit > 0 && g.running >= g.limit {
		// Queued, not started: it waits for a slot as if parked, so
		// the group's cancellation reaches it as any wait's would.
		t.queued = true
		t.state = StateWaiting
		t.waiter = NewWaiter(t)
		t.why = slotReason{g}
		g.queue = append(g.queue, t)
	} else {
		g.running++
		t.state = StateReady
		e.ready.push(t)
	}
	return t.Value(), nil
}

// groupCancel is g.cancel(reason="cancelled").
func groupCancel(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := b.Receiver().(*Group)
	reason := "cancelled"
	if err := starlark.UnpackArgs("Group.cancel", args, kwargs, "reason?", &reason); err != nil {
		return nil, ValueError(err)
	}
	if g.ended || g.closing {
		return starlark.None, nil
	}
	g.quiet = true
	g.close(&Error{Kind: KindCancelled, Msg: reason})
	return starlark.None, nil
}

// groupReason is what group() waits on once body has returned.
type groupReason struct{ g *Group }

func (r groupReason) WaitingOn() string {
	queued := 0
	for t := r.g.scope.first; t != nil; t = t.snext {
		if t.queued {
			queued++
		}
	}
	s := "group (" + strconv.Itoa(int(r.g.scope.n)-queued) + " running"
	if queued > 0 {
		s += ", " + strconv.Itoa(queued) + " queued"
	}
	return s + ")"
}

// DependsOn returns the group's live tasks.
func (r groupReason) DependsOn() []*Task { return r.g.scope.Tasks() }

// slotReason is what a task queued behind its group's limit waits on.
type slotReason struct{ g *Group }

func (r slotReason) WaitingOn() string { return "group slot" }

// DependsOn returns the group's tasks holding a slot: one must finish.
func (r slotReason) DependsOn() []*Task {
	var out []*Task
	for t := r.g.scope.first; t != nil; t = t.snext {
		if !t.queued {
			out = append(out, t)
		}
	}
	return out
}
