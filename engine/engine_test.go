package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// syncBuffer is an io.Writer safe to read while the engine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEngine returns an engine writing to a buffer, closed (and checked
// for leftover goroutines) when the test ends.
func newEngine(t *testing.T, opts engine.Options) (*engine.Engine, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	if opts.Stdout == nil {
		opts.Stdout = out
	}
	if opts.Stderr == nil {
		opts.Stderr = out
	}
	eng, err := engine.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	return eng, out
}

// signal returns a builtin that closes ch when a script calls it: tests
// learn that a script reached a point without sleeping.
func signal(name string, ch chan struct{}) *starlark.Builtin {
	var once sync.Once
	return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		once.Do(func() { close(ch) })
		return starlark.None, nil
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestMain(m *testing.M) {
	// The blocking pool is shared by every engine of the process: work a
	// cancelled task dropped (a regexp over megabytes, say) runs to its
	// end on a pool worker, which then exits. Such a worker is not a leak.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/corolang/coro/loop.(*blockingPool).work"))
}

func TestExecReturnsGlobals(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	g, err := eng.Exec(testCtx(t), "main.star", `
x = 40 + 2
def f():
    sleep(0)
    return "done"
t = spawn(f)
print("module ran")
`)
	require.NoError(t, err)
	assert.Equal(t, starlark.MakeInt(42), g["x"])
	task := g["t"].(starlark.HasAttrs)
	state, _ := task.Attr("state")
	assert.Equal(t, starlark.String("done"), state, "Exec runs the loop until every task has finished")
	assert.Equal(t, "module ran\n", out.String())
}

func TestRunFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.star")
	require.NoError(t, os.WriteFile(path, []byte(`load("lib.star", "double")`+"\nresult = double(21)\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.star"), []byte("def double(n):\n    return 2 * n\n"), 0o644))
	eng, _ := newEngine(t, engine.Options{Permissions: engine.Permissions{Load: []string{dir}}})
	g, err := eng.RunFile(testCtx(t), path)
	require.NoError(t, err)
	assert.Equal(t, starlark.MakeInt(42), g["result"])

	_, err = eng.RunFile(testCtx(t), filepath.Join(dir, "missing.star"))
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindNotFound, ce.Kind)
}

func TestScriptErrorsAreGoErrors(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	_, err := eng.Exec(testCtx(t), "main.star", `
def inner():
    fail("boom")
def outer():
    inner()
outer()
`)
	require.Error(t, err)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindError, ce.Kind)
	text := err.Error()
	assert.True(t, strings.HasPrefix(text, "error: boom\nTraceback (most recent call last):\n"), text)
	assert.Contains(t, text, "main.star:6:6: in <toplevel>")
	assert.Contains(t, text, "main.star:3:9: in inner")
	assert.Empty(t, out.String(), "a failed main module is returned, not reported")

	// A value error from a builtin keeps its kind.
	_, err = eng.Exec(testCtx(t), "bad.star", `sleep("x")`)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindValue, ce.Kind)
	assert.Contains(t, err.Error(), "value: sleep: for parameter seconds: got string, want int or float")
	assert.Contains(t, err.Error(), "bad.star:1:6: in <toplevel>")
}

func TestExecCancelRunsDeferred(t *testing.T) {
	started := make(chan struct{})
	eng, out := newEngine(t, engine.Options{Globals: starlark.StringDict{"started": signal("started", started)}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := eng.Exec(ctx, "main.star", `
ready = channel(3)
def worker(n):
    defer(print, "worker", n, "cleaned up")
    ready.send(n)
    sleep(3600)
for i in range(3):
    spawn(worker, i)
defer(print, "main cleaned up")
# A task cancelled before its first step never runs its body, so wait
# until every worker has registered its deferred call.
for i in range(3):
    ready.recv()
started()
sleep(3600)
`)
		errc <- err
	}()
	<-started
	cancel()
	err := <-errc
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindCancelled, ce.Kind)
	assert.ErrorIs(t, err, context.Canceled)
	// Every deferred function has run by the time Exec returns.
	for _, line := range []string{"main cleaned up", "worker 0 cleaned up", "worker 1 cleaned up", "worker 2 cleaned up"} {
		assert.Contains(t, out.String(), line+"\n")
	}
	infos, err := eng.TaskInfos()
	require.NoError(t, err)
	assert.Empty(t, infos)
}

