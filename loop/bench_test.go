package loop_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/require"
)

// runBench runs src on a fresh engine with b.N available as N.
func runBench(b *testing.B, src string, virtual bool) {
	b.Helper()
	eng, _ := newEngine(loop.Options{Stdout: io.Discard, Stderr: io.Discard, VirtualTime: virtual})
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

// BenchmarkParkedTaskMemory measures what a suspended task costs: 100k
// tasks are parked in sleep, one or three Starlark calls deep, and the
// growth of goroutine stacks and live heap objects (after a collection)
// is divided by their number. This is the yardstick of the performance
// work on task size (the issue measured 10.8 KB and 15.2 KB per task).
//
// Each measurement runs in a fresh process (this test binary, running
// TestParkedTaskMemoryChild): the runtime keeps the descriptors of ended
// goroutines for reuse and never frees them, so a second run in the same
// process would not count their ~450 bytes per task.
//
// The wait= runs park one call deep in other waits: each should cost
// about what sleep does, unwound.
func BenchmarkParkedTaskMemory(b *testing.B) {
	type run struct {
		name  string
		depth int
		wait  string
	}
	runs := []run{{"depth=1", 1, "sleep"}, {"depth=3", 3, "sleep"}}
	for _, w := range []string{"recv", "wait", "select", "join"} {
		runs = append(runs, run{"wait=" + w, 1, w})
	}
	for _, r := range runs {
		depth := r.depth
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestParkedTaskMemoryChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), fmt.Sprintf("CORO_PARKED_DEPTH=%d", depth), "CORO_PARKED_WAIT="+r.wait)
				out, err := cmd.CombinedOutput()
				require.NoError(b, err, "%s", out)
				var stack, heap float64
				parsed := false
				for line := range strings.Lines(string(out)) {
					if _, err := fmt.Sscanf(line, "parked %g %g", &stack, &heap); err == nil {
						parsed = true
						break
					}
				}
				// A task parked in sleep unwinds: no goroutine stack.
				require.True(b, parsed, "%s", out)
				b.ReportMetric(stack, "stack-B/task")
				b.ReportMetric(heap, "heap-B/task")
				b.ReportMetric(stack+heap, "B/task")
			}
		})
	}
}

// TestParkedTaskMemoryChild is BenchmarkParkedTaskMemory's measurement,
// run in a child process; it does nothing otherwise.
func TestParkedTaskMemoryChild(t *testing.T) {
	d := os.Getenv("CORO_PARKED_DEPTH")
	if d == "" {
		t.Skip("run by BenchmarkParkedTaskMemory")
	}
	depth, err := strconv.Atoi(d)
	require.NoError(t, err)
	stack, heap := parkedTaskMemory(t, 100000, depth, os.Getenv("CORO_PARKED_WAIT"))
	fmt.Printf("parked %.0f %.0f\n", stack, heap)
}

// memSample reads the bytes of goroutine stacks and of live heap objects
// after a full collection.
func memSample() (stack, heap uint64) {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// parkedWaits are the waits parkedTaskMemory parks tasks in, by name.
var parkedWaits = map[string]string{
	"sleep":  "sleep(1000000)",
	"recv":   "ch.recv()",
	"wait":   "f.wait()",
	"select": "select(ch, f)",
	"join":   "join(f)",
}

// parkedTaskMemory parks n tasks depth calls deep in a wait (parkedWaits;
// "": sleep) and returns the stack and heap bytes per parked task.
func parkedTaskMemory(b testing.TB, n, depth int, wait string) (stackPer, heapPer float64) {
	if wait == "" {
		wait = "sleep"
	}
	var s0, h0, s1, h1 uint64
	mark := func(s, h *uint64) *starlark.Builtin {
		return starlark.NewBuiltin("mark", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			*s, *h = memSample()
			return starlark.None, nil
		})
	}
	eng, err := newEngine(loop.Options{
		Stdout: io.Discard, Stderr: io.Discard, VirtualTime: true,
		Globals: starlark.StringDict{"mark0": mark(&s0, &h0), "mark1": mark(&s1, &h1)},
	})
	require.NoError(b, err)
	defer eng.Close()
	// The chain of calls: f1 waits; f3 calls f2, which calls f1.
	src := fmt.Sprintf(`
ch = channel()
f = future()
def f1(i):
    %s
def f2(i):
    f1(i)
def f3(i):
    f2(i)
body = [f1, f2, f3][%d - 1]
ts = []
ts.append(spawn(body, -1))  # a first task: workers, pools and tables exist
sleep(0)
mark0()
for i in range(%d - 1):
    ts.append(spawn(body, i))
sleep(0)  # every new task runs to its sleep (FIFO), then main resumes
mark1()
ch.close()  # wakes every waiter at once (cancelling each would dequeue it: quadratic)
f.set(None)
for t in ts:
    t.cancel()
`, parkedWaits[wait], depth, n+1)
	_, err = eng.Exec(context.Background(), "parked.star", src)
	require.NoError(b, err)
	// Signed: stacks may shrink by a few bytes (a collection frees some).
	return float64(int64(s1-s0)) / float64(n), float64(int64(h1-h0)) / float64(n)
}

// BenchmarkGenerator measures a generator emitting ints that pass 2^31
// as they are summed (compare.py's gen workload): two coroutine switches
// and a builtin call per item.
func BenchmarkGenerator(b *testing.B) {
	runBench(b, `
def count(n):
    i = 0
    while i < n:
        emit(i)
        i += 1
s = 1 << 40
for x in generator(count, N):
    s += x
`, false)
}

// BenchmarkFib measures plain recursive Starlark computation on a task.
func BenchmarkFib(b *testing.B) {
	runBench(b, `
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
for i in range(N):
    fib(15)
`, false)
}

// BenchmarkPingPong measures a round trip between two tasks through two
// one-slot channels (compare.py's pingpong), both in spawned functions,
// so both wait unwound.
func BenchmarkPingPong(b *testing.B) {
	runBench(b, `
a = channel(1)
c = channel(1)
def ponger():
    for v in a:
        c.send(v + 1)
def pinger():
    v = 0
    for _ in range(N):
        a.send(v)
        v = c.recv()
    a.close()
t = spawn(ponger)
spawn(pinger).wait()
t.wait()
`, false)
}
