// Package pycheck compares what coro's batteries modules compute with what
// CPython's own modules compute, for the modules' tests: each case is an
// expression evaluated by a script and by python3, whose results, made
// JSON, must be equal. Without python3 the comparison is skipped.
package pycheck

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
)

// A Case is one expression: Star for coro, Py for CPython (Star when
// empty). A case whose expression fails must fail on both sides.
type Case struct{ Star, Py string }

// C is a case written the same in both languages.
func C(expr string) Case { return Case{Star: expr} }

// Run executes src on a fresh engine whose scripts see the core builtins,
// generators, json and modules, with every permission, and returns what
// it printed.
func Run(t testing.TB, modules starlark.StringDict, src string) string {
	t.Helper()
	var out, diag bytes.Buffer
	pre := loop.Builtins()
	for k, v := range generator.Builtins() {
		pre[k] = v
	}
	pre["json"] = json.Module
	for k, v := range modules {
		pre[k] = v
	}
	e := loop.New(loop.Options{Stdout: &out, Stderr: &diag, Seed: 1, Permissions: loop.AllPermissions()}, pre)
	defer e.Close()
	if _, err := e.Exec(context.Background(), "pycheck.star", src); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), diag.String())
	}
	// stderr, apart: a loaded machine's slow-task warnings go there.
	return out.String()
}

// starNorm turns script values into JSON-able ones: bytes into
// {"bytes": [ints]}, and any value of a type in normTypes through the
// function given for it.
const starNorm = `
def _norm(v):
    t = type(v)
    if t == "bytes":
        return {"bytes": list(v.elems())}
    if t in ("list", "tuple"):
        return [_norm(x) for x in v]
    if t == "dict":
        return {str(k): _norm(x) for k, x in v.items()}
    if t in _types:
        return _norm(_types[t](v))
    return v
`

const pyNorm = `
import json as _json
def _norm(v):
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": list(v)}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items()}
    for t, f in _types:
        if isinstance(v, t):
            return _norm(f(v))
    return v
def _show(f):
    try:
        v = f()
    except Exception as e:
        print("ERROR")
        return
    try:
        print(_json.dumps(_norm(v), sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    except TypeError as e:
        print("UNSERIALIZABLE", e)
`

// Compare evaluates every case in a script (with modules, after
// starPrelude, which must define _types: a dict from type name to a
// function making a value of that type JSON-able) and in python3 (after
// pyPrelude, which must define _types as a list of (type, function)), and
// fails the test for each case whose results differ.
func Compare(t *testing.T, modules starlark.StringDict, starPrelude, pyPrelude string, cases []Case) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	var star, py strings.Builder
	star.WriteString(starPrelude + starNorm)
	py.WriteString(pyPrelude + pyNorm)
	for _, c := range cases {
		p := c.Py
		if p == "" {
			p = c.Star
		}
		fmt.Fprintf(&star, "_r = catch(lambda: %s)\nprint(json.encode(_norm(_r.value)) if _r.ok else \"ERROR\")\n", c.Star)
		fmt.Fprintf(&py, "_show(lambda: %s)\n", p)
	}
	// json.encode writes &, < and > as Go's encoder does in strings that
	// are not all printable ASCII; CPython never escapes them.
	html := strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">")
	got := strings.Split(strings.TrimSuffix(html.Replace(Run(t, modules, star.String())), "\n"), "\n")
	cmd := exec.Command(python, "-")
	cmd.Stdin = strings.NewReader(py.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(cases) || len(want) != len(cases) {
		t.Fatalf("%d cases, but coro printed %d lines and python3 %d", len(cases), len(got), len(want))
	}
	for i, c := range cases {
		if got[i] != want[i] {
			t.Errorf("%s\n  coro:    %s\n  CPython: %s", c.Star, got[i], want[i])
		}
	}
}
