// Package trace writes an engine's scheduling as a Chrome trace-event JSON
// file (coro --trace FILE), which Perfetto (ui.perfetto.dev) and
// chrome://tracing open: one track per task, named after it; one slice per
// run of a task; flow arrows from the spawner to the first run of a task
// it spawned and from a task to the next run of a task it woke; instant
// events for cancellations and failures.
//
// Times are the engine's clock (virtual under --virtual-time, where a run
// usually takes no time at all and its slice has zero duration).
package trace

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/corolang/coro/loop"
)

// pid is the trace's single process: the engine.
const pid = 1

// A Writer is a loop.Tracer that streams trace events to an io.Writer, so
// a long run does not keep its trace in memory, and keeps the latest of
// them in a Recorder (for coro --inspect). Its methods are called on the
// engine's loop; Close finishes the JSON document.
type Writer struct {
	w   *bufio.Writer // nil: no stream
	rec *Recorder     // nil: none
	now func() time.Duration
	err error
	n   int // events written
	// flows holds, per task id, the flow arrows that end at its next run.
	flows  map[int64][]pendingFlow
	flowID uint64
}

// pendingFlow is a started arrow; its end must repeat its name and category.
type pendingFlow struct {
	id   uint64
	name string
}

var _ loop.Tracer = (*Writer)(nil)

// event is one trace event; see the Trace Event Format document.
type event struct {
	Name  string         `json:"name"`
	Cat   string         `json:"cat,omitempty"`
	Ph    string         `json:"ph"`
	Ts    float64        `json:"ts"`
	Dur   *float64       `json:"dur,omitempty"`
	Pid   int            `json:"pid"`
	Tid   int64          `json:"tid"`
	ID    uint64         `json:"id,omitempty"`
	Bp    string         `json:"bp,omitempty"`
	Scope string         `json:"s,omitempty"`
	Args  map[string]any `json:"args,omitempty"`
}

// New returns a Writer streaming to w (nil: nowhere) and keeping the
// latest events in rec (nil: none); now is the engine's clock (Engine.Now).
func New(w io.Writer, rec *Recorder, now func() time.Duration) *Writer {
	t := &Writer{rec: rec, now: now, flows: map[int64][]pendingFlow{}}
	if rec != nil {
		rec.start(now)
	}
	if w != nil {
		t.w = bufio.NewWriter(w)
		t.write(`{"displayTimeUnit":"ms","traceEvents":[` + "\n")
		t.emit(processName)
	}
	return t
}

// processName names the trace's one process.
var processName = event{Name: "process_name", Ph: "M", Pid: pid, Args: map[string]any{"name": "coro"}}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (t *Writer) write(s string) {
	if t.err == nil {
		_, t.err = t.w.WriteString(s)
	}
}

func (t *Writer) emit(ev event) {
	if t.rec != nil {
		t.rec.add(ev)
	}
	if t.w == nil {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil && t.err == nil {
		t.err = err
	}
	if t.n > 0 {
		t.write(",\n")
	}
	t.n++
	t.write(string(b))
}

// flow starts an arrow on from's track now that ends at to's next run.
func (t *Writer) flow(from, to *loop.Task, name string) {
	t.flowID++
	t.emit(event{Name: name, Cat: name, Ph: "s", Ts: micros(t.now()), Pid: pid, Tid: from.ID(), ID: t.flowID})
	t.flows[to.ID()] = append(t.flows[to.ID()], pendingFlow{t.flowID, name})
}

// Spawn names the task's track and draws the spawn arrow.
func (t *Writer) Spawn(task, parent *loop.Task) {
	if t.rec != nil {
		t.rec.spawned(task, parent, t.now())
	}
	t.emit(event{Name: "thread_name", Ph: "M", Pid: pid, Tid: task.ID(), Args: map[string]any{"name": task.Name()}})
	t.emit(event{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: task.ID(), Args: map[string]any{"sort_index": task.ID()}})
	if parent != nil {
		t.flow(parent, task, "spawn")
	}
}

// Run records one run of task as a slice and ends the arrows waiting for it.
func (t *Writer) Run(task *loop.Task, start, end time.Duration) {
	if t.rec != nil {
		t.rec.ran(task.ID(), end-start)
	}
	dur := micros(end - start)
	t.emit(event{Name: task.Name(), Cat: "run", Ph: "X", Ts: micros(start), Dur: &dur, Pid: pid, Tid: task.ID()})
	if fs := t.flows[task.ID()]; len(fs) > 0 {
		for _, f := range fs {
			t.emit(event{Name: f.name, Cat: f.name, Ph: "f", Bp: "e", Ts: micros(start), Pid: pid, Tid: task.ID(), ID: f.id})
		}
		delete(t.flows, task.ID())
	}
}

// Wake draws an arrow from the running task by to the next run of task.
func (t *Writer) Wake(task, by *loop.Task) { t.flow(by, task, "wake") }

// Event records an instant event (a cancellation) on the task's track.
func (t *Writer) Event(task *loop.Task, what string) {
	t.emit(event{Name: what, Ph: "i", Scope: "t", Ts: micros(t.now()), Pid: pid, Tid: task.ID()})
}

// End records a failure as an instant event with the error. (A task ends
// during its last run, whose Run call comes after: that ends its arrows.)
func (t *Writer) End(task *loop.Task) {
	if t.rec != nil {
		t.rec.ended(task.ID())
	}
	if task.State() == loop.StateFailed && task.Err() != nil {
		t.emit(event{Name: "failed", Ph: "i", Scope: "t", Ts: micros(t.now()), Pid: pid, Tid: task.ID(),
			Args: map[string]any{"error": task.Err().Error()}})
	}
}

// Close ends the JSON document and flushes it; it returns the first write
// error. The Writer must not be used afterwards (uninstall it first).
func (t *Writer) Close() error {
	if t.w == nil {
		return nil
	}
	t.write("\n]}\n")
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}
