// Package re is the script module `re` (SPEC 13): Python's re API over
// Go's regexp package. The syntax is RE2's: matching takes time linear in
// the length of the text, whatever the pattern (no catastrophic
// backtracking), at the price of backreferences and lookaround, which RE2
// does not have. Offsets are byte offsets, like Starlark's string indices.
//
// Results follow Python 3.7+: None for a group that did not take part,
// findall gives strings or tuples by the number of groups, split includes
// the captured groups, and an empty match right after a non-empty one
// counts (re.sub("x*", "-", "abxd") is "-a-b--d-"). Go's FindAll skips
// such a match; iteration (all) puts it back.
//
// Matching a text of offload.Threshold bytes or more runs on the blocking
// pool, so a regexp over a large text never holds the loop.
package re

import (
	"context"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/offload"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Flags, with Python's values.
const (
	flagI = 2  // IGNORECASE
	flagM = 8  // MULTILINE
	flagS = 16 // DOTALL
)

// Module returns the re module.
func Module() *starlarkstruct.Module {
	m := starlark.StringDict{
		"compile":    starlark.NewBuiltin("re.compile", compileFn),
		"escape":     starlark.NewBuiltin("re.escape", escapeFn),
		"I":          starlark.MakeInt(flagI),
		"IGNORECASE": starlark.MakeInt(flagI),
		"M":          starlark.MakeInt(flagM),
		"MULTILINE":  starlark.MakeInt(flagM),
		"S":          starlark.MakeInt(flagS),
		"DOTALL":     starlark.MakeInt(flagS),
	}
	for _, name := range patternMethods.Names() {
		m[name] = starlark.NewBuiltin("re."+name, moduleFunc(name))
		if name == "sub" {
			m[name].(*starlark.Builtin).Stackful() // as Pattern.sub
		}
	}
	return &starlarkstruct.Module{Name: "re", Members: m}
}

// A Pattern is a compiled regular expression. Patterns are immutable and
// shared (by the cache) between tasks and engines; the variants used by
// match, fullmatch and the iteration are compiled on first use.
type Pattern struct {
	src   string // as the script gave it
	flags int
	// plain is the expression as Go reads it: src translated (translate)
	// and prefixed with the flags; nl is the same with every "$" as
	// "(?m:$)", used on a text whose only newline is its last byte, where
	// Python's "$" (end, or before a final newline) means exactly that.
	plain, nl variants
	hasDollar bool
	nullable  bool // may match the empty string somewhere: iteration repairs Go's results
	groups    int
	names     []string // SubexpNames
}

// variants are one expression compiled for each use: re to search; start
// anchored at the start (match); full anchored at both ends (fullmatch);
// after, anchored one character in, for the match that follows a
// non-empty one (all).
type variants struct {
	expr               string
	once               sync.Once
	re                 *regexp.Regexp // compiled at once (it reports the pattern's errors)
	start, full, after *regexp.Regexp
}

func (v *variants) anchored() *variants {
	v.once.Do(func() {
		v.start = regexp.MustCompile(`\A(?:` + v.expr + `)`)
		v.full = regexp.MustCompile(`\A(?:` + v.expr + `)\z`)
		v.after = regexp.MustCompile(`\A(?s:.)(?:` + v.expr + `)`)
	})
	return v
}

// cache keeps compiled patterns, as Python's re does, so re.search(pat, s)
// in a loop compiles pat once.
var cache struct {
	sync.Mutex
	m map[cacheKey]*Pattern
}

type cacheKey struct {
	src   string
	flags int
}

const cacheSize = 512

func compile(fn, src string, flags int) (*Pattern, error) {
	key := cacheKey{src, flags}
	cache.Lock()
	p := cache.m[key]
	cache.Unlock()
	if p != nil {
		return p, nil
	}
	if flags&^(flagI|flagM|flagS) != 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: unsupported flags %d (re.I, re.M and re.S are supported; use inline (?i), (?m), (?s))", fn, flags)
	}
	prefix := ""
	if flags != 0 {
		prefix = "(?"
		for _, f := range []struct {
			bit int
			c   string
		}{{flagI, "i"}, {flagM, "m"}, {flagS, "s"}} {
			if flags&f.bit != 0 {
				prefix += f.c
			}
		}
		prefix += ")"
	}
	expr, nl, hasDollar := translate(src)
	re, err := regexp.Compile(prefix + expr)
	if err != nil {
		return nil, patternError(fn, src, err)
	}
	p = &Pattern{src: src, flags: flags, hasDollar: hasDollar,
		groups: re.NumSubexp(), names: re.SubexpNames()}
	p.plain.expr, p.plain.re = prefix+expr, re
	if hasDollar {
		p.nl.expr = prefix + nl
		p.nl.re = regexp.MustCompile(p.nl.expr)
	}
	if tree, err := syntax.Parse(prefix+expr, syntax.Perl); err == nil {
		p.nullable = nullable(tree)
	}
	cache.Lock()
	if cache.m == nil || len(cache.m) >= cacheSize {
		cache.m = map[cacheKey]*Pattern{}
	}
	cache.m[key] = p
	cache.Unlock()
	return p, nil
}

