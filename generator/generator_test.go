package generator_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes src on a fresh engine with extra globals and returns its
// standard output (with its diagnostics too, if it failed); the engine
// is closed before returning.
func run(t *testing.T, src string, globals starlark.StringDict) (string, error) {
	t.Helper()
	return runClock(t, true, src, globals)
}

// runClock is run on the virtual clock or on the real one.
func runClock(t *testing.T, virtual bool, src string, globals starlark.StringDict) (string, error) {
	t.Helper()
	var out, diag bytes.Buffer
	e, err := newEngine(loop.Options{Stdout: &out, Stderr: &diag, VirtualTime: virtual, Globals: globals})
	require.NoError(t, err)
	_, err = e.Exec(context.Background(), "test.star", src)
	require.NoError(t, e.Close())
	if err != nil {
		return out.String() + diag.String(), err
	}
	return out.String(), nil
}

func builtin(name string, fn func() starlark.Value) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return fn(), nil
	})
}

// leakGlobals gives scripts gc() and goroutines(). gc also gives the
// runtime's cleanup goroutine a moment: cleanups run there after a cycle,
// and retry loops that wait for them run on the virtual clock, where
// sleep takes no real time.
func leakGlobals() starlark.StringDict {
	return starlark.StringDict{
		"gc": builtin("gc", func() starlark.Value {
			runtime.GC()
			time.Sleep(2 * time.Millisecond)
			return starlark.None
		}),
		"goroutines": builtin("goroutines", func() starlark.Value { return starlark.MakeInt(runtime.NumGoroutine()) }),
	}
}

// requireBaseline waits (bounded) for the goroutine count to come back to
// base: exiting goroutines finish asynchronously.
func requireBaseline(t *testing.T, base int) {
	t.Helper()
	for i := 0; i < 1000 && runtime.NumGoroutine() > base; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), base, "goroutines left behind")
}

// deferredBody defines body, a generator body that emits twice, and counts
// in closed[0] the times its deferred function has run.
const deferredBody = `closed = [0]
def note():
    closed[0] += 1
def body():
    defer(note)
    emit(1)
    emit(2)
`

// Started generators dropped while their creator keeps running are closed
// through runtime.AddCleanup: each one's deferred function runs before the
// script ends, and no goroutine is left. (On the real clock: on the
// virtual one only their holders' end closes them; see the next test.)
func TestAbandonedGeneratorsAreClosedWhenUnreachable(t *testing.T) {
	base := runtime.NumGoroutine()
	out, err := runClock(t, false, fmt.Sprintf(`
N = %d
%s
for i in range(N):
    g = generator(body)
    g.next()
    if i %% 1000 == 999:
        gc()
        sleep(0)
g = None
tries = 0
while closed[0] < N and tries < 1000:
    gc()
    sleep(0.01)
    tries += 1
print("closed", closed[0], "of", N)
`, abandoned, deferredBody), leakGlobals())
	require.NoError(t, err, out)
	assert.Equal(t, fmt.Sprintf("closed %d of %d\n", abandoned, abandoned), out)
	requireBaseline(t, base)
}

// On the virtual clock a run replays whenever the collector runs: a
// generator dropped half-way is closed when the tasks holding it end, not
// when it is found unreachable. The collector's close spawned a task,
// which took a task id (task names differed from run to run), and ran the
// body's deferred function at a moment no seed fixes.
func TestVirtualClockClosesDroppedGeneratorsDeterministically(t *testing.T) {
	const src = `
def body(i):
    defer(lambda: print("closed", i, "at", time.monotonic(), "before", spawn(lambda: None).name))
    emit(1)
    emit(2)
def worker(k):
    for i in range(k, k + 20):
        g = generator(body, i)
        g.next()
        g = None
        if collect(i):
            gc()
        sleep(0.001)
names = []
for i in range(60):
    g = generator(body, i)
    g.next()
    g = None
    if collect(i):
        gc()
    sleep(0.001)
    names.append(spawn(lambda: None).name)
    if i % 20 == 0:
        spawn(worker, 100 + i).wait()
print(names[-1], time.monotonic())
`
	schedules := []func(i int) bool{
		func(int) bool { return false },
		func(int) bool { return true },
		func(i int) bool { return i%7 == 3 },
		func(i int) bool { return i%13 == 0 },
		func(i int) bool { return i > 40 },
	}
	var first string
	for n, when := range schedules {
		globals := leakGlobals()
		globals["collect"] = starlark.NewBuiltin("collect", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			i, _ := starlark.AsInt32(args[0])
			return starlark.Bool(when(i)), nil
		})
		out, err := run(t, src, globals)
		require.NoError(t, err, out)
		if n == 0 {
			first = out
			require.Equal(t, 120, strings.Count(out, "closed"), out)
			continue
		}
		require.Equal(t, first, out, "schedule %d", n)
	}
}

