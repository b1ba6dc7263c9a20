package yaml

import (
	"bytes"
	gobase64 "encoding/base64"
	"math"
	"math/big"
	"math/rand"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	goyaml "go.yaml.in/yaml/v3"
)

// refNode is the tree of package yaml's nodes that yaml.encode built and
// had the package render before it wrote the text itself (emitter): the
// reference its text must match.
func refNode(v starlark.Value) *goyaml.Node {
	scalarNode := func(tag, value string) *goyaml.Node {
		return &goyaml.Node{Kind: goyaml.ScalarNode, Tag: tag, Value: value}
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return scalarNode("!!null", "null")
	case starlark.Bool:
		return scalarNode("!!bool", strings.ToLower(v.String()))
	case starlark.Int:
		return scalarNode("!!int", v.String())
	case starlark.Float:
		return scalarNode("!!float", floatText(float64(v)))
	case starlark.String:
		n := scalarNode("!!str", string(v))
		if r, err := resolve(string(v)); r != nil || err != nil || yaml11Special(string(v)) {
			n.Style = goyaml.DoubleQuotedStyle
		}
		return n
	case starlark.Bytes:
		return scalarNode("!!binary", gobase64.StdEncoding.EncodeToString([]byte(v)))
	case *starlark.Dict:
		n := &goyaml.Node{Kind: goyaml.MappingNode, Tag: "!!map"}
		for _, kv := range v.Items() {
			k := refNode(kv[0])
			if k.Kind == goyaml.SequenceNode {
				k.Style = goyaml.FlowStyle
			}
			n.Content = append(n.Content, k, refNode(kv[1]))
		}
		return n
	case *starlarkstruct.Struct:
		n := &goyaml.Node{Kind: goyaml.MappingNode, Tag: "!!map"}
		for _, name := range v.AttrNames() {
			fv, _ := v.Attr(name)
			n.Content = append(n.Content, refNode(starlark.String(name)), refNode(fv))
		}
		return n
	}
	n := &goyaml.Node{Kind: goyaml.SequenceNode, Tag: "!!seq"}
	it := v.(starlark.Iterable).Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		n.Content = append(n.Content, refNode(x))
	}
	return n
}

func refText(t *testing.T, v starlark.Value) string {
	var buf bytes.Buffer
	enc := goyaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(refNode(v)); err != nil {
		t.Fatalf("package yaml: %v on %s", err, v)
	}
	enc.Close()
	return buf.String()
}

func encodeText(t *testing.T, v starlark.Value) string {
	got, err := starlark.Call(new(starlark.Thread), Module().Members["encode"], starlark.Tuple{v}, nil)
	if err != nil {
		t.Fatalf("yaml.encode: %v on %s", err, v)
	}
	return string(got.(starlark.String))
}

// Pieces of strings that exercise the emitter's choices: indicators,
// spaces and breaks at either end, characters it escapes, words readers
// take for other types.
var pieces = []string{
	"a", "b", "word", "x y", " ", "  ", "\n", "\n\n", "\r", "\r\n", "\t", ":", ": ", "#", " #", "-", "- ", "?", "? ",
	"'", `"`, `\`, ",", "[", "]", "{", "}", "&", "*", "!", "|", ">", "%", "@", "`", "---", "...",
	"é", "☺", "🎉", "\u0085", "\u00a0", "\u2028", "\u2029", "\ufeff", "\ufffe", "\x00", "\x01", "\x1b", "\x7f", "\u0080",
	"0", "12", "-1", "+3", "1.5", ".5", "1e3", "0x1F", "0x_1F", "0o17", "0b101", "-0b1", "0777", "1_000", "12:30",
	"2001-12-14", "2001-12-14 21:59:43.10", "2001-12-14t21:59:43Z", ".inf", "-.Inf", ".nan", "yes", "No", "on", "OFF",
	"y", "n", "true", "False", "null", "~", "<<", "=", "",
}

func randString(r *rand.Rand) string {
	var b strings.Builder
	for n := r.Intn(5); n >= 0; n-- {
		b.WriteString(pieces[r.Intn(len(pieces))])
	}
	if r.Intn(30) == 0 {
		b.WriteString(strings.Repeat("k", 120+r.Intn(20))) // about the 128 of a simple key
	}
	return b.String()
}

func randScalar(r *rand.Rand) starlark.Value {
	switch r.Intn(9) {
	case 0:
		return starlark.None
	case 1:
		return starlark.Bool(r.Intn(2) == 0)
	case 2:
		n := new(big.Int).Lsh(big.NewInt(1), uint(r.Intn(100)))
		n.Add(n, big.NewInt(int64(r.Intn(3)-1)))
		if r.Intn(2) == 0 {
			n.Neg(n)
		}
		return starlark.MakeBigInt(n)
	case 3:
		return starlark.Float([]float64{0, -0.5, 1e20, 1e-7, 3, math.Inf(1), math.Inf(-1), math.NaN(), 123.456}[r.Intn(9)])
	case 4:
		b := make([]byte, r.Intn(4))
		r.Read(b)
		return starlark.Bytes(b)
	}
	return starlark.String(randString(r))
}

func randKey(r *rand.Rand, depth int) starlark.Value {
	switch r.Intn(8) {
	case 0:
		if depth > 0 {
			t := starlark.Tuple{}
			for n := r.Intn(3); n > 0; n-- {
				t = append(t, randKey(r, depth-1))
			}
			return t
		}
	case 1:
		if depth > 0 {
			return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"k": randKey(r, depth-1)})
		}
	}
	return randScalar(r)
}

func randValue(r *rand.Rand, depth int) starlark.Value {
	if depth == 0 || r.Intn(3) == 0 {
		return randScalar(r)
	}
	n := r.Intn(4)
	switch r.Intn(5) {
	case 0:
		l := starlark.NewList(nil)
		for ; n > 0; n-- {
			l.Append(randValue(r, depth-1))
		}
		return l
	case 1:
		t := starlark.Tuple{}
		for ; n > 0; n-- {
			t = append(t, randValue(r, depth-1))
		}
		return t
	case 2:
		d := starlark.StringDict{}
		for ; n > 0; n-- {
			d[randString(r)] = randValue(r, depth-1)
		}
		return starlarkstruct.FromStringDict(starlarkstruct.Default, d)
	}
	d := starlark.NewDict(n)
	for ; n > 0; n-- {
		d.SetKey(randKey(r, 2), randValue(r, depth-1))
	}
	return d
}

// yaml.encode's text is package yaml's, byte for byte, for the values it
// writes: the emitter is a port of the package's.
func TestEmitterMatches(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, c := range []struct{ n, depth int }{{20000, 4}, {2000, 8}} {
		for i := 0; i < c.n; i++ {
			v := randValue(r, c.depth)
			if want, got := refText(t, v), encodeText(t, v); got != want {
				t.Fatalf("yaml.encode(%s):\n%s\npackage yaml:\n%s", v, got, want)
			}
		}
	}
}