// patternError describes a pattern RE2 refused: what, and where when the
// offending part can be found in it; for Python syntax RE2 lacks, why.
func patternError(fn, src string, err error) error {
	se, ok := err.(*syntax.Error)
	if !ok {
		return loop.Errorf(loop.KindValue, "%s: bad pattern %s: %v", fn, loop.QuoteArg(src), err)
	}
	msg := string(se.Code)
	if se.Expr != "" && se.Expr != src {
		if i := strings.Index(src, se.Expr); i >= 0 {
			msg += fmt.Sprintf(" at offset %d: %s", i, loop.Clip(se.Expr))
		} else {
			msg += ": " + loop.Clip(se.Expr)
		}
	}
	switch {
	case strings.Contains(src, "(?=") || strings.Contains(src, "(?!") || strings.Contains(src, "(?<=") || strings.Contains(src, "(?<!"):
		msg += " (RE2 syntax has no lookahead or lookbehind)"
	case strings.Contains(src, "(?P=") || se.Code == syntax.ErrInvalidEscape && len(se.Expr) == 2 && se.Expr[1] >= '1' && se.Expr[1] <= '9':
		msg += " (RE2 syntax has no backreferences)"
	}
	return loop.Errorf(loop.KindValue, "%s: bad pattern %s: %s", fn, loop.QuoteArg(src), msg)
}

// translate turns the Python spellings RE2 lacks into RE2's: \Z (end of
// text) into \z, \uXXXX and \UXXXXXXXX into \x{...}, and {,n} into {0,n}.
// It also returns the expression with every "$" outside a class as
// "(?m:$)" (see Pattern.nl), and whether there was one.
func translate(src string) (expr, nl string, hasDollar bool) {
	var b, m strings.Builder
	inClass := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			d := src[i+1]
			rep, adv := src[i:i+2], 2
			switch {
			case d == 'Z' && !inClass:
				rep = `\z`
			case d == 'u' && i+6 <= len(src) && isHex(src[i+2:i+6]):
				rep, adv = `\x{`+src[i+2:i+6]+`}`, 6
			case d == 'U' && i+10 <= len(src) && isHex(src[i+2:i+10]):
				rep, adv = `\x{`+src[i+2:i+10]+`}`, 10
			}
			b.WriteString(rep)
			m.WriteString(rep)
			i += adv - 1
			continue
		case inClass && c == '[' && i+1 < len(src) && src[i+1] == ':':
			// A POSIX class, [:alpha:], inside a class: copy it whole.
			if j := strings.Index(src[i:], ":]"); j > 0 {
				b.WriteString(src[i : i+j+2])
				m.WriteString(src[i : i+j+2])
				i += j + 1
				continue
			}
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			b.WriteByte(c)
			m.WriteByte(c)
			// A "]" first in the class (after any "^") is a literal.
			if i+1 < len(src) && src[i+1] == '^' {
				i++
				b.WriteByte('^')
				m.WriteByte('^')
			}
			if i+1 < len(src) && src[i+1] == ']' {
				i++
				b.WriteByte(']')
				m.WriteByte(']')
			}
			continue
		case c == '$':
			hasDollar = true
			b.WriteByte(c)
			m.WriteString("(?m:$)")
			continue
		case c == '{' && i+1 < len(src) && src[i+1] == ',':
			j := i + 2
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j > i+2 && j < len(src) && src[j] == '}' {
				b.WriteString("{0")
				m.WriteString("{0")
				continue
			}
		}
		b.WriteByte(c)
		m.WriteByte(c)
	}
	return b.String(), m.String(), hasDollar
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// nullable reports whether re can match an empty string in some context
// (its empty-width assertions taken as satisfiable).
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return false
}

