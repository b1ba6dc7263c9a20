package loop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes src on a fresh engine (virtual clock) and returns its output.
func run(t *testing.T, src string, opts ...func(*loop.Options)) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o := loop.Options{Stdout: &out, Stderr: &out, VirtualTime: true, Seed: 1}
	for _, f := range opts {
		f(&o)
	}
	eng, err := newEngine(o)
	require.NoError(t, err)
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = eng.Exec(ctx, "t.star", src)
	return out.String(), err
}

func TestReadyQueueIsFIFO(t *testing.T) {
	out, err := run(t, `
def f(name):
    print(name, 1)
    sleep(0)
    print(name, 2)
for n in ["a", "b", "c"]:
    spawn(f, n)
print("main")
`)
	require.NoError(t, err)
	assert.Equal(t, "main\na 1\nb 1\nc 1\na 2\nb 2\nc 2\n", out)
}

// TestSpawnPassesKeywords: spawn and a group's spawn pass the keyword
// arguments they do not use themselves (name) on to the function, which
// gets them when it first runs (the task keeps them behind a pointer).
func TestSpawnPassesKeywords(t *testing.T) {
	out, err := run(t, `
def f(a, b=0, c=0):
    sleep(0)
    return (a, b, c)
print(spawn(f, 1, c=3, name="kw").wait(), spawn(f, 1).wait())
print(group(lambda g: g.spawn(f, 2, b=5).wait()))
`)
	require.NoError(t, err)
	assert.Equal(t, "(1, 0, 3) (1, 0, 0)\n(2, 5, 0)\n", out)
}

func TestEqualDeadlinesFireInCreationOrder(t *testing.T) {
	out, err := run(t, `
def f(i):
    sleep(1)
    print(i)
for i in range(5):
    spawn(f, i)
`)
	require.NoError(t, err)
	assert.Equal(t, "0\n1\n2\n3\n4\n", out)
}

// A computing task is preempted at its time slice, so a sleeping task and
// the main task still get their turns.
func TestPreemptionKeepsTimersAlive(t *testing.T) {
	out, err := run(t, `
stop = [False]
def spin():
    n = 0
    while not stop[0]:
        n += 1
    return n
s = spawn(spin)
def ticker():
    for i in range(3):
        sleep(0.01)
        print("tick", i)
    stop[0] = True
join(spawn(ticker), s)
print("done")
`)
	require.NoError(t, err)
	assert.Equal(t, "tick 0\ntick 1\ntick 2\ndone\n", out)
}

// Sorting charges a step per comparison (starlark ORIGIN 48), so a
// time slice ends inside sorted's sort, not only in its copy: another
// task gets its turns and a timeout stops it. Comparing strings charged
// nothing, and sorted(strs) outlived its timeout, holding the loop.
func TestSortedEndsTimeSlices(t *testing.T) {
	out, err := run(t, `
strs = [str(i * 7919 % 100003) for i in range(100000)]
ticks = []
def ticker():
    for i in range(100):
        sleep(0.001)
        ticks.append(i)
spawn(ticker)
sleep(0)
n = len(ticks)
s = sorted(strs)
print(s[0], s[-1], len(ticks) - n >= 30)
r = catch(timeout, 0.05, sorted, strs)
print(r.ok, r.error)
r = catch(timeout, 0.05, sorted, strs, reverse=True)
print(r.ok, r.error)
print(catch(sorted, [1, "a"] * 50000).error)
`)
	require.NoError(t, err)
	assert.Equal(t, "0 99999 True\n"+
		"False timeout: deadline of 0.05s exceeded\n"+
		"False timeout: deadline of 0.05s exceeded\n"+
		"value: string < int not implemented\n", out)
}

// countedKey is an int dict key that counts the times it is hashed.
type countedKey struct {
	n      int
	hashes *int
}

func (k countedKey) String() string        { return fmt.Sprintf("key(%d)", k.n) }
func (countedKey) Type() string            { return "key" }
func (countedKey) Freeze()                 {}
func (countedKey) Truth() starlark.Bool    { return true }
func (k countedKey) Hash() (uint32, error) { *k.hashes++; return uint32(k.n), nil }
func (k countedKey) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	if op != syntax.EQL && op != syntax.NEQ {
		return false, fmt.Errorf("%s %s %s not implemented", k.Type(), op, y.Type())
	}
	return (k.n == y.(countedKey).n) == (op == syntax.EQL), nil
}

