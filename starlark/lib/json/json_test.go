package json

import (
	"bytes"
	"encoding/json"

	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// sharedParts is a list of 100 cells whose JSON text is 20 GB.
const sharedParts = "def grow():\n    x = [0] * 10\n    for i in range(9):\n        x = [x] * 10\n    return x\nx = grow()\n"

func run(thread *starlark.Thread, src string) error {
	_, err := starlark.ExecFile(thread, "json.star", src, starlark.StringDict{"json": Module})
	return err
}

// The text json.encode makes is bounded (1 GiB, lowered here), and each
// value written costs a step, so the step limit (and Cancel) stops it
// first when there is one (coro patch, ORIGIN 35).
func TestEncodeOfSharedPartsIsBounded(t *testing.T) {
	defer func(n int) { maxEncoded = n }(maxEncoded)
	maxEncoded = 1 << 16
	for _, expr := range []string{"json.encode(x)", "json.encode({'a': x})", "json.encode_indent(x)"} {
		err := run(&starlark.Thread{}, sharedParts+"y = "+expr+"\n")
		if err == nil || !strings.Contains(err.Error(), "JSON text too long (more than 65536 bytes)") {
			t.Errorf("%s: got %v, want text too long", expr, err)
		}
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(10_000)
		if err := run(thread, sharedParts+"y = "+expr+"\n"); err == nil || !strings.Contains(err.Error(), "too many steps") {
			t.Errorf("%s: got %v, want the step limit", expr, err)
		}
	}
	// Where the text passed the bound is named.
	err := run(&starlark.Thread{}, sharedParts+"y = json.encode({'a': x})\n")
	if err == nil || !strings.Contains(err.Error(), "json.encode: in dict key \"a\": at list index 0: ") {
		t.Errorf("got %v, want the place named", err)
	}
	// A text that fits is written whole.
	globals, err := starlark.ExecFile(&starlark.Thread{}, "json.star", "y = json.encode([[0] * 10] * 10)", starlark.StringDict{"json": Module})
	if y, _ := globals["y"].(starlark.String); err != nil || len(y) != 221 || !strings.HasPrefix(string(y), "[[0,0,") {
		t.Errorf("got %v, %v", globals["y"], err)
	}
}

// stream is an iterable that iterating consumes (a channel, a generator):
// it counts the elements taken.
type stream struct{ taken int }

func (s *stream) String() string        { return "stream" }
func (s *stream) Type() string          { return "stream" }
func (s *stream) Freeze()               {}
func (s *stream) Truth() starlark.Bool  { return true }
func (s *stream) Hash() (uint32, error) { return 0, nil }
func (s *stream) Iterate() starlark.Iterator {
	return &streamIter{s}
}

type streamIter struct{ s *stream }

func (it *streamIter) Next(p *starlark.Value) bool {
	if it.s.taken == 3 {
		return false
	}
	it.s.taken++
	*p = starlark.MakeInt(it.s.taken)
	return true
}
func (it *streamIter) Done() {}

// object is a value with a method and a field (a Future, a lock).
type object struct{}

func (o *object) String() string        { return "object" }
func (o *object) Type() string          { return "object" }
func (o *object) Freeze()               {}
func (o *object) Truth() starlark.Bool  { return true }
func (o *object) Hash() (uint32, error) { return 0, nil }
func (o *object) AttrNames() []string   { return []string{"done", "wait"} }
func (o *object) Attr(name string) (starlark.Value, error) {
	switch name {
	case "done":
		return starlark.False, nil
	case "wait":
		return starlark.NewBuiltin("wait", nil).BindReceiver(o), nil
	}
	return nil, nil
}

// json.encode writes plain data only (coro patch, ORIGIN 39): an
// iterable that is not a list, tuple, set, range or elems view is refused
// without being iterated, and so is a value with methods; the built-in
// iterables are still arrays.
func TestEncodeRefusesStreamsAndObjects(t *testing.T) {
	s := &stream{}
	predeclared := starlark.StringDict{"json": Module, "s": s, "o": &object{}}
	for expr, want := range map[string]string{
		"json.encode(s)":            "json.encode: cannot encode stream as JSON",
		"json.encode({'a': [s]})":   `json.encode: in dict key "a": at list index 0: cannot encode stream as JSON`,
		"json.encode(o)":            "json.encode: cannot encode object as JSON",
		"json.encode_indent([1,o])": "json.encode_indent: at list index 1: cannot encode object as JSON",
	} {
		_, err := starlark.ExecFile(&starlark.Thread{}, "json.star", "y = "+expr+"\n", predeclared)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", expr, err, want)
		}
	}
	if s.taken != 0 {
		t.Errorf("json.encode took %d elements of the stream, want none", s.taken)
	}
	globals, err := starlark.ExecFile(&starlark.Thread{}, "json.star",
		`y = json.encode([(1,), set([2]), range(2), "ab".elems(), "ab".codepoints(), b"ab".elems()])`, predeclared)
	if y := globals["y"]; err != nil || y != starlark.String(`[[1],[2],[0,1],["a","b"],["a","b"],[97,98]]`) {
		t.Errorf("got %v, %v", y, err)
	}
}