// Started generators left open by the tasks that made them (and still
// reachable) are closed when those tasks end.
func TestAbandonedGeneratorsAreClosedWhenTheirTaskEnds(t *testing.T) {
	base := runtime.NumGoroutine()
	out, err := run(t, fmt.Sprintf(`
%s
keep = []
def maker():
    for i in range(1000):
        g = generator(body)
        g.next()
        keep.append(g)  # still reachable: only the task's end closes them
for i in range(%d):
    spawn(maker).wait()
    sleep(0)
print("closed", closed[0], "live", len([g for g in keep if not g.done]))
`, deferredBody, abandoned/1000), leakGlobals())
	require.NoError(t, err, out)
	assert.Equal(t, fmt.Sprintf("closed %d live 0\n", abandoned), out)
	requireBaseline(t, base)
}

// A started generator is closed once every task that made or resumed it
// has ended: one made by a task and consumed by another runs for the
// consumer, even once its maker has ended (returned as a task's result,
// sent over a channel, or made at top level and read by a spawned task
// while the main module ends); one shared by workers outlives the first
// of them to end; one left half-way is closed when the last task that
// held it ends. Closing it at its maker's end emptied it or cut it short.
func TestGeneratorBelongsToItsConsumer(t *testing.T) {
	out, err := run(t, `
def numbers(name):
    defer(print, name, "closed")
    for i in range(3):
        sleep(0.01)
        emit(i)

def maker():
    return generator(numbers, "returned")
g = spawn(maker).wait()
print("returned:", list(g))

ch = channel(1)
def producer():
    ch.send(generator(numbers, "sent"))
spawn(producer).wait()
print("sent:", list(ch.recv()))

def consumer(g):
    got = [g.next()]
    sleep(0.1)  # its maker ends meanwhile
    for x in g:
        got.append(x)
    print("consumer:", got)
def maker2():
    g = generator(numbers, "shared")
    print("maker2 read", g.next())
    return spawn(consumer, g)
spawn(maker2).wait().wait()

def dropper():
    g = generator(numbers, "dropped")
    spawn(lambda: print("other task read", g.next())).wait()
    print("dropper ends")
spawn(dropper).wait()
sleep(0.1)

shared = generator(numbers, "pool")
def worker(n):
    return [shared.next() for i in range(n)]
print("workers:", spawn(worker, 1).wait(), spawn(worker, 1).wait(), spawn(worker, 1).wait())
`, nil)
	require.NoError(t, err)
	assert.Equal(t, `returned closed
returned: [0, 1, 2]
sent closed
sent: [0, 1, 2]
maker2 read 0
shared closed
consumer: [1, 2]
other task read 0
dropper ends
dropped closed
workers: [0] [1] [2]
pool closed
`, out)
}

// ticker is a Go-bodied generator that waits between items.
func ticker(ended *string) *starlark.Builtin {
	return starlark.NewBuiltin("ticker", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var n int
		if err := starlark.UnpackArgs("ticker", args, kwargs, "n", &n); err != nil {
			return nil, loop.ValueError(err)
		}
		return generator.FromFunc(th, "ticker", func(th *starlark.Thread, emit func(starlark.Value) error) error {
			x, err := loop.TaskOf(th, "ticker")
			if err != nil {
				return err
			}
			for i := 0; i < n; i++ {
				if err := x.Sleep(time.Second); err != nil {
					*ended = "sleep: " + err.Error()
					return err
				}
				if err := emit(starlark.MakeInt(i)); err != nil {
					*ended = "emit: " + err.Error()
					return err
				}
			}
			*ended = "returned"
			return nil
		}), nil
	})
}

