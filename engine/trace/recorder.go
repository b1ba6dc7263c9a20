package trace

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/corolang/coro/loop"
)

// A Recorder keeps the latest trace events of an engine in memory, and
// what each live task has done so far (its parent, when it was spawned,
// how long it has run): what coro --inspect shows. Give it to
// engine.Options.Recorder. It is written on the engine's loop and read
// from any goroutine.
//
// Memory is bounded: once Capacity events are kept, each new one replaces
// the oldest, so a server running for days keeps its last moments.
type Recorder struct {
	mu    sync.Mutex
	now   func() time.Duration
	ring  []event
	next  int  // where the next event goes
	full  bool // the ring has wrapped
	tasks map[int64]*TaskStats
}

// TaskStats is what a Recorder knows of a live task beyond engine.TaskInfo.
type TaskStats struct {
	Parent  int64         // the spawning task's id; 0 for none (main, host calls)
	Spawned time.Duration // the engine's clock when it was spawned
	RunTime time.Duration // time it has run on the loop
}

// DefaultCapacity is the number of events NewRecorder keeps when given 0:
// a few seconds of a busy script.
const DefaultCapacity = 50000

// NewRecorder returns a Recorder keeping the last capacity events
// (DefaultCapacity if capacity <= 0).
func NewRecorder(capacity int) *Recorder {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Recorder{ring: make([]event, 0, capacity), tasks: map[int64]*TaskStats{}}
}

// start is called by New: the recorder reads the engine's clock.
func (r *Recorder) start(now func() time.Duration) {
	r.mu.Lock()
	r.now = now
	r.mu.Unlock()
}

// Now returns the engine's clock, the recorded events' time base (0
// before the engine started). Call it on the loop (engine.Engine.Do):
// the virtual clock is the loop's.
func (r *Recorder) Now() time.Duration {
	r.mu.Lock()
	now := r.now
	r.mu.Unlock()
	if now == nil {
		return 0
	}
	return now()
}

func (r *Recorder) add(ev event) {
	if ev.Ph == "M" {
		return // track names are made from the events when written
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, ev)
		return
	}
	r.ring[r.next] = ev
	r.next = (r.next + 1) % len(r.ring)
	r.full = true
}

func (r *Recorder) spawned(task, parent *loop.Task, at time.Duration) {
	st := &TaskStats{Spawned: at}
	if parent != nil {
		st.Parent = parent.ID()
	}
	r.mu.Lock()
	r.tasks[task.ID()] = st
	r.mu.Unlock()
}

func (r *Recorder) ran(id int64, d time.Duration) {
	r.mu.Lock()
	if st := r.tasks[id]; st != nil { // none once it ended: its last run comes after
		st.RunTime += d
	}
	r.mu.Unlock()
}

func (r *Recorder) ended(id int64) {
	r.mu.Lock()
	delete(r.tasks, id)
	r.mu.Unlock()
}

// Task returns what the recorder knows of the live task with id.
func (r *Recorder) Task(id int64) (TaskStats, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.tasks[id]
	if !ok {
		return TaskStats{}, false
	}
	return *st, true
}

// events returns the kept events at or after since, oldest first.
func (r *Recorder) events(since time.Duration) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]event, 0, len(r.ring))
	from := micros(since)
	take := func(evs []event) {
		for _, ev := range evs {
			end := ev.Ts
			if ev.Dur != nil {
				end += *ev.Dur
			}
			if end >= from {
				out = append(out, ev)
			}
		}
	}
	if r.full {
		take(r.ring[r.next:])
		take(r.ring[:r.next])
	} else {
		take(r.ring)
	}
	return out
}

// WriteJSON writes the events kept from since on (0: all of them) in the
// format of the --trace file (Chrome's trace events), with a track name
// for each task they mention.
func (r *Recorder) WriteJSON(w io.Writer, since time.Duration) error {
	evs := r.events(since)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	bw.WriteString(`{"displayTimeUnit":"ms","traceEvents":[` + "\n")
	enc.Encode(processName)
	named := map[int64]bool{}
	for _, ev := range evs {
		if ev.Cat == "run" && !named[ev.Tid] {
			named[ev.Tid] = true
			bw.WriteString(",")
			enc.Encode(event{Name: "thread_name", Ph: "M", Pid: pid, Tid: ev.Tid, Args: map[string]any{"name": ev.Name}})
		}
	}
	for _, ev := range evs {
		bw.WriteString(",")
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