// json.encode bounds the nesting it follows, and writes the path of a
// failure once (coro patch, ORIGIN 45): a list nested a million deep
// overflowed the Go stack (a fatal error), and a failure 20,000 levels
// deep built its message in O(n²) (6.5 GB).
func TestEncodeDeepValues(t *testing.T) {
	for src, want := range map[string]string{
		"def f():\n    x = []\n    for i in range(1000000):\n        x = [x]\n    return json.encode(x)\ny = f()\n": "json.encode: at list index 0: at list index 0: at list index 0: at list index 0: " +
			"at list index 0: at list index 0: at list index 0: at list index 0: (9984 more levels): " +
			"at list index 0: at list index 0: at list index 0: at list index 0: " +
			"at list index 0: at list index 0: at list index 0: at list index 0: a value nested more than 10000 deep",
		"def f():\n    x = len\n    for i in range(4900):\n        x = {'k': [x]}\n    return json.encode(x)\ny = f()\n": `json.encode: in dict key "k": at list index 0: in dict key "k": at list index 0: ` +
			`in dict key "k": at list index 0: in dict key "k": at list index 0: (9784 more levels): ` +
			`in dict key "k": at list index 0: in dict key "k": at list index 0: ` +
			`in dict key "k": at list index 0: in dict key "k": at list index 0: cannot encode builtin_function_or_method as JSON`,
		"y = json.encode([[1], [len]])\n": "json.encode: at list index 1: at list index 0: cannot encode builtin_function_or_method as JSON",
	} {
		_, err := starlark.ExecFile(&starlark.Thread{}, "json.star", src, starlark.StringDict{"json": Module})
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}

// json.decode reads as deep as json.encode writes, 10,000 levels (coro
// patch, ORIGIN 50): ten million "[" (a 20 MB text) overflowed the Go
// stack, a fatal error that ended the process, whatever caught the error.
func TestDecodeDepthIsBounded(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{
		{10000, ""},
		{10001, "json.decode: at offset 10000, nested more than 10000 deep"},
		{10_000_000, "json.decode: at offset 10000, nested more than 10000 deep"},
	} {
		text := strings.Repeat("[", c.n) + strings.Repeat("]", c.n)
		v, err := starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{starlark.String(text)}, nil)
		if c.want == "" {
			if err != nil {
				t.Errorf("%d levels: %v", c.n, err)
				continue
			}
			back, err := starlark.Call(&starlark.Thread{}, Module.Members["encode"], starlark.Tuple{v}, nil)
			if err != nil || string(back.(starlark.String)) != text {
				t.Errorf("%d levels: encode(decode(x)) != x: %v", c.n, err)
			}
		} else if err == nil || err.Error() != c.want {
			t.Errorf("%d levels: got %v, want %q", c.n, err, c.want)
		}
	}
}

// json.decode reads an int of at most 4300 digits (syntax.MaxIntDigits,
// as CPython's int): math/big reads decimal digits in quadratic time, so
// a number of four million digits, a 4 MB request body, held the loop 24
// s in one Go call (coro patch, ORIGIN 54). A float's digits are read in
// linear time, and are not bounded.
func TestDecodeIntDigits(t *testing.T) {
	long := strings.Repeat("7", syntax.MaxIntDigits)
	tooLong := "json.decode: at offset %d, integer too long: %d digits in base 10, more than 4300"
	for _, c := range []struct{ text, want string }{
		{long, ""},
		{"-" + long, ""},
		{"[" + long + "]", ""},
		{"0." + long + "7", ""},
		{long[:300] + "7e-300", ""},
		{strings.Repeat("7", 1_000_000) + "e-999990", ""},
		{long + "7", fmt.Sprintf(tooLong, 4301, 4301)},
		{"-" + long + "7", fmt.Sprintf(tooLong, 4302, 4301)},
		{`{"a": [` + long + "7]}", fmt.Sprintf(tooLong, 4308, 4301)},
		{strings.Repeat("7", 1_000_000), fmt.Sprintf(tooLong, 1_000_000, 1_000_000)},
	} {
		v, err := starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{starlark.String(c.text)}, nil)
		if c.want == "" {
			if err != nil {
				t.Errorf("%.20s... (%d): %v", c.text, len(c.text), err)
			}
			continue
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("%.20s... (%d): got %v, want %q", c.text, len(c.text), err, c.want)
		}
		// With a default, the text gives the default.
		v, err = starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{starlark.String(c.text), starlark.None}, nil)
		if err != nil || v != starlark.None {
			t.Errorf("%.20s... with a default: got %v, %v", c.text, v, err)
		}
	}
}

