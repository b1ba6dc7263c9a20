package loop_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveEngine starts Serve on a goroutine and returns a function that
// runs src as a task through Post and waits for it to end, and the
// deadlock errors Serve reported.
func serveEngine(t *testing.T) (eng *loop.Engine, run func(src string) *loop.Task, deadlocks func() []string, out *bytes.Buffer) {
	t.Helper()
	out = &bytes.Buffer{}
	eng, _ = newEngine(loop.Options{Stdout: out, Stderr: out, VirtualTime: true})
	ctx, cancel := context.WithCancel(context.Background())
	var reported []string // loop only
	var current *loop.Task
	served := make(chan error, 1)
	go func() {
		served <- eng.Serve(ctx, func(err *loop.Error) {
			reported = append(reported, err.Error())
			if current != nil {
				current.Cancel("deadlock")
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-served)
		eng.Close()
	})
	onLoop := func(fn func()) {
		done := make(chan struct{})
		eng.Post(func() { fn(); close(done) })
		<-done
	}
	globals := starlark.StringDict{}
	for k, v := range eng.Predeclared() {
		globals[k] = v
	}
	run = func(src string) *loop.Task {
		ended := make(chan struct{})
		var task *loop.Task
		body := starlark.NewBuiltin("body", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			g, err := starlark.ExecFileOptions(eng.FileOptions(), th, "serve.star", src, globals)
			for k, v := range g {
				globals[k] = v
			}
			return starlark.None, err
		})
		onLoop(func() {
			task = eng.Spawn(body, nil, nil, "fg", nil, "")
			current = task
			task.OnEnd(func() { current = nil; close(ended) })
		})
		<-ended
		return task
	}
	deadlocks = func() (out []string) {
		onLoop(func() { out = append(out, reported...) })
		return out
	}
	return eng, run, deadlocks, out
}

// Tasks keep running between the host's posts; running out of tasks is
// not the end of Serve.
func TestServeOutlivesTasks(t *testing.T) {
	_, run, deadlocks, out := serveEngine(t)
	task := run("def bg():\n    sleep(1)\n    print('bg done')\nt = spawn(bg)\n")
	require.Equal(t, loop.StateDone, task.State())
	task = run("t.wait()\nprint('waited')\n")
	require.Equal(t, loop.StateDone, task.State(), "%v", task.Err())
	assert.Equal(t, "bg done\nwaited\n", out.String())
	assert.Empty(t, deadlocks())
}

// A task that can never wake is reported to the hook, which decides; the
// loop then goes on serving.
func TestServeReportsDeadlock(t *testing.T) {
	_, run, deadlocks, _ := serveEngine(t)
	task := run("wait(future())\n")
	require.Equal(t, loop.StateCancelled, task.State())
	reported := deadlocks()
	require.Len(t, reported, 1)
	assert.Contains(t, reported[0], "deadlock: 1 task blocked forever")
	task = run("x = 1\n")
	assert.Equal(t, loop.StateDone, task.State())
}
