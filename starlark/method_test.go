package starlark_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// TestMethodCallsAllocateNothing: x.f(...) on a list, dict, string or set
// makes no bound method (coro patch, ORIGIN 77): calls that allocate no
// result allocate nothing (one bound method each before).
func TestMethodCallsAllocateNothing(t *testing.T) {
	if starlark.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	const src = `
def calls(d, l, s, st, n):
    for i in range(n):
        d.get(i, i)
        l.index(0)
        s.startswith("a")
        st.discard(-1)
`
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFileOptions(&syntax.FileOptions{Set: true}, thread, "calls.star", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	args := starlark.Tuple{starlark.NewDict(0), starlark.NewList([]starlark.Value{starlark.MakeInt(0)}), starlark.String("abc"), starlark.NewSet(0), starlark.MakeInt(n)}
	if perRound := allocsPerRound(t, thread, globals["calls"], args, n); perRound > 0.05 {
		t.Errorf("four method calls allocate %.2f times a round, want none", perRound)
	}
}

// TestCallMethodNests: a method that calls back into its thread (as
// "".join does a generator's body) may have another method called
// further in; the outer one then still finds its own receiver and name,
// and every frame holds its own method, bound to its receiver, also
// while the inner one runs (coro names a frame's method by it:
// "string.join").
func TestCallMethodNests(t *testing.T) {
	var stackInside []string
	inner := starlark.NewBuiltin("inner", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		for i := thread.CallStackDepth() - 1; i >= 0; i-- {
			name := thread.DebugFrame(i).Callable().Name()
			if b, ok := thread.DebugFrame(i).Callable().(*starlark.Builtin); ok && b.Receiver() != nil {
				name = b.Receiver().String() + "." + name
			}
			stackInside = append(stackInside, name)
		}
		return b.Receiver(), nil
	})
	outer := starlark.NewBuiltin("outer", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		got, err := starlark.CallMethod(thread, inner, starlark.String("inner's receiver"), nil)
		if err != nil {
			return nil, err
		}
		return starlark.Tuple{got, b.Receiver(), starlark.String(b.Name())}, nil
	})
	probe := starlark.NewBuiltin("probe", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return starlark.CallMethod(thread, outer, starlark.String("outer's receiver"), nil)
	})
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFile(thread, "probe.star", "r = probe()", starlark.StringDict{"probe": probe})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := globals["r"].String(), `("inner's receiver", "outer's receiver", "outer")`; got != want {
		t.Errorf("outer method saw %s, want %s", got, want)
	}
	if got, want := strings.Join(stackInside, " "), `<toplevel> probe "outer's receiver".outer "inner's receiver".inner`; got != want {
		t.Errorf("frames inside the inner method: %s, want %s", got, want)
	}
}

// TestThreadSize: the method field (ORIGIN 77) took no room; a Thread is
// allocated with every task.
func TestThreadSize(t *testing.T) {
	if starlark.ThreadSize != 288 {
		t.Errorf("Thread is %d bytes, want 288 (its allocation size class)", starlark.ThreadSize)
	}
}

