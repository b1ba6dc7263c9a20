package starlark_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
)

// TestAllocChecker: an operator or builtin about to make a value of
// AllocCheckMin bytes or more asks its thread's AllocChecker, with its name and
// size, and fails with its refusal before allocating; smaller values do
// not ask (coro patch, ORIGIN 47).
func TestAllocChecker(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`"ab" * 1000000`, "string repeat 2000000"},
		{`b"ab" * 1000000`, "bytes repeat 2000000"},
		{`[0] * 100000`, "list repeat 1600000"},
		{`(0,) * 100000`, "tuple repeat 1600000"},
		{`big + big`, "string concatenation 2000000"},
		{`biglist + biglist`, "list concatenation 3200000"},
		{`bigtuple + bigtuple`, "tuple concatenation 3200000"},
		{`",".join([big, big])`, "str.join 2000001"},
		{`big.replace("x", "yy")`, "str.replace 2000000"},
		{`big.replace("x", "yy", 10)`, ""},                            // 1000010 bytes: below AllocCheckMin
		{`("%1000000d" * 2) % (1, 2)`, "string formatting 2000000"},   // known from the widths
		{`("%s" * 3) % (big, big, big)`, "string formatting 2000000"}, // as the text grows
		{`("{0}" * 3).format(big)`, "str.format 2000000"},
		{`"ab" * 1000`, ""},
		{`"x".replace("x", "yy")`, ""},
	} {
		var asked []string
		thread := &starlark.Thread{Host: allocChecker(func(what string, n uint64) error {
			asked = append(asked, fmt.Sprintf("%s %d", what, n))
			return errors.New("refused")
		})}
		predeclared := starlark.StringDict{
			"big":      starlark.String(strings.Repeat("x", 1000000)),
			"biglist":  starlark.NewList(make([]starlark.Value, 100000)),
			"bigtuple": make(starlark.Tuple, 100000),
		}
		_, err := starlark.Eval(thread, "alloc.star", tc.src, predeclared)
		got := strings.Join(asked, "; ")
		want := tc.want
		if got != want {
			t.Errorf("%s: asked %q, want %q", tc.src, got, want)
		}
		if (want != "") != (err != nil && strings.Contains(err.Error(), "refused")) {
			t.Errorf("%s: err = %v", tc.src, err)
		}
	}
}

// allocChecker is a thread Host that checks allocations with a function.
type allocChecker func(what string, bytes uint64) error

func (c allocChecker) CheckAlloc(_ *starlark.Thread, what string, bytes uint64) error {
	return c(what, bytes)
}