// A dict grows incrementally (starlark ORIGIN 52): while a task grows
// one to 120,000 entries, another task gets a turn at each time slice,
// and between two of its turns the first hashes only the keys it
// inserted in its slice. Upstream rehashed the whole dict in the one
// insertion that found it full: one turn hashed 106,496 keys (for
// 4,000,000 entries, about a second in one Go call that a signal could
// not interrupt). Hashes stand for the work here, which steps cannot
// show (a grow is within one step either way); starlark's
// TestHashtableMoveIsBounded bounds the moves themselves.
func TestDictGrowthEndsTimeSlices(t *testing.T) {
	hashes := 0
	key := starlark.NewBuiltin("key", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var n int
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &n); err != nil {
			return nil, err
		}
		return countedKey{n, &hashes}, nil
	})
	count := starlark.NewBuiltin("hashes", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.MakeInt(hashes), nil
	})
	out, err := run(t, `
done = [False]
gaps = []
def watch():
    last = hashes()
    while not done[0]:
        if hashes() != last:
            gaps.append(hashes() - last)
            last = hashes()
w = spawn(watch)
d = {}
for i in range(120000):
    d[key(i)] = i
done[0] = True
w.wait()
print(len(d), len(gaps) > 20, max(gaps) <= 10000)
`, func(o *loop.Options) { o.Globals = starlark.StringDict{"key": key, "hashes": count} })
	require.NoError(t, err)
	assert.Equal(t, "120000 True True\n", out)
}

func TestTimeSliceOption(t *testing.T) {
	// With a tiny slice, two computing tasks interleave finely.
	out, err := run(t, `
log = []
def count(name):
    for i in range(200):
        log.append(name)
join(spawn(count, "a"), spawn(count, "b"))
switches = 0
for i in range(1, len(log)):
    if log[i] != log[i-1]:
        switches += 1
print(switches > 4)
`, func(o *loop.Options) { o.TimeSlice = 50 })
	require.NoError(t, err)
	assert.Equal(t, "True\n", out)
}

func TestMaxSteps(t *testing.T) {
	_, err := run(t, `
def f():
    while True:
        pass
f()
`, func(o *loop.Options) { o.MaxSteps = 100000 })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step limit of 100000 exceeded")
}

func TestErrorKindsReachGo(t *testing.T) {
	_, err := run(t, `wait(after(10), timeout=0.5)`)
	var ce *engine.Error
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, loop.KindTimeout, ce.Kind)
	assert.Equal(t, "timeout: wait exceeded 0.5s", ce.Error())
	assert.Contains(t, ce.Traceback(), "t.star:1:5: in <toplevel>")
}

func TestPanickingBuiltinFailsOnlyItsTask(t *testing.T) {
	boom := starlark.NewBuiltin("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("kaboom")
	})
	out, err := run(t, `
t = spawn(boom)
r = catch(t.wait)
print(r.error.kind, "internal error" in r.error.message)
print("still running")
`, func(o *loop.Options) { o.Globals = starlark.StringDict{"boom": boom} })
	require.NoError(t, err)
	assert.Equal(t, "error True\nstill running\n", out)
}

func TestUnwatchedFailureIsReported(t *testing.T) {
	var failed []string
	out, err := run(t, `
def bad():
    fail("oops")
spawn(bad, name="worker")
sleep(1)
print("main goes on")
`, func(o *loop.Options) {
		o.OnFailure = func(task string, err *loop.Error) { failed = append(failed, task+": "+err.Error()) }
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"worker: error: oops"}, failed)
	assert.Contains(t, out, "task 'worker' failed:")
	assert.Contains(t, out, "t.star:4:6: task 'main' spawned task 'worker'")
	assert.Contains(t, out, "t.star:3:9: in bad")
	assert.True(t, strings.HasSuffix(out, "main goes on\n"))
}

func TestCancelledBeforeStartNeverRuns(t *testing.T) {
	out, err := run(t, `
t = spawn(print, "should not print")
t.cancel()
print(catch(t.wait).error.kind, t.state)
`)
	require.NoError(t, err)
	assert.Equal(t, "cancelled cancelled\n", out)
}

func TestDeferredFunctionsAreBounded(t *testing.T) {
	out, err := run(t, `
def worker():
    def slow_cleanup():
        print(catch(sleep, 60).error.message, "at", time.monotonic())
    defer(slow_cleanup)
    sleep(100)
t = spawn(worker)
sleep(1)
t.cancel()
print(catch(t.wait).error.message)
`)
	require.NoError(t, err)
	assert.Equal(t, "timeout: deferred functions exceeded 5s at 6.0\ncancelled: cancelled\n", out)
}