// TestMethodCallKeepsNoReceiver: once a method call returned, the
// thread's bound method (ORIGIN 77) no longer holds its receiver, which
// the garbage collector may then free.
func TestMethodCallKeepsNoReceiver(t *testing.T) {
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFile(thread, "push.star", "def push(l):\n    l.append(1)\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	freed := make(chan struct{})
	l := starlark.NewList(nil)
	runtime.AddCleanup(l, func(ch chan struct{}) { close(ch) }, freed)
	if _, err := starlark.Call(thread, globals["push"], starlark.Tuple{l}, nil); err != nil {
		t.Fatal(err)
	}
	l = nil
	for range 100 {
		runtime.GC()
		select {
		case <-freed:
			runtime.KeepAlive(thread)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Error("the list a method was called on stayed reachable after the call")
}

// TestLoopsAllocateNoIteratorStack: a call of a function with a loop
// allocates its iterator, not also the stack that holds it (coro patch,
// ORIGIN 78), for up to two loops active at once.
func TestLoopsAllocateNoIteratorStack(t *testing.T) {
	if starlark.RaceEnabled {
		t.Skip("the race detector allocates")
	}
	const src = `
def nested(l):
    for x in l:
        for y in l:
            pass

def calls(l, n):
    for i in range(n):
        nested(l)
`
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFile(thread, "loops.star", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	args := starlark.Tuple{starlark.NewList([]starlark.Value{starlark.None}), starlark.MakeInt(n)}
	if perCall := allocsPerRound(t, thread, globals["calls"], args, n); perCall > 2.05 {
		t.Errorf("a call with two loops allocates %.2f times, want 2 (their iterators)", perCall)
	}
}

// counter is a HasMethods value (ORIGIN 79): add(k) adds k and returns
// the count; wait() unwinds and gives ten times the count, reading its
// receiver when it resumes.
type counter struct{ n int }

var counterMethods = map[string]*starlark.Builtin{
	"add": starlark.NewBuiltin("counter.add", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		k, err := starlark.AsInt32(args[0])
		if err != nil {
			return nil, err
		}
		c := b.Receiver().(*counter)
		c.n += k
		return starlark.MakeInt(c.n), nil
	}).BorrowsArgs(),
	"wait": starlark.NewBuiltin("counter.wait", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if !th.CanUnwind(b) {
			return nil, errors.New("counter.wait: cannot unwind")
		}
		return nil, th.Unwind(func(*starlark.Thread) (starlark.Value, error) {
			return starlark.MakeInt(b.Receiver().(*counter).n * 10), nil
		})
	}),
}

func (c *counter) String() string        { return "counter" }
func (c *counter) Type() string          { return "counter" }
func (c *counter) Freeze()               {}
func (c *counter) Truth() starlark.Bool  { return true }
func (c *counter) Hash() (uint32, error) { return 0, errors.New("unhashable") }
func (c *counter) AttrNames() []string   { return []string{"add", "n", "wait"} }
func (c *counter) Attr(name string) (starlark.Value, error) {
	if name == "n" {
		return starlark.MakeInt(c.n), nil
	}
	if m := counterMethods[name]; m != nil {
		return m.BindReceiver(c), nil
	}
	return nil, nil
}
func (c *counter) Method(name string) *starlark.Builtin { return counterMethods[name] }

// TestHasMethodsCalls: x.f(...) on a HasMethods value calls its method
// unbound (ORIGIN 79): no allocation for a method that does not unwind;
// one that unwinds keeps its bound method, and reads its own receiver
// when it resumes, while the thread binds another for the calls after;
// fields, methods as values and unknown names are Attr's.
func TestHasMethodsCalls(t *testing.T) {
	const src = `
def f(c):
    c.add(1)
    a = c.wait()
    c.add(2)
    b = c.wait()
    add = c.add
    add(4)
    return [a, b, c.n]

def adds(c, n):
    for i in range(n):
        c.add(0)
`
	th := &starlark.Thread{}
	globals, err := starlark.ExecFileOptions(&syntax.FileOptions{}, th, "counter.star", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	th.SetUnwindable(true)
	v, err := starlark.Call(th, globals["f"], starlark.Tuple{c}, nil)
	for starlark.IsUnwound(err) {
		v, err = th.Resume()
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "[10, 30, 7]" {
		t.Errorf("f(counter) = %s, want [10, 30, 7]", got)
	}

	_, err = starlark.ExecFileOptions(&syntax.FileOptions{}, th, "nope.star", "c.nope()", starlark.StringDict{"c": c})
	if err == nil || !strings.Contains(err.Error(), "counter has no .nope field or method") {
		t.Errorf("c.nope(): %v", err)
	}

	if starlark.RaceEnabled {
		return
	}
	const n = 1000
	if perCall := allocsPerRound(t, th, globals["adds"], starlark.Tuple{c, starlark.MakeInt(n)}, n); perCall > 0.05 {
		t.Errorf("c.add(0) allocates %.2f times a call, want none", perCall)
	}
}

// allocsPerRound returns the allocations of one call of fn(args...) on
// thread, averaged over runs and divided by rounds (the loop count fn
// was given).
func allocsPerRound(t *testing.T, thread *starlark.Thread, fn starlark.Value, args starlark.Tuple, rounds int) float64 {
	t.Helper()
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := starlark.Call(thread, fn, args, nil); err != nil {
			t.Fatal(err)
		}
	})
	return allocs / float64(rounds)
}
