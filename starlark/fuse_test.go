package starlark

import (
	"fmt"
	"testing"

	"github.com/corolang/coro/starlark/syntax"
)

// TestFusionMatchesUnfused: superinstructions (ORIGIN 28) change nothing
// a script can see. Each program runs with and without them; results,
// errors with their positions and backtraces, and the step count agree,
// whether a fusion runs as one step or falls back (unbound variables,
// overflow past int64, strings, lists, floats, mixed comparisons).
func TestFusionMatchesUnfused(t *testing.T) {
	defer func() { fuse = true }()
	for _, src := range []string{
		// int loops: comparisons, +, -, +=, results to locals and globals.
		`
def f(n):
    i, s, d = 0, 0, 100
    while i < n:
        i += 1
        s = s + i
        d = d - i
        ok = i <= n
    return s, d, ok, i == n, i != n, i > n, i >= n, n - 1
out = f(1000)
total = 0
for x in range(10):
    total += x
out = (out, total)`,
		// overflow past int64: the fusion falls back, the int grows.
		`
def f():
    x = 9223372036854775000
    y = 0
    for i in range(2000):
        x += 1
        y = y - 9223372036854775807
    return x, y, x > y
out = f()`,
		// strings, lists, floats and big ints take the unfused path.
		`
def f():
    s, l, fl, b = "a", [1], 1.5, 1 << 70
    for i in range(3):
        s += "b"
        s = s + "c"
        l += [i]
        fl = fl + 0.5
        b = b - 1
    return s, l, fl, b, s < "b", fl > 1, b == b
out = f()`,
		// a local read before it is bound, inside a fused run.
		`
def f(n):
    if n:
        x = 1
    return x + n
out = f(0)`,
		`
def f(n):
    if n:
        x = 1
    while x < n:
        pass
out = f(0)`,
		// a comparison that is an error.
		`
def f(n):
    i = 0
    while i < n:
        i += 1
out = f("3")`,
		// + of an int and a string: an error at its own position.
		`
def f():
    x, y = 1, "1"
    z = x + y
out = f()`,
	} {
		var results [2]string
		var steps [2]uint64
		for k, on := range []bool{true, false} {
			fuse = on
			thread := &Thread{Name: "fuse"}
			opts := &syntax.FileOptions{While: true, TopLevelControl: true, GlobalReassign: true}
			globals, err := ExecFileOptions(opts, thread, "fuse.star", src, nil)
			if err != nil {
				if evalErr, ok := err.(*EvalError); ok {
					results[k] = evalErr.Backtrace()
				} else {
					results[k] = err.Error()
				}
			} else {
				results[k] = fmt.Sprint(globals["out"])
				if _, fusions := globals["f"].(*Function).funcode.Fused(); len(fusions) == 0 {
					t.Errorf("nothing fused in f:%s", src)
				}
			}
			steps[k] = thread.ExecutionSteps()
		}
		if results[0] != results[1] {
			t.Errorf("fused:\n%s\nunfused:\n%s\nprogram:%s", results[0], results[1], src)
		}
		if steps[0] != steps[1] {
			t.Errorf("fused ran %d steps, unfused %d; program:%s", steps[0], steps[1], src)
		}
		t.Logf("%s\n=> %s (%d steps)", src, results[0], steps[0])
	}
}

// TestCompareFastStrings: the interpreter's comparison of two strings
// (compareFast, ORIGIN 74) agrees with String.CompareSameType for every
// operator, and leaves other pairs to the general path.
func TestCompareFastStrings(t *testing.T) {
	strs := []String{"", "a", "ab", "b", "\xff", "é", "a\x00"}
	ops := []syntax.Token{syntax.EQL, syntax.NEQ, syntax.LT, syntax.LE, syntax.GT, syntax.GE}
	for _, x := range strs {
		for _, y := range strs {
			for _, op := range ops {
				want, err := x.CompareSameType(op, y, CompareLimit)
				if err != nil {
					t.Fatal(err)
				}
				got, fast := compareFast(op, x, y)
				if !fast || got != want {
					t.Errorf("compareFast(%s, %q, %q) = %v, %v; want %v, true", op, x, y, got, fast, want)
				}
			}
		}
	}
	if _, fast := compareFast(syntax.EQL, String("1"), MakeInt(1)); fast {
		t.Error("a string and an int took the fast path")
	}
	if _, fast := compareFast(syntax.LT, Bytes("a"), String("b")); fast {
		t.Error("bytes and a string took the fast path")
	}
}