func TestOptions(t *testing.T) {
	t.Run("modules", func(t *testing.T) {
		eng, _ := newEngine(t, engine.Options{Modules: map[string]starlark.StringDict{
			"config": {"port": starlark.MakeInt(8080)},
		}})
		g, err := eng.Exec(testCtx(t), "main.star", `load("config", "port")`+"\np = port + 1\n")
		require.NoError(t, err)
		assert.Equal(t, starlark.MakeInt(8081), g["p"])
	})
	t.Run("globals", func(t *testing.T) {
		eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"greeting": starlark.String("hi")}})
		g, err := eng.Exec(testCtx(t), "main.star", `x = greeting + "!"`)
		require.NoError(t, err)
		assert.Equal(t, starlark.String("hi!"), g["x"])
	})
	t.Run("deny by default", func(t *testing.T) {
		eng, _ := newEngine(t, engine.Options{})
		_, err := eng.Exec(testCtx(t), "main.star", `os.env("HOME")`)
		var ce *engine.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, engine.KindPermission, ce.Kind)
		assert.Contains(t, ce.Msg, "Permissions.Env")

		eng2, _ := newEngine(t, engine.Options{Permissions: engine.Permissions{Env: true}})
		_, err = eng2.Exec(testCtx(t), "main.star", `os.env("HOME")`)
		assert.NoError(t, err)
	})
	t.Run("step limit", func(t *testing.T) {
		eng, _ := newEngine(t, engine.Options{MaxSteps: 50000, TimeSlice: 1000})
		_, err := eng.Exec(testCtx(t), "main.star", "while True:\n    pass\n")
		var ce *engine.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, engine.KindError, ce.Kind)
		assert.Contains(t, ce.Msg, "step limit of 50000 exceeded")
	})
	t.Run("virtual time", func(t *testing.T) {
		eng, _ := newEngine(t, engine.Options{VirtualTime: true})
		g, err := eng.Exec(testCtx(t), "main.star", "t0 = time.monotonic()\nsleep(3600)\nelapsed = time.monotonic() - t0\n")
		require.NoError(t, err)
		assert.Equal(t, starlark.Float(3600), g["elapsed"])
	})
}

func TestOnFailure(t *testing.T) {
	type failure struct{ task, kind, msg string }
	var got []failure
	eng, out := newEngine(t, engine.Options{OnFailure: func(task string, err *engine.Error) {
		got = append(got, failure{task, string(err.Kind), err.Msg})
	}})
	_, err := eng.Exec(testCtx(t), "main.star", `
def bad():
    fail("nobody waits for me")
def fine():
    return 1
def cancelled():
    sleep(10)
spawn(bad, name="bad")
spawn(fine, name="fine")
c = spawn(cancelled)
sleep(0)
c.cancel()
`)
	require.NoError(t, err, "a failed background task does not fail the run")
	assert.Equal(t, []failure{{"bad", "error", "nobody waits for me"}}, got, "only the unwatched failure, not the cancelled task")
	assert.Contains(t, out.String(), "task 'bad' failed:")
	assert.Equal(t, 1, eng.Failures())
}

func TestCallFromManyGoroutines(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	g, err := eng.Exec(testCtx(t), "main.star", `
calls = {"n": 0}
def add(a, b):
    sleep(0)                # let the other calls interleave
    calls["n"] += 1
    return a + b
def count():
    return calls["n"]
`)
	require.NoError(t, err)
	const goroutines, each = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				v, err := eng.Call(testCtx(t), g["add"], starlark.MakeInt(i), starlark.MakeInt(j))
				if err != nil {
					errs <- err
					return
				}
				if v != starlark.MakeInt(i+j) {
					errs <- fmt.Errorf("add(%d, %d) = %v", i, j, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := eng.Call(testCtx(t), g["count"])
	require.NoError(t, err)
	assert.Equal(t, starlark.MakeInt(goroutines*each), n)
}

func TestCallWhileExecDrives(t *testing.T) {
	// The main module waits on the host (an AsyncBuiltin) while a Call
	// comes in: the Call is posted to Exec's loop, which runs it.
	fns := make(chan starlark.Value, 1)
	register := starlark.NewBuiltin("register", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		fns <- args[0]
		return starlark.None, nil
	})
	release := make(chan struct{})
	hostWait := engine.AsyncBuiltin("host_wait", func(ctx context.Context, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		<-release
		return starlark.None, nil
	})
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"register": register, "host_wait": hostWait}})
	errc := make(chan error, 1)
	var g starlark.StringDict
	go func() {
		var err error
		g, err = eng.Exec(testCtx(t), "main.star", `
got = []
def record(v):
    got.append(v)
    sleep(0)
    return len(got)
register(record)
host_wait()
`)
		errc <- err
	}()
	fn := <-fns
	for i := range 3 {
		v, err := eng.Call(testCtx(t), fn, starlark.String(fmt.Sprint("call ", i)))
		require.NoError(t, err)
		assert.Equal(t, starlark.MakeInt(i+1), v)
	}
	close(release)
	require.NoError(t, <-errc)
	assert.Equal(t, `["call 0", "call 1", "call 2"]`, g["got"].String())
}