// forText returns the variants to use on s: nl when Python's "$" means
// "before the newline that ends s" there, else plain.
func (p *Pattern) forText(s string) *variants {
	if p.hasDollar && len(s) > 0 && strings.IndexByte(s, '\n') == len(s)-1 {
		return &p.nl
	}
	return &p.plain
}

// all returns the matches of p in s, at most n (all if n < 0), as Python
// 3.7+ iterates them (findall, finditer, sub, split): Go's, plus the empty
// match Go leaves out right after a non-empty one. (Python then goes on
// with any non-empty match at that same place, which only a pattern that
// prefers the empty string there has: a*?, (|a). Go, and so this, goes on
// from the next character.)
func (p *Pattern) all(s string, n int) [][]int {
	v := p.forText(s)
	found := v.re.FindAllStringSubmatchIndex(s, n)
	if !p.nullable {
		return found
	}
	out := make([][]int, 0, len(found))
	for _, loc := range found {
		out = append(out, loc)
		if loc[1] > loc[0] {
			if e := v.anchored().emptyAfter(s, loc); e != nil {
				out = append(out, e)
			}
		}
	}
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// emptyAfter returns the match at loc[1], the end of the non-empty match
// loc, if the pattern's preferred match there is empty; else nil. It runs
// the "after" variant from the last character of loc, so "\b", "^" and "$"
// see what precedes the position.
func (v *variants) emptyAfter(s string, loc []int) []int {
	e := loc[1]
	// The start of the character before e, decoding as the matcher did:
	// forward from the match's start.
	p0 := loc[0]
	for i := loc[0]; i < e; {
		_, w := utf8.DecodeRuneInString(s[i:])
		p0 = i
		i += w
	}
	m := v.after.FindStringSubmatchIndex(s[p0:])
	if m == nil || m[1] != e-p0 {
		return nil
	}
	for i := range m {
		if m[i] >= 0 {
			m[i] += p0
		}
	}
	m[0] = e
	return m
}

func compileFn(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pv starlark.Value
	flags := 0
	if err := starutil.Unpack(b.Name(), args, kwargs, "pattern", &pv, "flags?", &flags); err != nil {
		return nil, err
	}
	return patternArg(b.Name(), pv, flags)
}

// patternArg is a pattern argument: a Pattern, or a string to compile
// (with flags).
func patternArg(fn string, pv starlark.Value, flags int) (*Pattern, error) {
	switch v := pv.(type) {
	case *Pattern:
		if flags != 0 {
			return nil, loop.Errorf(loop.KindValue, "%s: cannot give flags with a compiled Pattern", fn)
		}
		return v, nil
	case starlark.String:
		return compile(fn, string(v), flags)
	}
	return nil, loop.Errorf(loop.KindValue, "%s: for parameter pattern: got %s, want string or Pattern", fn, pv.Type())
}

// special holds the characters Python's re.escape escapes (3.7+).
const special = "()[]{}?*+-|^$\\.&~# \t\n\r\v\f"

func escapeFn(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starutil.Unpack(b.Name(), args, kwargs, "s", &s); err != nil {
		return nil, err
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			out.WriteByte('\\')
		}
		out.WriteByte(s[i])
	}
	return starlark.String(out.String()), nil
}

