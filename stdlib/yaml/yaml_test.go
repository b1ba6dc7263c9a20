package yaml_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/corolang/coro/stdlib/url"
	"github.com/corolang/coro/stdlib/yaml"
	"github.com/stretchr/testify/assert"
)

func modules() starlark.StringDict {
	return starlark.StringDict{"yaml": yaml.Module(), "url": url.Module()}
}

func run(t *testing.T, src string) string {
	t.Helper()
	return pycheck.Run(t, modules(), src)
}

func needPyYAML(t *testing.T) {
	if err := exec.Command("python3", "-c", "import yaml").Run(); err != nil {
		t.Skip("no python3 with PyYAML")
	}
}

// Documents that mean the same in YAML 1.2 (coro) and YAML 1.1 (PyYAML's
// safe_load) decode to the same values.
func TestDecodeMatchesPyYAML(t *testing.T) {
	needPyYAML(t)
	docs := []string{
		"a: 1\nb: [x, 'y', \"z\"]\nc: {d: null, e: ~}\n",
		"- 1\n- -2\n- 3.25\n- -0.5\n- 1.0e+3\n- true\n- false\n- TRUE\n",
		"plain: hello world\nquoted: \"tab\\there \\u00e9\"\nsingle: 'it''s'\nempty: ''\nnull_value:\n",
		"lit: |\n  line one\n  line two\nkeep: |+\n  x\n\nstrip: |-\n  y\nfold: >\n  a\n  b\n\n  c\n",
		"multi: this is\n  one line\n",
		"base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n",
		"a: &a {k: 1}\nb: &b {k: 2, j: 2}\nc:\n  <<: [*a, *b]\n  z: 0\n",
		"list: &l [1, 2]\nagain: *l\n",
		"0: zero\n1.5: float key\ntrue: bool key\n~: null key\n",
		"unicode: \"\\u263A ☺ wörld\"\nemoji: 🎉\n",
		"nested:\n  - name: a\n    tags: [x, y]\n  - name: b\n    tags: []\n    extra: {}\n",
		"# only a comment\n",
		"",
		"42\n",
		"'just a string'\n",
		"big: 123456789012345678901234567890\n",
		"hex: 0x1F\nbin: !!binary aGVsbG8=\nstr: !!str 123\nint: !!int '7'\nflt: !!float 2\n",
		"---\na: 1\n...\n",
		"? complex key\n: value\n",
		"anchored_scalar: &s text\nref: *s\n",
	}
	var cases []pycheck.Case
	for _, d := range docs {
		lit := starlark.String(d).String()
		cases = append(cases, pycheck.Case{Star: "yaml.decode(" + lit + ")", Py: "_y.safe_load(" + lit + ")"})
	}
	pycheck.Compare(t, modules(), "_types = {}\n", "import yaml as _y, math\n_types = []\n", cases)
}

// What YAML 1.2's core schema reads differently from YAML 1.1 (PyYAML):
// on/yes/no/off are strings, 0777 is decimal, 1_000 and 12:30 and dates
// are strings, 1e3 (no dot) is a float. Keys given twice are an error.
func TestDecodeYAML12(t *testing.T) {
	out := run(t, `
v = yaml.decode("""
a: on
b: yes
c: No
d: 0777
e: 0o777
f: 1_000
g: 12:30
h: 2001-12-14
i: 1e3
j: y
k: .5
l: +12
m: -0x1
""")
for k, x in v.items():
    print(k, repr(x), type(x))
`)
	assert.Equal(t, `a "on" string
b "yes" string
c "No" string
d 777 int
e 511 int
f "1_000" string
g "12:30" string
h "2001-12-14" string
i 1000.0 float
j "y" string
k 0.5 float
l 12 int
m "-0x1" string
`, out)
}

// Aliases give the same value (as PyYAML), and dicts keep the document's
// order, merged keys first.
func TestDecodeAliasesAndOrder(t *testing.T) {
	out := run(t, `
v = yaml.decode("""
z: 1
base: &b {y: 1, x: 2}
svc:
  own: 0
  <<: *b
  x: 3
same: *b
""")
print(list(v.keys()), v["svc"], v["same"] == v["base"])
v["base"]["new"] = 1
print(v["same"])
`)
	assert.Equal(t, `["z", "base", "svc", "same"] {"y": 1, "x": 3, "own": 0} True
{"y": 1, "x": 2, "new": 1}
`, out)
}