func TestBackgroundTasksProgressWhileCallDrives(t *testing.T) {
	eng, out := newEngine(t, engine.Options{VirtualTime: true})
	g, err := eng.Exec(testCtx(t), "main.star", `
result = future()
def background():
    for i in range(3):
        sleep(1)
        print("tick", i)
    result.set("background finished")
def waiter():
    return result.wait()
`)
	require.NoError(t, err)
	require.NoError(t, eng.Start("background", g["background"]))
	v, err := eng.Call(testCtx(t), g["waiter"])
	require.NoError(t, err)
	assert.Equal(t, starlark.String("background finished"), v)
	assert.Equal(t, "tick 0\ntick 1\ntick 2\n", out.String())
}

func TestCallErrors(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	g, err := eng.Exec(testCtx(t), "main.star", "def f(x):\n    return 10 // x\n")
	require.NoError(t, err)

	_, err = eng.Call(testCtx(t), g["f"], starlark.MakeInt(0))
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindError, ce.Kind)
	assert.Contains(t, err.Error(), "floored division by zero")
	assert.Contains(t, err.Error(), "main.star:2:15: in f")
	assert.Empty(t, out.String(), "the caller gets the failure: it is not reported as unhandled")
	assert.Zero(t, eng.Failures())

	_, err = eng.Call(testCtx(t), starlark.MakeInt(3))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindValue, ce.Kind)
	_, err = eng.Call(testCtx(t), g["no_such_function"])
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "value: Call: got nil, want a callable", err.Error())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = eng.Call(ctx, g["f"], starlark.MakeInt(1))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindCancelled, ce.Kind)
}

func TestCallCancel(t *testing.T) {
	started := make(chan struct{})
	eng, out := newEngine(t, engine.Options{Globals: starlark.StringDict{"started": signal("started", started)}})
	g, err := eng.Exec(testCtx(t), "main.star", `
def slow():
    defer(print, "slow cleaned up")
    started()
    sleep(3600)
    return "never"
`)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err = eng.Call(ctx, g["slow"])
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindCancelled, ce.Kind)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "slow cleaned up\n", out.String(), "the deferred function ran before Call returned")
}

func TestCloseWithTasksWaiting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreAnyFunction("github.com/corolang/coro/loop.(*blockingPool).work"))
	out := &syncBuffer{}
	started := make(chan struct{})
	eng, err := engine.New(engine.Options{Stdout: out, Stderr: out, Globals: starlark.StringDict{"started": signal("started", started)}})
	require.NoError(t, err)
	g, err := eng.Exec(testCtx(t), "main.star", `
f = future()
def waiter(n):
    defer(print, "waiter", n, "cleaned up")
    f.wait()
def blocked_call():
    defer(print, "call cleaned up")
    started()
    f.wait()
`)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, eng.Start(fmt.Sprintf("waiter-%d", i), g["waiter"], starlark.MakeInt(i)))
	}
	_, err = eng.Poll(0)
	require.NoError(t, err)
	infos, err := eng.TaskInfos()
	require.NoError(t, err)
	require.Len(t, infos, 3)

	callErr := make(chan error, 1)
	go func() {
		_, err := eng.Call(context.Background(), g["blocked_call"])
		callErr <- err
	}()
	<-started
	require.NoError(t, eng.Close())
	err = <-callErr
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindCancelled, ce.Kind)
	for _, line := range []string{"waiter 0 cleaned up", "waiter 1 cleaned up", "waiter 2 cleaned up", "call cleaned up"} {
		assert.Contains(t, out.String(), line+"\n")
	}

	// A closed engine refuses work.
	_, err = eng.Call(context.Background(), g["waiter"], starlark.MakeInt(9))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindClosed, ce.Kind)
	_, err = eng.Poll(0)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindClosed, ce.Kind)
	_, err = eng.Exec(context.Background(), "x.star", "pass")
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindClosed, ce.Kind)
	require.ErrorAs(t, eng.Start("late", g["waiter"], starlark.MakeInt(9)), &ce)
	assert.Equal(t, engine.KindClosed, ce.Kind)
	require.ErrorAs(t, eng.Do(func() {}), &ce)
	assert.Equal(t, engine.KindClosed, ce.Kind)
	assert.NoError(t, eng.Close(), "Close is idempotent")
}