// json.encode writes whatever json.decode reads: 10,000 levels of arrays
// and objects, scalars inside the deepest included. It counted every
// value on its path, so a number inside 10,000 arrays was "nested more
// than 10000 deep" though an empty array there was not (coro patch,
// ORIGIN 55).
func TestEncodeWritesWhatDecodeReads(t *testing.T) {
	const n = maxDecodeDepth
	for _, inner := range []string{"1", "-2.5", `"s"`, "null", "true", "[]", "{}"} {
		text := strings.Repeat("[", n) + inner + strings.Repeat("]", n)
		if inner == "[]" || inner == "{}" {
			text = strings.Repeat("[", n-1) + inner + strings.Repeat("]", n-1)
		}
		v, err := starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{starlark.String(text)}, nil)
		if err != nil {
			t.Errorf("%s: decode: %v", inner, err)
			continue
		}
		back, err := starlark.Call(&starlark.Thread{}, Module.Members["encode"], starlark.Tuple{v}, nil)
		if err != nil || string(back.(starlark.String)) != text {
			t.Errorf("%s: encode(decode(x)) != x: %.200v", inner, err)
		}
	}
	// One more level is refused both ways.
	text := strings.Repeat("[", n) + "[1]" + strings.Repeat("]", n)
	if _, err := starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{starlark.String(text)}, nil); err == nil {
		t.Errorf("decode of %d levels succeeded", n+1)
	}
	v := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	for range n {
		v = starlark.NewList([]starlark.Value{v})
	}
	if _, err := starlark.Call(&starlark.Thread{}, Module.Members["encode"], starlark.Tuple{v}, nil); err == nil || !strings.HasSuffix(err.Error(), "a value nested more than 10000 deep") {
		t.Errorf("encode of %d levels: got %.200v, want too deep", n+1, err)
	}
}

// json.decode reads numbers and strings as RFC 8259 writes them, as
// json.indent does: it took "1.", "-.5" and "1.e3" (strconv.ParseFloat
// reads them) and raw control characters inside strings, which every
// other JSON reader refuses (coro patch, ORIGIN 55; found by FuzzDecode).
func TestDecodeIsStrict(t *testing.T) {
	for _, text := range []string{"1.", "-1.", "-.5", "1.e3", "0.E-1", "1e", "1e+", "-", "01", "\"\t\"", "\"a\x00b\"", "[\"\x1f\"]", "{\"\n\": 1}"} {
		if v, err := call("decode", starlark.String(text)); err == nil {
			t.Errorf("decode(%q) = %v, want an error", text, v)
		}
		if _, err := call("indent", starlark.String(text)); err == nil {
			t.Errorf("indent(%q) succeeded", text)
		}
	}
	for text, want := range map[string]string{
		"1.0": "1.0", "-0.5": "-0.5", "1e3": "1000.0", "0.5E-1": "0.05", "-0": "0", "0e0": "0.0",
		`"\t\u0000"`: `"\t\x00"`, "\"\x7f\"": `"\x7f"`, `{"\n": 1}`: `{"\n": 1}`,
	} {
		v, err := call("decode", starlark.String(text))
		if err != nil || v.String() != want {
			t.Errorf("decode(%q) = %v, %v, want %s", text, v, err, want)
		}
	}
}

// json.encode writes every string as JSON that json.decode reads back:
// DEL (0x7f) was written "\x7f" (strconv.Quote's escape, not JSON's), so
// encode(x) was text no reader took (coro patch, ORIGIN 55; found by
// FuzzDecode).
func TestEncodeEveryASCIIString(t *testing.T) {
	for b := range 0x80 {
		s := starlark.String([]byte{'a', byte(b), 'z'})
		enc, err := call("encode", s)
		if err != nil {
			t.Fatalf("encode(%v): %v", s, err)
		}
		if back, err := call("decode", enc); err != nil || back != s {
			t.Errorf("decode(encode(%v)) = decode(%v) = %v, %v", s, enc, back, err)
		}
	}
	if enc, _ := call("encode", starlark.String("\x7f")); enc != starlark.String("\"\x7f\"") {
		t.Errorf(`encode("\x7f") = %s, want the byte as it is`, enc)
	}
}

