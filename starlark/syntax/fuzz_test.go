package syntax_test

// FuzzParse: the scanner, the parser, the resolver and the compiler on
// random source, in coro's dialect. Whatever the input, parsing ends
// with a tree or a syntax.Error (never a recovered Go panic, "internal
// error"), the tree nests no deeper than the parser's bounds let it (so
// the Go recursion of everything that walks it stays small), and a tree
// resolves and compiles or fails with an error, without a panic.
//
// `go test ./starlark/syntax` runs it over its seeds (every .star file of
// the interpreter's and coro's tests, and hand-written edge cases) and
// the inputs under testdata/fuzz/FuzzParse; locally:
// go test ./starlark/syntax -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s
// (the engine's FuzzExec runs whole scripts).

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// coroDialect is the dialect of coro's scripts (engine.FileOptions).
var coroDialect = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// fuzzMaxSource bounds the source FuzzParse reads: larger inputs only
// slow the fuzzer down (the hand-written tests below take the large
// ones).
const fuzzMaxSource = 32 << 10

// maxTreeDepth is the deepest a parsed tree may be: 10,000 links
// (operations of chains, ORIGIN 53) plus what the parser's recursion
// bound (1000) lets brackets, unary operators, lambdas and statements
// nest, a few nodes per level at most.
const maxTreeDepth = 10000 + 4*1000

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata", "../testdata", "../../cmd/coro/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.star"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
	for _, src := range parseSeeds {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > fuzzMaxSource {
			t.Skip("source too large")
		}
		checkParse(t, src)
	})
}

// checkParse parses src as a file and as an expression and compiles the
// file, failing t on a panic, an internal error or a tree too deep.
func checkParse(t *testing.T, src string) {
	t.Helper()
	file, err := coroDialect.Parse("fuzz.star", src, syntax.RetainComments)
	checkSyntaxErr(t, "Parse", err)
	if _, err := coroDialect.ParseExpr("fuzz.star", src, 0); err != nil {
		checkSyntaxErr(t, "ParseExpr", err)
	}
	if file == nil {
		return
	}
	depth, deepest := 0, 0
	syntax.Walk(file, func(n syntax.Node) bool {
		if n == nil {
			depth--
			return true
		}
		depth++
		deepest = max(deepest, depth)
		return true
	})
	if deepest > maxTreeDepth {
		t.Fatalf("the tree is %d deep, more than %d", deepest, maxTreeDepth)
	}
	// The resolver and the compiler, on what parsed.
	if _, err := starlark.FileProgram(file, func(string) bool { return true }); err != nil {
		if strings.Contains(err.Error(), "internal error") {
			t.Fatalf("FileProgram: %v", err)
		}
	}
}

func checkSyntaxErr(t *testing.T, where string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se syntax.Error
	if !errors.As(err, &se) {
		t.Fatalf("%s: error of type %T: %v", where, err, err)
	}
	if strings.Contains(se.Msg, "internal error") {
		t.Fatalf("%s: a recovered Go panic: %v", where, err)
	}
	if !se.Pos.IsValid() {
		t.Fatalf("%s: error without a position: %v", where, err)
	}
}

