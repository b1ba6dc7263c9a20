// Package path is the script module `path` (SPEC 13): file paths as Go's
// path/filepath handles them (join cleans, base and dir of "a/b/" are "b"
// and "a"), and split as Python's os.path.split. Pure string work: no
// permission, no file system access (abs reads only the working
// directory).
package path

import (
	"path/filepath"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Module returns the path module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "path", Members: starlark.StringDict{
		"join":  starlark.NewBuiltin("path.join", join),
		"base":  starlark.NewBuiltin("path.base", unary(filepath.Base)),
		"dir":   starlark.NewBuiltin("path.dir", unary(filepath.Dir)),
		"ext":   starlark.NewBuiltin("path.ext", unary(filepath.Ext)),
		"clean": starlark.NewBuiltin("path.clean", unary(filepath.Clean)),
		"abs":   starlark.NewBuiltin("path.abs", abs),
		"rel":   starlark.NewBuiltin("path.rel", rel),
		"split": starlark.NewBuiltin("path.split", split),
	}}
}

// unary makes a builtin of one path argument over f.
func unary(f func(string) string) starutil.Func {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starutil.Unpack(b.Name(), args, kwargs, "p", &p); err != nil {
			return nil, err
		}
		return starlark.String(f(p)), nil
	}
}

// join is path.join(*parts): the parts joined by "/" and cleaned, empty
// parts ignored (filepath.Join).
func join(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: unexpected keyword argument %s", b.Name(), kwargs[0][0])
	}
	parts := make([]string, len(args))
	for i, a := range args {
		if err := starlark.UnpackArg(a, &parts[i]); err != nil {
			return nil, loop.Errorf(loop.KindValue, "%s: for parameter %d: %v", b.Name(), i+1, err)
		}
	}
	return starlark.String(filepath.Join(parts...)), nil
}

// rel is path.rel(base, target): target relative to base, lexically
// (filepath.Rel); a value error when there is no such path.
func rel(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var base, target string
	if err := starutil.Unpack(b.Name(), args, kwargs, "base", &base, "target", &target); err != nil {
		return nil, err
	}
	r, err := filepath.Rel(base, target)
	if err != nil {
		return nil, loop.Errorf(loop.KindValue, "%s: %s cannot be made relative to %s", b.Name(), loop.QuoteArg(target), loop.QuoteArg(base))
	}
	return starlark.String(r), nil
}

// abs is path.abs(p): made absolute against the working directory,
// and cleaned.
func abs(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starutil.Unpack(b.Name(), args, kwargs, "p", &p); err != nil {
		return nil, err
	}
	r, err := filepath.Abs(p)
	if err != nil {
		return nil, loop.Errorf(loop.KindIO, "%s: %s: %v", b.Name(), p, err)
	}
	return starlark.String(r), nil
}

// split is path.split(p) → (head, tail), Python's os.path.split: tail
// is what follows the last "/", head the rest without its trailing
// slashes unless it is only slashes.
func split(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starutil.Unpack(b.Name(), args, kwargs, "p", &p); err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(p, '/') + 1
	head, tail := p[:i], p[i:]
	if strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return starlark.Tuple{starlark.String(head), starlark.String(tail)}, nil
}
