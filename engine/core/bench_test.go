package core_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/corolang/coro/engine/core"
)

// runBench runs src on a fresh engine with b.N available as N.
func runBench(b *testing.B, src string, virtual bool) {
	b.Helper()
	eng, _ := newEngine(core.Options{Stdout: io.Discard, Stderr: io.Discard, VirtualTime: virtual})
	defer eng.Close()
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := eng.Exec(context.Background(), "bench.star", fmt.Sprintf("N = %d\n%s", b.N, src)); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSpawnFinish measures spawning a task that returns at once, and joining it.
func BenchmarkSpawnFinish(b *testing.B) {
	runBench(b, `
def f(): return 1
for i in range(N):
    spawn(f).wait()
`, false)
}

// BenchmarkSpawnMany measures spawning N tasks at once, then joining them all.
func BenchmarkSpawnMany(b *testing.B) {
	runBench(b, `
def f(i): return i
join(*[spawn(f, i) for i in range(N)])
`, false)
}

// BenchmarkSleepZero measures one trip through the loop: sleep(0) with two tasks ready.
func BenchmarkSleepZero(b *testing.B) {
	runBench(b, `
def other():
    for i in range(N):
        sleep(0)
t = spawn(other)
for i in range(N):
    sleep(0)
t.wait()
`, false)
}

// BenchmarkTimers measures inserting and firing N timers (virtual clock).
func BenchmarkTimers(b *testing.B) {
	runBench(b, `
def w(i):
    sleep((i % 1000) / 1000.0)
join(*[spawn(w, i) for i in range(N)])
`, true)
}
