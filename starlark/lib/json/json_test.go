package json

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
)

// sharedParts is a list of 100 cells whose JSON text is 20 GB.
const sharedParts = "def grow():\n    x = [0] * 10\n    for i in range(9):\n        x = [x] * 10\n    return x\nx = grow()\n"

func run(thread *starlark.Thread, src string) error {
	_, err := starlark.ExecFile(thread, "json.star", src, starlark.StringDict{"json": Module})
	return err
}

// The text json.encode makes is bounded (1 GiB, lowered here), and each
// value written costs a step, so the step limit (and Cancel) stops it
// first when there is one (coro patch, ORIGIN 35).
func TestEncodeOfSharedPartsIsBounded(t *testing.T) {
	defer func(n int) { maxEncoded = n }(maxEncoded)
	maxEncoded = 1 << 16
	for _, expr := range []string{"json.encode(x)", "json.encode({'a': x})", "json.encode_indent(x)"} {
		err := run(&starlark.Thread{}, sharedParts+"y = "+expr+"\n")
		if err == nil || !strings.Contains(err.Error(), "JSON text too long (more than 65536 bytes)") {
			t.Errorf("%s: got %v, want text too long", expr, err)
		}
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(10_000)
		if err := run(thread, sharedParts+"y = "+expr+"\n"); err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
	// Where the text passed the bound is named.
	err := run(&starlark.Thread{}, sharedParts+"y = json.encode({'a': x})\n")
	if err == nil || !strings.Contains(err.Error(), "json.encode: in dict key \"a\": at list index 0: ") {
		t.Errorf("got %v, want the place named", err)
	}
	// A text that fits is written whole.
	globals, err := starlark.ExecFile(&starlark.Thread{}, "json.star", "y = json.encode([[0] * 10] * 10)", starlark.StringDict{"json": Module})
	if y, _ := globals["y"].(starlark.String); err != nil || len(y) != 221 || !strings.HasPrefix(string(y), "[[0,0,") {
		t.Errorf("got %v, %v", globals["y"], err)
	}
}
