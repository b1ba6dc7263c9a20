package starlark_test

import (
	"testing"

	"github.com/corolang/coro/starlark"
)

// A parameter declared as an interface is named by what its values are in
// Starlark, not by the Go type (coro patch, ORIGIN 42).
func TestUnpackNamesInterfaces(t *testing.T) {
	for _, c := range []struct {
		arg  starlark.Value
		ptr  any
		want string
	}{
		{starlark.NewDict(0), new(starlark.Indexable), "f: for parameter x: got dict, want indexable sequence (list, tuple, string, range)"},
		{starlark.NewDict(0), new(starlark.Callable), "f: for parameter x: got dict, want callable"},
		{starlark.MakeInt(1), new(starlark.Sequence), "f: for parameter x: got int, want sequence"},
		{starlark.MakeInt(1), new(*starlark.List), "f: for parameter x: got int, want list"},
	} {
		err := starlark.UnpackArgs("f", starlark.Tuple{c.arg}, nil, "x", c.ptr)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}