// parseSeeds are hand-written seeds for FuzzParse: the edges of the
// scanner (encodings, numbers, strings, indentation) and of the parser's
// nesting bounds.
var parseSeeds = []string{
	"",
	"\n",
	"\xef\xbb\xbfx = 1\n", // a byte-order mark
	"x = 1\r\ny = 2\r\n",
	"x = 1\ry = 2\r",
	"if x:\n\ty = 1\n        z = 2\n",
	"if x:\n  y\n z\n",
	"def f(a, b=1, *args, c, d=2, **kwargs):\n    return lambda x, *y, z=1, **w: x\n",
	"x = [a for b in c if d for e in f]\ny = {k: v for k, v in z}\n",
	"while True:\n    if x: break\n    else: continue\n",
	"load('a.star', 'b', c='d')\n",
	"x = a if b else c if d else e\n",
	"x = not not not a in b not in c\n",
	"x = a[1:2:3][::][:1][1:]\n",
	"x = 0x_ff + 0o17 + 0b101 + 1_000 + 1.5e-3 + .5 + 5. + 1e309\n",
	"x = 0" + strings.Repeat("9", syntax.MaxIntDigits) + "\n",
	"x = " + strings.Repeat("9", syntax.MaxIntDigits+1) + "\n",
	"x = 0x" + strings.Repeat("f", 5000) + "\n",
	`x = "\x00\u00e9\U0001F600\N{x}\777\z" + r"\d" + b"\xff" + rb"\d"` + "\n",
	"x = '''a\nb''' + \"\"\"c\\\nd\"\"\"\n",
	"x = 'unterminated\n",
	"x = \"\xff\xfe\"\n",
	"x = 1 # comment\n# another\n",
	"x = 1\x00\n",
	"x = (1,\n  2,\n)\n",
	"x = 1 +\n 2\n",
	"x = f(*a, **k)(1)(2)[3].y\n",
	"x = a < b < c\n",
	"x = -+~-1\n",
	"x = {1, 2}\n",
	"x = lambda: lambda: lambda: 1\n",
	"a, (b, [c, d]) = e\nx += 1\nx |= 2\n",
	"def f():\n    pass\n" + strings.Repeat(" ", 1000) + "x = 1\n",
	// The nesting bounds: brackets (the scanner's and the parser's),
	// unary operators, lambdas, conditional expressions, statements and
	// chains of operations (ORIGIN 53).
	"x = " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
	"x = " + strings.Repeat("(", 1001) + "\n",
	"x = " + strings.Repeat("{1: ", 100) + "\n",
	"x = " + strings.Repeat("f(", 100) + "\n",
	"x = " + strings.Repeat("not ", 1000) + "1\n",
	"x = " + strings.Repeat("-", 1000) + "1\n",
	"x = " + strings.Repeat("lambda: ", 500) + "1\n",
	"x = " + strings.Repeat("1 if 1 else ", 500) + "1\n",
	"x = 1" + strings.Repeat("-1", 10000) + "\n",
	"x = 1" + strings.Repeat("-1", 10001) + "\n",
	"x = a" + strings.Repeat(".b()[0]", 2000) + "\n",
	"x = (" + strings.Repeat("(1-1-1-1)-", 50) + "1)\n",
	deepIfs(200),
}

// deepIfs returns n if statements, each inside the one before.
func deepIfs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "if x:\n")
	}
	b.WriteString(strings.Repeat(" ", n) + "pass\n")
	return b.String()
}

// Source nested a million deep, by every construct that nests: the
// scanner's and the parser's bounds refuse it with a syntax error before
// any Go recursion gets deep (a fuzzer rarely makes such inputs).
func TestDeepSource(t *testing.T) {
	const n = 1_000_000
	for _, c := range []struct{ name, src string }{
		{"lists", strings.Repeat("[", n)},
		{"closed lists", strings.Repeat("[", n) + strings.Repeat("]", n)},
		{"dicts", strings.Repeat("{1: ", n)},
		{"tuples", strings.Repeat("(1, ", n)},
		{"calls", strings.Repeat("f(", n)},
		{"indexes", strings.Repeat("x[", n)},
		{"lists in calls", strings.Repeat("f([", n)},
		{"unary", strings.Repeat("-+~", n) + "1"},
		{"not", strings.Repeat("not ", n) + "1"},
		{"lambdas", strings.Repeat("lambda: ", n) + "1"},
		{"lambdas with parameters", strings.Repeat("lambda x=", n) + "1: 1"},
		{"conditionals", strings.Repeat("1 if 1 else ", n) + "1"},
		{"comprehensions", strings.Repeat("[x for x in ", n)},
		{"chain", "1" + strings.Repeat("-1", n)},
		{"attributes", "a" + strings.Repeat(".b", n)},
		{"calls in a chain", "f" + strings.Repeat("()", n)},
		{"if statements", deepIfs(3000)},
	} {
		_, err := coroDialect.Parse("deep.star", "x = "+c.src+"\n", 0)
		if c.name == "if statements" {
			_, err = coroDialect.Parse("deep.star", c.src, 0)
		}
		var se syntax.Error
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "nesting") && !strings.Contains(se.Msg, "indentation") {
			t.Errorf("%s: got %v, want a syntax error about nesting", c.name, err)
		}
	}
}
