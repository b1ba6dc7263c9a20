package loop_test

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// within fails the test if f has not returned after a while: what it
// checks used to wait for ever.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting: the call waits for the loop it runs on")
	}
}

// A builtin that calls back into its own engine with a method that waits
// for the loop (Do, TaskInfos, Dump, Call, Exec, Close) gets an error saying
// so, where it waited for itself for ever; what Do and Call posted never
// runs, and the script goes on.
func TestCallsOnTheLoopFail(t *testing.T) {
	var e *loop.Engine
	var doRan, callRan atomic.Bool
	noted := starlark.NewBuiltin("noted", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		callRan.Store(true)
		return starlark.None, nil
	})
	attempt := starlark.NewBuiltin("attempt", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		var err error
		switch which := string(args[0].(starlark.String)); which {
		case "Do":
			err = e.Do(func() { doRan.Store(true) })
		case "TaskInfos":
			_, err = e.TaskInfos()
		case "Dump":
			_, err = e.Dump()
		case "Call":
			_, err = e.Call(context.Background(), noted)
		case "Exec":
			_, err = e.Exec(context.Background(), "inner.star", "x = 1\n")
		case "Close":
			err = e.Close()
		}
		return starlark.String(errString(err)), nil
	})
	var out bytes.Buffer
	g := loop.Builtins()
	g["attempt"] = attempt
	e = loop.New(loop.Options{Stdout: &out, Stderr: &out, SlowWarning: -1}, g)
	defer e.Close()
	within(t, func() {
		_, err := e.Exec(context.Background(), "outer.star", `
for m in ["Do", "TaskInfos", "Dump", "Call", "Exec", "Close"]:
    print(attempt(m))
def task():
    print(attempt("TaskInfos"))
spawn(task).wait()
print("went on")
`)
		require.NoError(t, err)
	})
	want := []string{"Do", "TaskInfos", "Dump", "Call", "Exec", "Close", "TaskInfos"}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, len(want)+1, out.String())
	for i, m := range want {
		assert.Equal(t, "error: "+m+": called on the engine's own loop (from a builtin, or a callback such as Options.OnFailure), where it would wait for itself; call it from another goroutine, or spawn a task", lines[i])
	}
	assert.Equal(t, "went on", lines[len(want)])
	assert.False(t, doRan.Load(), "Do's function ran")
	assert.False(t, callRan.Load(), "Call's function ran")
	_, err := e.TaskInfos()
	assert.NoError(t, err, "from another goroutine, as before")
}

// Options.OnFailure may not wait for its own loop either: TaskInfos from
// it fails, whichever goroutine drives the loop (a run's, or Poll's).
func TestOnFailureOnTheLoop(t *testing.T) {
	for _, poll := range []bool{false, true} {
		var e *loop.Engine
		var got []string
		e = loop.New(loop.Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, OnFailure: func(task string, _ *loop.Error) {
			_, err := e.TaskInfos()
			got = append(got, task+": "+errString(err))
		}}, loop.Builtins())
		within(t, func() {
			if poll {
				fail, _ := starlark.ExecFile(&starlark.Thread{}, "f.star", "def fail():\n    1 // 0\n", starlark.StringDict{})
				require.NoError(t, e.Start("failing", fail["fail"]))
				for range 100 {
					e.Poll(0)
				}
			} else {
				_, err := e.Exec(context.Background(), "run.star", "def f():\n    1 // 0\nspawn(f, name='failing')\n")
				require.NoError(t, err)
			}
		})
		e.Close()
		require.Len(t, got, 1, "poll=%v", poll)
		assert.Contains(t, got[0], "failing: error: TaskInfos: called on the engine's own loop", "poll=%v", poll)
	}
}

// A call from another goroutine that waits long for a busy loop (past
// onLoopAfter, when a waiting call asks whether it runs on the loop) is
// not taken for one made on the loop: it gets its answer once the loop
// is free.
func TestLongWaitFromAnotherGoroutine(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	busy := starlark.NewBuiltin("busy", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		close(started)
		<-release // holds the loop
		finished.Store(true)
		return starlark.None, nil
	})
	g := loop.Builtins()
	g["busy"] = busy
	e := loop.New(loop.Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, SlowWarning: -1}, g)
	defer e.Close()
	ran := make(chan error, 1)
	go func() {
		_, err := e.Exec(context.Background(), "busy.star", "busy()\n")
		ran <- err
	}()
	<-started
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	_, err := e.TaskInfos()
	require.NoError(t, err)
	assert.True(t, finished.Load(), "answered only once the busy run gave the loop back")
	require.NoError(t, <-ran)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