// moduleFunc makes re.NAME(pattern, ..., flags=0): the Pattern method
// NAME of the compiled (or cached) pattern.
func moduleFunc(name string) starutil.Func {
	method := patternMethods.Func(name)
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var pv starlark.Value
		flags := 0
		// The pattern is the first argument; flags the last, by keyword
		// or (as in Python) by position: pull both out for UnpackArgs.
		rest := make([]starlark.Tuple, 0, len(kwargs))
		for _, kv := range kwargs {
			switch kv[0].(starlark.String) {
			case "pattern":
				pv = kv[1]
			case "flags":
				if err := starlark.AsInt(kv[1], &flags); err != nil {
					return nil, loop.Errorf(loop.KindValue, "%s: for parameter flags: %v", b.Name(), err)
				}
			default:
				rest = append(rest, kv)
			}
		}
		if pv == nil {
			if len(args) == 0 {
				return nil, loop.Errorf(loop.KindValue, "%s: missing argument for pattern", b.Name())
			}
			pv, args = args[0], args[1:]
		}
		if max := positional[name]; len(args) > max {
			if len(args) > max+1 {
				return nil, loop.Errorf(loop.KindValue, "%s: got %d arguments, want at most %d", b.Name(), len(args)+1, max+2)
			}
			if err := starlark.AsInt(args[max], &flags); err != nil {
				return nil, loop.Errorf(loop.KindValue, "%s: for parameter flags: %v", b.Name(), err)
			}
			args = args[:max]
		}
		p, err := patternArg(b.Name(), pv, flags)
		if err != nil {
			return nil, err
		}
		bound := starlark.NewBuiltin(b.Name(), method).BindReceiver(p)
		return method(th, bound, args, rest)
	}
}

// positional is how many arguments each method takes before flags.
var positional = map[string]int{"match": 1, "fullmatch": 1, "search": 1, "findall": 1, "finditer": 1, "sub": 3, "split": 2}

var patternMethods = starutil.NewMethods("Pattern", map[string]starutil.Func{
	"match":     find(func(v *variants) *regexp.Regexp { return v.anchored().start }),
	"fullmatch": find(func(v *variants) *regexp.Regexp { return v.anchored().full }),
	"search":    find(func(v *variants) *regexp.Regexp { return v.re }),
	"findall":   findall,
	"finditer":  finditer,
	"sub":       sub,
	"split":     split,
}).Stackful("sub") // a function repl is called back

// Starlark value methods of Pattern.
func (p *Pattern) String() string {
	if p.flags != 0 {
		return fmt.Sprintf("re.compile(%s, %d)", starlark.String(p.src), p.flags)
	}
	return "re.compile(" + starlark.String(p.src).String() + ")"
}
func (p *Pattern) Type() string         { return "Pattern" }
func (p *Pattern) Freeze()              {}
func (p *Pattern) Truth() starlark.Bool { return true }
func (p *Pattern) Hash() (uint32, error) {
	h, _ := starlark.String(p.src).Hash()
	return h ^ uint32(p.flags), nil
}
func (p *Pattern) AttrNames() []string {
	return patternMethods.Names("flags", "groupindex", "groups", "pattern")
}

func (p *Pattern) Attr(name string) (starlark.Value, error) {
	switch name {
	case "pattern":
		return starlark.String(p.src), nil
	case "flags":
		return starlark.MakeInt(p.flags), nil
	case "groups":
		return starlark.MakeInt(p.groups), nil
	case "groupindex":
		d := starlark.NewDict(0)
		for i, n := range p.names {
			if n != "" {
				d.SetKey(starlark.String(n), starlark.MakeInt(i))
			}
		}
		return d, nil
	}
	return patternMethods.Bind(name, p), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (p *Pattern) Method(name string) *starlark.Builtin { return patternMethods.Method(name) }

// text unpacks the string argument of a matching method (and the others
// in pairs), returning the receiver and the method's name for errors.
func text(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, s *string, pairs ...any) (*Pattern, string, error) {
	fn := b.Name() // re.search, or Pattern.search
	p := b.Receiver().(*Pattern)
	if err := starutil.Unpack(fn, args, kwargs, append([]any{"string", s}, pairs...)...); err != nil {
		return nil, "", err
	}
	return p, fn, nil
}

// find makes match, fullmatch and search: one match with the variant pick
// chooses.
func find(pick func(*variants) *regexp.Regexp) starutil.Func {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s string
		p, fn, err := text(b, args, kwargs, &s)
		if err != nil {
			return nil, err
		}
		return offload.Run(th, fn, len(s), func() (starlark.Value, error) {
			loc := pick(p.forText(s)).FindStringSubmatchIndex(s)
			if loc == nil {
				return starlark.None, nil
			}
			return &Match{p: p, s: s, loc: loc}, nil
		})
	}
}

