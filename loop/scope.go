package loop

// Cancel scopes (Trio's term) are the one way the loop cancels work. A
// scope is a unit of cancellation: once it is cancelled, every wait
// inside it fails with the scope's error, until the code that opened the
// scope has finished and closed it.
//
// Scopes nest, and form a tree:
//
//   - Every task has a root scope. task.cancel() cancels it, and it stays
//     cancelled: that is what makes a task's cancellation sticky (SPEC 4).
//   - A task pushes scopes on its stack as it runs and pops them when the
//     call that pushed them returns: timeout() pushes one that its timer
//     cancels; running deferred functions, and reaping tasks that join or
//     race cancelled, push a shield, which hides every scope outside it;
//     group() pushes the group's scope (SPEC 11).
//   - A task started in a group hangs its root below the group's scope.
//     So cancelling the group's scope reaches the group's tasks as well as
//     the waits of the group's body, and so does cancelling any scope
//     outside it: the task.cancel() of the task that called group(), or a
//     timeout() around the call.
//
// What a task's next wait fails with is found by walking from its
// innermost scope outward: the first cancelled scope decides, unless a
// shield comes first. Cancelling a scope interrupts every task whose walk
// passes through it, parked or computing (preempt), at once.

// A CancelScope is one scope of the tree. The zero value is an open,
// unshielded scope; a task's push sets its place in the tree.
type CancelScope struct {
	parent *CancelScope // the scope enclosing this one; nil outside every scope
	owner  *Task        // the task on whose stack the scope is
	err    *Error       // why it was cancelled; nil while it is not
	shield bool         // hides the scopes outside it
	// deferred marks the bound of a run of deferred functions
	// (deferBound): past it they may defer no more (deferralsOver).
	deferred bool

	// The tasks started inside the scope (a group's), oldest first, and
	// how many (an int32 beside the flags keeps a scope, which every
	// Task holds, a word smaller); onTaskEnd, if set, runs when one of
	// them ends.
	n           int32
	first, last *Task
	onTaskEnd   func(*Task)
}

// Cancelled returns the scope's error once it was cancelled, else nil.
func (s *CancelScope) Cancelled() *Error { return s.err }

// Cancel cancels the scope with err (the first cancellation stands) and
// interrupts every task inside it: their current or next wait fails.
func (s *CancelScope) Cancel(err *Error) {
	if s.err != nil {
		return
	}
	s.err = err
	if s.owner != nil {
		s.owner.interruptFrom(s)
	}
}

// interruptFrom interrupts t and, depth first, the tasks started in every
// scope on t's stack, from its innermost scope out to upTo.
func (t *Task) interruptFrom(upTo *CancelScope) {
	t.interrupt()
	for s := t.scope; s != nil; s = s.parent {
		for m := s.first; m != nil; m = m.snext {
			m.interruptFrom(&m.root)
		}
		if s == upTo {
			return
		}
	}
}

// push opens s on t's stack, inside t's innermost scope.
func (t *Task) push(s *CancelScope) {
	s.parent, s.owner = t.scope, t
	t.scope = s
}

// pop closes s, and any scope still open inside it.
func (t *Task) pop(s *CancelScope) {
	for x := t.scope; x != nil && x != &t.root; x = x.parent {
		if x == s {
			t.scope = s.parent
			return
		}
	}
}

// join adds t to the tasks started in s.
func (s *CancelScope) join(t *Task) {
	t.root.parent = s
	t.sprev = s.last
	if s.last != nil {
		s.last.snext = t
	} else {
		s.first = t
	}
	s.last = t
	s.n++
}

// leave removes t, which ended, from the tasks started in s.
func (s *CancelScope) leave(t *Task) {
	if t.sprev != nil {
		t.sprev.snext = t.snext
	} else {
		s.first = t.snext
	}
	if t.snext != nil {
		t.snext.sprev = t.sprev
	} else {
		s.last = t.sprev
	}
	t.sprev, t.snext = nil, nil
	s.n--
}

// Tasks returns the live tasks started in s, oldest first.
func (s *CancelScope) Tasks() []*Task {
	out := make([]*Task, 0, s.n)
	for t := s.first; t != nil; t = t.snext {
		out = append(out, t)
	}
	return out
}

