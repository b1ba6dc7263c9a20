package starlark_test

// coro patch (ORIGIN 40): a failure of one of the interpreter's own
// builtins is an ArgError (hosts give it the kind they give a wrong
// argument); fail, errors from functions a builtin calls, host errors
// passing through, and cancellations keep their type.

import (
	"errors"
	"fmt"
	"testing"

	"github.com/corolang/coro/starlark"
)

// hostError is a host's error that knows its frames (coro's *loop.Error).
type hostError struct{}

func (hostError) Error() string              { return "host failure" }
func (hostError) Frames() starlark.CallStack { return starlark.CallStack{} }

// failing is a value whose attribute f fails with a host error.
type failing struct{}

func (failing) String() string        { return "failing" }
func (failing) Type() string          { return "failing" }
func (failing) Freeze()               {}
func (failing) Truth() starlark.Bool  { return true }
func (failing) Hash() (uint32, error) { return 0, nil }
func (failing) AttrNames() []string   { return []string{"f"} }
func (failing) Attr(string) (starlark.Value, error) {
	return nil, hostError{}
}

func TestOwnBuiltinFailuresAreArgErrors(t *testing.T) {
	predeclared := starlark.StringDict{
		"failing": failing{},
		"host": starlark.NewBuiltin("host", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, fmt.Errorf("host: broken")
		}),
	}
	run := func(expr string, maxSteps uint64) error {
		thread := &starlark.Thread{}
		if maxSteps > 0 {
			thread.SetMaxExecutionSteps(maxSteps)
		}
		_, err := starlark.ExecFile(thread, "args.star", "x = "+expr+"\n", predeclared)
		return err
	}
	for _, expr := range []string{
		"len(1)",
		"len(1, 2)",
		"hash(1)",
		`"".join([1])`,
		`"abc".index("z")`,
		"[1].index(2)",
		"[].pop()",
		`{}.pop("k")`,
		`sorted([1, "a"])`,
		"max([])",
		`set([[1]])`,
		"range(1, 2, 0)",
		`int("x")`,
		"chr(-1)",
		"getattr(1, 'x')",
		// The error arose in len, called by the key function.
		"sorted([1, 2], key=lambda x: len(x))",
	} {
		err := run(expr, 0)
		var ae *starlark.ArgError
		if !errors.As(err, &ae) {
			t.Errorf("%s: got %v (%T), want an ArgError", expr, err, err)
		}
	}
	for expr, maxSteps := range map[string]uint64{
		`fail("x")`: 0,
		"sorted([1, 2], key=lambda x: fail('in key'))": 0,
		"sorted([1, 2], key=lambda x: 1 // 0)":         0,
		"max([1, 2], key=lambda x: [][0])":             0,
		"1 // 0":                                       0,
		"host()":                                       0,
		"getattr(failing, 'f')":                        0,
		"list(range(1 << 62))":                         10_000, // the step limit
	} {
		err := run(expr, maxSteps)
		var ae *starlark.ArgError
		if err == nil || errors.As(err, &ae) {
			t.Errorf("%s: got %v, want an error that is not an ArgError", expr, err)
		}
	}
	// A host error passing through getattr keeps its chain.
	if err := run("getattr(failing, 'f')", 0); !errors.As(err, new(hostError)) {
		t.Errorf("getattr: got %v, want the host's error in its chain", err)
	}
}
