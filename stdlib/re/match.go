package re

import (
	"fmt"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// A Match is one match of a Pattern in the string s: loc holds the byte
// offsets of each group, start and end (-1 for a group that did not take
// part).
type Match struct {
	p   *Pattern
	s   string
	loc []int
}

var (
	_ starlark.Mapping  = (*Match)(nil)
	_ starlark.HasAttrs = (*Match)(nil)
)

func (m *Match) String() string {
	return fmt.Sprintf("<re.Match object; span=(%d, %d), match=%s>", m.loc[0], m.loc[1], starlark.String(m.s[m.loc[0]:m.loc[1]]))
}
func (m *Match) Type() string          { return "Match" }
func (m *Match) Freeze()               {}
func (m *Match) Truth() starlark.Bool  { return true }
func (m *Match) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Match") }
func (m *Match) AttrNames() []string   { return matchMethods.Names("re", "string") }

func (m *Match) Attr(name string) (starlark.Value, error) {
	switch name {
	case "string":
		return starlark.String(m.s), nil
	case "re":
		return m.p, nil
	}
	return matchMethods.Bind(name, m), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (m *Match) Method(name string) *starlark.Builtin { return matchMethods.Method(name) }

// Get makes m[g] the same as m.group(g), as in Python.
func (m *Match) Get(k starlark.Value) (starlark.Value, bool, error) {
	g, err := m.index("match[]", k)
	if err != nil {
		return nil, false, err
	}
	return m.groupOr(g, starlark.None), true, nil
}

// groupOr returns the text of group g, or dflt if it did not take part.
func (m *Match) groupOr(g int, dflt starlark.Value) starlark.Value {
	if m.loc[2*g] < 0 {
		return dflt
	}
	return starlark.String(m.s[m.loc[2*g]:m.loc[2*g+1]])
}

// index resolves a group key: an int, or the name of a named group.
func (m *Match) index(fn string, k starlark.Value) (int, error) {
	switch k := k.(type) {
	case starlark.Int:
		if g, ok := k.Int64(); ok && g >= 0 && int(g) <= m.p.groups {
			return int(g), nil
		}
	case starlark.String:
		for g, n := range m.p.names {
			if n != "" && n == string(k) {
				return g, nil
			}
		}
		return 0, loop.Errorf(loop.KindValue, "%s: no such group %s", fn, loop.QuoteArg(string(k)))
	default:
		return 0, loop.Errorf(loop.KindValue, "%s: a group is an int or a name, not %s", fn, k.Type())
	}
	return 0, loop.Errorf(loop.KindValue, "%s: no such group %s", fn, k.String())
}

// keyArg unpacks the optional group argument of start, end and span.
func (m *Match) keyArg(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (int, error) {
	var k starlark.Value = starlark.MakeInt(0)
	if err := starutil.Unpack(fn, args, kwargs, "group?", &k); err != nil {
		return 0, err
	}
	return m.index(fn, k)
}

var matchMethods = starutil.NewMethods("Match", map[string]starutil.Func{
	"group":     matchGroup,
	"groups":    matchGroups,
	"groupdict": matchGroupdict,
	"start":     matchPos(func(m *Match, g int) starlark.Value { return starlark.MakeInt(m.loc[2*g]) }),
	"end":       matchPos(func(m *Match, g int) starlark.Value { return starlark.MakeInt(m.loc[2*g+1]) }),
	"span": matchPos(func(m *Match, g int) starlark.Value {
		return starlark.Tuple{starlark.MakeInt(m.loc[2*g]), starlark.MakeInt(m.loc[2*g+1])}
	}),
})

// matchGroup is match.group(*keys): the whole match with no key, one
// group's text (None if it did not take part) for one, a tuple for more.
func matchGroup(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := b.Receiver().(*Match)
	fn := b.Name()
	if len(kwargs) > 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: unexpected keyword argument %s", fn, kwargs[0][0])
	}
	if len(args) == 0 {
		return m.groupOr(0, starlark.None), nil
	}
	out := make(starlark.Tuple, len(args))
	for i, k := range args {
		g, err := m.index(fn, k)
		if err != nil {
			return nil, err
		}
		out[i] = m.groupOr(g, starlark.None)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func matchGroups(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := b.Receiver().(*Match)
	var dflt starlark.Value = starlark.None
	if err := starutil.Unpack(b.Name(), args, kwargs, "default?", &dflt); err != nil {
		return nil, err
	}
	out := make(starlark.Tuple, m.p.groups)
	for i := range out {
		out[i] = m.groupOr(i+1, dflt)
	}
	return out, nil
}

func matchGroupdict(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := b.Receiver().(*Match)
	var dflt starlark.Value = starlark.None
	if err := starutil.Unpack(b.Name(), args, kwargs, "default?", &dflt); err != nil {
		return nil, err
	}
	d := starlark.NewDict(0)
	for g, n := range m.p.names {
		if n != "" {
			d.SetKey(starlark.String(n), m.groupOr(g, dflt))
		}
	}
	return d, nil
}

// matchPos makes start, end and span (of group 0 by default; -1 for a
// group that did not take part).
func matchPos(f func(m *Match, g int) starlark.Value) starutil.Func {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := b.Receiver().(*Match)
		g, err := m.keyArg(b.Name(), args, kwargs)
		if err != nil {
			return nil, err
		}
		return f(m, g), nil
	}
}