func findall(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	p, fn, err := text(b, args, kwargs, &s)
	if err != nil {
		return nil, err
	}
	return offload.Run(th, fn, len(s), func() (starlark.Value, error) {
		all := p.all(s, -1)
		out := make([]starlark.Value, len(all))
		for i, loc := range all {
			m := Match{p: p, s: s, loc: loc}
			switch p.groups {
			case 0:
				out[i] = starlark.String(s[loc[0]:loc[1]])
			case 1:
				out[i] = m.groupOr(1, starlark.String(""))
			default:
				t := make(starlark.Tuple, p.groups)
				for g := range t {
					t[g] = m.groupOr(g+1, starlark.String(""))
				}
				out[i] = t
			}
		}
		return starlark.NewList(out), nil
	})
}

// finditer returns a list of the Matches (Python: an iterator over them;
// a list iterates the same way and has a length).
func finditer(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	p, fn, err := text(b, args, kwargs, &s)
	if err != nil {
		return nil, err
	}
	return offload.Run(th, fn, len(s), func() (starlark.Value, error) {
		all := p.all(s, -1)
		out := make([]starlark.Value, len(all))
		for i, loc := range all {
			out[i] = &Match{p: p, s: s, loc: loc}
		}
		return starlark.NewList(out), nil
	})
}

func split(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	maxsplit := 0
	p, fn, err := text(b, args, kwargs, &s, "maxsplit?", &maxsplit)
	if err != nil {
		return nil, err
	}
	if maxsplit < 0 {
		return starlark.NewList([]starlark.Value{starlark.String(s)}), nil
	}
	return offload.Run(th, fn, len(s), func() (starlark.Value, error) {
		n := -1
		if maxsplit > 0 {
			n = maxsplit
		}
		var out []starlark.Value
		last := 0
		for _, loc := range p.all(s, n) {
			out = append(out, starlark.String(s[last:loc[0]]))
			m := Match{p: p, s: s, loc: loc}
			for g := 1; g <= p.groups; g++ {
				out = append(out, m.groupOr(g, starlark.None))
			}
			last = loc[1]
		}
		out = append(out, starlark.String(s[last:]))
		return starlark.NewList(out), nil
	})
}

// sub replaces matches by repl: a template (expanded on the pool, for a
// large result) or a function of the Match (called on the loop, once the
// matches are found). The result is at most maxSub bytes.
func sub(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name() // re.sub, or Pattern.sub
	p := b.Receiver().(*Pattern)
	var repl starlark.Value
	var s string
	count := 0
	if err := starutil.Unpack(fn, args, kwargs, "repl", &repl, "string", &s, "count?", &count); err != nil {
		return nil, err
	}
	if count < 0 {
		return starlark.String(s), nil
	}
	n := -1
	if count > 0 {
		n = count
	}
	var tmpl []piece
	callable, isFn := repl.(starlark.Callable)
	if !isFn {
		r, ok := repl.(starlark.String)
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: for parameter repl: got %s, want string or function", fn, repl.Type())
		}
		var err error
		if tmpl, err = parseTemplate(fn, string(r), p); err != nil {
			return nil, err
		}
	}
	// The matches are found (on the pool, for a large text), with the
	// size of the result for a template; the result is bounded and
	// checked against the memory limit before it is made, and the
	// making stops once the task no longer waits for it.
	var found [][]int
	size := 0
	_, err := offload.RunContext(th, fn, len(s), func(ctx context.Context) (starlark.Value, error) {
		found = p.all(s, n)
		if !isFn {
			var err error
			size, err = subSize(ctx, s, found, tmpl)
			return starlark.None, err
		}
		return starlark.None, nil
	})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return starlark.String(s), nil
	}
	if isFn {
		return subFn(th, fn, p, s, found, callable)
	}
	if size > maxSub {
		return nil, errSubTooLong(fn)
	}
	if err := th.CheckAlloc(fn, uint64(size)); err != nil {
		return nil, err
	}
	// The work is the bytes written and a write per piece per match.
	return offload.RunContext(th, fn, size+len(found)*len(tmpl), func(ctx context.Context) (starlark.Value, error) {
		return subTemplate(ctx, s, found, tmpl, size)
	})
}