// A document of many aliases (a "billion laughs") costs its size: the
// aliases share their value.
func TestDecodeManyAliases(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	out := run(t, "v = yaml.decode("+starlark.String(b.String()).String()+")\nprint(len(v), len(v['a29']), len(v['a29'][0]), v['a0'])\n")
	assert.Equal(t, "30 10 10 [\"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\"]\n", out)
}

// Malformed YAML is a value error naming the line (and the column, where
// coro finds the problem itself).
func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"a: b: c", `value: yaml.decode: line 1: mapping values are not allowed in this context`},
		{"a: 1\nb: [1, 2\n", `value: yaml.decode: line 2: did not find expected ',' or ']'`},
		{"a:\n  - 1\n - 2\n", `value: yaml.decode: line 3: did not find expected key`},
		{"a: 1\na: 2\n", `value: yaml.decode: line 2, column 1: key "a" appears twice`},
		{"a\n---\nb\n", `value: yaml.decode: line 2: a second document (yaml.decode reads one)`},
		{"? {a: [1]}\n: x\n", `value: yaml.decode: line 1, column 3: a dict cannot be a key`},
		{"? [1, {a: 1}]\n: x\n", `value: yaml.decode: line 1, column 3: a sequence with a mapping in it cannot be a key (unhashable type: dict)`},
		{"a: 1\nb: [*nope]\n", `value: yaml.decode: line 2, column 5: unknown anchor 'nope' referenced`},
		{"a: !!int x\n", `value: yaml.decode: line 1, column 4: !!int "x" is not an int`},
		{"a: !!binary '!!'\n", `value: yaml.decode: line 1, column 4: !!binary: not base64`},
		{"<<: 1\n", `value: yaml.decode: line 1, column 5: a merge (<<) takes a mapping or a list of mappings`},
		{"\t- a\n", `value: yaml.decode: line 1: found character that cannot start any token`},
	} {
		out := run(t, "print(catch(yaml.decode, "+starlark.String(c.doc).String()+").error)")
		assert.Contains(t, out, c.want, c.doc)
	}
	assert.Contains(t, run(t, `print(catch(yaml.decode, 1).error)`), "value: yaml.decode: for parameter text: got int, want string or bytes")
}

// An int in decimal has at most 4300 digits (syntax.MaxIntDigits, as
// CPython's int): math/big reads decimal digits in quadratic time, and a
// million of them held a pool thread 1.7 s, four million 24 s, past the
// task's cancellation. Hex is linear and unbounded. A string of digits
// is quoted by encode, so it reads back a string whatever its length.
func TestDecodeIntDigits(t *testing.T) {
	out := run(t, `
long = "7" * 4300
print(yaml.decode(long) == int(long), yaml.decode("- -" + long)[0] == -int(long))
print(catch(yaml.decode, "a: " + long + "7").error)
print(catch(yaml.decode, "a: !!int " + long + "7").error)
print(catch(yaml.decode, "a: !!float " + long + "7").error)
print(catch(yaml.decode, "7" * 1000000).error)
print(yaml.decode("0x" + "f" * 100000) == int("f" * 100000, 16), yaml.decode("0o" + "7" * 100000) == int("7" * 100000, 8))
s = "7" * 100000
print(yaml.decode(yaml.encode(s)) == s, yaml.decode(yaml.encode([s])) == [s])
print(yaml.decode("0." + long + "7") == float("0." + long + "7"))
`)
	want := "True True\n" +
		"value: yaml.decode: line 1, column 4: integer too long: 4301 digits in base 10, more than 4300\n" +
		"value: yaml.decode: line 1, column 4: integer too long: 4301 digits in base 10, more than 4300\n" +
		"value: yaml.decode: line 1, column 4: integer too long: 4301 digits in base 10, more than 4300\n" +
		"value: yaml.decode: line 1, column 1: integer too long: 1000000 digits in base 10, more than 4300\n" +
		"True True\nTrue True\nTrue\n"
	assert.Equal(t, want, out)
}

