package yaml

import (
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

func exec(th *starlark.Thread, src string) (starlark.StringDict, error) {
	return starlark.ExecFile(th, "yaml.star", src, starlark.StringDict{"yaml": Module()})
}

// laughs is the nine-level "billion laughs" document: decoded, each
// alias is its anchor's value, so x is a few dozen cells and a text of
// some 15 GB.
const laughs = `doc = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
x = yaml.decode(doc)
`

// A value whose parts are shared has a text exponentially longer than
// itself: the text stops at maxEncoded, checked as it is written, and
// each value written costs a step, so the step limit (coro's time
// slices, a cancellation) reaches it.
func TestEncodeOfSharedPartsIsBounded(t *testing.T) {
	defer func(n int) { maxEncoded = n }(maxEncoded)
	maxEncoded = 1 << 16
	_, err := exec(&starlark.Thread{}, laughs+"y = yaml.encode(x)\n")
	if err == nil || !strings.Contains(err.Error(), "yaml.encode: ") || !strings.Contains(err.Error(), "YAML text too long (more than 65536 bytes)") {
		t.Errorf("got %v, want text too long", err)
	}
	if err == nil || !strings.Contains(err.Error(), `yaml.encode: in dict key "d": at list index 5: at list index 4: `) {
		t.Errorf("got %v, want where the text passed the bound", err)
	}
	maxEncoded = 1 << 30
	th := &starlark.Thread{}
	th.SetMaxExecutionSteps(10_000)
	if _, err := exec(th, laughs+"y = yaml.encode(x)\n"); err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("got %v, want the step limit", err)
	}
	// A text that fits is written whole.
	globals, err := exec(&starlark.Thread{}, "y = yaml.encode([[0] * 10] * 10)")
	if y, _ := globals["y"].(starlark.String); err != nil || len(y) != 10*(6+9*6) || !strings.HasPrefix(string(y), "- - 0\n  - 0\n") {
		t.Errorf("got %q, %v", globals["y"], err)
	}
}

// A struct's field is named in an error's path.
func TestEncodeErrorNamesField(t *testing.T) {
	s := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"a": starlark.MakeInt(1),
		"b": starlark.NewList([]starlark.Value{starlark.None, Module()}),
	})
	_, err := starlark.Call(&starlark.Thread{}, Module().Members["encode"], starlark.Tuple{starlark.Tuple{s}}, nil)
	if want := "value: yaml.encode: at tuple index 0: in field .b: at list index 1: cannot encode a module"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
