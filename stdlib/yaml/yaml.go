// Package yaml is the script module `yaml` (SPEC 13) over
// go.yaml.in/yaml/v3: decode reads one document with the YAML 1.2 core
// schema (so on, yes and 0777 are what they look like: a string, a
// string and the int 777) into dicts that keep the document's order;
// encode writes block-style YAML in a dict's order, quoting every string
// a YAML 1.1 reader (PyYAML) would take for something else.
//
// The parse runs on the blocking pool for a text of offload.Threshold
// bytes or more; encode writes its text as it walks the script's values,
// on the loop (letting other tasks run every so often), and stops at
// maxEncoded bytes.
package yaml

import (
	gobase64 "encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/starlark/syntax"
	"github.com/corolang/coro/stdlib/internal/offload"
	"github.com/corolang/coro/stdlib/internal/starutil"
	goyaml "go.yaml.in/yaml/v3"
)

// Module returns the yaml module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "yaml", Members: starlark.StringDict{
		"decode": starlark.NewBuiltin("yaml.decode", decode),
		"encode": starlark.NewBuiltin("yaml.encode", encode),
	}}
}

// ---- decode ----

// decode is yaml.decode(text) → the value of its one document (None for
// an empty text).
func decode(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text starutil.Bytes
	if err := starutil.Unpack(b.Name(), args, kwargs, "text", &text); err != nil {
		return nil, err
	}
	fn := b.Name()
	return offload.Run(th, fn, len(text), func() (starlark.Value, error) {
		dec := goyaml.NewDecoder(strings.NewReader(string(text)))
		var doc goyaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			return starlark.None, nil
		} else if err != nil {
			return nil, syntaxError(fn, string(text), err)
		}
		var next goyaml.Node
		if err := dec.Decode(&next); err != io.EOF {
			if err != nil {
				return nil, syntaxError(fn, string(text), err)
			}
			return nil, loop.Errorf(loop.KindValue, "%s: line %d: a second document (yaml.decode reads one)", fn, next.Line)
		}
		d := &decoder{fn: fn, anchors: map[*goyaml.Node]starlark.Value{}}
		if len(doc.Content) == 0 {
			return starlark.None, nil
		}
		return d.value(doc.Content[0])
	})
}

// syntaxError is a parse error of package yaml ("yaml: line 3: ...") as
// a value error naming the line. The package counts a scanner's error
// lines from 1 but a parser's from 0, and leaves out a line 0 (the first
// line, or the second for a parser's error); lines here count from 1.
// (It gives no column.)
func syntaxError(fn, text string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "unknown anchor '") {
		// Where is the alias? Its first use in the text.
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if i := strings.Index(text, "*"+name); i >= 0 {
			line := strings.Count(text[:i], "\n") + 1
			col := i - strings.LastIndexByte(text[:i], '\n')
			return loop.Errorf(loop.KindValue, "%s: line %d, column %d: %s", fn, line, col, msg)
		}
	}
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, text, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, text
			}
		}
	}
	switch {
	case parserProblems[msg]:
		line++
	case scannerProblem(msg):
		if line == 0 {
			line = 1
		}
	}
	if line > 0 {
		return loop.Errorf(loop.KindValue, "%s: line %d: %s", fn, line, msg)
	}
	return loop.Errorf(loop.KindValue, "%s: %s", fn, msg)
}

// parserProblems are the messages of the parser's errors (parserc.go).
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"did not find expected '-' indicator": true, "did not find expected <document start>": true,
	"did not find expected <stream-start>": true, "did not find expected key": true,
	"did not find expected node content": true, "found duplicate %TAG directive": true,
	"found duplicate %YAML directive": true, "found incompatible YAML document": true,
	"found undefined tag handle": true,
}