// subTemplate returns s with the matches found replaced by the template
// tmpl, a string of size bytes (subSize). It stops with ctx's error once
// ctx is cancelled (on the pool: the task no longer waits for it), looking
// every 256 matches and every MiB written.
func subTemplate(ctx context.Context, s string, found [][]int, tmpl []piece, size int) (starlark.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out strings.Builder
	out.Grow(size)
	last, checked := 0, 0
	for i, loc := range found {
		if i%256 == 0 || out.Len()-checked >= 1<<20 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			checked = out.Len()
		}
		out.WriteString(s[last:loc[0]])
		for _, pc := range tmpl {
			if pc.group < 0 {
				out.WriteString(pc.lit)
			} else if loc[2*pc.group] >= 0 {
				out.WriteString(s[loc[2*pc.group]:loc[2*pc.group+1]])
			}
		}
		last = loc[1]
	}
	out.WriteString(s[last:])
	return starlark.String(out.String()), nil
}

// maxSub bounds the string re.sub makes: 1 GiB, the bound of one value's
// text and of a repetition (docs/reference.md). A var for tests.
var maxSub = 1 << 30

func errSubTooLong(fn string) error {
	return loop.Errorf(loop.KindValue, "%s: result too long (more than %d bytes)", fn, maxSub)
}

// subSize returns the length of s with the matches found replaced by the
// template tmpl, or a length past maxSub once it passes it (counting
// stops there). An empty pattern matches at every character, so a
// 1.5 MB text and a 1,000-byte replacement made 1.5 GB, on the pool,
// growing after a timeout had ended the wait for it: the size is known
// before anything is made. It stops with ctx's error once ctx is
// cancelled.
func subSize(ctx context.Context, s string, found [][]int, tmpl []piece) (int, error) {
	// The literals' length, and how often each group is referred to:
	// a match costs one addition per group, however long the template.
	lit := 0
	refs := map[int]int{}
	for _, pc := range tmpl {
		if pc.group < 0 {
			lit += len(pc.lit)
		} else {
			refs[pc.group]++
		}
	}
	type ref struct{ group, n int }
	var groups []ref
	for g, n := range refs {
		groups = append(groups, ref{g, n})
	}
	size := len(s)
	for i, loc := range found {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		size += lit - (loc[1] - loc[0])
		for _, r := range groups {
			if start := loc[2*r.group]; start >= 0 {
				// At most len(tmpl) * len(s) each: no overflow before
				// the comparison.
				size += r.n * (loc[2*r.group+1] - start)
			}
		}
		if size > maxSub {
			return size, nil
		}
	}
	return size, nil
}

// subFn is sub with a function repl, called on the loop for each match
// (each call charges the task's steps, so a long one can be cancelled);
// the result is bounded by maxSub and its growth checked against the
// memory limit, as str.join's.
func subFn(th *starlark.Thread, fn string, p *Pattern, s string, found [][]int, callable starlark.Callable) (starlark.Value, error) {
	var out strings.Builder
	write := func(text string) error {
		n := out.Len() + len(text)
		if n > maxSub {
			return errSubTooLong(fn)
		}
		if n > out.Cap() {
			// The builder is about to grow, to n or a quarter more.
			if err := th.CheckAlloc(fn, uint64(max(n, out.Cap()+out.Cap()/4))); err != nil {
				return err
			}
		}
		out.WriteString(text)
		return nil
	}
	last := 0
	for _, loc := range found {
		if err := write(s[last:loc[0]]); err != nil {
			return nil, err
		}
		v, err := loop.CallFn(th, callable, starlark.Tuple{&Match{p: p, s: s, loc: loc}}, nil)
		if err != nil {
			return nil, err
		}
		str, ok := v.(starlark.String)
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: the repl function returned %s, want string", fn, v.Type())
		}
		if err := write(string(str)); err != nil {
			return nil, err
		}
		last = loc[1]
	}
	if err := write(s[last:]); err != nil {
		return nil, err
	}
	return starlark.String(out.String()), nil
}

