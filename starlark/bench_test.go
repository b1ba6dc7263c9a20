// Copyright 2018 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package starlark_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/starlark/starlarktest"
	"github.com/corolang/coro/starlark/syntax"
)

func BenchmarkStarlark(b *testing.B) {
	starlark.Universe["json"] = json.Module

	testdata := starlarktest.DataFile("starlark", ".")
	thread := new(starlark.Thread)
	for _, file := range []string{
		"testdata/benchmark.star",
		// ...
	} {

		filename := filepath.Join(testdata, file)

		src, err := os.ReadFile(filename)
		if err != nil {
			b.Error(err)
			continue
		}
		opts := getOptions(string(src))

		// Evaluate the file once.
		globals, err := starlark.ExecFileOptions(opts, thread, filename, src, nil)
		if err != nil {
			reportEvalError(b, err)
		}

		// Repeatedly call each global function named bench_* as a benchmark.
		for _, name := range globals.Keys() {
			value := globals[name]
			if fn, ok := value.(*starlark.Function); ok && strings.HasPrefix(name, "bench_") {
				b.Run(name, func(b *testing.B) {
					_, err := starlark.Call(thread, fn, starlark.Tuple{benchmark{b}}, nil)
					if err != nil {
						reportEvalError(b, err)
					}
				})
			}
		}
	}
}

// A benchmark is passed to each bench_xyz(b) function in a bench_*.star file.
// It provides b.n, the number of iterations that must be executed by the function,
// which is typically of the form:
//
//	def bench_foo(b):
//	   for _ in range(b.n):
//	      ...work...
//
// It also provides stop, start, and restart methods to stop the clock in case
// there is significant set-up work that should not count against the measured
// operation.
//
// (This interface is inspired by Go's testing.B, and is also implemented
// by the java.starlark.net implementation; see
// https://github.com/bazelbuild/starlark/pull/75#pullrequestreview-275604129.)
type benchmark struct {
	b *testing.B
}

func (benchmark) Freeze()               {}
func (benchmark) Truth() starlark.Bool  { return true }
func (benchmark) Type() string          { return "benchmark" }
func (benchmark) String() string        { return "<benchmark>" }
func (benchmark) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: benchmark") }
func (benchmark) AttrNames() []string   { return []string{"n", "restart", "start", "stop"} }
func (b benchmark) Attr(name string) (starlark.Value, error) {
	switch name {
	case "n":
		return starlark.MakeInt(b.b.N), nil
	case "restart":
		return benchmarkRestart.BindReceiver(b), nil
	case "start":
		return benchmarkStart.BindReceiver(b), nil
	case "stop":
		return benchmarkStop.BindReceiver(b), nil
	}
	return nil, nil
}

var (
	benchmarkRestart = starlark.NewBuiltin("restart", benchmarkRestartImpl)
	benchmarkStart   = starlark.NewBuiltin("start", benchmarkStartImpl)
	benchmarkStop    = starlark.NewBuiltin("stop", benchmarkStopImpl)
)

func benchmarkRestartImpl(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	b.Receiver().(benchmark).b.ResetTimer()
	return starlark.None, nil
}

func benchmarkStartImpl(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	b.Receiver().(benchmark).b.StartTimer()
	return starlark.None, nil
}

func benchmarkStopImpl(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	b.Receiver().(benchmark).b.StopTimer()
	return starlark.None, nil
}

