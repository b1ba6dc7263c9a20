package trace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/corolang/coro/engine/trace"
	"github.com/corolang/coro/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur"`
	Pid  int            `json:"pid"`
	Tid  int64          `json:"tid"`
	ID   uint64         `json:"id"`
	Bp   string         `json:"bp"`
	Args map[string]any `json:"args"`
}

// runTraced runs src with a trace Writer installed and returns the parsed trace.
func runTraced(t *testing.T, src string) []traceEvent {
	t.Helper()
	var buf bytes.Buffer
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard, VirtualTime: true}, loop.Builtins())
	defer e.Close()
	tw := trace.New(&buf, nil, e.Now)
	e.SetTracer(tw)
	_, err := e.Exec(context.Background(), "trace.star", src)
	require.NoError(t, err)
	e.SetTracer(nil)
	require.NoError(t, tw.Close())
	var doc struct {
		TraceEvents []traceEvent `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc), "the trace is one JSON document:\n%s", buf.String())
	return doc.TraceEvents
}

// Three named tasks get a named track each, one slice per run, spawn
// arrows from main, wake arrows from the task that woke them, and
// instant events for a cancellation and a failure.
func TestTraceOfThreeNamedTasks(t *testing.T) {
	evs := runTraced(t, `
f = future()
def producer():
    sleep(0)            # a second run
    f.set("made")       # wakes consumer
def consumer():
    return f.wait()
def victim():
    sleep(10)
p = spawn(producer, name="producer")
c = spawn(consumer, name="consumer")
v = spawn(victim, name="victim")
c.wait()
v.cancel()
catch(v.wait)
catch(lambda: spawn(fail, "oops", name="failing").wait())
`)
	tracks := map[int64]string{}
	runs := map[string]int{}
	flowStarts := map[uint64]traceEvent{}
	flowEnds := map[uint64]traceEvent{}
	instants := map[string]string{}
	for _, ev := range evs {
		assert.Equal(t, 1, ev.Pid)
		switch ev.Ph {
		case "M":
			if ev.Name == "thread_name" {
				tracks[ev.Tid] = ev.Args["name"].(string)
			}
		case "X":
			require.NotNil(t, ev.Dur, "a complete slice has a duration")
			assert.Equal(t, tracks[ev.Tid], ev.Name, "a run slice is on its task's track")
			runs[ev.Name]++
		case "s":
			flowStarts[ev.ID] = ev
		case "f":
			assert.Equal(t, "e", ev.Bp)
			flowEnds[ev.ID] = ev
		case "i":
			instants[tracks[ev.Tid]+" "+ev.Name] = ""
		}
	}
	assert.Equal(t, map[int64]string{1: "main", 2: "producer", 3: "consumer", 4: "victim", 5: "failing"}, tracks)
	assert.GreaterOrEqual(t, runs["producer"], 2)
	assert.GreaterOrEqual(t, runs["consumer"], 2)
	assert.GreaterOrEqual(t, runs["victim"], 2, "it runs again to end its cancelled sleep")
	assert.GreaterOrEqual(t, runs["main"], 3)

	// Every arrow that starts ends, with the same name, at a later or equal time.
	arrows := map[string]bool{}
	for id, s := range flowStarts {
		f, ok := flowEnds[id]
		require.True(t, ok, "arrow %d (%s from %s) ends", id, s.Name, tracks[s.Tid])
		assert.Equal(t, s.Name, f.Name)
		assert.LessOrEqual(t, s.Ts, f.Ts)
		arrows[s.Name+" "+tracks[s.Tid]+"->"+tracks[f.Tid]] = true
	}
	assert.Len(t, flowEnds, len(flowStarts))
	for _, want := range []string{"spawn main->producer", "spawn main->consumer", "spawn main->victim", "wake producer->consumer"} {
		assert.True(t, arrows[want], "arrow %q in %v", want, arrows)
	}
	assert.Contains(t, instants, "victim cancel")
	assert.Contains(t, instants, "failing failed")
}

// A group's tasks are drawn as spawned by the task that called g.spawn
// (SPEC 11), which may be another of the group's tasks; a task queued
// behind the limit gets a wake arrow from the one whose end freed its slot.
func TestTraceOfAGroup(t *testing.T) {
	evs := runTraced(t, `
def leaf():
    sleep(1)
def parent(g):
    sleep(1)
    g.spawn(leaf, name="leaf")
def body(g):
    g.spawn(parent, g, name="parent")
    g.spawn(leaf, name="queued")
group(body, limit=1)
`)
	tracks := map[int64]string{}
	starts := map[uint64]traceEvent{}
	arrows := map[string]bool{}
	for _, ev := range evs {
		switch ev.Ph {
		case "M":
			if ev.Name == "thread_name" {
				tracks[ev.Tid] = ev.Args["name"].(string)
			}
		case "s":
			starts[ev.ID] = ev
		case "f":
			s := starts[ev.ID]
			arrows[s.Name+" "+tracks[s.Tid]+"->"+tracks[ev.Tid]] = true
		}
	}
	for _, want := range []string{"spawn main->parent", "spawn main->queued", "spawn parent->leaf", "wake parent->queued"} {
		assert.True(t, arrows[want], "arrow %q in %v", want, arrows)
	}
}
