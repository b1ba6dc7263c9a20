// Package yaml is the script module `yaml` (SPEC 13) over
// go.yaml.in/yaml/v3: decode reads one document with the YAML 1.2 core
// schema (so on, yes and 0777 are what they look like: a string, a
// string and the int 777) into dicts that keep the document's order;
// encode writes block-style YAML in a dict's order, quoting every string
// a YAML 1.1 reader (PyYAML) would take for something else.
//
// The parse runs on the blocking pool for a text of offload.Threshold
// bytes or more; encode walks the script's values on the loop (letting
// other tasks run every so often) and renders a large document on the
// pool.
package yaml

import (
	"bytes"
	gobase64 "encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
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
		if _, err := k.Hash(); err != nil {
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

// resolve returns the value of a plain scalar under the core schema.
func resolve(s string) (starlark.Value, bool) {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return starlark.None, true
	case "true", "True", "TRUE":
		return starlark.True, true
	case "false", "False", "FALSE":
		return starlark.False, true
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return starlark.Float(math.Inf(1)), true
	case "-.inf", "-.Inf", "-.INF":
		return starlark.Float(math.Inf(-1)), true
	case ".nan", ".NaN", ".NAN":
		return starlark.Float(math.NaN()), true
	}
	if s[0] != '-' && s[0] != '+' && s[0] != '.' && (s[0] < '0' || s[0] > '9') {
		return nil, false
	}
	if v, ok := parseInt(s); ok {
		return v, true
	}
	if floatRE.MatchString(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return starlark.Float(f), true
		}
	}
	return nil, false
}

// parseInt reads a core-schema int (decimal, 0o octal, 0x hex), of any size.
func parseInt(s string) (starlark.Value, bool) {
	base, digits := 10, s
	switch {
	case intRE.MatchString(s):
	case octRE.MatchString(s):
		base, digits = 8, s[2:]
	case hexRE.MatchString(s):
		base, digits = 16, s[2:]
	default:
		return nil, false
	}
	if n, err := strconv.ParseInt(digits, base, 64); err == nil {
		return starlark.MakeInt64(n), true
	}
	b, ok := new(big.Int).SetString(digits, base)
	if !ok {
		return nil, false
	}
	return starlark.MakeBigInt(b), true
}