// BenchmarkProgram measures operations relevant to compiled programs.
// TODO(adonovan): use a bigger testdata program.
func BenchmarkProgram(b *testing.B) {
	// Measure time to read a source file (approx 600us but depends on hardware and file system).
	filename := starlarktest.DataFile("starlark", "testdata/paths.star")
	var src []byte
	b.Run("read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var err error
			src, err = os.ReadFile(filename)
			if err != nil {
				b.Fatal(err)
			}
		}
	})

	// Measure time to turn a source filename into a compiled program (approx 450us).
	var prog *starlark.Program
	b.Run("compile", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var err error
			_, prog, err = starlark.SourceProgram(filename, src, starlark.StringDict(nil).Has)
			if err != nil {
				b.Fatal(err)
			}
		}
	})

	// Measure time to encode a compiled program to a memory buffer
	// (approx 20us; was 75-120us with gob encoding).
	var out bytes.Buffer
	b.Run("encode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out.Reset()
			if err := prog.Write(&out); err != nil {
				b.Fatal(err)
			}
		}
	})

	// Measure time to decode a compiled program from a memory buffer
	// (approx 20us; was 135-250us with gob encoding)
	b.Run("decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			in := bytes.NewReader(out.Bytes())
			if _, err := starlark.CompiledProgram(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// runSource runs src, with N = b.N, and reports its time (coro patch:
// the benchmarks below are of interpreter hot paths coro's work needs).
func runSource(b *testing.B, src string) {
	b.Helper()
	thread := new(starlark.Thread)
	opts := &syntax.FileOptions{While: true, Recursion: true, TopLevelControl: true, GlobalReassign: true}
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := starlark.ExecFileOptions(opts, thread, "bench.star", fmt.Sprintf("N = %d\n%s", b.N, src), nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIntSum64 adds int64s past 2^31: a running sum (coro patch: the
// small range is int64, no longer int32 backed by math/big).
func BenchmarkIntSum64(b *testing.B) {
	runSource(b, `
s = 1 << 40
for i in range(N):
    s += i
`)
}

// BenchmarkIntSum32 adds int32s, for comparison.
func BenchmarkIntSum32(b *testing.B) {
	runSource(b, `
s = 0
for i in range(N):
    s = (s + i) & 0xffff
`)
}

// BenchmarkStringCompare compares strings as a read loop does (data ==
// ""), and orders them (coro patch, ORIGIN 74: the interpreter compares
// two strings without the general path).
func BenchmarkStringCompare(b *testing.B) {
	runSource(b, `
data, other = "some bytes", "other"
for i in range(N):
    data == ""
    data < other
`)
}

// BenchmarkCallLevel calls a Starlark function from Starlark, a level of
// recursion per op (coro patch: the size of a call level's Go frame).
func BenchmarkCallLevel(b *testing.B) {
	runSource(b, `
def f(n):
    if n > 0:
        f(n - 1)
for i in range(N // 100):
    f(100)
`)
}

// BenchmarkBuiltinCall calls a builtin that borrows its arguments
// (coro patch: no copy of them per call).
func BenchmarkBuiltinCall(b *testing.B) {
	runSource(b, `
x = [1, 2, 3]
for i in range(N):
    len(x)
`)
}

// BenchmarkSmallAllocs concatenates and repeats small strings, lists and
// tuples and joins a few strings: the operators that ask the thread's
// AllocChecker before a large allocation (coro patch, ORIGIN 47) cost one
// comparison for a small one.
func BenchmarkSmallAllocs(b *testing.B) {
	runSource(b, `
s, l, t = "ab", [1, 2], (1, 2)
for i in range(N):
    x = s + s
    y = s * 3
    z = l + l
    w = t * 2
    v = ",".join((s, s))
    u = s.replace("a", "xy")
`)
}

// benchSorted sorts a shuffled list of n values made by mk, per op
// (coro patch, ORIGIN 48: each comparison of sorted charges a step).
func benchSorted(b *testing.B, n int, mk func(i int) starlark.Value, kwargs []starlark.Tuple) {
	elems := make([]starlark.Value, n)
	x := uint32(1)
	for i := range elems {
		x = x*1664525 + 1013904223
		elems[i] = mk(int(x >> 8))
	}
	list := starlark.NewList(elems)
	sorted := starlark.Universe["sorted"]
	thread := &starlark.Thread{}
	thread.SetMaxExecutionSteps(1 << 62)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := starlark.Call(thread, sorted, starlark.Tuple{list}, kwargs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSortInts(b *testing.B) {
	benchSorted(b, 100000, func(i int) starlark.Value { return starlark.MakeInt(i) }, nil)
}

func BenchmarkSortStrings(b *testing.B) {
	benchSorted(b, 100000, func(i int) starlark.Value { return starlark.String(fmt.Sprint(i)) }, nil)
}

func BenchmarkSortIntsReverse(b *testing.B) {
	benchSorted(b, 100000, func(i int) starlark.Value { return starlark.MakeInt(i) },
		[]starlark.Tuple{{starlark.String("reverse"), starlark.True}})
}
