package stdlib

import (
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// builtinFormat is format(value, spec=""): Python's format-spec
// mini-language (SPEC 13), implemented by the interpreter beside `%`.
func builtinFormat(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	var spec string
	if err := starlark.UnpackArgs("format", args, kwargs, "value", &v, "spec?", &spec); err != nil {
		return nil, loop.ValueError(err)
	}
	s, err := starlark.Format(th, v, spec)
	if err != nil {
		return nil, loop.Errorf(loop.KindValue, "format: %v", err)
	}
	return starlark.String(s), nil
}