// scalar makes the value of a scalar: by its tag when the document gives
// one (!!str, !!int, !!float, !!bool, !!null, !!binary; any other, such
// as !Ref, leaves the text), else by the core schema when it is plain,
// else (quoted or a block) a string.
func (d *decoder) scalar(n *goyaml.Node) (starlark.Value, error) {
	if n.Style&goyaml.TaggedStyle == 0 { // the parser's tag is its own guess (YAML 1.1's)
		if n.Style&(goyaml.DoubleQuotedStyle|goyaml.SingleQuotedStyle|goyaml.LiteralStyle|goyaml.FoldedStyle) == 0 {
			if v, ok := resolve(n.Value); ok {
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
		if v, ok := parseInt(n.Value); ok {
			return v, nil
		}
		return nil, d.errorf(n, "!!int %s is not an int", starlark.String(n.Value))
	case "!!float":
		if v, ok := resolve(n.Value); ok && v.Type() != "bool" {
			if f, ok := starlark.AsFloat(v); ok {
				return starlark.Float(f), nil
			}
		}
		return nil, d.errorf(n, "!!float %s is not a float", starlark.String(n.Value))
	case "!!bool":
		if v, ok := resolve(n.Value); ok && v.Type() == "bool" {
			return v, nil
		}
		return nil, d.errorf(n, "!!bool %s is not true or false", starlark.String(n.Value))
	case "!!null":
		return starlark.None, nil
	}
	return starlark.String(n.Value), nil // another tag (!Ref, !!timestamp): the text
}

// ---- encode ----

// encode is yaml.encode(value) → YAML text: dicts (and structs) as
// mappings in their order, lists, tuples and sets as sequences, bytes as
// !!binary.
func encode(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starutil.Unpack(b.Name(), args, kwargs, "value", &v); err != nil {
		return nil, err
	}
	e := &encoder{fn: b.Name(), pace: starutil.NewPacer(th)}
	root, err := e.node(v)
	if err != nil {
		return nil, err
	}
	return offload.Run(th, b.Name(), e.size, func() (starlark.Value, error) {
		var buf bytes.Buffer
		enc := goyaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(root); err != nil {
			return nil, loop.Errorf(loop.KindValue, "%s: %v", b.Name(), err)
		}
		enc.Close()
		return starlark.String(buf.String()), nil
	})
}

type encoder struct {
	fn   string
	pace *starutil.Pacer
	size int              // about the length of the text, for offload
	path []starlark.Value // the containers being encoded, for cycles
}

func scalarNode(tag, value string) *goyaml.Node {
	return &goyaml.Node{Kind: goyaml.ScalarNode, Tag: tag, Value: value}
}

func (e *encoder) node(v starlark.Value) (*goyaml.Node, error) {
	e.size += 8
	if err := e.pace.Step(8); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return scalarNode("!!null", "null"), nil
	case starlark.Bool:
		return scalarNode("!!bool", strings.ToLower(v.String())), nil
	case starlark.Int:
		return scalarNode("!!int", v.String()), nil
	case starlark.Float:
		return scalarNode("!!float", floatText(float64(v))), nil
	case starlark.String:
		e.size += len(v)
		return stringNode(string(v)), nil
	case starlark.Bytes:
		e.size += len(v) * 4 / 3
		return scalarNode("!!binary", gobase64.StdEncoding.EncodeToString([]byte(v))), nil
	}
	if _, isTuple := v.(starlark.Tuple); !isTuple { // the mutable containers, pointers all
		for _, p := range e.path {
			if p == v {
				return nil, loop.Errorf(loop.KindValue, "%s: a %s contains itself", e.fn, v.Type())
			}
		}
		e.path = append(e.path, v)
		defer func() { e.path = e.path[:len(e.path)-1] }()
	}
	switch v := v.(type) {
	case *starlark.Dict:
		n := &goyaml.Node{Kind: goyaml.MappingNode, Tag: "!!map"}
		for _, kv := range v.Items() {
			k, err := e.key(kv[0])
			if err != nil {
				return nil, err
			}
			val, err := e.node(kv[1])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, k, val)
		}
		return n, nil
	case *starlarkstruct.Struct:
		n := &goyaml.Node{Kind: goyaml.MappingNode, Tag: "!!map"}
		for _, name := range v.AttrNames() {
			fv, err := v.Attr(name)
			if err != nil {
				return nil, err
			}
			val, err := e.node(fv)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, stringNode(name), val)
		}
		return n, nil
	case *starlark.List, starlark.Tuple, *starlark.Set:
		n := &goyaml.Node{Kind: goyaml.SequenceNode, Tag: "!!seq"}
		it := v.(starlark.Iterable).Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			c, err := e.node(x)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	}
	return nil, loop.Errorf(loop.KindValue, "%s: cannot encode a %s", e.fn, v.Type())
}

// key is a mapping key: a scalar, or a tuple (a flow sequence).
func (e *encoder) key(k starlark.Value) (*goyaml.Node, error) {
	n, err := e.node(k)
	if err != nil {
		return nil, err
	}
	if n.Kind == goyaml.SequenceNode {
		n.Style = goyaml.FlowStyle
	}
	return n, nil
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

// stringNode is a string, double-quoted when a reader could take its
// plain text for something else: by the core schema, or by YAML 1.1
// (yes, on, 0777, 1_000, 12:30, 2001-12-14, ...), which PyYAML reads.
func stringNode(s string) *goyaml.Node {
	n := scalarNode("!!str", s)
	if _, ok := resolve(s); ok || yaml11Special(s) {
		n.Style = goyaml.DoubleQuotedStyle
	}
	return n
}

var yaml11RE = regexp.MustCompile(`^(?:` +
	`y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|=|<<|` + // bools, value, merge
	`[-+]?0[0-7_]+|[-+]?0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|` + // octal, binary, base 60
	`[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+][0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|` + // ints, floats with _
	`[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?` + // timestamps
	`)$`)

func yaml11Special(s string) bool {
	if s == "" || strings.IndexByte("0123456789+-.yYnNoO=<", s[0]) < 0 {
		return false // none of them starts otherwise: skip the regexp
	}
	return yaml11RE.MatchString(s)
}
