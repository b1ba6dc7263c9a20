package main

// FuzzFormat: `coro fmt` (formatStar) on random source. Whatever the
// input, formatting returns text or an error naming the file (never a
// Go panic, of buildifier or of ours); what it returns parses to the same
// program (formatStar checks that itself) and formats to itself.
//
// `go test ./cmd/coro -run FuzzFormat` runs it over its seeds (every
// script of the repository's tests, and edge cases) and the inputs under
// testdata/fuzz/FuzzFormat; locally:
// go test ./cmd/coro -run '^$' -fuzz '^FuzzFormat$' -fuzztime 60s

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fmtFuzzMaxSource bounds the source FuzzFormat formats: buildifier is
// slow on large inputs, which only slow the fuzzer down.
const fmtFuzzMaxSource = 16 << 10

func FuzzFormat(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.star")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= fmtFuzzMaxSource {
			f.Add(string(b))
		}
	}
	for _, src := range fmtSeeds {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > fmtFuzzMaxSource {
			t.Skip("source too large")
		}
		checkFormat(t, src)
	})
}

func checkFormat(t *testing.T, src string) {
	t.Helper()
	out, err := formatStar("fuzz.star", []byte(src))
	if err != nil {
		if !strings.HasPrefix(err.Error(), "fuzz.star:") {
			t.Fatalf("error without the file's name: %v", err)
		}
		return
	}
	again, err := formatStar("fuzz.star", out)
	if err != nil {
		t.Fatalf("the formatted text does not format: %v\nsource: %q\nformatted: %q", err, src, out)
	}
	if string(again) != string(out) {
		t.Fatalf("formatting is not idempotent:\nsource: %q\nonce:  %q\ntwice: %q", src, out, again)
	}
}

// fmtSeeds are hand-written seeds for FuzzFormat: what coro's dialect has
// and buildifier's does not (while, bytes), quoting, tabs, comments,
// multi-line strings and the nesting bounds.
var fmtSeeds = []string{
	"", "\n", "# only a comment\n", "x=1", "x = 1\r\n", "\xef\xbb\xbfx = 1\n",
	"while x:\n\tx -= 1\n", "x = b'\\x00' + rb'\\d' + br\"\\d\"\n", "x = 'it\\'s' + 'say \"hi\"'\n",
	"x = '''a\n\tb'''\nif x:\n\ty = 1\n", "def f(a,b = 2,*c,d,**e):\n  return lambda x:x\n",
	"x = [1,\n  2,  # two\n]\n", "x = {'a':1,'b':[2,3],}\n", "if a:\n  pass\nelif b:\n  pass\nelse:\n  pass\n",
	"for i in range(3): print(i)\n", "x = not not x >= 1\n", "x = (not x) == y\n", "x = a if b else c\n",
	"load('a.star', 'b', c = 'd')\n", "x = [i for i in y if i]\n", "x = -(-1) + +1 - ~1\n",
	"x = 1 if True else 2 if False else 3\n", "x = __coro_fmt_while__\n", "x = f(*a, **k)\n",
	"x = 1; y = 2\n", "def f():\n    \"\"\"doc\"\"\"\n    return\n", "x = 'é\\u00e9\\377'\n",
	"x = 1" + strings.Repeat(" - 1", 1000) + "\n",
	"x = " + strings.Repeat("[", 50) + strings.Repeat("]", 50) + "\n",
	"x = a" + strings.Repeat(".b()", 200) + "\n",
}

// Source nested a million deep: coro fmt fails with the parser's syntax
// error, the file named, before buildifier (whose printer recurses too)
// sees it.
func TestFormatDeepSource(t *testing.T) {
	const n = 1_000_000
	for _, src := range []string{
		"x = " + strings.Repeat("[", n) + "\n",
		"x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n",
		"x = " + strings.Repeat("f(", n) + "\n",
		"x = 1" + strings.Repeat("-1", n) + "\n",
		"x = " + strings.Repeat("lambda: ", n) + "1\n",
	} {
		_, err := formatStar("deep.star", []byte(src))
		if err == nil || !strings.HasPrefix(err.Error(), "deep.star:1:") || !strings.Contains(err.Error(), "nesting") {
			t.Errorf("%.20s...: got %v, want a syntax error about nesting", src, err)
		}
	}
}
