package trace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/corolang/coro/engine/trace"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Recorder keeps at most its capacity of events, the newest, in the
// --trace format; and what live tasks did so far, forgotten when they end.
func TestRecorderKeepsTheLatestEvents(t *testing.T) {
	rec := trace.NewRecorder(8)
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard, VirtualTime: true}, loop.Builtins())
	defer e.Close()
	tw := trace.New(nil, rec, e.Now)
	e.SetTracer(tw)
	_, err := e.Exec(context.Background(), "rec.star", `
def ticker():
    for i in range(20):
        sleep(0.1)
def parked():
    spawn(ticker, name="ticker")
    future().wait()
p = spawn(parked, name="parked")
sleep(1)
`)
	// The run ends in a deadlock (parked waits forever) once ticker is done.
	require.Error(t, err)

	var buf bytes.Buffer
	require.NoError(t, rec.WriteJSON(&buf, 0))
	var doc struct {
		TraceEvents []traceEvent `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc), buf.String())
	var kept, names int
	for _, ev := range doc.TraceEvents {
		if ev.Ph == "M" {
			names++
			continue
		}
		kept++
	}
	assert.Equal(t, 8, kept, "the capacity bounds what is kept")
	assert.GreaterOrEqual(t, names, 2, "the process and the tracks kept are named")
	last := doc.TraceEvents[len(doc.TraceEvents)-1]
	assert.Greater(t, last.Ts, 1.0e6-1, "the newest events are kept (the run lasted 2 s of virtual time)")
}

func TestRecorderTaskStats(t *testing.T) {
	rec := trace.NewRecorder(0)
	var e *loop.Engine
	stats := map[string]trace.TaskStats{}
	ids := map[int64]string{}
	// snapshot() reads the recorder from the loop, while the tasks live.
	snapshot := starlark.NewBuiltin("snapshot", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		for _, task := range e.Tasks() {
			ids[task.ID()] = task.Name()
			if st, ok := rec.Task(task.ID()); ok {
				stats[task.Name()] = st
			}
		}
		return starlark.None, nil
	})
	pre := loop.Builtins()
	pre["snapshot"] = snapshot
	e = loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard, VirtualTime: true}, pre)
	defer e.Close()
	e.SetTracer(trace.New(nil, rec, e.Now))
	_, err := e.Exec(context.Background(), "stats.star", `
def child():
    sleep(5)
def parent():
    spawn(child, name="child")
    sleep(5)
spawn(parent, name="parent")
sleep(1)
snapshot()
`)
	require.NoError(t, err)
	require.Contains(t, stats, "child")
	require.Contains(t, stats, "parent")
	assert.Equal(t, "parent", ids[stats["child"].Parent])
	assert.Equal(t, "main", ids[stats["parent"].Parent])
	_, ok := rec.Task(stats["child"].Parent)
	assert.False(t, ok, "an ended task is forgotten")
}