// encode's output reads back to the same value, in coro and in PyYAML
// (YAML 1.1), whatever strings look like.
func TestEncodeRoundTrip(t *testing.T) {
	values := []string{
		`{"name": "web", "port": 8080, "ratio": 0.5, "tags": ["a", "b"], "nested": {"x": None, "y": [True, False]}}`,
		`["yes", "no", "on", "off", "y", "n", "Yes", "NO", "true", "null", "~", "", "0777", "0o17", "0x1F", "1_000", "12:30", "1:20:30", "2001-12-14", "2001-12-14 21:59:43.10 -5", "1e3", ".5", "+1", "-1", "1.0", ".inf", ".nan", "<<", "=", "#x", "- a", "a: b", "[1]", "{a}", "@x", "%x", "!x", "&x", "*x", "'q'", "\"dq\"", " lead", "trail ", "tab\there"]`,
		`["multi\nline", "trailing\n", "\n", "a\n\nb\n\n", "ünïcödé ☺", "back\\slash", "ctl\x01"]`,
		`[0, -1, 123456789012345678901234567890, -98765432109876543210, 1.5, -0.25, 1e20, 1e-7, 3.0]`,
		`{1: "int key", 2.5: "float key", False: "bool key", None: "null key", "": "empty key"}`,
		`[[], {}, [[]], [{}], {"a": []}, {"a": {}}]`,
		`{"z": 1, "a": 2, "m": 3}`,
		`"just a string"`,
		`42`,
		`None`,
		`(1, (2, 3))`,
		`{(1, 2): "pair", ((3,), "x"): "nested", (): "empty"}`, // sequence keys decode as tuples
	}
	var b strings.Builder
	for _, v := range values {
		fmt.Fprintf(&b, "v = %s\nprint(yaml.decode(yaml.encode(v)) == _fix(v))\n", v)
	}
	out := run(t, `
def _fix(v):
    if type(v) == "tuple":
        return [_fix(x) for x in v]
    return v
`+b.String())
	assert.Equal(t, strings.Repeat("True\n", len(values)), out)

	// PyYAML reads neither a tuple (its safe_load gives lists) nor a
	// sequence as a key ("found unhashable key"): the last two are
	// coro's own.
	values = values[:len(values)-2]
	needPyYAML(t)
	var cases []pycheck.Case
	for _, v := range values {
		cases = append(cases, pycheck.Case{Star: "yaml.decode(yaml.encode(" + v + "))", Py: "_y.safe_load(_enc(" + starlark.String(v).String() + "))"})
	}
	// The Python side reads coro's encoding of each value: the script
	// prints it, and python3 loads that text.
	for i, v := range values {
		text := strings.TrimSuffix(run(t, "print(yaml.encode("+v+"))"), "\n")
		cases[i].Py = "_y.safe_load(" + pyString(text) + ")"
	}
	pycheck.Compare(t, modules(), "_types = {}\n", "import yaml as _y, math\n_types = []\n", cases)
}

// pyString is s as a Python string literal.
func pyString(s string) string {
	var b strings.Builder
	b.WriteString(`"`)
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`"`)
	return b.String()
}

func TestEncode(t *testing.T) {
	out := run(t, `
print(yaml.encode({"name": "web", "on": "yes", "ports": [80, 443], "env": {}, "cmd": "a\nb", "f": 2.0, "b": b"\x00\x01", "n": None, "u": url.parse("http://h:1/p")}))
l = [1]
l.append(l)
print(catch(yaml.encode, l).error)
print(catch(yaml.encode, {"f": len}).error)
print(yaml.encode({"k": set([1])}))
print(repr(yaml.encode([])), repr(yaml.encode({})), repr(yaml.encode("x")))
`)
	assert.Equal(t, `name: web
"on": "yes"
ports:
  - 80
  - 443
env: {}
cmd: |-
  a
  b
f: 2.0
b: !!binary AAE=
"n": null
u:
  fragment: ""
  host: h:1
  hostname: h
  password: null
  path: /p
  port: 1
  query: {}
  scheme: http
  username: null

value: yaml.encode: at list index 1: a list contains itself
value: yaml.encode: in dict key "f": cannot encode a builtin_function_or_method
k:
  - 1

"[]\n" "{}\n" "x\n"
`, out)
}

