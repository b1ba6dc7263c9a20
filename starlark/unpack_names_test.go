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

// A parameter is named the same whether its argument came by position or
// by keyword (coro patch, ORIGIN 60): the keyword's was quoted.
func TestUnpackNamesParametersAlike(t *testing.T) {
	var mode string
	var n int
	const want = `f: for parameter mode: got int, want string`
	for _, call := range []struct {
		args   starlark.Tuple
		kwargs []starlark.Tuple
	}{
		{starlark.Tuple{starlark.MakeInt(1)}, nil},
		{nil, []starlark.Tuple{{starlark.String("mode"), starlark.MakeInt(1)}}},
	} {
		err := starlark.UnpackArgs("f", call.args, call.kwargs, "mode", &mode, "n?", &n)
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	}
	// An optional one too, whose name has a "?" in the declaration.
	err := starlark.UnpackArgs("f", nil, []starlark.Tuple{{starlark.String("n"), starlark.String("x")}}, "mode?", &mode, "n?", &n)
	if want := "f: for parameter n: got string, want int"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
