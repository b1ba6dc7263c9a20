package sync

import (
	"fmt"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// A Lock is sync.lock(): one permit (see permits), and the task that has
// it. Like Python's and Go's locks, any task may release it.
type Lock struct {
	object
	permits
	holder *loop.Task
}

func newLock(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := noArgs("sync.lock", args, kwargs); err != nil {
		return nil, err
	}
	o, err := newObject(th, "sync.lock", "lock")
	if err != nil {
		return nil, err
	}
	return &Lock{object: o, permits: permits{free: 1}}, nil
}

func (l *Lock) String() string {
	if l.holder != nil {
		if l.holder.Done() {
			return fmt.Sprintf("<lock#%d held by '%s', ended>", l.id, l.holder.Name())
		}
		return fmt.Sprintf("<lock#%d held by '%s'>", l.id, l.holder.Name())
	}
	return fmt.Sprintf("<lock#%d>", l.id)
}
func (l *Lock) Type() string        { return "Lock" }
func (l *Lock) AttrNames() []string { return lockMethods.Names("locked") }
func (l *Lock) Attr(name string) (starlark.Value, error) {
	if name == "locked" {
		return starlark.Bool(l.holder != nil), nil
	}
	return lockMethods.Bind(name, l), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (l *Lock) Method(name string) *starlark.Builtin { return lockMethods.Method(name) }

// Lock and Semaphore have the same methods (holder).
var (
	holderMethods = map[string]starutil.Func{"acquire": acquire, "hold": hold, "release": release}
	lockMethods   = starutil.NewMethods("Lock", holderMethods).Stackful("hold")
	semMethods    = starutil.NewMethods("Semaphore", holderMethods).Stackful("hold")
)

// WaitingOn is what a task parked in acquire waits on: "lock#2 held by
// task 'writer'". A holder that has ended is said to have: that is why
// the lock never comes free, and the report named it as if it might.
func (l *Lock) WaitingOn() string {
	if l.holder == nil {
		return l.name()
	}
	if l.holder.Done() {
		return fmt.Sprintf("%s held by task '%s', which ended without releasing it", l.name(), l.holder.Name())
	}
	return fmt.Sprintf("%s held by task '%s'", l.name(), l.holder.Name())
}

// DependsOn names the holder, whom a task waiting here depends on: the
// deadlock report follows it to show wait cycles (loop.Dependency).
func (l *Lock) DependsOn() []*loop.Task {
	if l.holder == nil {
		return nil
	}
	return []*loop.Task{l.holder}
}

func (l *Lock) setHolder(t *loop.Task) { l.holder = t }

func (l *Lock) acquire(th *starlark.Thread, b *starlark.Builtin, x *loop.Exec, fn string, timeout time.Duration) (starlark.Value, error) {
	return l.permits.acquire(th, b, x, fn, l, timeout, l.setHolder)
}

func (l *Lock) release(fn string) error {
	if l.holder == nil {
		return loop.Errorf(loop.KindValue, "%s: %s is not held", fn, l.name())
	}
	l.permits.release(l.setHolder)
	return nil
}

// releaseBy releases the lock for hold(), unless fn already released it
// (then it may belong to another task by now).
func (l *Lock) releaseBy(x *loop.Exec) error {
	if l.holder == x.Task {
		l.permits.release(l.setHolder)
	}
	return nil
}

// A Semaphore is sync.semaphore(n): n permits (see permits). Releasing
// more permits than were acquired is a value error (a bounded semaphore).
type Semaphore struct {
	object
	permits
	n int
}

func newSemaphore(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs("sync.semaphore", args, kwargs, "n", &n); err != nil {
		return nil, loop.ValueError(err)
	}
	if n < 1 {
		return nil, loop.Errorf(loop.KindValue, "sync.semaphore: n must be >= 1, got %d", n)
	}
	o, err := newObject(th, "sync.semaphore", "semaphore")
	if err != nil {
		return nil, err
	}
	return &Semaphore{object: o, permits: permits{free: n}, n: n}, nil
}

func (s *Semaphore) String() string {
	return fmt.Sprintf("<semaphore#%d %d/%d available>", s.id, s.free, s.n)
}
func (s *Semaphore) Type() string        { return "Semaphore" }
func (s *Semaphore) AttrNames() []string { return semMethods.Names("available") }
func (s *Semaphore) Attr(name string) (starlark.Value, error) {
	if name == "available" {
		return starlark.MakeInt(s.free), nil
	}
	return semMethods.Bind(name, s), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (s *Semaphore) Method(name string) *starlark.Builtin { return semMethods.Method(name) }

// WaitingOn: "semaphore#1 (0 of 2 available)".
func (s *Semaphore) WaitingOn() string {
	return fmt.Sprintf("%s (%d of %d available)", s.name(), s.free, s.n)
}

func (s *Semaphore) acquire(th *starlark.Thread, b *starlark.Builtin, x *loop.Exec, fn string, timeout time.Duration) (starlark.Value, error) {
	return s.permits.acquire(th, b, x, fn, s, timeout, nil)
}

func (s *Semaphore) release(fn string) error {
	if s.free == s.n {
		return loop.Errorf(loop.KindValue, "%s: %s released more times than acquired", fn, s.name())
	}
	s.permits.release(nil)
	return nil
}

func (s *Semaphore) releaseBy(*loop.Exec) error { return s.release("Semaphore.hold") }
