package sync

import (
	"fmt"
	"math"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// An Event is sync.event(): a flag tasks wait to see set. set wakes every
// waiter; clear makes later waits wait again.
type Event struct {
	object
	set     bool
	waiters loop.WakerList
	op      *WaitOp
}

func newEvent(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := noArgs("sync.event", args, kwargs); err != nil {
		return nil, err
	}
	o, err := newObject(th, "sync.event", "event")
	if err != nil {
		return nil, err
	}
	ev := &Event{object: o}
	ev.op = &WaitOp{ev}
	return ev, nil
}

func (ev *Event) String() string {
	if ev.set {
		return fmt.Sprintf("<event#%d set>", ev.id)
	}
	return fmt.Sprintf("<event#%d>", ev.id)
}
func (ev *Event) Type() string        { return "Event" }
func (ev *Event) AttrNames() []string { return eventMethods.Names("is_set") }
func (ev *Event) Attr(name string) (starlark.Value, error) {
	if name == "is_set" {
		return starlark.Bool(ev.set), nil
	}
	return eventMethods.Bind(name, ev), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (ev *Event) Method(name string) *starlark.Builtin { return eventMethods.Method(name) }

var (
	eventMethods = starutil.NewMethods("Event", map[string]starutil.Func{"clear": eventClear, "set": eventSet, "wait": eventWait, "wait_op": eventWaitOp})
)

// A WaitOp is event.wait_op(): the event's "is set" as an awaitable for
// select, wait, join and race. It completes with None.
type WaitOp struct{ ev *Event }

var _ loop.Awaitable = (*WaitOp)(nil)

func (op *WaitOp) String() string        { return fmt.Sprintf("<wait_op %s>", op.ev.name()) }
func (op *WaitOp) Type() string          { return "WaitOp" }
func (op *WaitOp) Freeze()               {}
func (op *WaitOp) OwnedByLoop()          {}
func (op *WaitOp) Truth() starlark.Bool  { return true }
func (op *WaitOp) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: WaitOp") }
func (op *WaitOp) Poll(*loop.Task) (starlark.Value, error, bool) {
	if op.ev.set {
		return starlark.None, nil, true
	}
	return nil, nil, false
}
func (op *WaitOp) Enqueue(w loop.Waker, index int) { op.ev.waiters.Add(w, index) }
func (op *WaitOp) Dequeue(w loop.Waker)            { op.ev.waiters.Remove(w) }
func (op *WaitOp) WaitingOn() string               { return "wait " + op.ev.name() }

func eventSet(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ev := b.Receiver().(*Event)
	if _, err := ev.enter(th, b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if !ev.set {
		ev.set = true
		ev.waiters.Broadcast(starlark.None, nil)
	}
	return starlark.None, nil
}

func eventClear(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ev := b.Receiver().(*Event)
	if _, err := ev.enter(th, b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	ev.set = false
	return starlark.None, nil
}

func eventWait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ev := b.Receiver().(*Event)
	x, d, err := ev.enterTimed(th, b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return x.WaitOneIn(th, b, ev.op, d)
}

func eventWaitOp(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := noArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return b.Receiver().(*Event).op, nil
}

// A WaitGroup is sync.wait_group(): a counter of outstanding work; wait
// returns once it is zero.
type WaitGroup struct {
	object
	count   int
	waiters loop.WakerList
}

func newWaitGroup(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := noArgs("sync.wait_group", args, kwargs); err != nil {
		return nil, err
	}
	o, err := newObject(th, "sync.wait_group", "wait_group")
	if err != nil {
		return nil, err
	}
	return &WaitGroup{object: o}, nil
}

func (g *WaitGroup) String() string      { return fmt.Sprintf("<wait_group#%d %d pending>", g.id, g.count) }
func (g *WaitGroup) Type() string        { return "WaitGroup" }
func (g *WaitGroup) AttrNames() []string { return wgMethods.Names() }
func (g *WaitGroup) Attr(name string) (starlark.Value, error) {
	return wgMethods.Bind(name, g), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (g *WaitGroup) Method(name string) *starlark.Builtin { return wgMethods.Method(name) }

var (
	wgMethods = starutil.NewMethods("WaitGroup", map[string]starutil.Func{"add": wgAdd, "done": wgDone, "wait": wgWait})
)

// WaitingOn: "wait_group#1 (2 pending)".
func (g *WaitGroup) WaitingOn() string { return fmt.Sprintf("%s (%d pending)", g.name(), g.count) }

func (g *WaitGroup) add(th *starlark.Thread, fn string, n int) (starlark.Value, error) {
	if _, err := g.exec(th, fn); err != nil {
		return nil, err
	}
	if n > 0 && g.count > math.MaxInt-n {
		return nil, loop.Errorf(loop.KindValue, "%s: %s counter would overflow (%d%+d)", fn, g.name(), g.count, n)
	}
	if g.count+n < 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: %s counter would go negative (%d%+d)", fn, g.name(), g.count, n)
	}
	g.count += n
	if g.count == 0 {
		g.waiters.Broadcast(starlark.None, nil)
	}
	return starlark.None, nil
}

func wgAdd(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	n := 1
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n?", &n); err != nil {
		return nil, loop.ValueError(err)
	}
	return b.Receiver().(*WaitGroup).add(th, b.Name(), n)
}

func wgDone(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := noArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return b.Receiver().(*WaitGroup).add(th, b.Name(), -1)
}

func wgWait(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := b.Receiver().(*WaitGroup)
	x, d, err := g.enterTimed(th, b.Name(), args, kwargs)
	if err != nil {
		return nil, err
	}
	return x.WaitOneIn(th, b, zeroOp{g}, d)
}

// zeroOp is "g's counter is zero" as an Awaitable, for wait: it is not
// given to scripts (a wait_group is no operand of select). It completes
// with None.
type zeroOp struct{ *WaitGroup }

func (op zeroOp) Poll(*loop.Task) (starlark.Value, error, bool) {
	if op.count == 0 {
		return starlark.None, nil, true
	}
	return nil, nil, false
}
func (op zeroOp) Enqueue(w loop.Waker, index int) { op.waiters.Add(w, index) }
func (op zeroOp) Dequeue(w loop.Waker)            { op.waiters.Remove(w) }
