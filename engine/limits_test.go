package engine_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recursion recurses through timeout and sync.lock().hold in turn, then
// fails at the bottom: the error passes up through every builtin to the
// catch in run. nest recurses through catch, which returns Results.
const recursion = `
def f(n):
    if n == 0:
        fail("bottom")
    if n % 2 == 0:
        return timeout(100, f, n - 1)
    return sync.lock().hold(f, n - 1)

def run(n):
    return catch(f, n).error.traceback

def nest(n):
    if n == 0:
        fail("bottom")
    return catch(nest, n - 1)

def run_nest(n):
    r = nest(n)
    for _ in range(n - 1):
        r = r.value
    return r.error.traceback
`

// An error passing up through a builtin keeps the frames it was made with:
// the interpreter no longer copies the whole stack at every builtin on the
// way up, which made a recursion through builtins unwind in quadratic time
// (minutes, deaf to signals). A shallow case keeps its traceback text.
func TestRecursionThroughBuiltinsUnwindsOnce(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	g, err := eng.Exec(context.Background(), "rec.star", recursion)
	require.NoError(t, err, out.String())

	tb, err := eng.Call(context.Background(), g["run"], starlark.MakeInt(4))
	require.NoError(t, err)
	assert.Equal(t, shallowTraceback, string(tb.(starlark.String)))

	// Deep: a few thousand levels. Copying the stack at each level
	// allocated about 32 bytes * depth^2 (gigabytes here); once, megabytes.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tb, err = eng.Call(context.Background(), g["run"], starlark.MakeInt(6000))
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	t.Logf("allocated %d bytes", after.TotalAlloc-before.TotalAlloc)
	assert.Contains(t, string(tb.(starlark.String)), "rec.star:4:13: in f\n")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(200<<20), "bytes allocated unwinding")

	tb, err = eng.Call(context.Background(), g["run_nest"], starlark.MakeInt(6000))
	require.NoError(t, err)
	assert.Contains(t, string(tb.(starlark.String)), "rec.star:14:13: in nest\n")
}

// shallowTraceback is run(4)'s traceback as it was before the change.
const shallowTraceback = `Traceback (most recent call last):
  rec.star:10:17: in run
  rec.star:6:23: in f
  rec.star:7:28: in f
  rec.star:6:23: in f
  rec.star:7:28: in f
  rec.star:4:13: in f
`

