package yaml

// FuzzDecode: yaml.decode on random text. Whatever the input, decode
// returns a value or a value error naming where (never a Go panic, of
// package yaml or of ours), and what it returns yaml.encode writes and
// yaml.decode reads back to an equal value: decode(encode(v)) == v.
//
// `go test ./stdlib/yaml` runs it over its seeds and the inputs under
// testdata/fuzz/FuzzDecode; locally:
// go test ./stdlib/yaml -run '^$' -fuzz '^FuzzDecode$' -fuzztime 60s

import (
	"errors"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// fuzzMaxText bounds the text FuzzDecode reads (the hand-written tests
// take the large ones).
const fuzzMaxText = 32 << 10

// fuzzMaxEncoded is encode's bound while fuzzing: a document of aliases
// has a text exponentially longer than itself, and writing 1 GiB of it
// only slows the fuzzer down (its "too long" error is not checked).
const fuzzMaxEncoded = 1 << 20

func yamlCall(name string, v starlark.Value) (starlark.Value, error) {
	return starlark.Call(&starlark.Thread{}, Module().Members[name], starlark.Tuple{v}, nil)
}

func FuzzDecode(f *testing.F) {
	for _, s := range yamlSeeds {
		f.Add(s)
	}
	maxEncoded = fuzzMaxEncoded
	f.Cleanup(func() { maxEncoded = 1 << 30 })
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > fuzzMaxText {
			t.Skip("text too large")
		}
		checkYAML(t, text)
	})
}

func checkYAML(t *testing.T, text string) {
	t.Helper()
	v, err := yamlCall("decode", starlark.String(text))
	if err != nil {
		checkValueError(t, "decode", err)
		return
	}
	enc, err := yamlCall("encode", v)
	if err != nil {
		if strings.Contains(err.Error(), "text too long") {
			return // many aliases
		}
		t.Fatalf("encode(decode(%q)): %v", text, err)
	}
	back, err := yamlCall("decode", enc)
	if err != nil {
		t.Fatalf("decode(encode(decode(%q))) = decode(%q): %v", text, enc, err)
	}
	if eq, err := starlark.EqualDepth(back, v, 20000); err != nil || !eq {
		t.Fatalf("decode(encode(v)) != v for %q:\n%v\n%v\ntext:\n%s", text, v, back, enc)
	}
}

// checkValueError fails t unless err is a value error that is not a
// recovered Go panic.
func checkValueError(t *testing.T, where string, err error) {
	t.Helper()
	var le *loop.Error
	if !errors.As(err, &le) || le.Kind != loop.KindValue {
		t.Fatalf("%s: got %T %v, want a value error", where, err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "internal error") || strings.Contains(msg, "runtime error") || strings.Contains(msg, "panic") {
		t.Fatalf("%s: a Go panic: %v", where, err)
	}
}

// yamlSeeds are hand-written seeds for FuzzDecode: the styles of scalars
// and collections, tags, anchors and merges, and the edges of numbers,
// encodings and nesting.
var yamlSeeds = []string{
	"", "~", "null", "true", "False", "yes", "on", "0", "-0", "0o17", "0x1F", "0777", "1_000", "12:30",
	"1.5", ".5", "1e3", "-.inf", ".NaN", "+1", "2001-12-14", "1e400", "0x" + strings.Repeat("f", 100),
	strings.Repeat("7", syntax.MaxIntDigits), strings.Repeat("7", syntax.MaxIntDigits+1),
	"a: 1\nb: [x, 'y', \"z\"]\nc: {d: null, e: ~}\n",
	"- 1\n- - 2\n  - 3\n- {a: [b, {c: d}]}\n",
	"lit: |\n  one\n  two\nkeep: |+\n  x\n\nstrip: |-\n  y\nfold: >\n  a\n  b\n",
	"plain: a b\n  c\nquoted: \"tab\\there \\u00e9 \\x41 \\U0001F600\"\nsingle: 'it''s'\n",
	"? [1, 2]\n: x\n", "? a\n: b\n", "{[1]: 2}", "{a: 1, a: 2}", "[a, b]: c",
	"base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n", "<<: [*a]\n", "a: &a [*a]\n", "*x",
	"a: &a 1\nb: *a\nc: [*a, *a]\n", "a: !!int 12\nb: !!float 1\nc: !!str 12\nd: !!bool true\ne: !!null x\n",
	"a: !!binary aGVsbG8=\nb: !Ref x\nc: !!timestamp 2001-12-14\nd: !!int x\n", "!!map {a: 1}", "!!seq [1]",
	"%YAML 1.2\n---\na: 1\n...\n", "---\n---\n", "a\n---\nb\n", "--- |\n  text\n",
	"\xef\xbb\xbfa: 1", "a: \"\xff\"", "a:\tb", "\t- a\n", "a: b: c", "[1, 2", "{a: 1", "'unterminated",
	"a: 'multi\n  line'\n", "- >-\n   folded\n   text\n", "key with spaces: value with: colon",
	"# comment\na: 1 # trailing\n", "a: [1, 2, ]", "[,]", "- ? a\n  : b\n", "&a a: b",
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	strings.Repeat("{a: ", 100) + "1" + strings.Repeat("}", 100),
	strings.Repeat("- ", 100) + "x",
	deepBlock(100),
}

// deepBlock returns n block mappings, each the value of the one before.
func deepBlock(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	b.WriteString(strings.Repeat(" ", n) + "v\n")
	return b.String()
}

// Documents nested a million deep, in flow and block style: package
// yaml refuses them past its bound (10,000 levels), a value error, and
// never overflows the Go stack (a fuzzer rarely makes such inputs); and
// what it reads at its bound, encode writes and decode reads back. (A
// block nested by indentation takes the square of its depth in text:
// 2,000 levels are 2 MB.)
func TestDecodeDeepDocuments(t *testing.T) {
	const n = 1_000_000
	for _, text := range []string{
		strings.Repeat("[", n),
		strings.Repeat("[", n) + strings.Repeat("]", n),
		strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n),
		strings.Repeat("[{a: ", n),
		strings.Repeat("- ", n) + "x",
		strings.Repeat("a: ", n) + "x",
		strings.Repeat("? ", n) + "x",
		strings.Repeat("- [", n),
		strings.Repeat("!!seq [", n),
		strings.Repeat("&a [", n),
	} {
		_, err := yamlCall("decode", starlark.String(text))
		if err == nil {
			t.Errorf("%.20s...: decoded", text)
			continue
		}
		checkValueError(t, "decode", err)
	}
	for _, text := range []string{
		strings.Repeat("[", 9999) + "1" + strings.Repeat("]", 9999),
		strings.Repeat("- ", 9999) + "x",
		deepBlock(2000), // indented: the text grows with the square of the depth
	} {
		checkYAML(t, text)
	}
}