func TestContextCancelRunsDeferred(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The ctx is cancelled once both workers have deferred their cleanup
	// (a task cancelled before its first step runs no body at all).
	ready := starlark.NewBuiltin("ready", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		cancel()
		return starlark.None, nil
	})
	eng, _ := newEngine(loop.Options{Stdout: &out, Stderr: &out, Globals: starlark.StringDict{"ready": ready}})
	defer eng.Close()
	_, err := eng.Exec(ctx, "t.star", `
started = channel(2)
def w(i):
    defer(print, "cleanup", i)
    started.send(i)
    sleep(3600)
ts = [spawn(w, 1), spawn(w, 2)]
started.recv()
started.recv()
ready()
join(*ts)
`)
	require.Error(t, err)
	assert.Equal(t, loop.KindCancelled, loop.KindOf(err))
	assert.Contains(t, out.String(), "cleanup 1\n")
	assert.Contains(t, out.String(), "cleanup 2\n")
}

func TestNoGoroutineLeakAfterClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		eng, _ := newEngine(loop.Options{Stdout: &bytes.Buffer{}, VirtualTime: true})
		_, err := eng.Exec(context.Background(), "t.star", `
def f(i):
    sleep(i)
    return i
join(*[spawn(f, i) for i in range(50)])
r = race(lambda: sleep(10), lambda: 1)
catch(timeout, 1, sleep, 5)
`)
		require.NoError(t, err)
		require.NoError(t, eng.Close())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before+1)
}

func TestBadArgumentsAreValueErrors(t *testing.T) {
	for src, want := range map[string]string{
		`sleep(-1)`:                        "value: sleep: seconds must be >= 0, got -1",
		`sleep("1")`:                       "value: sleep: for parameter seconds: got string, want int or float",
		`spawn(1)`:                         "value: spawn: for parameter fn: got int, want callable",
		`spawn()`:                          "value: spawn: missing function argument",
		`wait(1)`:                          "value: wait: argument 1: got int, want an awaitable (Task, Future, Timer, channel op, event.wait_op())",
		`join(1)`:                          "value: join: argument 1: got int, want an awaitable or a callable",
		`race()`:                           "value: race: needs at least one item",
		`timeout(-1, print)`:               "value: timeout: seconds must be >= 0, got -1",
		`after(None)`:                      "value: after: for parameter seconds: got NoneType, want int or float",
		`wait(after(1), timeout="x")`:      "value: wait: for parameter timeout: got string, want int or float",
		`f = future(); f.set(1); f.set(2)`: "value: Future.set: future is already done",
		`spawn(print).result`:              "value: task 'task-2' has not finished (state ready)",
	} {
		_, err := run(t, src)
		require.Error(t, err, src)
		assert.Equal(t, want, loop.ToError(err).Error(), src)
	}
}

// A Result (catch, join(settle=True)) is a type of its own, as Task and
// Error are: type() said "struct", and a missing attribute's error
// "\"Result\" struct has no .status attribute". == compares outcomes.
func TestResultType(t *testing.T) {
	out, err := run(t, `
r = catch(int, "1")
e = catch(fail, "boom")
print(type(r), type(join(lambda: 2, settle=True)[0]), r, e)
print(r.ok, r.value, r.error, e.ok, e.value, e.error.kind, dir(r))
print(catch(lambda: r.status).error)
print(r == catch(int, "1"), r == catch(int, "2"), e == e, e == catch(fail, "boom"), r != e)
`)
	require.NoError(t, err)
	assert.Equal(t, `Result Result Result(error = None, ok = True, value = 1) Result(error = error: boom, ok = False, value = None)
True 1 None False None error ["error", "ok", "value"]
error: Result has no .status field or method
True False True False True
`, out)
}

// A script's string in a message is shown whole up to 200 bytes, else its
// start, cut at a rune boundary, and its length: a megabyte argument made a
// megabyte message.
func TestQuoteArgCutsLongStrings(t *testing.T) {
	assert.Equal(t, `"a\x00b"`, loop.QuoteArg("a\x00b"))
	s := strings.Repeat("x", 200)
	assert.Equal(t, `"`+s+`"`, loop.QuoteArg(s))
	assert.Equal(t, s, loop.Clip(s))
	long := strings.Repeat("x", 199) + "é" + strings.Repeat("y", 1<<20)
	assert.Equal(t, `"`+strings.Repeat("x", 199)+`"... (1048777 bytes)`, loop.QuoteArg(long))
	assert.Equal(t, strings.Repeat("x", 199)+"... (1048777 bytes)", loop.Clip(long))
}
