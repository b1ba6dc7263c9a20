package starlark_test

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// A call reuses the space (locals and operand stack) of the last call
// that returned at its depth, cleared (coro patch, ORIGIN 75): a call
// allocates none, and nothing of an earlier call shows through, whether
// it returned, failed, or failed before it began (bad arguments).
func TestFrameSpaceReuse(t *testing.T) {
	const src = `
def f(x, y=None):
    if x:
        z = x
    return z

def g(a, b):
    return a + b

def deep(n):
    if n == 0:
        return g(1, 2)
    return deep(n - 1)
`
	thread := &starlark.Thread{}
	opts := &syntax.FileOptions{Recursion: true}
	globals, err := starlark.ExecFileOptions(opts, thread, "space.star", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	call := func(fn string, args ...starlark.Value) (starlark.Value, error) {
		return starlark.Call(thread, globals[fn], args, nil)
	}

	if v, err := call("f", starlark.MakeInt(7)); err != nil || v.String() != "7" {
		t.Fatalf("f(7) = %v, %v", v, err)
	}
	// z was set by the call before, in the same space: it must be unbound.
	if _, err := call("f", starlark.False); err == nil || !strings.Contains(err.Error(), "referenced before assignment") {
		t.Errorf("f(False) after f(7): err = %v, want local variable z referenced before assignment", err)
	}
	// A call refused by setArgs fills some parameters first.
	if _, err := starlark.Call(thread, globals["f"], starlark.Tuple{starlark.MakeInt(1)}, []starlark.Tuple{{starlark.String("x"), starlark.MakeInt(2)}}); err == nil || !strings.Contains(err.Error(), "multiple values") {
		t.Fatalf("f(1, x=2): err = %v", err)
	}
	if v, err := starlark.Call(thread, globals["f"], nil, []starlark.Tuple{{starlark.String("x"), starlark.MakeInt(3)}}); err != nil || v.String() != "3" {
		t.Errorf("f(x=3) after a refused call = %v, %v", v, err)
	}

	if v, err := call("deep", starlark.MakeInt(50)); err != nil || v.String() != "3" {
		t.Fatalf("deep(50) = %v, %v", v, err)
	}
	args := starlark.Tuple{starlark.MakeInt(50)}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := starlark.Call(thread, globals["deep"], args, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("deep(50) allocates %.0f times a call, want at most 1 (each of its 52 levels' space reused)", allocs)
	}
}

// The built-in types' methods borrow their arguments (coro patch, ORIGIN
// 76): a method call allocates no copy of its arguments (nor, since
// ORIGIN 77, its bound method), and what a method keeps of them
// (list.append's value, dict.setdefault's key and value) stays right when
// the caller's stack slots are reused.
func TestMethodsBorrowArgs(t *testing.T) {
	const src = `
def fill(l, d, s, n):
    for i in range(n):
        l.append(i)
        d.setdefault(str(i), i * 2)
        s.add(-i)

def calls(d, n):
    for i in range(n):
        d.get(i, i)
`
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFile(thread, "methods.star", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, d, s := starlark.NewList(nil), starlark.NewDict(0), starlark.NewSet(0)
	if _, err := starlark.Call(thread, globals["fill"], starlark.Tuple{l, d, s, starlark.MakeInt(100)}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if got := l.Index(i); got != starlark.MakeInt(i) {
			t.Fatalf("l[%d] = %v", i, got)
		}
		if v, _, _ := d.Get(starlark.String(starlark.MakeInt(i).String())); v != starlark.MakeInt(2*i) {
			t.Fatalf("d[%q] = %v", starlark.MakeInt(i).String(), v)
		}
		if ok, _ := s.Has(starlark.MakeInt(-i)); !ok {
			t.Fatalf("%d not in s", -i)
		}
	}

	const n = 1000
	args := starlark.Tuple{starlark.NewDict(0), starlark.MakeInt(n)}
	if perCall := allocsPerRound(t, thread, globals["calls"], args, n); perCall > 0.05 {
		t.Errorf("d.get(i, i) allocates %.2f times a call, want none (no copy of its arguments; no bound method since ORIGIN 77)", perCall)
	}
}
