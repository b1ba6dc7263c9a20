package starlark_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// TestSuspensionSize: a suspension, which every unwound function frame of
// a parked task keeps, stays in the 96-byte size class (coro patch,
// ORIGIN 31): a field added to it must pay for itself.
func TestSuspensionSize(t *testing.T) {
	if starlark.SuspensionSize > 96 {
		t.Errorf("suspension is %d bytes, want at most 96", starlark.SuspensionSize)
	}
}

// pause(x) unwinds the thread when it may, and resumes with x * 10; the
// host counts the unwinds. fail_later() unwinds and fails on resumption.
func unwindEnv(unwinds *int, stacks *[]string) starlark.StringDict {
	pause := func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x int
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x); err != nil {
			return nil, err
		}
		if !th.CanUnwind(b) {
			return starlark.MakeInt(-x), nil // in place: a Go caller is below
		}
		*unwinds++
		*stacks = append(*stacks, th.CallStack().String())
		return nil, th.Unwind(func(*starlark.Thread) (starlark.Value, error) {
			return starlark.MakeInt(x * 10), nil
		})
	}
	failLater := func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return nil, th.Unwind(func(*starlark.Thread) (starlark.Value, error) {
			return nil, errors.New("it broke")
		})
	}
	return starlark.StringDict{
		"pause":      starlark.NewBuiltin("pause", pause),
		"fail_later": starlark.NewBuiltin("fail_later", failLater),
	}
}

// runUnwinding calls fn as a host that resumes unwound threads does.
func runUnwinding(t *testing.T, th *starlark.Thread, fn starlark.Value) (starlark.Value, error) {
	th.SetUnwindable(true)
	v, err := starlark.Call(th, fn, nil, nil)
	for starlark.IsUnwound(err) {
		v, err = th.Resume()
	}
	if th.CallStackDepth() != 0 {
		t.Fatalf("frames left on the stack: %d", th.CallStackDepth())
	}
	return v, err
}

func TestUnwindAndResume(t *testing.T) {
	var unwinds int
	var stacks []string
	src := `
def inner(n):
    total = 0
    for i in range(n):           # an iterator live across the unwinds
        total += pause(i)
    return total

def outer():
    acc = []
    for x in [1, 2]:
        acc.append(inner(3) + x)
    acc.append(sorted([3, 1], key=lambda v: pause(v)))   # a Go caller: no unwind
    return acc
`
	th := &starlark.Thread{Name: "t"}
	opts := &syntax.FileOptions{While: true, Recursion: true}
	g, err := starlark.ExecFileOptions(opts, th, "u.star", src, unwindEnv(&unwinds, &stacks))
	if err != nil {
		t.Fatal(err)
	}
	v, err := runUnwinding(t, th, g["outer"])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), "[31, 32, [3, 1]]"; got != want {
		t.Errorf("outer() = %s, want %s", got, want)
	}
	if unwinds != 6 {
		t.Errorf("unwound %d times, want 6", unwinds)
	}
	if len(stacks) > 0 && !strings.Contains(stacks[0], "u.star:5:23: in inner") {
		t.Errorf("stack at the first unwind:\n%s", stacks[0])
	}
}

func TestResumedErrorHasItsTraceback(t *testing.T) {
	var unwinds int
	var stacks []string
	src := `
def f():
    x = 1
    fail_later()
    return x
def g():
    return f() + 1
`
	th := &starlark.Thread{Name: "t"}
	g, err := starlark.ExecFile(th, "e.star", src, unwindEnv(&unwinds, &stacks))
	if err != nil {
		t.Fatal(err)
	}
	_, err = runUnwinding(t, th, g["g"])
	var evalErr *starlark.EvalError
	if !errors.As(err, &evalErr) {
		t.Fatalf("err = %v, want an EvalError", err)
	}
	bt := evalErr.Backtrace()
	for _, want := range []string{"e.star:7:13: in g", "e.star:4:15: in f", "Error in fail_later: it broke"} {
		if !strings.Contains(bt, want) {
			t.Errorf("backtrace lacks %q:\n%s", want, bt)
		}
	}
}

