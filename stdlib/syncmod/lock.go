package syncmod

import (
	"fmt"
	"time"

	"github.com/corolang/coro/engine/core"
	"go.starlark.net/starlark"
)

// A Lock is sync.lock(): one holder at a time, waiters served first come,
// first served. release hands the lock straight to the first waiter, so a
// task that releases and at once acquires again cannot barge ahead of it.
// Like Python's and Go's locks, any task may release it.
type Lock struct {
	object
	holder  *core.Task
	waiters queue
}

func newLock(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := noArgs("lock", args, kwargs); err != nil {
		return nil, err
	}
	o, err := newObject(th, "lock", "lock")
	if err != nil {
		return nil, err
	}
	return &Lock{object: o}, nil
}

func (l *Lock) String() string {
	if l.holder != nil {
		return fmt.Sprintf("<lock#%d held by '%s'>", l.id, l.holder.Name())
	}
	return fmt.Sprintf("<lock#%d>", l.id)
}
func (l *Lock) Type() string        { return "Lock" }
func (l *Lock) AttrNames() []string { return []string{"acquire", "hold", "locked", "release"} }
func (l *Lock) Attr(name string) (starlark.Value, error) {
	switch name {
	case "acquire":
		return method("acquire", lockAcquire, l), nil
	case "release":
		return method("release", lockRelease, l), nil
	case "hold":
		return method("hold", hold, l), nil
	case "locked":
		return starlark.Bool(l.holder != nil), nil
	}
	return nil, nil
}

// WaitingOn is what a task parked in acquire waits on: "lock#2 held by task 'writer'".
func (l *Lock) WaitingOn() string {
	if l.holder == nil {
		return l.name()
	}
	return fmt.Sprintf("%s held by task '%s'", l.name(), l.holder.Name())
}

// DependsOn names the holder, whom a task waiting here depends on: the
// deadlock report follows it to show wait cycles (core.Dependency).
func (l *Lock) DependsOn() []*core.Task {
	if l.holder == nil {
		return nil
	}
	return []*core.Task{l.holder}
}

func (l *Lock) acquire(x *core.Exec, timeout time.Duration) error {
	if err := x.Checkpoint(); err != nil {
		return err
	}
	if l.holder == nil {
		l.holder = x.Task
		return nil
	}
	_, err := l.waiters.wait(x, l, timeout, "acquire")
	return err // on success release made us the holder
}

func (l *Lock) release() {
	if p, ok := l.waiters.pop(); ok {
		l.holder = p.t
		p.w.Complete(0, starlark.None, nil)
		return
	}
	l.holder = nil
}

// releaseBy releases the lock for hold(), unless fn already released it
// (then it may belong to another task by now).
func (l *Lock) releaseBy(x *core.Exec) error {
	if l.holder == x.Task {
		l.release()
	}
	return nil
}

func lockAcquire(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	l := b.Receiver().(*Lock)
	d, err := timeoutKwarg("acquire", args, kwargs)
	if err != nil {
		return nil, err
	}
	x, err := l.exec(th, "acquire")
	if err != nil {
		return nil, err
	}
	if err := l.acquire(x, d); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func lockRelease(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	l := b.Receiver().(*Lock)
	if err := noArgs("release", args, kwargs); err != nil {
		return nil, err
	}
	if _, err := l.exec(th, "release"); err != nil {
		return nil, err
	}
	if l.holder == nil {
		return nil, core.Errorf(core.KindValue, "release: %s is not held", l.name())
	}
	l.release()
	return starlark.None, nil
}

// A Semaphore is sync.semaphore(n): n permits, waiters served in order;
// release hands a permit straight to the first waiter. Releasing more
// permits than were acquired is a value error (a bounded semaphore).
type Semaphore struct {
	object
	n, available int
	waiters      queue
}

func newSemaphore(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs("semaphore", args, kwargs, "n", &n); err != nil {
		return nil, core.ValueError(err)
	}
	if n < 1 {
		return nil, core.Errorf(core.KindValue, "semaphore: n must be >= 1, got %d", n)
	}
	o, err := newObject(th, "semaphore", "semaphore")
	if err != nil {
		return nil, err
	}
	return &Semaphore{object: o, n: n, available: n}, nil
}

func (s *Semaphore) String() string {
	return fmt.Sprintf("<semaphore#%d %d/%d available>", s.id, s.available, s.n)
}
func (s *Semaphore) Type() string { return "Semaphore" }
func (s *Semaphore) AttrNames() []string {
	return []string{"acquire", "available", "hold", "release"}
}
func (s *Semaphore) Attr(name string) (starlark.Value, error) {
	switch name {
	case "acquire":
		return method("acquire", semAcquire, s), nil
	case "release":
		return method("release", semRelease, s), nil
	case "hold":
		return method("hold", hold, s), nil
	case "available":
		return starlark.MakeInt(s.available), nil
	}
	return nil, nil
}

// WaitingOn: "semaphore#1 (0 of 2 available)".
func (s *Semaphore) WaitingOn() string {
	return fmt.Sprintf("%s (%d of %d available)", s.name(), s.available, s.n)
}

func (s *Semaphore) acquire(x *core.Exec, timeout time.Duration) error {
	if err := x.Checkpoint(); err != nil {
		return err
	}
	if s.available > 0 {
		s.available--
		return nil
	}
	_, err := s.waiters.wait(x, s, timeout, "acquire")
	return err
}

func (s *Semaphore) release() error {
	if p, ok := s.waiters.pop(); ok {
		p.w.Complete(0, starlark.None, nil)
		return nil
	}
	if s.available == s.n {
		return core.Errorf(core.KindValue, "release: %s released more times than acquired", s.name())
	}
	s.available++
	return nil
}

func (s *Semaphore) releaseBy(*core.Exec) error { return s.release() }

func semAcquire(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s := b.Receiver().(*Semaphore)
	d, err := timeoutKwarg("acquire", args, kwargs)
	if err != nil {
		return nil, err
	}
	x, err := s.exec(th, "acquire")
	if err != nil {
		return nil, err
	}
	if err := s.acquire(x, d); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func semRelease(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	s := b.Receiver().(*Semaphore)
	if err := noArgs("release", args, kwargs); err != nil {
		return nil, err
	}
	if _, err := s.exec(th, "release"); err != nil {
		return nil, err
	}
	if err := s.release(); err != nil {
		return nil, err
	}
	return starlark.None, nil
}