func TestFromFunc(t *testing.T) {
	var ended string
	out, err := run(t, `
for v in ticker(3):
    print(v, time.monotonic())
g = ticker(5)
print(g.done, g.next(), g.done)
g.close()
print(g.done, g.next("after close"))
print(catch(ticker(1).send, 1).error.message)
`, starlark.StringDict{"ticker": ticker(&ended)})
	require.NoError(t, err, out)
	assert.Equal(t, "0 1.0\n1 2.0\n2 3.0\nFalse 0 False\nTrue after close\n"+
		"value: Generator.send: the first send to generator ticker must be None (it has not reached an emit yet), got int\n", out)
	assert.Equal(t, "emit: cancelled: generator closed", ended)
}

// A Go body's wait is cancelled with its consumer, and a Go body's error
// reaches the consumer with the consumer's frames.
func TestFromFuncCancelAndError(t *testing.T) {
	var ended string
	fails := starlark.NewBuiltin("fails", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return generator.FromFunc(th, "fails", func(th *starlark.Thread, emit func(starlark.Value) error) error {
			return loop.Errorf(loop.KindIO, "disk on fire")
		}), nil
	})
	out, err := run(t, `
def consume():
    for v in ticker(10):
        print("got", v)
t = spawn(consume)
sleep(2.5)
t.cancel()
print(catch(t.wait).error.kind)
def use():
    return list(fails())
r = catch(use)
print(r.error.message)
print(r.error.traceback)
`, starlark.StringDict{"ticker": ticker(&ended), "fails": fails})
	require.NoError(t, err, out)
	assert.Equal(t, "got 0\ngot 1\ncancelled\nio: disk on fire\nTraceback (most recent call last):\n"+
		"  test.star:11:10: in <toplevel>\n  test.star:10:16: in use\n\n", out)
	assert.Equal(t, "sleep: cancelled: cancelled", ended)
}

// The body runs with the body's own execution context installed, so
// values that wait without a thread (an iterator's Next) find it, and the
// consumer's is back once control returns.
func TestCurrentExecAroundBody(t *testing.T) {
	var seen []string
	var e *loop.Engine
	probe := starlark.NewBuiltin("probe", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x := loop.ExecOf(th)
		if e.CurrentExec() == x {
			seen = append(seen, string(args[0].(starlark.String))+":own")
		} else {
			seen = append(seen, string(args[0].(starlark.String))+":other")
		}
		return starlark.None, nil
	})
	var out bytes.Buffer
	e, err := newEngine(loop.Options{Stdout: &out, Stderr: &out, VirtualTime: true, Globals: starlark.StringDict{"probe": probe}})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Exec(context.Background(), "test.star", `
def body():
    probe("body")
    sleep(1)
    probe("body after wait")
    emit(1)
probe("main")
g = generator(body)
g.next()
probe("main after")
`)
	require.NoError(t, err, out.String())
	assert.Equal(t, []string{"main:own", "body:own", "body after wait:own", "main after:own"}, seen)
}

func TestErrorsNameTheMethod(t *testing.T) {
	out, err := run(t, `
g = generator(lambda: emit(1))
print(catch(g.next, 1, 2).error.message)
print(catch(g.throw).error.message)
print(catch(g.close, 1).error.message)
print(catch(generator).error.message)
`, nil)
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "value: Generator.next: got 2 arguments, want at most 1", lines[0])
	assert.Equal(t, "value: Generator.throw: missing argument for message", lines[1])
	assert.Equal(t, "value: Generator.close: got 1 arguments, want at most 0", lines[2])
	assert.Equal(t, "value: generator: missing function argument", lines[3])
}

// Generators made by a task marked with Outlive (a REPL statement) survive
// its end; dropped, they are still closed once unreachable.
func TestOutlive(t *testing.T) {
	globals := leakGlobals()
	globals["outliving"] = starlark.NewBuiltin("outliving", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		task := loop.ExecOf(th).Task.Engine().Spawn(args[0].(starlark.Callable), args[1:], nil, "stmt", nil, "")
		generator.Outlive(task)
		return task.Value(), nil
	})
	out, err := run(t, `
closed = []
def count(name):
    defer(lambda: closed.append(name))
    for i in range(3):
        emit(i)
box = {}
def make(name):
    box[name] = generator(count, name)
    box[name].next()
outliving(make, "kept").wait()
spawn(make, "owned").wait()
def fresh():
    box["fresh"] = outliving(lambda: generator(count, "fresh")).wait()
fresh()
sleep(0)
print("after the statements:", closed)
def check():
    # in a function, so that no value lingers in the module frame's stack
    print("kept goes on:", box["kept"].next(), "fresh runs:", box["fresh"].next(), "owned:", box["owned"].next("closed"))
check()
box.clear()
tries = 0
while len(closed) < 3 and tries < 1000:
    gc()
    sleep(0.01)
    tries += 1
print("once dropped:", sorted(closed))
`, globals)
	require.NoError(t, err, out)
	assert.Equal(t, "after the statements: [\"owned\"]\n"+
		"kept goes on: 1 fresh runs: 0 owned: closed\n"+
		"once dropped: [\"fresh\", \"kept\", \"owned\"]\n", out)
}