// json.indent writes what encoding/json.Indent wrote, whitespace and
// errors included (coro patch, ORIGIN 57: its own indenter).
func TestIndentIsJSONIndent(t *testing.T) {
	for _, src := range []string{
		`{"x":1,"y":["one","two"],"z":{},"w":[]}`,
		" \n [ 1 , { \"a\" : [ [ ] , { } , null ] , \"b\\\"]\" : \"\\\\\" } , true ]\t\r\n ",
		`"a string"`, `12.5e3 `, `[[[[]]]]`, `[{"":{"":[1,[2,[3]]]}}]`,
		`["[{,:}]", "\u00e9\"", "é"]`,
		strings.Repeat("[", 300) + strings.Repeat("]", 300),
		// errors
		``, ` `, `[1,]`, `{"a" 1}`, `[1] x`, `"open`, `!@#`, `[1 ]]`,
	} {
		for _, pi := range [][2]string{{"", "\t"}, {"¶", "–––"}, {"> ", ""}} {
			var want bytes.Buffer
			wantErr := json.Indent(&want, []byte(src), pi[0], pi[1])
			got, err := starlark.Call(&starlark.Thread{}, Module.Members["indent"], starlark.Tuple{starlark.String(src)},
				[]starlark.Tuple{{starlark.String("prefix"), starlark.String(pi[0])}, {starlark.String("indent"), starlark.String(pi[1])}})
			if wantErr != nil {
				if err == nil || err.Error() != "json.indent: "+wantErr.Error() {
					t.Errorf("indent(%.40q, %q): got %v, want %v", src, pi, err, wantErr)
				}
			} else if err != nil || string(got.(starlark.String)) != want.String() {
				t.Errorf("indent(%.40q, %q): got %.80q, %v, want %.80q", src, pi, got, err, want.String())
			}
		}
	}
	// Nesting past 10,000 is refused before anything is written (Indent
	// wrote 10,000 levels first: 50 GB with an indent of 1,000 bytes).
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	_, err := starlark.Call(&starlark.Thread{}, Module.Members["indent"], starlark.Tuple{starlark.String(deep)},
		[]starlark.Tuple{{starlark.String("indent"), starlark.String(" ")}})
	if want := "json.indent: invalid character '[' exceeded max depth"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// json.encode_indent and json.indent count their text before writing it,
// refuse it past maxEncoded (1 GiB, lowered here) and ask the thread's
// AllocChecker for it, and each line and 256 bytes written cost a step
// (coro patch, ORIGIN 57): 402 bytes of JSON nested 200 deep, indented by 100,000 spaces,
// made 4 GB in one Go call.
func TestIndentIsBounded(t *testing.T) {
	const deep = "def nest():\n    x = []\n    for i in range(200):\n        x = [x]\n    return x\nx = nest()\n"
	// The text of x indented by ind: 402 bytes, and 2 lines for each
	// of the 200 lists around the innermost [], which begin at levels
	// i+1 and i.
	size := func(ind int) int { return 402 + 2*200 + ind*200*200 }
	thread := &starlark.Thread{}
	globals, err := starlark.ExecFile(thread, "json.star", deep+"y = json.encode_indent(x, indent='  ')\nz = json.indent(json.encode(x), indent='  ')\n", starlark.StringDict{"json": Module})
	if y, _ := globals["y"].(starlark.String); err != nil || len(y) != size(2) || globals["z"] != y {
		t.Fatalf("got %d bytes, %v, want %d", len(y), err, size(2))
	}

	defer func(n int) { maxEncoded = n }(maxEncoded)
	maxEncoded = size(100) - 1
	for _, call := range []string{"json.encode_indent(x, indent=' ' * 100)", "json.indent(json.encode(x), indent=' ' * 100)", "json.indent(json.encode_indent(x), indent=' ' * 100)"} {
		_, err := starlark.ExecFile(&starlark.Thread{}, "json.star", deep+"y = "+call+"\n", starlark.StringDict{"json": Module})
		want := fmt.Sprintf("JSON text too long (more than %d bytes)", maxEncoded)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", call, err, want)
		}
	}
	maxEncoded = 1 << 30

	var asked []string
	thread = &starlark.Thread{Host: allocChecker(func(what string, n uint64) error {
		asked = append(asked, fmt.Sprintf("%s %d", what, n))
		return errors.New("refused")
	})}
	for _, call := range []string{"json.encode_indent(x, indent=' ' * 100)", "json.indent(json.encode(x), indent=' ' * 100)"} {
		_, err := starlark.ExecFile(thread, "json.star", deep+"y = "+call+"\n", starlark.StringDict{"json": Module})
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: got %v, want the refusal", call, err)
		}
	}
	if want := fmt.Sprintf("json.encode_indent %d; json.indent %d", size(100), size(100)); strings.Join(asked, "; ") != want {
		t.Errorf("asked %q, want %q", asked, want)
	}

	// The writing costs a step for each BytesPerStep bytes (4 MB: over
	// 15,000), so that it ends time slices as a loop would.
	thread = &starlark.Thread{}
	if _, err := starlark.ExecFile(thread, "json.star", deep+"y = json.encode_indent(x, indent=' ' * 100)\n", starlark.StringDict{"json": Module}); err != nil {
		t.Fatal(err)
	}
	if steps := thread.ExecutionSteps(); steps < uint64(size(100)/starlark.BytesPerStep) {
		t.Errorf("indenting %d bytes cost %d steps, want %d or more", size(100), steps, size(100)/starlark.BytesPerStep)
	}

	// Each line is a step: the step limit stops a long indentation.
	thread = &starlark.Thread{}
	thread.SetMaxExecutionSteps(50_000)
	x := strings.Repeat("[0,0,0,0,0,0,0,0,0,0],", 10000)
	_, err = starlark.Call(thread, Module.Members["indent"], starlark.Tuple{starlark.String("[" + x + "[]]")}, nil)
	if err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("got %v, want the step limit", err)
	}
}