// A piece of a replacement template: a literal, or a group (group >= 0).
type piece struct {
	lit   string
	group int
}

// parseTemplate reads Python's replacement syntax: \1 .. \99 and \g<n> or
// \g<name> refer to groups; \n, \t, \r, \f, \v, \a, \b, \\ and octal (\0,
// \0N, \0NN, \NNN) are characters; any other escape of an ASCII letter is
// an error, and a backslash before anything else is kept.
func parseTemplate(fn, r string, p *Pattern) ([]piece, error) {
	var out []piece
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, piece{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	group := func(g, pos int) error {
		if g > p.groups {
			return loop.Errorf(loop.KindValue, "%s: invalid group reference %d at offset %d of the replacement", fn, g, pos)
		}
		flush()
		out = append(out, piece{group: g})
		return nil
	}
	octal := func(c byte) bool { return '0' <= c && c <= '7' }
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c != '\\' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(r) {
			return nil, loop.Errorf(loop.KindValue, "%s: bad escape (end of the replacement) at offset %d", fn, i)
		}
		pos := i
		i++
		c = r[i]
		switch {
		case c == 'g':
			end := strings.IndexByte(r[i:], '>')
			if i+1 >= len(r) || r[i+1] != '<' || end < 0 {
				return nil, loop.Errorf(loop.KindValue, "%s: missing group name in \\g<...> at offset %d of the replacement", fn, pos)
			}
			name := r[i+2 : i+end]
			i += end
			g := -1
			if name != "" && strings.Trim(name, "0123456789") == "" && len(name) < 10 {
				fmt.Sscan(name, &g)
			} else {
				for k, n := range p.names {
					if n == name && n != "" {
						g = k
					}
				}
				if g < 0 {
					return nil, loop.Errorf(loop.KindValue, "%s: unknown group name %s at offset %d of the replacement", fn, loop.QuoteArg(name), pos)
				}
			}
			if err := group(g, pos); err != nil {
				return nil, err
			}
		case c == '0':
			// \0, \0N, \0NN: a character in octal.
			v, j := 0, i+1
			for ; j < len(r) && j < i+3 && octal(r[j]); j++ {
				v = v*8 + int(r[j]-'0')
			}
			lit.WriteByte(byte(v))
			i = j - 1
		case c >= '1' && c <= '9':
			if i+2 < len(r) && octal(c) && octal(r[i+1]) && octal(r[i+2]) {
				v := int(c-'0')*64 + int(r[i+1]-'0')*8 + int(r[i+2]-'0')
				if v > 0o377 {
					return nil, loop.Errorf(loop.KindValue, "%s: octal escape value \\%s outside of range 0-0o377 at offset %d of the replacement", fn, r[i:i+3], pos)
				}
				lit.WriteByte(byte(v))
				i += 2
				continue
			}
			g := int(c - '0')
			if i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9' {
				g = g*10 + int(r[i+1]-'0')
				i++
			}
			if err := group(g, pos); err != nil {
				return nil, err
			}
		case strings.IndexByte("ntrfvab\\", c) >= 0:
			lit.WriteByte("\n\t\r\f\v\a\b\\"[strings.IndexByte("ntrfvab\\", c)])
		case c < utf8.RuneSelf && ('a' <= c|0x20 && c|0x20 <= 'z'):
			return nil, loop.Errorf(loop.KindValue, "%s: bad escape \\%c at offset %d of the replacement", fn, c, pos)
		default:
			lit.WriteByte('\\')
			lit.WriteByte(c)
		}
	}
	flush()
	return out, nil
}
