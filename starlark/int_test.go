// Copyright 2017 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package starlark

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/big"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark/syntax"
)

// TestIntOpts exercises integer arithmetic, especially at the boundaries.
func TestIntOpts(t *testing.T) {
	f := MakeInt64
	// coro patch: every int64 is small; big only beyond.
	left, right := big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	b := func(s string) Int {
		z, ok := new(big.Int).SetString(s, 0)
		if !ok {
			t.Fatalf("bad number %s", s)
		}
		return MakeBigInt(z)
	}

	for i, test := range []struct {
		val  Int
		want string
	}{
		// Add
		{f(math.MaxInt32).Add(f(1)), "80000000"},
		{f(math.MinInt32).Add(f(-1)), "-80000001"},
		// Mul
		{f(math.MaxInt32).Mul(f(math.MaxInt32)), "3fffffff00000001"},
		{f(math.MinInt32).Mul(f(math.MinInt32)), "4000000000000000"},
		{f(math.MaxUint32).Mul(f(math.MaxUint32)), "fffffffe00000001"},
		{f(math.MinInt32).Mul(f(-1)), "80000000"},
		// Div
		{f(math.MinInt32).Div(f(-1)), "80000000"},
		{f(1 << 31).Div(f(2)), "40000000"},
		// And
		{f(math.MaxInt32).And(f(math.MaxInt32)), "7fffffff"},
		{f(math.MinInt32).And(f(math.MinInt32)), "-80000000"},
		{f(1 << 33).And(f(1 << 32)), "0"},
		// Mod
		{f(1 << 32).Mod(f(2)), "0"},
		// Or
		{f(1 << 32).Or(f(0)), "100000000"},
		{f(math.MaxInt32).Or(f(0)), "7fffffff"},
		{f(math.MaxUint32).Or(f(0)), "ffffffff"},
		{f(math.MinInt32).Or(f(math.MinInt32)), "-80000000"},
		// Xor
		{f(math.MinInt32).Xor(f(-1)), "7fffffff"},
		// Not
		{f(math.MinInt32).Not(), "7fffffff"},
		{f(math.MaxInt32).Not(), "-80000000"},
		// Shift
		{f(1).Lsh(31), "80000000"},
		{f(1).Lsh(32), "100000000"},
		{f(math.MaxInt32 + 1).Rsh(1), "40000000"},
		{f(math.MinInt32 * 2).Rsh(1), "-80000000"},

		// coro patch: the boundaries of the int64 range.
		// Add, Sub
		{f(math.MaxInt64).Add(f(1)), "8000000000000000"},
		{f(math.MaxInt64).Add(f(0)), "7fffffffffffffff"},
		{f(math.MinInt64).Add(f(-1)), "-8000000000000001"},
		{f(math.MinInt64).Add(f(math.MaxInt64)), "-1"},
		{f(math.MaxInt64).Add(f(math.MaxInt64)), "fffffffffffffffe"},
		{f(math.MinInt64).Add(f(math.MinInt64)), "-10000000000000000"},
		{f(math.MaxInt32).Add(f(math.MaxInt32)), "fffffffe"},
		{f(math.MaxInt64).Sub(f(-1)), "8000000000000000"},
		{f(math.MinInt64).Sub(f(1)), "-8000000000000001"},
		{f(math.MinInt64).Sub(f(math.MinInt64)), "0"},
		{f(-1).Sub(f(math.MinInt64)), "7fffffffffffffff"},
		{f(0).Sub(f(math.MinInt64)), "8000000000000000"},
		{b("0x8000000000000000").Sub(f(1)), "7fffffffffffffff"},
		{b("-0x8000000000000001").Add(f(1)), "-8000000000000000"},
		// Mul
		{f(math.MinInt64).Mul(f(-1)), "8000000000000000"},
		{f(-1).Mul(f(math.MinInt64)), "8000000000000000"},
		{f(math.MinInt64).Mul(f(1)), "-8000000000000000"},
		{f(1).Mul(f(math.MinInt64)), "-8000000000000000"},
		{f(math.MinInt64).Mul(f(0)), "0"},
		{f(1 << 62).Mul(f(2)), "8000000000000000"},
		{f(1 << 62).Mul(f(-2)), "-8000000000000000"},
		{f(-(1 << 62)).Mul(f(2)), "-8000000000000000"},
		{f(1 << 32).Mul(f(1 << 31)), "8000000000000000"},
		{f(1 << 32).Mul(f(1 << 32)), "10000000000000000"},
		{f(math.MaxInt64).Mul(f(math.MaxInt64)), "3fffffffffffffff0000000000000001"},
		{f(3037000499).Mul(f(3037000499)), "7ffffffe9ea1dc29"},
		{f(3037000500).Mul(f(-3037000500)), "-8000000008abc290"},
		// Div, Mod
		{f(math.MinInt64).Div(f(-1)), "8000000000000000"},
		{f(math.MinInt64).Div(f(1)), "-8000000000000000"},
		{f(math.MinInt64).Mod(f(-1)), "0"},
		{f(math.MinInt64).Div(f(2)), "-4000000000000000"},
		{f(-7).Div(f(2)), "-4"},
		{f(-7).Mod(f(2)), "1"},
		{f(7).Mod(f(-2)), "-1"},
		{b("0x8000000000000000").Div(f(-1)), "-8000000000000000"},
		// Unary minus
		{f(0).Sub(f(math.MaxInt64)), "-7fffffffffffffff"},
		// Shift
		{f(1).Lsh(62), "4000000000000000"},
		{f(1).Lsh(63), "8000000000000000"},
		{f(-1).Lsh(63), "-8000000000000000"},
		{f(-2).Lsh(63), "-10000000000000000"},
		{f(3).Lsh(62), "c000000000000000"},
		{f(1).Lsh(100), "10000000000000000000000000"},
		{f(math.MinInt64).Rsh(63), "-1"},
		{f(math.MinInt64).Rsh(200), "-1"},
		{f(math.MaxInt64).Rsh(200), "0"},
		{b("0x10000000000000000").Rsh(1), "8000000000000000"},
		{b("0x10000000000000000").Rsh(2), "4000000000000000"},
		// Not, Xor
		{f(math.MinInt64).Not(), "7fffffffffffffff"},
		{f(math.MaxInt64).Xor(f(-1)), "-8000000000000000"},
		// MakeUint64
		{MakeUint64(math.MaxInt64), "7fffffffffffffff"},
		{MakeUint64(math.MaxInt64 + 1), "8000000000000000"},
	} {
		if got := fmt.Sprintf("%x", test.val); got != test.want {
			t.Errorf("%d equals %s, want %s", i, got, test.want)
		}
		small, big := test.val.get()
		if big == nil {
			continue
		}
		if small != 0 {
			t.Errorf("expected 0 small, %d %s with %d", i, test.val, small)
		}
		if big.Cmp(left) >= 0 && big.Cmp(right) <= 0 {
			t.Errorf("expected small, %d %s", i, test.val)
		}
	}
}

