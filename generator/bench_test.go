package generator_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/require"
)

// BenchmarkEmit measures one item through a script generator consumed by a
// for loop: the body's loop step and emit call, two coroutine switches and
// the consumer's loop step (small ints: no big.Int arithmetic, unlike
// bench/coro/gen.star, whose running sum outgrows int32).
func BenchmarkEmit(b *testing.B) {
	src := fmt.Sprintf(`
def count(n):
    i = 0
    while i < n:
        emit(i)
        i += 1
s = 0
for x in generator(count, %d):
    s += 1
`, b.N)
	benchExec(b, src, nil)
}

// BenchmarkEmitBaseline is BenchmarkEmit's Starlark work without the
// generator (the body's loop calling a no-op builtin, then the consumer's
// loop over a range): the difference is what a generator item costs.
func BenchmarkEmitBaseline(b *testing.B) {
	src := fmt.Sprintf(`
def count(n):
    i = 0
    while i < n:
        noop(i)
        i += 1
count(%d)
s = 0
for x in range(%d):
    s += 1
`, b.N, b.N)
	noop := starlark.NewBuiltin("noop", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.None, nil
	})
	benchExec(b, src, starlark.StringDict{"noop": noop})
}

// BenchmarkCoroutineBody measures a generator whose body moves to a
// coroutine of its own (it calls sorted with a key, a builtin that calls
// back into it): the coroutine's start, known as running the loop's code
// (loop.Engine.AsLoopCode), and its one item.
func BenchmarkCoroutineBody(b *testing.B) {
	src := fmt.Sprintf(`
def body():
    emit(sorted([2, 1], key=lambda x: x)[0])
s = 0
for i in range(%d):
    for x in generator(body):
        s += x
`, b.N)
	benchExec(b, src, nil)
}

// benchExec times running src on a fresh engine with extra globals.
func benchExec(b *testing.B, src string, globals starlark.StringDict) {
	b.Helper()
	e, err := newEngine(loop.Options{Stdout: io.Discard, Stderr: io.Discard, Globals: globals})
	require.NoError(b, err)
	defer e.Close()
	b.ReportAllocs()
	b.ResetTimer()
	_, err = e.Exec(context.Background(), "bench.star", src)
	require.NoError(b, err)
}