func TestPollHostDriven(t *testing.T) {
	eng, out := newEngine(t, engine.Options{VirtualTime: true})
	g, err := eng.Exec(testCtx(t), "main.star", `
def animate(frames):
    for i in range(frames):
        print("frame", i)
        sleep(1 / 60)
    return "finished"
`)
	require.NoError(t, err)
	require.NoError(t, eng.Start("animation", g["animate"], starlark.MakeInt(3)))

	// One pass runs the task once: it prints and then sleeps.
	ran, err := eng.Poll(0)
	require.NoError(t, err)
	assert.Equal(t, 1, ran)
	assert.Equal(t, "frame 0\n", out.String())
	infos, err := eng.TaskInfos()
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, "animation", infos[0].Name)
	assert.Equal(t, "waiting", infos[0].State)
	assert.Contains(t, infos[0].WaitingOn, "sleep until")
	assert.Equal(t, []string{"main.star:5:14 in animate"}, infos[0].Stack)

	// The host's frames: each Poll moves the virtual clock to the next
	// timer and runs the task once more.
	for range 10 {
		if infos, _ := eng.TaskInfos(); len(infos) == 0 {
			break
		}
		_, err := eng.Poll(0)
		require.NoError(t, err)
	}
	assert.Equal(t, "frame 0\nframe 1\nframe 2\n", out.String())
	ran, err = eng.Poll(time.Second)
	require.NoError(t, err)
	assert.Zero(t, ran, "nothing left to run: Poll returns at once")
}

func TestPollBudgetBoundsWork(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{TimeSlice: 100})
	g, err := eng.Exec(testCtx(t), "main.star", `
def spin():
    while True:
        pass
`)
	require.NoError(t, err)
	require.NoError(t, eng.Start("spin", g["spin"]))
	// A task that never waits: Poll still returns, after at least one turn.
	ran, err := eng.Poll(time.Millisecond)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ran, 1)
	ran, err = eng.Poll(0)
	require.NoError(t, err)
	assert.Equal(t, 1, ran, "budget 0 is a single pass")
}

func TestTwoEnginesAreIndependent(t *testing.T) {
	const src = `
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
shared = []
def work(tag):
    for i in range(20):
        shared.append(tag)
        sleep(0)
    return fib(15)
`
	var wg sync.WaitGroup
	for e := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eng, out := newEngine(t, engine.Options{Seed: uint64(e + 1)})
			g, err := eng.Exec(testCtx(t), "main.star", src+fmt.Sprintf("name = 'engine-%d'\n", e))
			if !assert.NoError(t, err) {
				return
			}
			var inner sync.WaitGroup
			for i := range 4 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					v, err := eng.Call(testCtx(t), g["work"], starlark.MakeInt(i))
					assert.NoError(t, err)
					assert.Equal(t, starlark.MakeInt(610), v)
				}()
			}
			inner.Wait()
			assert.Equal(t, 80, g["shared"].(*starlark.List).Len(), "each engine has its own globals")
			assert.Equal(t, starlark.String(fmt.Sprintf("engine-%d", e)), g["name"])
			assert.Empty(t, out.String())
		}()
	}
	wg.Wait()
}

func TestDo(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	g, err := eng.Exec(testCtx(t), "main.star", "items = []\n")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, eng.Do(func() {
				g["items"].(*starlark.List).Append(starlark.MakeInt(i))
			}))
		}()
	}
	wg.Wait()
	var n int
	require.NoError(t, eng.Do(func() { n = g["items"].(*starlark.List).Len() }))
	assert.Equal(t, 10, n)
}