// scopeError is the error t's waits fail with inside the cancelled scope
// s: a copy (tracebacks and setOrigin write to it, and many tasks may get
// one). A deadline is a timeout only for the task whose timeout() it is;
// for the tasks of a group inside it, it is a cancellation, as in Trio,
// so they end cancelled rather than failed.
func (t *Task) scopeError(s *CancelScope) *Error {
	e := *s.err
	if s.owner != t && e.Kind != KindCancelled {
		e = Error{Kind: KindCancelled, Msg: e.Msg}
	}
	return &e
}

// interruption returns the error the task's next wait must fail with, if
// any: that of the innermost cancelled scope, unless a shield hides it.
func (t *Task) interruption() *Error {
	err, _ := t.interruptionSticky()
	return err
}

// interruptionSticky is interruption, and whether the interruption will
// outlast every call the task could still return from: the scope is the
// task's root or one outside it (a group's the task belongs to), not a
// timeout() or group() the task itself is in.
func (t *Task) interruptionSticky() (*Error, bool) {
	for s := t.scope; s != nil; s = s.parent {
		if s.err != nil {
			return t.scopeError(s), s == &t.root || s.owner != t
		}
		if s.shield {
			return nil, false
		}
	}
	return nil, false
}

// interruptionOutside returns the interruption of a scope outside s (a
// group's scope on t's stack), ignoring s itself and the scopes inside
// it: the caller's own cancellation, or a deadline around it.
func (t *Task) interruptionOutside(s *CancelScope) *Error {
	for x := s.parent; x != nil; x = x.parent {
		if x.err != nil {
			return t.scopeError(x)
		}
		if x.shield {
			return nil
		}
	}
	return nil
}

// cancelledFromOutside reports whether the task was cancelled for good:
// its root or a scope outside it (its group's, say) was cancelled. A task
// that then ends with a cancelled error ends cancelled, not failed.
func (t *Task) cancelledFromOutside() bool {
	for s := &t.root; s != nil; s = s.parent {
		if s.err != nil {
			return true
		}
		if s.shield {
			return false
		}
	}
	return false
}

// BodyScopes keeps the scopes a generator body opened (a timeout() or
// group() it emits inside, the shield of its deferred functions) while
// the body is suspended at an emit. They are the body's, not its
// consumer's: left on the consumer's stack, a deadline in the body fired
// in the consumer's own waits after the emit, a group's failure
// cancelled the consumer, the shield of the body's deferred functions
// hid the consumer's cancellation, and a task that resumed the body next
// ran it outside them. So the scopes leave the consumer's stack at the
// emit (Suspend) and go onto the stack of the task that resumes the body
// (Resume), as PEP 789 argues an async generator's should. A scope
// cancelled meanwhile fails the body's next wait. The zero value holds
// none.
type BodyScopes struct {
	// holder stands for the suspended body: it owns the scopes, innermost
	// at holder.scope, so cancelling one of them still reaches the tasks
	// started in it (a group's). Made on first need.
	holder *Task
	bottom *CancelScope // the outermost of them
}

// Resume puts the scopes b holds on t's stack, inside its innermost, as
// t resumes the body. It returns the scope t's stack had, which Suspend
// needs.
func (b *BodyScopes) Resume(t *Task) (base *CancelScope) {
	base = t.scope
	if b.holder == nil || b.holder.scope == nil {
		return base
	}
	top := b.holder.scope
	for s := top; s != nil; s = s.parent {
		s.owner = t
	}
	b.bottom.parent = base
	t.scope = top
	b.holder.scope, b.bottom = nil, nil
	return base
}

// Suspend takes the scopes on t's stack inside base, which Resume
// returned, as the body suspends (emits) or ends.
func (b *BodyScopes) Suspend(t *Task, base *CancelScope) {
	if t.scope == base {
		return
	}
	if b.holder == nil {
		b.holder = &Task{eng: t.eng, name: "generator body", state: StateRunning}
	}
	s := t.scope
	for {
		s.owner = b.holder
		if s.parent == base || s.parent == nil {
			break
		}
		s = s.parent
	}
	s.parent = nil
	b.bottom = s
	b.holder.scope = t.scope
	t.scope = base
}