// scannerProblem reports whether msg is a scanner's error (scannerc.go).
func scannerProblem(msg string) bool {
	for _, p := range []string{"found ", "did not find ", "could not find ", "mapping ", "block sequence ", "exceeded max depth", "control characters are not allowed", "invalid ", "incomplete UTF-8"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

type decoder struct {
	fn string
	// anchors holds the value made for each anchored node: every alias
	// of it is that same value (as in PyYAML), so a document of many
	// aliases costs no more than its text.
	anchors map[*goyaml.Node]starlark.Value
}

func (d *decoder) errorf(n *goyaml.Node, format string, args ...any) error {
	return loop.Errorf(loop.KindValue, "%s: line %d, column %d: %s", d.fn, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// inProgress marks an anchored node whose value is being made: an alias
// to it from inside is a cycle.
var inProgress = starlark.String("\x00in progress")

func (d *decoder) value(n *goyaml.Node) (starlark.Value, error) {
	if n.Kind == goyaml.AliasNode {
		v, ok := d.anchors[n.Alias]
		if !ok || v == inProgress {
			return nil, d.errorf(n, "alias *%s refers to a node that contains it", n.Value)
		}
		return v, nil
	}
	if n.Anchor != "" {
		d.anchors[n] = inProgress
	}
	v, err := d.make(n)
	if err != nil {
		return nil, err
	}
	if n.Anchor != "" {
		d.anchors[n] = v
	}
	return v, nil
}

func (d *decoder) make(n *goyaml.Node) (starlark.Value, error) {
	switch n.Kind {
	case goyaml.ScalarNode:
		return d.scalar(n)
	case goyaml.SequenceNode:
		l := make([]starlark.Value, len(n.Content))
		for i, c := range n.Content {
			v, err := d.value(c)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return starlark.NewList(l), nil
	case goyaml.MappingNode:
		return d.mapping(n)
	case goyaml.DocumentNode:
		if len(n.Content) == 0 {
			return starlark.None, nil
		}
		return d.value(n.Content[0])
	}
	return nil, d.errorf(n, "unexpected node")
}

// tupleKey returns k with its lists made tuples, at every level: a
// sequence that is a mapping's key ("? [1, 2]") is a tuple, which a dict
// key can be, so that what yaml.encode writes of a dict with tuple keys
// decodes back to it. A list inside a dict inside a key stays a list
// (the dict cannot be a key anyway).
func tupleKey(k starlark.Value) starlark.Value {
	l, ok := k.(*starlark.List)
	if !ok {
		return k
	}
	t := make(starlark.Tuple, l.Len())
	for i := range t {
		t[i] = tupleKey(l.Index(i))
	}
	return t
}

// mapping makes a dict. A "<<" key merges the mapping (or mappings) it
// names, as YAML 1.1 and PyYAML do: the merged keys come first, the
// mapping's own override them, and of several merged mappings the first
// wins. A key given twice is an error.
func (d *decoder) mapping(n *goyaml.Node) (starlark.Value, error) {
	var merged, own []starlark.Tuple
	seen := map[string]bool{} // own keys, by their YAML text, for duplicates
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == goyaml.ScalarNode && kn.ShortTag() == "!!merge" {
			pairs, err := d.merge(vn)
			if err != nil {
				return nil, err
			}
			merged = append(merged, pairs...)
			continue
		}
		k, err := d.value(kn)
		if err != nil {
			return nil, err
		}
		k = tupleKey(k)
		if _, err := k.Hash(); err != nil {
			if _, ok := k.(starlark.Tuple); ok { // what in it cannot
				return nil, d.errorf(kn, "a sequence with a mapping in it cannot be a key (%v)", err)
			}
			return nil, d.errorf(kn, "a %s cannot be a key", k.Type())
		}
		id := k.Type() + ":" + k.String()
		if seen[id] {
			return nil, d.errorf(kn, "key %s appears twice", k)
		}
		seen[id] = true
		v, err := d.value(vn)
		if err != nil {
			return nil, err
		}
		own = append(own, starlark.Tuple{k, v})
	}
	dict := starlark.NewDict(len(merged) + len(own))
	for _, kv := range append(merged, own...) {
		if err := dict.SetKey(kv[0], kv[1]); err != nil {
			return nil, d.errorf(n, "%v", err)
		}
	}
	return dict, nil
}

// merge returns the pairs a "<<" value brings, later ones overriding
// earlier ones (so the first mapping of a sequence is last).
func (d *decoder) merge(vn *goyaml.Node) ([]starlark.Tuple, error) {
	target := vn
	if target.Kind == goyaml.AliasNode {
		target = target.Alias
	}
	var maps []*goyaml.Node
	switch target.Kind {
	case goyaml.MappingNode:
		maps = []*goyaml.Node{vn}
	case goyaml.SequenceNode:
		for i := len(target.Content) - 1; i >= 0; i-- {
			maps = append(maps, target.Content[i])
		}
	default:
		return nil, d.errorf(vn, "a merge (<<) takes a mapping or a list of mappings")
	}
	var pairs []starlark.Tuple
	for _, m := range maps {
		v, err := d.value(m)
		if err != nil {
			return nil, err
		}
		dict, ok := v.(*starlark.Dict)
		if !ok {
			return nil, d.errorf(m, "a merge (<<) takes a mapping or a list of mappings, not a %s", v.Type())
		}
		pairs = append(pairs, dict.Items()...)
	}
	return pairs, nil
}

// The YAML 1.2 core schema (section 10.3.2) for plain scalars.
var (
	intRE   = regexp.MustCompile(`^[-+]?[0-9]+$`)
	octRE   = regexp.MustCompile(`^0o[0-7]+$`)
	hexRE   = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	floatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

// resolve returns the value of a plain scalar under the core schema (nil
// if it is a string), or the error of an int too long to convert.
func resolve(s string) (starlark.Value, error) {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return starlark.None, nil
	case "true", "True", "TRUE":
		return starlark.True, nil
	case "false", "False", "FALSE":
		return starlark.False, nil
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return starlark.Float(math.Inf(1)), nil
	case "-.inf", "-.Inf", "-.INF":
		return starlark.Float(math.Inf(-1)), nil
	case ".nan", ".NaN", ".NAN":
		return starlark.Float(math.NaN()), nil
	}
	if s[0] != '-' && s[0] != '+' && s[0] != '.' && (s[0] < '0' || s[0] > '9') {
		return nil, nil
	}
	if v, err := parseInt(s); v != nil || err != nil {
		return v, err
	}
	if floatRE.MatchString(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return starlark.Float(f), nil
		}
	}
	return nil, nil
}

// parseInt reads a core-schema int (decimal, 0o octal, 0x hex), of any
// size but for the bound on decimal digits (syntax.CheckIntDigits: math/big
// reads them in quadratic time); nil if s is not one.
func parseInt(s string) (starlark.Value, error) {
	base, digits := 10, s
	switch {
	case intRE.MatchString(s):
	case octRE.MatchString(s):
		base, digits = 8, s[2:]
	case hexRE.MatchString(s):
		base, digits = 16, s[2:]
	default:
		return nil, nil
	}
	if n, err := strconv.ParseInt(digits, base, 64); err == nil {
		return starlark.MakeInt64(n), nil
	}
	if err := syntax.CheckIntDigits(strings.TrimLeft(digits, "-+"), base); err != nil {
		return nil, err
	}
	b, ok := new(big.Int).SetString(digits, base)
	if !ok {
		return nil, nil
	}
	return starlark.MakeBigInt(b), nil
}

// scalar makes the value of a scalar: by its tag when the document gives
// one (!!str, !!int, !!float, !!bool, !!null, !!binary; any other, such
// as !Ref, leaves the text), else by the core schema when it is plain,
// else (quoted or a block) a string.
func (d *decoder) scalar(n *goyaml.Node) (starlark.Value, error) {
	if n.Style&goyaml.TaggedStyle == 0 { // the parser's tag is its own guess (YAML 1.1's)
		if n.Style&(goyaml.DoubleQuotedStyle|goyaml.SingleQuotedStyle|goyaml.LiteralStyle|goyaml.FoldedStyle) == 0 {
			if v, err := resolve(n.Value); err != nil {
				return nil, d.errorf(n, "%v", err)
			} else if v != nil {
				return v, nil
			}
		}
		return starlark.String(n.Value), nil
	}
	switch n.Tag {
	case "!!str":
		return starlark.String(n.Value), nil
	case "!!binary":
		b, err := gobase64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil {
			return nil, d.errorf(n, "!!binary: not base64: %v", err)
		}
		return starlark.Bytes(b), nil
	case "!!int":
		if v, err := parseInt(n.Value); err != nil {
			return nil, d.errorf(n, "%v", err)
		} else if v != nil {
			return v, nil
		}
		return nil, d.errorf(n, "!!int %s is not an int", starlark.String(n.Value))
	case "!!float":
		if v, err := resolve(n.Value); err != nil {
			return nil, d.errorf(n, "%v", err)
		} else if v != nil && v.Type() != "bool" {
			if f, ok := starlark.AsFloat(v); ok {
				return starlark.Float(f), nil
			}
		}
		return nil, d.errorf(n, "!!float %s is not a float", starlark.String(n.Value))
	case "!!bool":
		if v, _ := resolve(n.Value); v != nil && v.Type() == "bool" {
			return v, nil
		}
		return nil, d.errorf(n, "!!bool %s is not true or false", starlark.String(n.Value))
	case "!!null":
		return starlark.None, nil
	}
	return starlark.String(n.Value), nil // another tag (!Ref, !!timestamp): the text
}

// ---- encode ----

// maxEncoded bounds the text yaml.encode writes: 1 GiB, the bound of
// json.encode's text (starlark ORIGIN 35), of a string repetition and of
// a value's repr. A value whose parts are shared has a text exponentially
// longer than its memory: the nine-level "billion laughs" document,
// decoded (each alias is its anchor's value, shared), is some 80 list
// cells and 10 GB of YAML. A var for tests.
var maxEncoded = 1 << 30

// checkEvery is how much text is written between two checks of the
// bound (encoder.checkpoint), which also count the text for the pacer.
const checkEvery = 16 << 10

// encode is yaml.encode(value) → YAML text: dicts (and structs) as
// mappings in their order, lists, tuples and sets as sequences, bytes as
// !!binary. The text is written as the value is walked (emitter), on the
// loop: the walk reads script values, which other tasks may change, so it
// cannot move to the pool; it charges a step per value written, as
// json.encode does, and gives the loop to the other ready tasks every
// starutil.PaceBudget bytes or so.
func encode(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starutil.Unpack(b.Name(), args, kwargs, "value", &v); err != nil {
		return nil, err
	}
	e := &encoder{th: th, fn: b.Name(), pace: starutil.NewPacer(th), m: newEmitter(), open: map[starlark.Value]bool{}}
	e.m.checkpoint = e.checkpoint
	e.m.checkAt = min(checkEvery, maxEncoded+1)
	err := e.value(v, place{})
	if err == nil {
		e.m.endDocument()
		err = e.checkpoint()
	}
	if err != nil {
		return nil, err
	}
	text, err := e.m.out.String(e.pace.Step)
	if err != nil {
		return nil, err
	}
	return starlark.String(text), nil
}

type encoder struct {
	th    *starlark.Thread
	fn    string
	pace  *starutil.Pacer
	paced int // the length of the text the pacer has counted
	m     *emitter
	// open holds the lists, dicts, sets and structs being written (the
	// path from the top to the current value), for cycles: a set, so
	// that the check costs the same at any depth. (It was a list,
	// searched at each value: quadratic in the depth, 8.8 s for a list
	// nested 60,000 deep, all of it holding the loop.)
	open map[starlark.Value]bool
	// blockDepth counts the block collections being written; the
	// emitter counts the flow ones (flowLevel).
	blockDepth int
	// where is the path from the top to the value being written, for
	// messages (encoder.errorf): a stack, not a message wrapped at each
	// level on the way out, which costs the square of the depth.
	where []step
}

// A step is one level of the path to a value: an index of a list,
// tuple or set, the value of a dict's key, a dict's key itself, a
// struct's field.
type step struct {
	kind  stepKind
	typ   string // the container's type
	index int
	key   starlark.Value // of a dict
	field string
}

type stepKind uint8

const (
	atIndex stepKind = iota
	inKeyValue
	inKey
	inField
)

func (s step) String() string {
	switch s.kind {
	case atIndex:
		return fmt.Sprintf("at %s index %d", s.typ, s.index)
	case inKeyValue:
		return fmt.Sprintf("in %s key %s", s.typ, keyText(s.key))
	case inKey:
		return fmt.Sprintf("in a %s key", s.typ)
	}
	return "in field ." + s.field
}

// keyText shows a dict's key in a message: a scalar as written in a
// script, cut short past 40 bytes; a tuple or struct by its type only
// (its text could be as large as the text being written).
func keyText(k starlark.Value) string {
	switch k.(type) {
	case starlark.String, starlark.Bytes, starlark.Int, starlark.Float, starlark.Bool, starlark.NoneType:
		s := k.String()
		if len(s) > 40 {
			s = loop.TextPrefix(s, 40) + "..."
		}
		return s
	}
	return "of type " + k.Type()
}

// errorf is a value error that names where the value being written is,
// as json.encode's do: "yaml.encode: in dict key "a": at list index 1:
// cannot encode a builtin_function_or_method". A path deeper than 16
// shows its first and last 8 steps.
func (e *encoder) errorf(format string, args ...any) error {
	var b strings.Builder
	b.WriteString(e.fn)
	b.WriteString(": ")
	for i, s := range e.where {
		if len(e.where) > 16 && i == 8 {
			fmt.Fprintf(&b, "(%d more levels): ", len(e.where)-16)
		}
		if len(e.where) > 16 && i >= 8 && i < len(e.where)-8 {
			continue
		}
		b.WriteString(s.String())
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, format, args...)
	return loop.Errorf(loop.KindValue, "%s", b.String())
}

// tooLong is the failure once the text passes maxEncoded, where it did.
func (e *encoder) tooLong() error {
	return e.errorf("YAML text too long (more than %d bytes)", maxEncoded)
}

// maxDepth is how deep yaml.encode nests collections: as deep as
// yaml.decode reads (package yaml's decoder stops past 10,000 levels of
// block collections, or of flow ones: "exceeded max depth of 10000"), so
// that encode never writes a text that decode refuses for its depth. It
// also bounds the recursion of the walk.
const maxDepth = 10000

// checkpoint fails once the text is past maxEncoded, and counts the text
// written since the last one for the pacer (which may yield the loop,
// and fails if the task was cancelled meanwhile).
func (e *encoder) checkpoint() error {
	n := e.m.out.len()
	if n > maxEncoded {
		return e.tooLong()
	}
	e.m.checkAt = min(n+checkEvery, maxEncoded+1)
	err := e.pace.Step(n - e.paced)
	e.paced = n
	return err
}

// scalarOf returns the scalar that v is written as, if v is a scalar.
func (e *encoder) scalarOf(v starlark.Value) (scalar, bool, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return scalar{text: "null"}, true, nil
	case starlark.Bool:
		if v {
			return scalar{text: "true"}, true, nil
		}
		return scalar{text: "false"}, true, nil
	case starlark.Int:
		return scalar{text: v.String(), tag: intTag(v)}, true, nil
	case starlark.Float:
		return scalar{text: floatText(float64(v))}, true, nil
	case starlark.String:
		if !utf8.ValidString(string(v)) {
			// YAML text is Unicode: the bytes are written as !!binary
			// (as package yaml writes a Go string that is not UTF-8),
			// which yaml.decode reads back as bytes.
			return e.binary(string(v))
		}
		return stringScalar(string(v)), true, nil
	case starlark.Bytes:
		return e.binary(string(v))
	}
	return scalar{}, false, nil
}

// binary is the !!binary scalar of b, in base64.
func (e *encoder) binary(b string) (scalar, bool, error) {
	if gobase64.StdEncoding.EncodedLen(len(b)) > maxEncoded-e.m.out.len() {
		return scalar{}, false, e.tooLong() // before making the base64
	}
	return scalar{text: gobase64.StdEncoding.EncodeToString([]byte(b)), tag: "binary"}, true, nil
}

// intTag is "int" for an int that a reader would not take for one
// untagged: package yaml reads ints from -2^63 to 2^64-1 as ints, and
// larger ones as floats (so the tag !!int keeps them ints; coro's
// decoder reads any size).
func intTag(v starlark.Int) string {
	if _, ok := v.Int64(); ok {
		return ""
	}
	if _, ok := v.Uint64(); ok {
		return ""
	}
	return "int"
}

// stringScalar is a string and the style asked for it: double-quoted
// when a reader could take its plain text for something else (by the
// core schema, by YAML 1.1 (yes, on, 0777, 1_000, 12:30, 2001-12-14,
// ...), which PyYAML reads, or by package yaml's own resolver), a
// literal block when it has several lines, else plain (which the
// emitter turns into quotes where plain cannot say it).
func stringScalar(s string) scalar {
	st := plainStyle
	if v, err := resolve(s); v != nil || err != nil || yaml11Special(s) {
		st = doubleQuotedStyle
	} else if strings.Contains(s, "\n") {
		st = literalStyle
	} else if readAsOther(s) {
		st = doubleQuotedStyle
	}
	return scalar{text: s, style: st}
}

// value writes v at the place at.
func (e *encoder) value(v starlark.Value, at place) error {
	if err := e.th.Step(); err != nil {
		return err
	}
	if e.m.due() {
		return e.m.err
	}
	s, ok, err := e.scalarOf(v)
	if err != nil {
		return err
	}
	if ok {
		a, err := analyze(s.text, e.pace.Step)
		if err != nil {
			return err
		}
		e.m.scalar(s, a, at)
		return e.m.err
	}
	switch v.(type) {
	case *starlark.Dict, *starlarkstruct.Struct, *starlark.List, *starlark.Set: // pointers: map keys
		if e.open[v] {
			return e.errorf("a %s contains itself", v.Type())
		}
		e.open[v] = true
		defer delete(e.open, v)
	case starlark.Tuple: // cannot contain itself
	default:
		return e.errorf("cannot encode a %s", v.Type())
	}
	// Written in flow style ("[1, 2]", "{}") or in block style: the
	// decoder counts the levels of each apart (package yaml's flow_level
	// and indents), up to maxDepth each.
	n, seq := 0, true
	switch v := v.(type) {
	case *starlark.Dict:
		n, seq = v.Len(), false
	case *starlarkstruct.Struct:
		n, seq = v.Len(), false
	case starlark.Sequence: // a list, tuple or set
		n = v.Len()
	}
	flow := n == 0 || e.m.flowLevel > 0 || at.key && seq
	if flow && e.m.flowLevel == maxDepth || !flow && e.blockDepth == maxDepth {
		return e.errorf("a value nested more than %d deep (yaml.decode reads no deeper)", maxDepth)
	}
	if !flow {
		e.blockDepth++
		defer func() { e.blockDepth-- }()
	}
	switch v := v.(type) {
	case *starlark.Dict:
		return e.mapping(v.Entries(), "dict", flow, at)
	case *starlarkstruct.Struct:
		return e.mapping(fields(v), "", flow, at)
	}
	return e.sequence(v.(starlark.Iterable), flow, at)
}

// fields are a struct's fields as a mapping's entries.
func fields(s *starlarkstruct.Struct) iter.Seq2[starlark.Value, starlark.Value] {
	return func(yield func(k, v starlark.Value) bool) {
		for name, v := range s.Entries() {
			if !yield(starlark.String(name), v) {
				return
			}
		}
	}
}

// sequence writes a list, tuple or set: a block sequence, or a flow one
// when it is empty ("[]"), a mapping key, or inside a flow collection.
func (e *encoder) sequence(v starlark.Iterable, flow bool, at place) error {
	it := v.Iterate()
	defer it.Done()
	e.where = append(e.where, step{kind: atIndex, typ: v.Type()})
	top := len(e.where) - 1
	var x starlark.Value
	if flow {
		old := e.m.flowStart("[", at)
		for i := 0; it.Next(&x); i++ {
			e.m.flowItem(i, false, false)
			e.where[top].index = i
			if err := e.value(x, place{}); err != nil {
				return err
			}
		}
		e.m.flowEnd("]", old)
	} else {
		old := e.m.increaseIndent(false, at)
		for i := 0; it.Next(&x); i++ {
			e.m.blockItem()
			e.where[top].index = i
			if err := e.value(x, place{blockItem: true}); err != nil {
				return err
			}
		}
		e.m.indent = old
	}
	e.where = e.where[:top]
	return nil
}

// mapping writes the entries of a dict (typ "dict") or a struct (typ
// ""): a block mapping, or a flow one when it is empty ("{}") or inside a
// flow collection. A key that cannot be simple (more than 128
// characters, several lines, a collection that is not empty) is written
// "? key", its value ": value".
func (e *encoder) mapping(entries iter.Seq2[starlark.Value, starlark.Value], typ string, flow bool, at place) error {
	var old int
	if flow {
		old = e.m.flowStart("{", at)
	} else {
		old = e.m.increaseIndent(false, at)
	}
	e.where = append(e.where, step{})
	top := len(e.where) - 1
	i := 0
	for k, v := range entries {
		if typ == "" {
			e.where[top] = step{kind: inField, field: string(k.(starlark.String))}
		} else {
			e.where[top] = step{kind: inKey, typ: typ}
		}
		simple, err := e.simpleKey(k)
		if err != nil {
			return err
		}
		if flow {
			e.m.flowItem(i, true, simple)
		} else {
			e.m.blockKey(simple)
		}
		if err := e.value(k, place{key: true, simpleKey: simple}); err != nil {
			return err
		}
		if flow {
			e.m.flowValue(simple)
		} else {
			e.m.blockValue(simple)
		}
		if typ != "" {
			e.where[top] = step{kind: inKeyValue, typ: typ, key: k}
		}
		if err := e.value(v, place{}); err != nil {
			return err
		}
		i++
	}
	e.where = e.where[:top]
	if flow {
		e.m.flowEnd("}", old)
	} else {
		e.m.indent = old
	}
	return nil
}

// simpleKey reports whether the key k is written "key: value": a scalar
// on one line of at most 128 characters, or an empty collection.
func (e *encoder) simpleKey(k starlark.Value) (bool, error) {
	s, ok, err := e.scalarOf(k)
	if err != nil {
		return false, err
	}
	if ok {
		a, err := analyze(s.text, e.pace.Step)
		return simpleKey(s, a), err
	}
	switch k := k.(type) {
	case starlark.Sequence:
		return k.Len() == 0, nil
	case *starlarkstruct.Struct:
		return k.Len() == 0, nil
	}
	return false, nil // value() refuses it
}

// readAsOther reports whether package yaml's resolver (resolve.go) reads
// the plain scalar s as something other than a string; the package
// quotes such a string, and so does stringScalar. It reads YAML 1.1's
// ints (0b101, 0777, 1_000, 0x_1F), floats and timestamps.
func readAsOther(s string) bool {
	if s == "" {
		return true
	}
	switch s[0] {
	case '~', 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O', '<', '.':
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE", "~", "null", "Null", "NULL",
			".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "<<":
			return true
		}
		if s[0] == '.' {
			_, err := strconv.ParseFloat(s, 64)
			return err == nil
		}
		return false
	case '+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return false
	}
	switch s {
	case "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return true
	}
	if isTimestamp(s) {
		return true
	}
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return true
	}
	if floatRE.MatchString(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return true
		}
	}
	for _, p := range []struct {
		prefix string
		base   int
	}{{"0b", 2}, {"-0b", 2}, {"0o", 8}, {"-0o", 8}} {
		if digits, ok := strings.CutPrefix(plain, p.prefix); ok {
			if p.prefix[0] == '-' {
				digits = "-" + digits
			}
			if _, err := strconv.ParseInt(digits, p.base, 64); err == nil {
				return true
			}
			if _, err := strconv.ParseUint(digits, p.base, 64); err == nil && p.prefix[0] != '-' {
				return true
			}
			return false
		}
	}
	return false
}

// isTimestamp is package yaml's parseTimestamp: YYYY- and one of its
// layouts.
func isTimestamp(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, layout := range []string{"2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// floatText writes a float so that both YAML 1.2 and 1.1 readers take it
// for a float: always with a dot (1.0, 1.0e+20), .inf, -.inf, .nan.
func floatText(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	case math.IsNaN(f):
		return ".nan"
	}
	s := starlark.Float(f).String()
	if !strings.ContainsAny(s, ".") {
		if i := strings.IndexAny(s, "e"); i >= 0 {
			s = s[:i] + ".0" + s[i:]
		} else {
			s += ".0"
		}
	}
	return s
}

// yaml11RE is compiled on first use: at start-up it cost every run
// half a millisecond.
var yaml11RE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:` +
		`y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|=|<<|` + // bools, value, merge
		`[-+]?0[0-7_]+|[-+]?0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|` + // octal, binary, base 60
		`[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+][0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|` + // ints, floats with _
		`[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?` + // timestamps
		`)$`)
})

func yaml11Special(s string) bool {
	if s == "" || strings.IndexByte("0123456789+-.yYnNoO=<", s[0]) < 0 {
		return false // none of them starts otherwise: skip the regexp
	}
	return yaml11RE().MatchString(s)
}