// allocChecker is a thread Host that checks allocations with a function.
type allocChecker func(what string, bytes uint64) error

func (c allocChecker) CheckAlloc(_ *starlark.Thread, what string, bytes uint64) error {
	return c(what, bytes)
}

// json.decode charges a step per value it reads and a step per
// BytesPerStep of a string's text, so the step limit (and Cancel) stops
// a long decode, even one that would give its default; and ints of up
// to 18 digits, read without math/big, are the same ints (coro patch,
// ORIGIN 63).
func TestDecodeCountsSteps(t *testing.T) {
	many := "[" + strings.Repeat(`{"a": 1, "b": [true, null, "x"]},`, 100_000) + "0]"
	long := `"` + strings.Repeat("x", 10_000_000) + `"`
	for _, text := range []string{many, long} {
		for _, args := range []starlark.Tuple{{starlark.String(text)}, {starlark.String(text), starlark.None}} {
			thread := &starlark.Thread{}
			thread.SetMaxExecutionSteps(10_000)
			_, err := starlark.Call(thread, Module.Members["decode"], args, nil)
			if err == nil || !strings.Contains(err.Error(), "too many steps") {
				t.Errorf("%.20s... (%d args): got %v, want the step limit", text, len(args), err)
			}
		}
	}
	thread := &starlark.Thread{}
	if _, err := starlark.Call(thread, Module.Members["decode"], starlark.Tuple{starlark.String(many)}, nil); err != nil {
		t.Fatal(err)
	} else if steps := thread.ExecutionSteps(); steps < 700_000 {
		t.Errorf("decoding 700,001 values cost %d steps", steps)
	}

	for _, text := range []string{"0", "-0", "7", "-7", "123456789012345678", "-123456789012345678",
		"999999999999999999", "1234567890123456789", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "123456789012345678901234567890"} {
		v, err := starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{starlark.String(text)}, nil)
		want, _ := new(big.Int).SetString(text, 10)
		if err != nil || v.String() != want.String() {
			t.Errorf("decode(%s) = %v, %v", text, v, err)
		}
		if eq, err := starlark.Equal(v, starlark.MakeBigInt(want)); err != nil || !eq {
			t.Errorf("decode(%s) = %v, not equal to the int %s", text, v, want)
		}
	}
}

// BenchmarkDecode measures json.decode of a document of small objects
// (ints, strings, lists, literals), as an API's response is.
func BenchmarkDecode(b *testing.B) {
	text := starlark.String("[" + strings.Repeat(`{"id": 12345, "name": "some name", "tags": ["a", "b"], "ok": true, "score": 1.5},`, 10_000) + "0]")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := starlark.Call(&starlark.Thread{}, Module.Members["decode"], starlark.Tuple{text}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
