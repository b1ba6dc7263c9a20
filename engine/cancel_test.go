package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// execBounded runs src with ctx and fails the test if Exec has not
// returned after a generous bound (it used to run on forever).
func execBounded(t *testing.T, eng *engine.Engine, ctx context.Context, src string) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := eng.Exec(ctx, "main.star", src)
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-time.After(20 * time.Second):
		require.FailNow(t, "Exec did not return after its ctx ended")
		return nil
	}
}

// A cancelled ctx stops tasks that only compute (issue 10, item 9): the
// loop used to look at ctx only when no task was ready. A task that
// catches its cancellation and computes on is stopped too (sticky), and
// deferred functions still run, with the cancellation lifted (they may
// wait).
func TestExecDeadlineStopsComputingTasks(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := execBounded(t, eng, ctx, `
def stubborn():
    defer(print, "stubborn cleaned up")
    while True:
        catch(lambda: [x for x in range(100000)])

def waiter():
    def goodbye():
        sleep(0.01)
        print("waiter cleaned up after a wait")
    defer(goodbye)
    r = catch(sleep, 3600)
    print("waiter caught", r.error.kind)
    while True:
        catch(sleep, 1)  # fails at once: cancellation is sticky

spawn(stubborn)
spawn(waiter)
defer(print, "main cleaned up")
while True:
    pass
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindTimeout, ce.Kind, "a deadline is a timeout")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	for _, line := range []string{"main cleaned up", "stubborn cleaned up", "waiter caught cancelled", "waiter cleaned up after a wait"} {
		assert.Contains(t, out.String(), line+"\n")
	}
	infos, err := eng.TaskInfos()
	require.NoError(t, err)
	assert.Empty(t, infos)
}

// The same through a cancel from another goroutine, with the reason the
// ctx's cause gives, and many computing tasks spawning more.
func TestExecCancelStopsSpawnBomb(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel(context.Canceled)
	}()
	err := execBounded(t, eng, ctx, `
def bomb():
    while True:
        spawn(bomb)
bomb()
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindCancelled, ce.Kind)
	assert.Contains(t, ce.Msg, "run cancelled")
}

// A deferred function that spawns its own function again (a worker that
// restarts itself) kept a cancelled run going for ever: each new task was
// not cancelled. Once the run ends, a task spawned by a deferred function
// starts cancelled and runs no body; the engine can run again afterwards.
func TestCancelledRunEndsDespiteRespawningDefers(t *testing.T) {
	eng, out := newEngine(t, engine.Options{VirtualTime: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := execBounded(t, eng, ctx, `
def worker():
    defer(spawn, worker)
    sleep(1)
worker()
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindTimeout, ce.Kind)
	_, err = eng.Exec(testCtx(t), "again.star", `spawn(print, "runs again").wait()`)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "runs again\n")
}

// A deferred function that defers itself again ran for ever, past the
// 5 s bound of deferred functions and deaf to cancellation. Past the
// bound, defer fails with timeout, as every wait does. (Small time slices make the virtual
// clock reach the bound quickly: each slice of computing takes 1 ms.)
func TestDeferringItselfEndsAtTheBound(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{VirtualTime: true, TimeSlice: 100})
	err := execBounded(t, eng, testCtx(t), `
def again():
    defer(again)
again()
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindTimeout, ce.Kind)
	assert.Contains(t, ce.Msg, "deferred functions exceeded 5s")
}

// os.exit from a deferred function leaves the deferred functions to the
// run already going on: a deferred function that deferred itself and
// called os.exit nested a new run of them, with a new bound, per call,
// and recursed for ever, deaf to interrupts (found by FuzzExec). It now
// ends at the bound, with the status the last os.exit asked for.
func TestExitFromDeferredFunctionEndsAtTheBound(t *testing.T) {
	eng, out := newEngine(t, engine.Options{VirtualTime: true, TimeSlice: 100})
	err := execBounded(t, eng, testCtx(t), `
n = [0]
def bye():
    n[0] += 1
    defer(bye)
    os.exit(n[0] % 7)
def last():
    print("ran", n[0] > 100)
defer(last)
bye()
`)
	var ee *engine.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "ran True\n", out.String())

	// A deferred function's os.exit still sets the status, and the
	// deferred functions registered before it run once each.
	eng, out = newEngine(t, engine.Options{VirtualTime: true})
	err = execBounded(t, eng, testCtx(t), `
defer(print, "first registered, runs last")
defer(os.exit, 4)
defer(print, "last registered, runs first")
`)
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 4, ee.Code)
	assert.Equal(t, "last registered, runs first\nfirst registered, runs last\n", out.String())
}

