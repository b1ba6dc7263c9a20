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