// Without SetUnwindable, CanUnwind never holds: builtins wait in place.
func TestNotUnwindable(t *testing.T) {
	var unwinds int
	var stacks []string
	th := &starlark.Thread{Name: "t"}
	g, err := starlark.ExecFile(th, "n.star", "def f():\n    return pause(4)\n", unwindEnv(&unwinds, &stacks))
	if err != nil {
		t.Fatal(err)
	}
	v, err := starlark.Call(th, g["f"], nil, nil)
	if err != nil || v.String() != "-4" || unwinds != 0 {
		t.Errorf("f() = %v, %v after %d unwinds; want -4 in place", v, err, unwinds)
	}
}

// waitingIter yields 1..n; each element makes it wait first: unwound when
// the for loop may unwind (the element then arrives through the
// continuation, kept for the next NextOn), in place otherwise. failAt
// makes the wait before that element fail.
type waitingIter struct {
	i, n, failAt int
	pending      starlark.Value
	unwinds      *int
}

func (it *waitingIter) Next(p *starlark.Value) bool {
	if it.i >= it.n {
		return false
	}
	it.i++
	*p = starlark.MakeInt(it.i)
	return true
}
func (it *waitingIter) Done() {}

func (it *waitingIter) NextOn(th *starlark.Thread, p *starlark.Value) (bool, error) {
	if it.pending != nil {
		*p, it.pending = it.pending, nil
		return true, nil
	}
	if it.i >= it.n || !th.CanUnwindIter() {
		return it.Next(p), nil
	}
	*it.unwinds++
	return false, th.UnwindIter(func(*starlark.Thread) (starlark.Value, error) {
		if it.i+1 == it.failAt {
			return nil, errors.New("the wait failed")
		}
		it.i++
		it.pending = starlark.MakeInt(it.i)
		return starlark.None, nil
	})
}

type waitingIterable struct {
	starlark.Tuple
	n, failAt int
	unwinds   *int
}

func (w waitingIterable) Iterate() starlark.Iterator {
	return &waitingIter{n: w.n, failAt: w.failAt, unwinds: w.unwinds}
}

// A for loop over a WaitingIterator unwinds in NextOn and resumes with the
// element the wait brought, its other iterators and locals intact; under
// a Go caller (sorted's key) it iterates in place; a failed wait fails the
// loop with a traceback at the for statement.
func TestUnwindInForLoop(t *testing.T) {
	var unwinds int
	src := `
def collect(n = 3):
    out = []
    for a in ["x", "y"]:
        for i in waiting(n):
            out.append(a + str(i))
    return out

def under_go():
    return sorted([2, 1], key=lambda v: len([i for i in waiting(v)]))

def failing():
    total = 0
    for i in waiting_fail():
        total += i
    return total
`
	th := &starlark.Thread{Name: "t"}
	opts := &syntax.FileOptions{While: true}
	env := starlark.StringDict{
		"waiting": starlark.NewBuiltin("waiting", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			n, _ := starlark.AsInt32(args[0])
			return waitingIterable{n: n, unwinds: &unwinds}, nil
		}),
		"waiting_fail": starlark.NewBuiltin("waiting_fail", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return waitingIterable{n: 5, failAt: 3, unwinds: &unwinds}, nil
		}),
	}
	g, err := starlark.ExecFileOptions(opts, th, "w.star", src, env)
	if err != nil {
		t.Fatal(err)
	}
	v, err := runUnwinding(t, th, g["collect"])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), `["x1", "x2", "x3", "y1", "y2", "y3"]`; got != want {
		t.Errorf("collect = %s, want %s", got, want)
	}
	if unwinds != 6 {
		t.Errorf("collect unwound %d times, want 6", unwinds)
	}
	unwinds = 0
	v, err = runUnwinding(t, th, g["under_go"])
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "[1, 2]" || unwinds != 0 {
		t.Errorf("under_go = %s with %d unwinds, want [1, 2] and none", got, unwinds)
	}
	_, err = runUnwinding(t, th, g["failing"])
	if err == nil || !strings.Contains(err.Error(), "the wait failed") {
		t.Fatalf("failing: got %v", err)
	}
	if bt := err.(*starlark.EvalError).Backtrace(); !strings.Contains(bt, "w.star:14:5: in failing") {
		t.Errorf("failing's traceback does not point at the for loop:\n%s", bt)
	}
}