// Large documents are parsed off the loop (on the pool), and written on
// the loop, which encode gives to other tasks as it goes.
func TestLarge(t *testing.T) {
	out := run(t, `
doc = {"items": [{"id": i, "name": "item %d" % i, "tags": ["a", "b"]} for i in range(20000)]}
text = yaml.encode(doc)
print(len(text) > 100000, yaml.decode(text) == doc)
`)
	assert.Equal(t, "True True\n", out)
}

// Encoding nests as deep as decoding reads (10,000 levels of block
// collections, and an empty one, "[]", within the deepest), and the cycle
// check costs the same at any depth: a list nested 60,000 deep took 8.8 s
// (each value searched every enclosing container), holding the loop, and
// its text was one yaml.decode refused.
func TestEncodeDepth(t *testing.T) {
	out := run(t, `
def nest(n, inner):
    x = inner
    for i in range(n):
        x = [x] if i % 2 else {"k": x}
    return x
for n in [10000, 10001]:
    for inner in [1, []]:
        r = catch(yaml.encode, nest(n, inner))
        print(n, inner, r.ok and yaml.encode(yaml.decode(r.value)) == r.value, "" if r.ok else r.error.message[-65:])
print(catch(yaml.encode, nest(60000, 1)).error.message[-65:])
`)
	assert.Equal(t, `10000 1 True 
10000 [] True 
10001 1 False a value nested more than 10000 deep (yaml.decode reads no deeper)
10001 [] False a value nested more than 10000 deep (yaml.decode reads no deeper)
a value nested more than 10000 deep (yaml.decode reads no deeper)
`, out)
}

// encode gives the loop to other tasks as it writes, a long string
// included.
func TestEncodeYields(t *testing.T) {
	out := run(t, `
ticks = [0]
def ticker():
    for i in range(1000000):
        ticks[0] += 1
        sleep(0)
t = spawn(ticker)
for doc in [[{"id": i, "name": "item %d" % i} for i in range(30000)], ["x" * (4 << 20)]]:
    before = ticks[0]
    text = yaml.encode(doc)
    print(len(text) > 600000, ticks[0] - before > 1)
t.cancel()
`)
	assert.Equal(t, "True True\nTrue True\n", out)
}

// An encoding error names where the value is, as json.encode's do: the
// path of indexes, keys and fields from the top (its first and last 8
// steps when deeper than 16).
func TestEncodeErrorsSayWhere(t *testing.T) {
	out := run(t, `
print(catch(yaml.encode, {"a": [1, len]}).error)
print(catch(yaml.encode, [set([1]), (2, {3: print})]).error)
print(catch(yaml.encode, {(1, len): 2}).error)
print(catch(yaml.encode, {"k" * 100: len}).error)
print(catch(yaml.encode, {None: {2.5: {b"x": {True: {(1,): [len]}}}}}).error)
l = [0]
l.append({"self": l})
print(catch(yaml.encode, l).error)
x = len
for i in range(20):
    x = [x]
print(catch(yaml.encode, x).error)
`)
	assert.Equal(t, `value: yaml.encode: in dict key "a": at list index 1: cannot encode a builtin_function_or_method
value: yaml.encode: at list index 1: at tuple index 1: in dict key 3: cannot encode a builtin_function_or_method
value: yaml.encode: in a dict key: at tuple index 1: cannot encode a builtin_function_or_method
value: yaml.encode: in dict key "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...: cannot encode a builtin_function_or_method
value: yaml.encode: in dict key None: in dict key 2.5: in dict key b"x": in dict key True: in dict key of type tuple: at list index 0: cannot encode a builtin_function_or_method
value: yaml.encode: at list index 1: in dict key "self": a list contains itself
value: yaml.encode: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: (4 more levels): at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: at list index 0: cannot encode a builtin_function_or_method
`, out)
}

// A string that is not UTF-8 (YAML text is Unicode) is written as
// !!binary, as package yaml writes such a Go string: it reads back as
// bytes. It failed with the package's words, "yaml: cannot marshal
// invalid UTF-8 data as !!str".
func TestEncodeInvalidUTF8(t *testing.T) {
	out := run(t, `
s = "aé"[:2]
text = yaml.encode({s: [s, "ok"]})
print(repr(text))
print(yaml.decode(text))
`)
	assert.Equal(t, `"!!binary YcM=:\n  - !!binary YcM=\n  - ok\n"
{b"a\xc3": [b"a\xc3", "ok"]}
`, out)
}