func TestImmutabilityMakeBigInt(t *testing.T) {
	// use max int64 for the test
	expect := int64(^uint64(0) >> 1)

	mutint := big.NewInt(expect)
	value := MakeBigInt(mutint)
	mutint.Set(big.NewInt(1))

	got, _ := value.Int64()
	if got != expect {
		t.Errorf("expected %d, got %d", expect, got)
	}
}

func TestImmutabilityBigInt(t *testing.T) {
	// use 1 and max int64 for the test
	for _, expect := range []int64{1, int64(^uint64(0) >> 1)} {
		value := MakeBigInt(big.NewInt(expect))

		bigint := value.BigInt()
		bigint.Set(big.NewInt(2))

		got, _ := value.Int64()
		if got != expect {
			t.Errorf("expected %d, got %d", expect, got)
		}
	}
}

// TestIntFallback creates a small Int value in a child process with
// limited address space to ensure that it still works, but prints a warning.
func TestIntFallback(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("test disabled on this platform (requires ulimit -v)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("can't find file name of executable: %v", err)
	}
	// ulimit -v limits the address space in KB. Not portable.
	// 4GB is enough for the Go runtime but not for the optimization.
	cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf("ulimit -v 4000000 && %q --entry=intfallback", exe))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("intfallback subcommand failed: %v\n%s", err, out)
	}

	// Check the warning was printed.
	if !strings.Contains(string(out), "Integer performance may suffer") {
		t.Errorf("expected warning was not printed. Output=<<%s>>", out)
	}
}

// intfallback is called in a child process with limited address space.
func intfallback() {
	const want = 123
	if got, _ := MakeBigInt(big.NewInt(want)).Int64(); got != want {
		log.Fatalf("intfallback: got %d, want %d", got, want)
	}
}

// The --entry flag invokes an alternate entry point, for use in subprocess tests.
var testEntry = flag.String("entry", "", "child process entry-point")

func TestMain(m *testing.M) {
	// In some build systems, notably Blaze, flag.Parse is called before TestMain,
	// in violation of the TestMain contract, making this second call a no-op.
	flag.Parse()
	switch *testEntry {
	case "":
		os.Exit(m.Run()) // normal case
	case "intfallback":
		intfallback()
	default:
		log.Fatalf("unknown entry point: %s", *testEntry)
	}
}