// A panic in Do's function panics in Do's caller, not in the goroutine
// of a Call that happens to drive the loop, and the engine goes on: it
// left the loop held, and every later Call, Exec and Close waited for
// ever. A panic in OnFailure is written on stderr.
func TestHostPanicsStayWithTheHost(t *testing.T) {
	eng, out := newEngine(t, engine.Options{OnFailure: func(string, *engine.Error) { panic("onfailure bug") }})
	g, err := eng.Exec(testCtx(t), "lib.star", "def handler():\n    sleep(0.3)\n    return 'done'\n")
	require.NoError(t, err)
	call := make(chan string, 1)
	go func() {
		v, err := eng.Call(testCtx(t), g["handler"])
		call <- fmt.Sprintln(v, err)
	}()
	time.Sleep(50 * time.Millisecond) // the Call drives the loop
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		eng.Do(func() { panic("bug in the host's function") })
	}()
	require.NotNil(t, recovered, "Do panics in its caller")
	assert.Contains(t, fmt.Sprint(recovered), "panic in Engine.Do's function: bug in the host's function")
	assert.Equal(t, "\"done\" <nil>\n", <-call)

	_, err = eng.Exec(testCtx(t), "main.star", "spawn(fail, 'unobserved')\nsleep(0.01)\nprint('after')\n")
	require.NoError(t, err)
	v, err := eng.Call(testCtx(t), g["handler"])
	require.NoError(t, err)
	assert.Equal(t, `"done"`, v.String())
	assert.Contains(t, out.String(), "coro: panic in Options.OnFailure: onfailure bug")
	assert.Contains(t, out.String(), "after\n")
}

// A run's ctx bounds its wait for the loop: while a Call drove it (its
// task waiting on a channel nobody sends on), Exec and Wait waited for
// that Call to end, for ever, deaf to their deadlines, and then ran.
func TestRunWaitsForTheLoopWithinItsCtx(t *testing.T) {
	started := make(chan struct{})
	eng, out := newEngine(t, engine.Options{Globals: starlark.StringDict{"started": signal("started", started)}})
	g, err := eng.Exec(testCtx(t), "lib.star", "c = channel()\ndef handler():\n    started()\n    return c.recv()\n")
	require.NoError(t, err)
	callCtx, stopCall := context.WithCancel(testCtx(t))
	called := make(chan error, 1)
	go func() {
		_, err := eng.Call(callCtx, g["handler"])
		called <- err
	}()
	<-started // the Call's goroutine drives the loop, nobody else being there
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	_, err = eng.Exec(ctx, "main.star", `print("main ran")`)
	require.Error(t, err)
	assert.True(t, errors.Is(err, engine.ErrTimeout), "%v", err)
	assert.NotContains(t, out.String(), "main ran")
	ctx2, cancel2 := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel2()
	assert.Error(t, eng.Wait(ctx2))
	stopCall()
	assert.Error(t, <-called)
}

func TestErrorKindsSurviveErrorsAs(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	_, err := eng.Exec(testCtx(t), "main.star", `wait(spawn(lambda: sleep(10)), timeout=0.001)`)
	var ce *engine.Error
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, engine.KindTimeout, ce.Kind)
	assert.Contains(t, err.Error(), "timeout: wait exceeded 0.001s")
}

// TestNewRejectsBadOptions: options that cannot mean anything are an
// error from New, naming the option, not a puzzle later.
func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts engine.Options
		want string
	}{
		{engine.Options{Permissions: engine.Permissions{Read: []string{""}}}, "Options.Permissions.Read: an empty path"},
		{engine.Options{Permissions: engine.Permissions{Write: []string{"/tmp", ""}}}, "Options.Permissions.Write: an empty path"},
		{engine.Options{Globals: starlark.StringDict{"no good": starlark.None}}, `Options.Globals: "no good" is not an identifier`},
		{engine.Options{Globals: starlark.StringDict{"for": starlark.None}}, `Options.Globals: "for" is not an identifier`},
		{engine.Options{Globals: starlark.StringDict{"x1 ": starlark.None}}, `Options.Globals: "x1 " is not an identifier`},
		{engine.Options{Globals: starlark.StringDict{"x": nil}}, `Options.Globals: "x" is nil`},
		{engine.Options{Modules: map[string]starlark.StringDict{"m": {"x": nil}}}, `Options.Modules: module "m": member "x" is nil`},
		{engine.Options{Modules: map[string]starlark.StringDict{"": {}}}, `Options.Modules: module ""`},
	} {
		eng, err := engine.New(tc.opts)
		assert.Nil(t, eng)
		if assert.Error(t, err) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	eng, err := engine.New(engine.Options{Globals: starlark.StringDict{"ok_1": starlark.None}})
	require.NoError(t, err)
	require.NoError(t, eng.Close())
}

