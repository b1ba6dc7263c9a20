package fs

import (
	"context"
	"errors"
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
// directories are read on the blocking pool; the walk stops once the
// task stops waiting, and fails past maxGlob paths.
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
	limit := maxGlob // read on the loop: the walk goes on off it
	return onPool(x, b.Name(), pattern, func(ctx context.Context) (starlark.Value, error) {
		g := globber{ctx: ctx, e: e, fn: b.Name(), limit: limit}
		if parts == nil {
			if p, err := e.PlaceRead(b.Name(), pre); err == nil {
				if _, err := p.Stat(); err == nil {
					g.found = append(g.found, pre)
				}
			}
		} else if err := g.in(pre, parts); err != nil {
			if err == errTooMany {
				return nil, loop.Errorf(loop.KindValue, "%s: %s matches more than %d paths", b.Name(), loop.QuoteArg(pattern), limit)
			}
			return nil, err
		}
		slices.Sort(g.found)
		out := make([]starlark.Value, len(g.found))
		for i, f := range g.found {
			out[i] = starlark.String(f)
		}
		return starlark.NewList(out), nil
	})
}

// maxGlob is the most paths fs.glob returns: past it the pattern fails
// (value). Folders linked to themselves or their parents ("l -> .")
// multiply the paths of every wildcard part: ten such links under
// nine parts are a billion paths, which grew the heap until the process
// died.
var maxGlob = 1 << 20

var errTooMany = errors.New("too many paths")

// A globber walks the folders a pattern names, stopping once its task
// stops waiting (ctx: a timeout, a cancel) or limit paths are found.
type globber struct {
	ctx   context.Context
	e     *loop.Engine
	fn    string
	limit int // maxGlob when the glob began
	found []string
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

// in adds to found the paths below pre (a folder, "" or ending in "/")
// that match parts.
func (g *globber) in(pre string, parts []string) error {
	if err := g.ctx.Err(); err != nil {
		return err
	}
	part, last := parts[0], len(parts) == 1
	var names []string
	literal := !strings.ContainsAny(part, `*?[\`)
	if literal {
		names = []string{part}
	} else {
		p, err := g.e.PlaceRead(g.fn, dirOf(pre))
		if err != nil {
			return nil
		}
		d, _, err := p.Dir(false)
		if err != nil {
			return nil
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
			if err := g.in(path+"/", parts[1:]); err != nil {
				return err
			}
			continue
		}
		if literal { // it must exist
			p, err := g.e.PlaceRead(g.fn, path)
			if err != nil {
				continue
			}
			if _, err := p.Stat(); err != nil {
				continue
			}
		}
		if len(g.found) == g.limit {
			return errTooMany
		}
		g.found = append(g.found, path)
	}
	return nil
}
