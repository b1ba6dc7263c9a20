package starlark_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

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