// Ints round-trip at the edges of the small range, inside and outside it,
// and in its arithmetic; within it an Int boxed as a Value allocates
// nothing (coro patch, ORIGIN 22: the range is ±2^43 where the address
// space allows it).
func TestSmallIntSpan(t *testing.T) {
	if smallints == 0 {
		t.Skip("the small-int reservation failed here")
	}
	half := int64(smallSpan / 2)
	for _, x := range []int64{0, -1, math.MinInt32, math.MaxInt32, math.MaxInt32 + 1, half - 1, -half, half, -half - 1, math.MaxInt64, math.MinInt64} {
		i := MakeInt64(x)
		if got, ok := i.Int64(); !ok || got != x {
			t.Errorf("MakeInt64(%d).Int64() = %d, %v", x, got, ok)
		}
		if got := i.Add(MakeInt(1)).Sub(MakeInt(1)); got.String() != i.String() {
			t.Errorf("%d + 1 - 1 = %s", x, got)
		}
	}
	var sink Value
	n := testing.AllocsPerRun(100, func() { sink = MakeInt64(half - 1) })
	if n != 0 {
		t.Errorf("an int at the top of the small range allocates (%v)", n)
	}
	if !raceEnabled && half < 1<<43 {
		t.Errorf("small range ±%d, want ±2^43 where the address space allows it", half)
	}
	_ = sink
}

// TestIntFastPath: the interpreter's own addition, subtraction and
// comparison of ints that fit in int64 (coro patch, ORIGIN 26) give what
// Binary and Compare give, at the small-int span's edges and at int64's,
// where a sum overflows into a big int.
func TestIntFastPath(t *testing.T) {
	half := int64(smallSpan / 2)
	big64 := new(big.Int).Lsh(big.NewInt(1), 64)
	vals := []Int{MakeInt64(0), MakeInt64(1), MakeInt64(-1), MakeInt64(half - 1), MakeInt64(-half),
		MakeInt64(half), MakeInt64(math.MaxInt64), MakeInt64(math.MinInt64), MakeInt64(math.MaxInt64 - 1), MakeBigInt(big64)}
	prog := `
def f(x, y):
    inplace = x
    inplace += y
    return x + y, x - y, inplace, [x == y, x != y, x < y, x <= y, x > y, x >= y]
plus, minus, inplace, cmp = f(x, y)
`
	ops := []syntax.Token{syntax.EQL, syntax.NEQ, syntax.LT, syntax.LE, syntax.GT, syntax.GE}
	for _, x := range vals {
		for _, y := range vals {
			got, err := ExecFileOptions(&syntax.FileOptions{}, &Thread{}, "fast.star", prog, StringDict{"x": x, "y": y})
			if err != nil {
				t.Fatalf("%s, %s: %v", x, y, err)
			}
			for name, op := range map[string]syntax.Token{"plus": syntax.PLUS, "minus": syntax.MINUS, "inplace": syntax.PLUS} {
				want, _ := Binary(op, x, y)
				if got[name].String() != want.String() {
					t.Errorf("%s %s %s = %s, want %s", x, op, y, got[name], want)
				}
			}
			for i, op := range ops {
				want, _ := Compare(op, x, y)
				if g := got["cmp"].(*List).Index(i); g != Bool(want) {
					t.Errorf("%s %s %s = %s, want %t", x, op, y, g, want)
				}
			}
		}
	}
}

// int(s) reads at most syntax.MaxIntDigits digits in a base that is not
// a power of two: math/big reads them in quadratic time, one Go call no
// step limit or cancellation interrupts (int of a million digits took
// 1.7 s, of a 64 MB request body hours). Text that is not a number is
// still "invalid literal", however long (coro patch, ORIGIN 54).
func TestIntDigitsBound(t *testing.T) {
	long := strings.Repeat("7", syntax.MaxIntDigits)
	for _, c := range []struct {
		expr string
		want string // the error; "" for none
	}{
		{`int(s)`, ""},
		{`int("-" + s)`, ""},
		{`int(s + "7")`, "int: integer too long: 4301 digits in base 10, more than 4300"},
		{`int("-" + s + "7")`, "int: integer too long: 4301 digits in base 10, more than 4300"},
		{`int("7" * 1000000)`, "int: integer too long: 1000000 digits in base 10, more than 4300"},
		{`int(s + "7", 36)`, "int: integer too long: 4301 digits in base 36, more than 4300"},
		{`int(s + "7", 8)`, ""},
		{`int("f" * 100000, 16)`, ""},
		{`int("0x" + "f" * 100000, 0)`, ""},
		{`int("1" * 100000, 2)`, ""},
		{`int(s + "7x")`, "int: invalid literal with base 10: " + long + "7x"},
	} {
		thread := new(Thread)
		_, err := Eval(thread, "int.star", c.expr, StringDict{"s": String(long)})
		if got := fmt.Sprint(err); c.want == "" && err != nil || c.want != "" && got != c.want {
			t.Errorf("%s: got %.120s, want %.120q", c.expr, got, c.want)
		}
	}
}