// TestMaxMemory (issue 10, item 8): a script that keeps growing is stopped
// once the heap passes Options.MaxMemory: every task is cancelled, the
// deferred functions run, and the run fails with an error that says why,
// instead of the process dying of the kernel's OOM killer.
func TestMaxMemory(t *testing.T) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := ms.HeapAlloc + ms.StackInuse + 64<<20
	eng, out := newEngine(t, engine.Options{MaxMemory: limit})
	_, err := eng.Exec(context.Background(), "grow.star", `
def grow():
    defer(print, "grower cleaned up")
    keep = []
    for i in range(100000000):
        keep.append("x" * 1000 + str(i))
defer(print, "main cleaned up")
spawn(grow)
sleep(3600)
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindCancelled, ce.Kind)
	assert.Contains(t, ce.Error(), "memory limit exceeded: the heap grew to ")
	assert.Contains(t, out.String(), "grower cleaned up\n")
	assert.Contains(t, out.String(), "main cleaned up\n")

	// Under the limit nothing happens.
	_, err = eng.Exec(context.Background(), "small.star", `x = ["y"] * 1000`)
	assert.NoError(t, err)
}

// TestMaxMemoryOneAllocation (found by a QA pass): an operator or builtin
// that makes one large value asks the limit first (starlark ORIGIN 47),
// so the allocation that would pass it is never made: the heap was
// sampled every 10 ms, and s + str(i) of a 100 MB string under a 200 MiB
// limit reached 2.5 GB before the sampler saw it. TotalAlloc (every byte
// allocated since the start) shows the refused values were not made.
func TestMaxMemoryOneAllocation(t *testing.T) {
	base := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse
	}
	allocated := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.TotalAlloc
	}
	for _, tc := range []struct {
		name, src, msg string
		most           uint64 // the bytes the run may allocate
	}{
		{"concat", `
s = "x" * 100000000
keep = []
for i in range(25):
    keep.append(s + str(i))
`, "memory limit exceeded: string concatenation of 95.37 MiB would take the heap (", 500 << 20},
		{"list_repeat", `x = [None] * 60000000`, "memory limit exceeded: list repeat of 915.5 MiB would take the heap (", 100 << 20},
		{"string_repeat", `x = "ab" * 500000000`, "memory limit exceeded: string repeat of 953.7 MiB would take the heap (", 100 << 20},
		{"list_concat", `
x = [None] * 5000000
y = x + x
`, "memory limit exceeded: list concatenation of 152.6 MiB would take the heap (", 150 << 20},
		{"replace", `
s = "x" * 10000000
s.replace("x", "y" * 50)
`, "memory limit exceeded: str.replace of 476.8 MiB would take the heap (", 100 << 20},
		{"join", `
s = "x" * 1000000
",".join([s] * 500)
`, "memory limit exceeded: str.join of 476.8 MiB would take the heap (", 100 << 20}, // asked once, at its length
		{"json_indent", `
def nest():
    x = []
    for i in range(200):
        x = [x]
    return x
json.encode_indent(nest(), indent=" " * 10000)
`, "memory limit exceeded: json.encode_indent of 381.5 MiB would take the heap (", 100 << 20},
		{"re_sub", `re.sub("a", "x" * 200000, "a" * 2000)`, "memory limit exceeded: re.sub of 381.5 MiB would take the heap (", 100 << 20},
		// Finding the 20,001 matches allocates (178 MiB under -race):
		// the bound is that the 381.5 MiB result was not made.
		{"re_sub_pool", `re.sub("", "x" * 20000, "a" * 20000)`, "memory limit exceeded: re.sub of 381.5 MiB would take the heap (", 300 << 20},
		{"percent", `("%1000000d" * 300) % tuple(range(300))`, "memory limit exceeded: string formatting of 286.1 MiB would take the heap (", 100 << 20},
		// A refusal the script catches still ends the run.
		{"caught", `
r = catch(lambda: "x" * 1000000000)
print(r.ok)
`, "memory limit exceeded: string repeat of 953.7 MiB would take the heap (", 100 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := base() + 200<<20
			eng, out := newEngine(t, engine.Options{MaxMemory: limit})
			before := allocated()
			_, err := eng.Exec(context.Background(), tc.name+".star", `defer(print, "cleaned up")`+"\n"+tc.src)
			made := allocated() - before
			var ce *engine.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, engine.KindCancelled, ce.Kind)
			assert.Contains(t, ce.Error(), tc.msg)
			assert.Contains(t, ce.Error(), "past the limit of ")
			assert.Contains(t, out.String(), "cleaned up\n")
			assert.Less(t, made, tc.most, "allocated %d MiB under a limit of %d MiB", made>>20, limit>>20)
		})
	}

	// Under the limit a large value is made.
	eng, _ := newEngine(t, engine.Options{MaxMemory: base() + 200<<20})
	_, err := eng.Exec(context.Background(), "fits.star", `
s = "x" * 50000000
t = s + s
l = [None] * 1000000
`)
	assert.NoError(t, err)
}

// A builtin looping over a huge iterable is preempted like a script loop
// (the interpreter charges it a step per element, starlark/ORIGIN.md item
// 10): timeout() stops it, and so does the step limit. Found by
// FuzzBuiltinArgs: list(range(1 << 62)) panicked reserving its length,
// and min(range(1 << 62)) ran for centuries, deaf to cancellation.
func TestBuiltinLoopsArePreemptible(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	_, err := eng.Exec(testCtx(t), "loop.star", `
r = catch(timeout, 0.05, min, range(1 << 62))
print(r.error.kind)
`)
	require.NoError(t, err)
	assert.Equal(t, "timeout\n", out.String())

	limited, _ := newEngine(t, engine.Options{MaxSteps: 100_000})
	_, err = limited.Exec(testCtx(t), "loop.star", "list(range(1 << 62))")
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindError, ce.Kind)
	assert.Contains(t, ce.Msg, "step limit of 100000 exceeded")
}

// The step limit holds for good, as a cancellation does: caught (catch
// in a loop), it came back a slice later, and the task computed on, a
// slice per catch, millions of steps past the limit.
func TestStepLimitCannotBeCaught(t *testing.T) {
	eng, out := newEngine(t, engine.Options{MaxSteps: 100_000, SlowWarning: -1})
	_, err := eng.Exec(testCtx(t), "main.star", `
rounds = [0]
def busy():
    while True:
        pass
for round in range(1000000):
    rounds[0] += 1
    catch(busy)
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Msg, "step limit of 100000 exceeded")
	assert.Empty(t, out.String())
}