// Generators still close when a run ends: their closer is cleanup the
// engine owes, so it runs although tasks spawned then start cancelled
// (it retried for ever; found by FuzzBuiltinArgs). A deferred function
// that starts a generator of its own body while generators are closed is
// refused, so that the run ends.
func TestGeneratorsCloseWhenARunEnds(t *testing.T) {
	eng, out := newEngine(t, engine.Options{VirtualTime: true})
	err := execBounded(t, eng, testCtx(t), `
def body():
    defer(print, "closed")
    emit(1)
g = generator(body)
g.next()
channel().recv()
`)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindDeadlock, ce.Kind)
	assert.Contains(t, out.String(), "closed\n")

	// The run ends by itself (it used to go on until its ctx ended).
	err = execBounded(t, eng, testCtx(t), `
def body():
    defer(lambda: generator(body).next())
    emit(1)
generator(body).next()
`)
	require.NoError(t, err)
}

// An os.exit ends the run it happens in, not the engine: a later Exec
// reports its own outcome (it said exit 0 for ever, hiding a later
// failure), and Run and Wait report an exit during them as Exec does.
func TestExitEndsOnlyItsRun(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	ctx := testCtx(t)
	_, err := eng.Exec(ctx, "a.star", "os.exit(0)\n")
	var ee *engine.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 0, ee.Code)
	assert.Equal(t, &engine.ExitError{Code: 0}, eng.Exit())

	_, err = eng.Exec(ctx, "b.star", "fail('broken')\n")
	require.Error(t, err)
	assert.NotErrorAs(t, err, &ee)
	assert.Contains(t, err.Error(), "error: broken", "the later run's own failure")
	assert.Nil(t, eng.Exit())

	g, err := eng.Exec(ctx, "c.star", `
def bye(n):
    spawn(print, "never runs")
    os.exit(n)
def later():
    sleep(0)
    os.exit(5)
def hello():
    spawn(print, "spawned")
    return "hi"
`)
	require.NoError(t, err)
	_, err = eng.Run(ctx, "bye", g["bye"], starlark.MakeInt(2))
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)
	v, err := eng.Run(ctx, "hello", g["hello"])
	require.NoError(t, err)
	assert.Equal(t, starlark.String("hi"), v)
	require.NoError(t, eng.Wait(ctx))
	assert.Equal(t, "spawned\n", out.String())

	require.NoError(t, eng.Start("later", g["later"]))
	err = eng.Wait(ctx)
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 5, ee.Code)
}

// An os.exit in a Call is the caller's to see as an *ExitError, as is the
// end of every Call its exit cancelled, and later Calls run as before
// (they failed with "cancelled: exit" for ever).
func TestExitInCall(t *testing.T) {
	started := make(chan struct{})
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"started": signal("started", started)}})
	ctx := testCtx(t)
	g, err := eng.Exec(ctx, "m.star", `
ch = channel()
def waiter():
    started()
    ch.recv()
def bye(n):
    os.exit(n)
def hello():
    return "hi"
`)
	require.NoError(t, err)
	waited := make(chan error, 1)
	go func() {
		_, err := eng.Call(ctx, g["waiter"])
		waited <- err
	}()
	<-started
	_, err = eng.Call(ctx, g["bye"], starlark.MakeInt(3))
	var ee *engine.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.Code)
	require.ErrorAs(t, <-waited, &ee, "the exit ended the waiter's call too")
	assert.Equal(t, 3, ee.Code)

	v, err := eng.Call(ctx, g["hello"])
	require.NoError(t, err)
	assert.Equal(t, starlark.String("hi"), v)
	_, err = eng.Exec(ctx, "n.star", "x = 1\n")
	require.NoError(t, err)
}

// A run asked for with a ctx that is done already runs nothing and fails
// with the ctx's error, as Call does: the cancellation reached the loop
// only after the script had begun, and a short script usually ran to its
// end and returned nil.
func TestRunWithCtxDoneRunsNothing(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := eng.Exec(ctx, "main.star", "print('ran')\n")
	require.ErrorIs(t, err, engine.ErrCancelled)
	assert.ErrorIs(t, err, context.Canceled)
	g, err := eng.Exec(testCtx(t), "lib.star", "def f():\n    print('f ran')\n")
	require.NoError(t, err)
	_, err = eng.Run(ctx, "f", g["f"])
	require.ErrorIs(t, err, engine.ErrCancelled)
	require.NoError(t, eng.Start("f", g["f"]))
	require.ErrorIs(t, eng.Wait(ctx), engine.ErrCancelled)
	assert.Empty(t, out.String())
	require.NoError(t, eng.Wait(testCtx(t)))
	assert.Equal(t, "f ran\n", out.String(), "the started task, left to run")
}

// A ctx's deadline ends a run or a call with timeout whenever it passes:
// before the call (it did), or while it runs (it said cancelled).
func TestCtxDeadlineIsTimeout(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	g, err := eng.Exec(testCtx(t), "main.star", "def block():\n    sleep(3600)\n")
	require.NoError(t, err)
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = eng.Call(past, g["block"])
	require.ErrorIs(t, err, engine.ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	soon := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	_, err = eng.Call(soon(), g["block"])
	require.ErrorIs(t, err, engine.ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = eng.Exec(soon(), "block.star", "sleep(3600)\n")
	require.ErrorIs(t, err, engine.ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = eng.Run(soon(), "block", g["block"])
	require.ErrorIs(t, err, engine.ErrTimeout)
}