// A task waiting in a generator body, or running one, shows the body's
// frames after its own, in tasks() and in the deadlock report, as a
// traceback does; they were left out, and a task waiting in a body seemed
// to wait in its for loop. Nested bodies, in line and on a coroutine (a
// body under catch), each follow the frame that resumed them.
func TestTaskStacksGoIntoBodies(t *testing.T) {
	out, err := run(t, `
ch = channel()
def inner():
    emit(1)
    ch.recv()
    emit(2)
def outer():
    emit_all(generator(inner))
def consume():
    for x in generator(outer):
        pass
def wrapped():
    catch(emit, tasks()[0].stack)  # on a coroutine: under catch
def show(name):
    for ti in tasks():
        if ti.name == name:
            print("\n".join(ti.stack))
spawn(consume, name="consumer")
sleep(1)
show("consumer")
print("--")
for st in generator(wrapped):
    print("\n".join(st))
print("--")
ch.send(None)
sleep(1)
show("consumer")  # it has finished: no stack
print("--")
consume()
`, nil)
	require.Error(t, err)
	assert.Equal(t, `test.star:10:5 in consume
test.star:8:13 in outer
test.star:5:12 in inner
--
test.star:22:1 in <toplevel>
test.star:13:22 in wrapped
--
--
`, out)
	assert.Equal(t, `deadlock: 1 task blocked forever
  task 'main' (id 1, waiting): recv on channel#1 (0/0 buffered)
    test.star:29:8 in <toplevel>
    test.star:10:5 in consume
    test.star:8:13 in outer
    test.star:5:12 in inner`, err.Error())
}

// The cancel scopes a body opens are the body's (loop.BodyScopes): a
// timeout() or group() it emits inside, the shield and bound of its
// deferred functions. They stayed on the consumer's stack after the emit:
// the body's deadline fired in the consumer's own sleep, a failure in the
// body's group cancelled the consumer, the consumer's cancellation was
// shielded while the body's deferred function emitted, and a task that
// resumed the body next ran it outside them. Now they travel with the
// body, and a scope cancelled while it was suspended fails its next wait.
func TestBodyScopesTravelWithTheBody(t *testing.T) {
	out, err := run(t, `
def deadline():
    timeout(1, lambda: [emit(1), emit(2), sleep(5)])
g = generator(deadline)
g.next()
print("consumer sleep:", catch(sleep, 5).error, time.monotonic())
g.next()
print("body:", catch(g.next).error, time.monotonic())

def grouped():
    def gb(gr):
        gr.spawn(lambda: [sleep(1), fail("child failed")], name="kid")
        emit("first")
        r = catch(sleep, 10)
        print("body sleep:", r.error, time.monotonic())
        emit("second")
    group(gb)
g = generator(grouped)
print(spawn(g.next).wait())
print("consumer sleep:", catch(sleep, 2).error, time.monotonic())
print(spawn(g.next).wait(), time.monotonic())  # another task resumes it
print("body:", catch(g.next).error)

def deferred():
    defer(lambda: emit("from defer"))
    emit(1)
def consume():
    for x in generator(deferred):
        r = catch(sleep, 10)
        print(x, "sleep:", r.error, time.monotonic())
c = spawn(consume)
sleep(15)
c.cancel()
c.wait()

g = generator(deadline)  # closed past its deadline: the close wins
g.next()
sleep(2)
print("close:", catch(g.close).error)
`, nil)
	require.NoError(t, err, out)
	assert.Equal(t, `consumer sleep: None 5.0
body: timeout: deadline of 1s exceeded 5.0
first
consumer sleep: None 7.0
body sleep: cancelled: cancelled 7.0
second 7.0
body: error: child failed
1 sleep: None 17.0
from defer sleep: cancelled: cancelled 22.0
close: None
`, out)
}
