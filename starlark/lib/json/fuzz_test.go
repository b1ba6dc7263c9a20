package json

// FuzzDecode: json.decode on random text. Whatever the input, decode
// returns a value or an error (with a default, the default), never a Go
// panic; json.indent accepts what decode accepts (both read RFC 8259);
// and what decode returns, encode writes, and decode reads that back to
// an equal value whose encoding is the same text: decode(encode(v)) == v.
//
// `go test ./starlark/lib/json` runs it over its seeds and the inputs
// under testdata/fuzz/FuzzDecode; locally:
// go test ./starlark/lib/json -run '^$' -fuzz '^FuzzDecode$' -fuzztime 60s

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// fuzzMaxText bounds the text FuzzDecode reads (the hand-written tests
// take the large ones).
const fuzzMaxText = 64 << 10

// indentMaxText bounds the text whose indented form FuzzDecode checks.
const indentMaxText = 4 << 10

func call(name string, args ...starlark.Value) (starlark.Value, error) {
	return starlark.Call(&starlark.Thread{}, Module.Members[name], args, nil)
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > fuzzMaxText {
			t.Skip("text too large")
		}
		checkDecode(t, text)
	})
}

func checkDecode(t *testing.T, text string) {
	t.Helper()
	v, err := call("decode", starlark.String(text))
	dflt, derr := call("decode", starlark.String(text), starlark.String("default"))
	if derr != nil {
		t.Fatalf("decode with a default: %v", derr)
	}
	if err != nil {
		if !strings.HasPrefix(err.Error(), "json.decode: ") {
			t.Fatalf("decode: error without the function's name: %v", err)
		}
		if dflt != starlark.String("default") {
			t.Fatalf("decode failed (%v) but with a default gave %v", err, dflt)
		}
		return
	}
	if eq, err := equal(v, dflt); err != nil || !eq {
		t.Fatalf("decode gave %v, with a default %v", v, dflt)
	}
	// json.indent reads the same language. (Its text grows with the
	// square of the depth: 100 MB for the deepest seeds, not checked.)
	if len(text) <= indentMaxText {
		if _, err := call("indent", starlark.String(text)); err != nil && isUTF8(text) {
			t.Fatalf("decode read %q, indent refused it: %v", text, err)
		}
	}
	enc, err := call("encode", v)
	if err != nil {
		t.Fatalf("encode(decode(%q)): %v", text, err)
	}
	back, err := call("decode", enc)
	if err != nil {
		t.Fatalf("decode(encode(decode(%q))) = decode(%s): %v", text, enc, err)
	}
	if eq, err := equal(back, v); err != nil || !eq {
		t.Fatalf("decode(encode(v)) != v for %q:\n%v\n%v", text, v, back)
	}
	again, err := call("encode", back)
	if err != nil || again != enc {
		t.Fatalf("encode is not stable: %v then %v (%v)", enc, again, err)
	}
	if len(text) <= indentMaxText {
		if _, err := call("encode_indent", v); err != nil {
			t.Fatalf("encode_indent(decode(%q)): %v", text, err)
		}
	}
}

// equal compares values as deep as decode makes them (starlark.Equal
// stops at 10 levels).
func equal(x, y starlark.Value) (bool, error) { return starlark.EqualDepth(x, y, maxDecodeDepth+1) }

// isUTF8 reports whether s holds no invalid UTF-8 inside its strings, which
// decode replaces and json.indent (Go's json.Indent) passes through.
func isUTF8(s string) bool { return strings.ToValidUTF8(s, "") == s }

// decodeSeeds are hand-written seeds for FuzzDecode: every kind of value,
// the escapes and encodings of strings, the edges of numbers, and the
// nesting bound.
var decodeSeeds = []string{
	"", " ", "null", "true", "false", "0", "-0", "-0.0", "1", "-1", "1.5", "1e3", "1E-3", "1e+3",
	"0.1e-10", "123456789012345678901234567890", "-9223372036854775809", "9223372036854775808",
	"1e308", "1e309", "-1e309", "4.9e-324", "1e-400", "01", "-", "1.", ".5", "+1", "0x1F", "NaN", "Infinity",
	strings.Repeat("7", syntax.MaxIntDigits), strings.Repeat("7", syntax.MaxIntDigits+1),
	"0." + strings.Repeat("7", 1000) + "e-5",
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u0000"`, `"\u00e9"`, `"é"`,
	`"\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`, `"\uD800\uD800"`, `"\x"`, `"\u12"`, `"unterminated`,
	"\"\xff\xfe\"", "\"\x00\"", "\"\t\"", "\xef\xbb\xbf{}",
	"[]", "[1,2,3]", "[1,]", "[,1]", "[1 2]", "[", "]", "[[]]", `[null,true,false,"x",1.5,{}]`,
	"{}", `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,}`, `{1:2}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{"":{"":[]}}`,
	" \t\r\n[ 1 , { \"k\" : [ ] } ] \n", "[1] x", "1 2", "nul", "truex", "[true false]",
	strings.Repeat("[", maxDecodeDepth) + strings.Repeat("]", maxDecodeDepth),
	strings.Repeat("[", maxDecodeDepth) + "1" + strings.Repeat("]", maxDecodeDepth),
	strings.Repeat("[", maxDecodeDepth+1) + strings.Repeat("]", maxDecodeDepth+1),
	strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100),
	strings.Repeat(`[{"a":`, 50) + "[]" + strings.Repeat("}]", 50),
}

// Text nested a million deep, by arrays, objects and both, closed or
// not: decode refuses it after 10,000 levels, the bound of its recursion,
// and never overflows the Go stack (a fuzzer rarely makes such inputs).
func TestDecodeDeepText(t *testing.T) {
	const n = 1_000_000
	for _, text := range []string{
		strings.Repeat("[", n),
		strings.Repeat("[", n) + strings.Repeat("]", n),
		strings.Repeat(`{"a":`, n),
		strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n),
		strings.Repeat(`[{"":`, n),
		strings.Repeat("[1,", n),
	} {
		_, err := call("decode", starlark.String(text))
		if err == nil || !strings.HasSuffix(err.Error(), "nested more than 10000 deep") {
			t.Errorf("%.20s...: got %v, want nested too deep", text, err)
		}
	}
}