// TestStdlibChoosesModules: an embedder predeclares only the standard
// modules it names; the builtins stay.
func TestStdlibChoosesModules(t *testing.T) {
	eng, out := newEngine(t, engine.Options{Stdlib: []string{"json", "re"}})
	_, err := eng.Exec(testCtx(t), "m.star", `
print(json.encode([1]), re.sub("a", "b", "aa"), type(spawn))
`)
	require.NoError(t, err)
	assert.Equal(t, "[1] bb builtin_function_or_method\n", out.String())
	_, err = eng.Exec(testCtx(t), "n.star", `net.listen("127.0.0.1:0")`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "undefined: net")

	_, err = engine.New(engine.Options{Stdlib: []string{"json", "sockets"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Options.Stdlib: no standard module "sockets"`)
}

// stdlib.Modules lists exactly the modules scripts see.
func TestStdlibModulesComplete(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	var modules []string
	for name, v := range eng.Predeclared() {
		if _, ok := v.(*starlarkstruct.Module); ok {
			modules = append(modules, name)
		}
	}
	assert.ElementsMatch(t, stdlib.Modules, modules)
}

// TestLoadCycle: a cycle of loads is reported with its chain of files,
// the main script's included (it ran again as a module, and the message
// named the wrong file: "b.star loads itself" for a.star -> b.star ->
// a.star).
func TestLoadCycle(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for name, src := range map[string]string{
		"a.star":     "print('a runs')\nload('b.star', 'B')\nA = 1\n",
		"b.star":     "print('b runs')\nload('a.star', 'A')\nB = 2\n",
		"m.star":     "load('sub/x.star', 'X')\n",
		"sub/x.star": "load('y.star', 'Y')\nX = 1\n",
		"sub/y.star": "load('../sub/x.star', 'X')\nY = 1\n",
		"s.star":     "load('s.star', 'S')\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, []byte(src), 0o644))
	}
	for _, c := range []struct{ file, msg, out string }{
		{"a.star", "cycle in load graph: a.star loads b.star loads a.star", "a runs\nb runs\n"},
		{"m.star", "cycle in load graph: sub/x.star loads sub/y.star loads sub/x.star", ""},
		{"s.star", "cycle in load graph: s.star loads itself", ""},
	} {
		eng, out := newEngine(t, engine.Options{Permissions: engine.Permissions{Load: []string{dir}}})
		_, err := eng.RunFile(testCtx(t), c.file)
		ce := engine.AsError(err)
		assert.Equal(t, engine.KindValue, ce.Kind, "%s: %v", c.file, err)
		assert.Equal(t, c.msg, ce.Msg, c.file)
		assert.Equal(t, c.out, out.String(), "%s: the main script runs once", c.file)
	}
}

// A module's top level may wait (a sleep, a channel, a spawned task's
// result): it runs below load's Go frame, where its waits park in place.
// The wait unwound the thread into load, which failed with "cannot load
// slow.star: starlark: thread unwound" (starlark/ORIGIN.md 38).
func TestModuleTopLevelMayWait(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile("slow.star", []byte("sleep(0.01)\nX = spawn(lambda: 41).wait() + 1\n"), 0o644))
	require.NoError(t, os.WriteFile("main.star", []byte("load('slow.star', 'X')\nprint(X)\n"), 0o644))
	eng, out := newEngine(t, engine.Options{Permissions: engine.Permissions{Load: []string{dir}}})
	_, err := eng.RunFile(testCtx(t), "main.star")
	require.NoError(t, err)
	assert.Equal(t, "42\n", out.String())
}

// Options.SeedSet makes a Seed of 0 a seed: two engines repeat each
// other's random choices (a zero Seed alone picks one).
func TestSeedZeroSet(t *testing.T) {
	run := func() string {
		eng, out := newEngine(t, engine.Options{Seed: 0, SeedSet: true})
		_, err := eng.Exec(testCtx(t), "r.star", "print([random.randint(0, 1 << 30) for _ in range(4)])")
		require.NoError(t, err)
		return out.String()
	}
	assert.Equal(t, run(), run())
}

// A host's Call, Do, TaskInfos and Dump return once their own work is
// done, while other tasks stay ready (a computing task, a sleep(0) loop,
// two tasks passing a value back and forth): the loop checked whether the
// request was finished only when nothing was ready, so they waited until
// Close.
func TestHostCallsReturnWhileOthersRun(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	ctx := testCtx(t)
	g, err := eng.Exec(ctx, "m.star", `
def spin():
    x = 0
    while True:
        x += 1
def yielder():
    while True:
        sleep(0)
a, b = channel(), channel()
def ping():
    while True:
        a.send(1)
        b.recv()
def pong():
    while True:
        a.recv()
        b.send(1)
def quick():
    return 42
`)
	require.NoError(t, err)
	for _, name := range []string{"spin", "yielder", "ping", "pong"} {
		require.NoError(t, eng.Start(name, g[name]))
	}
	for range 3 {
		v, err := eng.Call(ctx, g["quick"])
		require.NoError(t, err)
		assert.Equal(t, "42", v.String())
		infos, err := eng.TaskInfos()
		require.NoError(t, err)
		assert.Len(t, infos, 4)
		_, err = eng.Dump()
		require.NoError(t, err)
		require.NoError(t, eng.Do(func() {}))
	}
}

// An Exec that Close interrupts (from another goroutine) returns a
// cancelled error: it returned nil, as if the script had run to its end.
func TestExecInterruptedByCloseFails(t *testing.T) {
	for _, src := range []string{"x = 0\nwhile True:\n    x += 1\n", "sleep(100)\n", "spawn(sleep, 100)\nchannel().recv()\n"} {
		eng, _ := newEngine(t, engine.Options{})
		done := make(chan error, 1)
		started := make(chan struct{})
		go func() {
			close(started)
			_, err := eng.Exec(testCtx(t), "m.star", src+"finished = True\n")
			done <- err
		}()
		<-started
		time.Sleep(50 * time.Millisecond) // let it start running; either way it must not report success
		require.NoError(t, eng.Close())
		err := <-done
		require.Error(t, err, src)
		ce := engine.AsError(err)
		assert.Contains(t, []engine.Kind{engine.KindCancelled, engine.KindClosed}, ce.Kind, "%s: %v", src, err)
	}
}

// A nil starlark.Value given to Call, Run or Start is refused naming the
// argument: the function saw a parameter never assigned ("local variable
// x referenced before assignment"), and Run with a nil function panicked.
func TestHostCallNilArguments(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	g, err := eng.Exec(testCtx(t), "main.star", "def f(x, y):\n    return y\n")
	require.NoError(t, err)
	one := starlark.MakeInt(1)
	_, err = eng.Call(testCtx(t), g["f"], one, nil)
	assert.EqualError(t, err, "value: Call: argument 2: got nil, want a value")
	_, err = eng.Run(testCtx(t), "f", g["f"], nil, one)
	assert.EqualError(t, err, "value: Run: argument 1: got nil, want a value")
	err = eng.Start("f", g["f"], one, nil)
	assert.EqualError(t, err, "value: Start: argument 2: got nil, want a value")
	_, err = eng.Run(testCtx(t), "g", g["g"])
	assert.EqualError(t, err, "value: Run: got nil, want a callable")
}

// Close cutting off a run whose main had ended but whose spawned tasks
// still worked is a cancelled run, as a deadline's is: Exec said nil.
func TestCloseCuttingSpawnedTasksIsReported(t *testing.T) {
	started := make(chan struct{})
	eng, out := newEngine(t, engine.Options{Globals: starlark.StringDict{"started": signal("started", started)}})
	go func() {
		<-started
		eng.Close()
	}()
	_, err := eng.Exec(testCtx(t), "main.star", "def w():\n    started()\n    sleep(100)\n    print('work finished')\nspawn(w)\n")
	require.Error(t, err)
	assert.True(t, errors.Is(err, engine.ErrCancelled), "%v", err)
	assert.NotContains(t, out.String(), "work finished")
}
