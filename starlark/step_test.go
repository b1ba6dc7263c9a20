package starlark_test

// coro patch (ORIGIN item 10): builtins looping over an iterable charge a
// step per element, so the step limit and Cancel stop them.

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
)

func TestBuiltinLoopsCountSteps(t *testing.T) {
	const huge = "range(1 << 62)"
	for _, expr := range []string{
		"list(" + huge + ")",
		"tuple(" + huge + ")",
		"sorted(" + huge + ")",
		"reversed(" + huge + ")",
		"enumerate(" + huge + ")",
		"zip(" + huge + ")",
		"zip(" + huge + ", " + huge + ", " + huge + ")",
		"set(" + huge + ")",
		"dict(zip(" + huge + ", " + huge + "))",
		"{}.update(zip(" + huge + ", " + huge + "))",
		"min(" + huge + ")",
		"max(" + huge + ", key=lambda x: x)",
		"all(range(1, 1 << 62))",
		"any([0] * 100000 + [1])",
		`"".join([str(i) for i in range(10)] + ["x"] * 1000000)`,
		"[].extend(" + huge + ")",
		"set().union(" + huge + ")",
		"set([1]).difference(" + huge + ")",
		"set([1]).intersection(" + huge + ")",
		"set([-1]).issubset(" + huge + ")",
		"set(range(1 << 62, 0, -1)).issuperset(" + huge + ")",
		"set([1]).symmetric_difference(" + huge + ")",
		"set().update(" + huge + ")",
		"json.encode(" + huge + ")",
		"(lambda *a: a)(*" + huge + ")",
		"def f():\n    l = []\n    l += " + huge + "\nf()",
	} {
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(100_000)
		src := expr
		if !strings.Contains(src, "\n") {
			src = "x = " + expr
		}
		_, err := starlark.ExecFile(thread, "steps.star", src, starlark.StringDict{"json": json.Module})
		if err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
}

// A length with no memory behind it is not reserved up front: bytes()
// fails at the first value out of range instead of panicking.
func TestHugeLengthIsNotReserved(t *testing.T) {
	_, err := starlark.ExecFile(&starlark.Thread{}, "len.star", "bytes(range(1 << 62))", nil)
	if err == nil || !strings.Contains(err.Error(), "at index 256") {
		t.Errorf("got %v, want an error at index 256", err)
	}
}

// coro patch (ORIGIN 32): a host's OnMaxSteps runs only where control
// went back, a loop going round or a function's first instruction, never
// in the middle of a statement. Here the limit is always passed, so
// OnMaxSteps runs at every such point and nowhere else.
func TestOnMaxStepsRunsAtLoopsAndCallsOnly(t *testing.T) {
	thread := &starlark.Thread{}
	var lines []int32
	thread.OnMaxSteps = func(th *starlark.Thread) {
		lines = append(lines, th.CallFrame(0).Pos.Line)
	}
	thread.SetMaxExecutionSteps(1)
	_, err := starlark.ExecFile(thread, "points.star", `
def f():
    a = [1, 2]
    a[0] += a[1] * 3
    return a
def g():
    n = [0]
    for i in range(2):
        n[0] = n[0] + len(f()) + i
        n[0] += 1
g()
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The frame's position is that of the instruction run last: a
	// function's def line at its entry, the end of the loop's body as it
	// goes round. The module's entry (2), g's (6), then per iteration f's
	// entry (2) and the loop going round after line 10: never inside
	// lines 3-4 or 9-10.
	want := []int32{2, 6, 2, 10, 2, 10}
	if len(lines) != len(want) {
		t.Fatalf("OnMaxSteps ran at lines %v, want %v", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("OnMaxSteps ran at lines %v, want %v", lines, want)
		}
	}
}
