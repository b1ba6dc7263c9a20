package fs

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// glob is fs.glob(pattern) → the sorted list of paths that match
// (SPEC 13). Each "/"-separated part of the pattern matches names as Go's
// filepath.Match does (*, ?, [a-z], \ escapes); like the shell and
// Python's glob, a name starting with "." matches only a part that starts
// with "." too. Paths keep the pattern's spelling ("./*.txt" gives
// "./a.txt"). The folder before the first wildcard needs read
// permission; a folder that cannot be read below it is skipped. The
// directories are read on the blocking pool.
func glob(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pattern string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern); err != nil {
		return nil, loop.ValueError(err)
	}
	// The static prefix (up to the "/" before the first wildcard) and
	// the parts after it.
	pre, rest := "", pattern
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		if j := strings.LastIndexByte(pattern[:i], '/'); j >= 0 {
			pre, rest = pattern[:j+1], pattern[j+1:]
		}
	} else {
		pre, rest = pattern, ""
	}
	parts := strings.Split(rest, "/")
	if rest == "" {
		parts = nil
	}
	for _, part := range parts {
		if _, err := filepath.Match(part, ""); err != nil {
			return nil, loop.Errorf(loop.KindValue, "%s: bad pattern %s: %v", b.Name(), loop.QuoteArg(pattern), err)
		}
	}
	x, e, _, err := prepare(th, b, dirOf(pre), false)
	if err != nil {
		return nil, err
	}
	return onPool(x, b.Name(), pattern, func() (starlark.Value, error) {
		var found []string
		if parts == nil {
			if p, err := e.PlaceRead(b.Name(), pre); err == nil {
				if _, err := p.Stat(); err == nil {
					found = append(found, pre)
				}
			}
		} else {
			globIn(e, b.Name(), pre, parts, &found)
		}
		slices.Sort(found)
		out := make([]starlark.Value, len(found))
		for i, f := range found {
			out[i] = starlark.String(f)
		}
		return starlark.NewList(out), nil
	})
}

// dirOf is the folder a static prefix names: "" is ".", "a/" is "a", and
// "/" stays "/".
func dirOf(pre string) string {
	if pre == "" {
		return "."
	}
	if d := strings.TrimRight(pre, "/"); d != "" {
		return d
	}
	return "/"
}

// globIn adds to found the paths below pre (a folder, "" or ending in
// "/") that match parts.
func globIn(e *loop.Engine, fn, pre string, parts []string, found *[]string) {
	part, last := parts[0], len(parts) == 1
	var names []string
	literal := !strings.ContainsAny(part, `*?[\`)
	if literal {
		names = []string{part}
	} else {
		p, err := e.PlaceRead(fn, dirOf(pre))
		if err != nil {
			return
		}
		d, _, err := p.Dir(false)
		if err != nil {
			return
		}
		ents, _ := d.ReadDir(-1)
		d.Close()
		for _, ent := range ents {
			name := ent.Name()
			if name[0] == '.' && part[0] != '.' {
				continue
			}
			if ok, _ := filepath.Match(part, name); ok {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		path := pre + name
		if !last {
			globIn(e, fn, path+"/", parts[1:], found)
			continue
		}
		if literal { // it must exist
			p, err := e.PlaceRead(fn, path)
			if err != nil {
				continue
			}
			if _, err := p.Stat(); err != nil {
				continue
			}
		}
		*found = append(*found, path)
	}
}
