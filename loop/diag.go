package loop

// Diagnostics (SPEC 8): what every live task waits on, the deadlock report
// with its wait cycles, the task dump (tasks(), SIGQUIT, the REPL's :tasks),
// the spawn chain of tracebacks, Go frames for --go-trace, and the
// slow-task watchdog.

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// A Dependency is a Reason that can name the tasks that must act before
// the waiting task can go on: the task it waits for, a lock's holder. The
// deadlock report follows these edges to show wait cycles, which are the
// usual cause of a deadlock and the hardest part to see in a plain dump.
type Dependency interface {
	Reason
	// DependsOn returns the tasks the wait depends on (finished ones may be included).
	DependsOn() []*Task
}

// dependsOn returns the live tasks t's current wait depends on.
func dependsOn(t *Task) []*Task {
	var deps []*Task
	switch why := t.why.(type) {
	case *Task:
		deps = []*Task{why}
	case Dependency:
		deps = why.DependsOn()
	}
	out := deps[:0:0]
	for _, d := range deps {
		if d != nil && !d.Done() {
			out = append(out, d)
		}
	}
	return out
}

// ---- tasks() and the dump ----

// taskInfo returns t as a TaskInfo value (SPEC 8). waiting_on and
// spawned_at are None when the task waits on nothing or was not spawned
// by a script (main, the REPL's foreground task).
func taskInfo(t *Task) starlark.Value {
	var waiting, spawned starlark.Value = starlark.None, starlark.None
	if t.why != nil && t.state == StateWaiting {
		waiting = starlark.String(t.why.WaitingOn())
	}
	if t.SpawnedAt() != "" {
		spawned = starlark.String(t.SpawnedAt())
	}
	frames := StackOf(t)
	stack := make([]starlark.Value, len(frames))
	for i, f := range frames {
		stack[i] = starlark.String(f)
	}
	return &taskInfoValue{fields: [...]starlark.Value{
		starlark.MakeInt64(t.id),
		starlark.String(t.name),
		spawned,
		starlark.NewList(stack),
		starlark.String(t.state.String()),
		waiting,
	}}
}

// A taskInfoValue is an item of tasks(), a TaskInfo to scripts: a type
// of its own, as Result is, so that a missing attribute's error reads as
// every other value's ("TaskInfo has no .nope field or method"), where
// the struct it was said "\"TaskInfo\" struct has no .nope attribute".
// Its string, ==, and freezing are the struct's.
type taskInfoValue struct {
	fields [len(taskInfoAttrs)]starlark.Value // in the order of taskInfoAttrs
}

// taskInfoAttrs are a TaskInfo's attributes, sorted (as dir() lists them).
var taskInfoAttrs = [...]string{"id", "name", "spawned_at", "stack", "state", "waiting_on"}

var _ starlark.HasAttrs = (*taskInfoValue)(nil)

func (ti *taskInfoValue) String() string {
	var b strings.Builder
	b.WriteString("TaskInfo(")
	for i, name := range taskInfoAttrs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s", name, ti.fields[i])
	}
	b.WriteByte(')')
	return b.String()
}
func (ti *taskInfoValue) Type() string         { return "TaskInfo" }
func (ti *taskInfoValue) Truth() starlark.Bool { return true }
func (ti *taskInfoValue) Freeze() {
	for _, v := range ti.fields {
		v.Freeze()
	}
}
func (ti *taskInfoValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: TaskInfo")
}

// CompareSameType makes == compare the attributes, as it did of the struct.
func (ti *taskInfoValue) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	if op != syntax.EQL && op != syntax.NEQ {
		return false, fmt.Errorf("%s %s %s not implemented", ti.Type(), op, y.Type())
	}
	o := y.(*taskInfoValue)
	for i := range ti.fields {
		if eq, err := starlark.EqualDepth(ti.fields[i], o.fields[i], depth-1); err != nil || !eq {
			return op == syntax.NEQ && err == nil, err
		}
	}
	return op == syntax.EQL, nil
}

func (ti *taskInfoValue) AttrNames() []string { return slices.Clone(taskInfoAttrs[:]) }
func (ti *taskInfoValue) Attr(name string) (starlark.Value, error) {
	for i, n := range taskInfoAttrs {
		if n == name {
			return ti.fields[i], nil
		}
	}
	return nil, nil // "TaskInfo has no .name field or method"
}

func builtinTasks(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("tasks", args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	x, err := TaskOf(th, "tasks")
	if err != nil {
		return nil, err
	}
	live := x.Task.eng.Tasks()
	out := make([]starlark.Value, len(live))
	for i, t := range live {
		out[i] = taskInfo(t)
	}
	return starlark.NewList(out), nil
}

// Dump returns the task dump: every live task with its id, state, what it
// waits on, where it was spawned and its script stack, innermost frame
// last — the text of tasks() for people. The coro command prints it on
// SIGQUIT and the REPL on :tasks. It reads loop state, so it runs on the
// loop, waiting for it as Do does; called on the loop itself, it fails
// as Do would (docs/embedding.md).
func (e *Engine) Dump() (string, error) {
	var s string
	err := e.do("Dump", func() { s = e.dump() })
	return s, err
}

// dump is Dump, called on the loop.
func (e *Engine) dump() string {
	live := e.Tasks()
	var b strings.Builder
	describeTasks(&b, live, "live task", "%s:")
	b.WriteByte('\n')
	return b.String()
}

// describeTasks writes a header, format with "1 <what>" or "<n> <what>s"
// for %s, then each task's description on lines of its own.
func describeTasks(b *strings.Builder, tasks []*Task, what, format string) {
	count := fmt.Sprintf("%d %ss", len(tasks), what)
	if len(tasks) == 1 {
		count = "1 " + what
	}
	fmt.Fprintf(b, format, count)
	for _, t := range tasks {
		b.WriteByte('\n')
		b.WriteString(DescribeTask(t))
	}
}

// DescribeTask renders one task for dumps and the deadlock report: name,
// id, state, what it waits on, where it was spawned, then its stack.
func DescribeTask(t *Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  task '%s' (id %d, %s)", t.name, t.id, t.state)
	if t.why != nil && t.state == StateWaiting {
		fmt.Fprintf(&b, ": %s", t.why.WaitingOn())
	}
	if t.SpawnedAt() != "" {
		fmt.Fprintf(&b, "\n    spawned at %s", t.SpawnedAt())
		if in := t.root.parent; in != nil && in.owner != nil && t.link != nil {
			// A group's task: who spawned it into whose group (any task
			// may spawn into a group, SPEC 11).
			fmt.Fprintf(&b, " by task '%s', in the group of task '%s'", t.link.by, in.owner.name)
		}
	}
	for _, fr := range StackOf(t) {
		fmt.Fprintf(&b, "\n    %s", fr)
	}
	return b.String()
}

// StackOf returns a task's script frames, innermost last, as
// "file:line:col in function". For a suspended task the innermost frame
// is the call that waits; the running task's own stack ends at the call
// that asked (tasks(), say). Frames of generator bodies the task runs now
// follow the frame that resumed them, as in a traceback. Builtin frames
// have no position and are left out.
func StackOf(t *Task) []string {
	if t.thread == nil {
		return nil
	}
	var out []string
	add := func(th *starlark.Thread) {
		for _, fr := range th.CallStack() {
			if fr.Pos.Line != 0 {
				out = append(out, fmt.Sprintf("%s in %s", fr.Pos, fr.Name))
			}
		}
	}
	add(t.thread)
	// The innermost body: the one the task waits in, or, for the running
	// task, the one running now. Those that resumed it lead back to the
	// task's own context.
	var x *Exec
	if t.rare != nil {
		x = t.rare.body
	}
	if cur := t.eng.curExec; x == nil && cur != nil && cur.Task == t {
		x = cur
	}
	var bodies []*starlark.Thread
	for x != nil && x != &t.exec {
		bodies = append(bodies, x.thread)
		b, ok := x.Body.(Body)
		if !ok {
			break
		}
		x = b.ResumedBy()
	}
	for i := len(bodies) - 1; i >= 0; i-- {
		if bodies[i] != nil {
			add(bodies[i])
		}
	}
	return out
}

// ---- deadlock ----

// deadlock builds the error for "no task can ever run again" (SPEC 8):
// every blocked task with what it waits on and its stack, then the wait
// cycles among them.
func (e *Engine) deadlock() error {
	blocked := e.Tasks()
	var b strings.Builder
	describeTasks(&b, blocked, "task", "%s blocked forever")
	for _, cyc := range waitCycles(blocked) {
		b.WriteString("\n  cycle: ")
		for i, t := range cyc {
			if i > 0 {
				b.WriteString(" waits on ")
			}
			fmt.Fprintf(&b, "task '%s'", t.name)
		}
		fmt.Fprintf(&b, " waits on task '%s'", cyc[0].name)
	}
	return &Error{Kind: KindDeadlock, Msg: b.String()}
}

// waitCycles returns cycles of the wait graph among tasks (edges from
// dependsOn), each starting at its oldest task: one for every back edge
// of a depth-first search in id order. That finds every cycle that does
// not share tasks with another (the usual deadlock: two tasks, two
// locks), and at least one in any tangle, in time linear in the graph;
// listing every elementary cycle could take exponential time.
func waitCycles(tasks []*Task) [][]*Task {
	const (
		unseen = iota
		onPath
		finished
	)
	color := map[*Task]int{}
	var cycles [][]*Task
	var path []*Task
	var visit func(t *Task)
	visit = func(t *Task) {
		color[t] = onPath
		path = append(path, t)
		for _, d := range dependsOn(t) {
			switch color[d] {
			case unseen:
				visit(d)
			case onPath:
				i := slices.Index(path, d)
				cycles = append(cycles, rotateOldestFirst(slices.Clone(path[i:])))
			}
		}
		path = path[:len(path)-1]
		color[t] = finished
	}
	for _, t := range tasks {
		if color[t] == unseen {
			visit(t)
		}
	}
	return cycles
}

func rotateOldestFirst(cyc []*Task) []*Task {
	min := 0
	for i, t := range cyc {
		if t.id < cyc[min].id {
			min = i
		}
	}
	return append(cyc[min:], cyc[:min]...)
}

// ---- tracebacks ----

// A SpawnSite is one link of the chain of spawns that led to a task: task
// By spawned task Task at At (file:line:col).
type SpawnSite struct {
	By, Task, At string
}

// maxSpawnChain bounds the spawn sites a traceback shows; a task that
// respawns itself forever would otherwise make tracebacks grow forever.
const maxSpawnChain = 16

// A spawnLink records one spawn for tracebacks: task by spawned a task at
// at. Tasks keep links rather than a pointer to their parent task, so a
// task does not keep its ancestors (their results, threads, stacks)
// alive; a chain is cut at maxSpawnChain, so a task that respawns itself
// forever uses bounded memory. A link does not name the task spawned:
// that is the task that holds it, or, up the chain, the task that made
// the link below (by). So the tasks one task spawns at one site, as a
// loop does, share one link (Engine.linkSpawn).
type spawnLink struct {
	by, at string
	up     *spawnLink
	depth  int
}

// linkSpawn returns the link for a task spawned by parent (nil: by no
// task) at the script position at: the last one made, if it says the
// same.
func (e *Engine) linkSpawn(parent *Task, at string) *spawnLink {
	by := "?"
	var up *spawnLink
	if parent != nil {
		by, up = parent.name, parent.link
		if up != nil && up.depth >= maxSpawnChain {
			up = truncateLinks(up, maxSpawnChain-1)
		}
	}
	if l := e.lastLink; l != nil && l.up == up && l.at == at && l.by == by {
		return l
	}
	l := &spawnLink{by: by, at: at, up: up, depth: 1}
	if up != nil {
		l.depth = up.depth + 1
	}
	e.lastLink = l
	return l
}

// truncateLinks copies the innermost n links of a chain.
func truncateLinks(l *spawnLink, n int) *spawnLink {
	if l == nil || n == 0 {
		return nil
	}
	up := truncateLinks(l.up, n-1)
	c := &spawnLink{by: l.by, at: l.at, up: up, depth: 1}
	if up != nil {
		c.depth = up.depth + 1
	}
	return c
}

// setOrigin records in err the task it arose in and the chain of spawns
// that led to that task, unless an inner task already did.
func (t *Task) setOrigin(err *Error) {
	if err.Task != "" {
		return
	}
	err.Task, err.SpawnedAt = t.name, t.SpawnedAt()
	var chain []SpawnSite
	task := t.name // the task a link spawned: the one below's spawner
	for l := t.link; l != nil && len(chain) < maxSpawnChain; l = l.up {
		chain = append(chain, SpawnSite{By: l.by, Task: task, At: l.at})
		task = l.by
	}
	slices.Reverse(chain)
	err.Spawns = chain
}

// goTraceOn counts the engines running with Options.GoTrace. While it is
// non-zero, errors made by coro record the Go frames where they were made
// (Errorf, ValueError, ToError of a foreign error): that is the Go code a
// --go-trace user wants to see — the builtin that failed, not the loop that
// reported it. It is process-wide because errors are made without an
// engine at hand; recording more frames than needed is harmless.
var goTraceOn atomic.Int32

// goStack returns the caller's Go frames (skip frames above it left out)
// when some engine wants them, else "".
func goStack(skip int) string {
	if goTraceOn.Load() == 0 {
		return ""
	}
	pcs := make([]uintptr, 64)
	n := runtime.Callers(skip+2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		fmt.Fprintf(&b, "  %s\n      %s:%d\n", f.Function, f.File, f.Line)
		if !more {
			break
		}
	}
	return b.String()
}

// ---- the slow-task watchdog ----

// slowThreshold is how long a task may keep the loop without yielding
// before it is reported (SPEC 8), unless Options.SlowWarning says otherwise.
const slowThreshold = 100 * time.Millisecond

// slowLimit returns the engine's slow-task threshold; 0 means no warning.
func (e *Engine) slowLimit() time.Duration {
	switch d := e.opts.SlowWarning; {
	case d < 0:
		return 0
	case d == 0:
		return slowThreshold
	default:
		return d
	}
}

// slowStuck is how long the watchdog waits, after it flagged a slow run,
// for the loop to report it itself (with a script position) before it
// reports it from its own goroutine: the loop may never get back (a Go
// call that blocks forever). A variable so tests need not wait a second.
var slowStuck = time.Second

// watchdog observes the loop from its own goroutine through one word the
// loop publishes with a single atomic store at the start of each run and
// at each time-slice boundary (where a computing task offers the loop to
// others): the running task's id and a run counter. Before the loop
// blocks waiting for work it publishes 0, "idle". A word that stays the
// same and non-zero for slowThreshold is a task keeping the loop.
//
// Only the loop may read a task's script position (the watchdog reading a
// running thread's frames would race), so the watchdog flags a slow run
// and the loop reports it at its next safe point: the end of the run or a
// time-slice boundary. The word carries the id rather than the task so
// that the watchdog, which reports a run that never ends by itself, reads
// nothing the loop writes with plain stores.
type watchdog struct {
	word atomic.Uint64
	runs uint64 // loop only: the counter in word
	// flagged is the word of a run the watchdog found slow (0: none);
	// since is when (UnixNano) that run was first seen.
	flagged atomic.Uint64
	since   atomic.Int64
	// reported is the word of the last slow run reported, by either side.
	reported atomic.Uint64
	// task is the task of the run in word, for the watchdog's own report
	// to name it (a task's name and spawn site never change once made).
	task atomic.Pointer[Task]
	// parked is set while the watchdog sleeps until the loop runs again
	// (it found the loop idle for watchParkAfter ticks); the loop then
	// sends on wake when a run starts. An idle server woke forty times a
	// second for the watchdog's ticks, and the runtime's monitor with it.
	parked atomic.Bool
	wake   chan struct{} // buffered, one token
}

// watchParkAfter is how many consecutive ticks that find the loop idle
// park the watchdog: a loop that sleeps briefly between bursts of work
// (a busy server) keeps it ticking, and costs no wake-up.
const watchParkAfter = 4

// runBits is how many low bits of the word count runs; the task id is
// above them. Consecutive samples, 25ms apart, cannot see the counter wrap.
const runBits = 24

// reportedByWatchdog marks flagged when the watchdog reported the run itself.
const reportedByWatchdog = 1 << 63

// runStarted publishes that t runs now (runTask; preempt at a slice
// boundary), and wakes a parked watchdog. The store of word before the
// load of parked pairs with the watchdog's store of parked before its
// load of word (park): one of the two sees the other, so a run never
// goes unwatched.
func (w *watchdog) runStarted(t *Task) {
	w.runs++
	w.task.Store(t)
	w.word.Store(uint64(t.id)<<runBits | w.runs&(1<<runBits-1))
	if w.parked.Load() {
		select {
		case w.wake <- struct{}{}:
		default: // a token is there already
		}
	}
}

// park sleeps until the loop runs a task again (runStarted) or done is
// closed, unless a run has started meanwhile. It reports false once done
// is closed.
func (w *watchdog) park(done <-chan struct{}) bool {
	w.parked.Store(true)
	defer w.parked.Store(false)
	if w.word.Load() != 0 {
		return true
	}
	select {
	case <-w.wake:
		return true
	case <-done:
		return false
	}
}

// idle publishes that the loop waits for work (runLoop).
func (w *watchdog) idle() { w.word.Store(0) }

// startDiag starts what diagnostics need while the loop is driven: the
// slow-task watchdog and, with Options.GoTrace, Go frames in errors. It
// returns the function that stops them.
//
// On the virtual clock (coro test, --virtual-time) there is no watchdog:
// such runs are meant to print the same every time, and how long a run
// takes in real time depends on the machine and its load.
func (e *Engine) startDiag() (stop func()) {
	if e.opts.GoTrace {
		goTraceOn.Add(1)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	if e.clock.virtual || e.slowLimit() == 0 {
		close(finished)
	} else {
		go e.watch(done, finished, e.slowLimit())
	}
	return func() {
		close(done)
		<-finished
		e.wd.idle()
		if e.opts.GoTrace {
			goTraceOn.Add(-1)
		}
	}
}

// watch samples the published word: one unchanged and non-zero for longer
// than slowThreshold is flagged for the loop to report, or reported here
// if the loop does not come back within slowStuck.
//
// Only time the watchdog saw pass tick by tick counts: a late tick means
// the whole process was held up (a loaded machine, a long GC pause), which
// no task is to blame for, so the measurement starts again.
func (e *Engine) watch(done <-chan struct{}, finished chan<- struct{}, limit time.Duration) {
	defer close(finished)
	w := &e.wd
	watchTick := limit / 4 // the sampling interval
	tick := time.NewTicker(watchTick)
	defer tick.Stop()
	var last uint64
	var lastChange, prevTick time.Time
	var starve starvation
	idleTicks := 0
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			now := time.Now() // when the watchdog ran, not when the tick was due
			late := !prevTick.IsZero() && now.Sub(prevTick) > 2*watchTick
			prevTick = now
			s := w.word.Load()
			if s != 0 {
				idleTicks = 0
			} else if idleTicks++; idleTicks >= watchParkAfter {
				// Idle for a while: sleep until a run starts, then
				// measure from there, as after a late tick.
				if !w.park(done) {
					return
				}
				idleTicks, prevTick = 0, time.Time{}
				last, lastChange = w.word.Load(), time.Now()
				starve.reset()
				tick.Reset(watchTick)
				continue
			}
			if s != last || s == 0 || (late && w.flagged.Load() != s) {
				last, lastChange = s, now
				starve.reset()
				continue
			}
			starve.start(now)
			elapsed := now.Sub(lastChange)
			if elapsed <= limit || w.reported.Load() == s {
				continue
			}
			if w.flagged.Load() != s {
				if starve.starved(now) {
					// The machine held the loop up, not its task: measure
					// again from now.
					lastChange = now
					starve.reset()
					continue
				}
				w.since.Store(lastChange.UnixNano())
				w.flagged.Store(s)
				continue
			}
			if prev := w.reported.Load(); elapsed > slowStuck && prev != s && w.reported.CompareAndSwap(prev, s) {
				who := fmt.Sprintf("the task with id %d", s>>runBits)
				// task was stored before word: if word still holds s, task
				// is the task of this run.
				if t := w.task.Load(); t != nil && w.word.Load() == s && uint64(t.id) == s>>runBits {
					who = fmt.Sprintf("task '%s'%s", t.name, spawnedNote(t))
				}
				fmt.Fprintf(e.stderr, "coro: warning: %s kept the loop for %s without yielding, stuck in a Go call\n",
					who, roundSeconds(elapsed))
				// The loop loads flagged when the run ends: this store makes
				// the write above happen before the loop's next output.
				w.flagged.Store(s | reportedByWatchdog)
			}
		}
	}
}

// runDelays reads how long each thread of the process has waited for a
// CPU (threadRunDelays); a variable so tests can stand in for a loaded
// machine.
var runDelays = threadRunDelays

// A starvation tells, for a run that looks slow, whether the machine
// rather than the task kept the loop: on a loaded machine the loop's
// thread can wait for a CPU, runnable, for longer than the threshold
// while its task does next to nothing (seen at a load of 7 per core: a
// run of 0.17 s that would take a few milliseconds). The loop's
// goroutine may be on any of the process's threads, so a run counts as
// starved when some thread waited for a CPU for more than half the time
// measured. Its baseline is taken at a run's first unchanged tick, so a
// run shorter than a tick costs nothing; one that is slow costs a read
// of each thread's schedstat, twice. While the machine is that loaded, a
// run that is slow on its own (computing, or blocked in a Go call) may go
// unreported too: the measure tells only that the machine held it up.
type starvation struct {
	at     time.Time
	delays map[int]time.Duration // by thread id, at at
}

func (s *starvation) reset() { *s = starvation{} }

// start takes the baseline, once per run.
func (s *starvation) start(now time.Time) {
	if s.at.IsZero() {
		s.at, s.delays = now, runDelays()
	}
}

// starved reports whether some thread waited for a CPU for more than half
// the time since start.
func (s *starvation) starved(now time.Time) bool {
	if s.delays == nil {
		return false
	}
	half := now.Sub(s.at) / 2
	for tid, d := range runDelays() {
		if d-s.delays[tid] > half {
			return true
		}
	}
	return false
}

// checkSlow reports the run of t in progress if the watchdog flagged it,
// with t's script position now: where it is computing (atSliceEnd), where
// it next waited, or that it finished. A flag for anything but this run
// (the loop was slow between runs) is dropped. Loop only.
func (e *Engine) checkSlow(t *Task, atSliceEnd bool) {
	w := &e.wd
	s := w.flagged.Load()
	w.flagged.Store(0)
	if s != w.word.Load() {
		return // reported by the watchdog already, or not this run
	}
	prev := w.reported.Load()
	if prev == s || !w.reported.CompareAndSwap(prev, s) {
		return
	}
	elapsed := time.Since(time.Unix(0, w.since.Load()))
	where := "; it then finished"
	if frames := StackOf(t); len(frames) > 0 {
		if atSliceEnd {
			where = "; now at " + frames[len(frames)-1]
		} else {
			where = "; it next yielded at " + frames[len(frames)-1]
		}
	}
	fmt.Fprintf(e.stderr, "coro: warning: task '%s' kept the loop for %s without yielding%s%s\n",
		t.name, roundSeconds(elapsed), spawnedNote(t), where)
}

func spawnedNote(t *Task) string {
	if t.SpawnedAt() == "" {
		return ""
	}
	return " (spawned at " + t.SpawnedAt() + ")"
}

func roundSeconds(d time.Duration) string {
	return fmtSeconds(d.Round(10 * time.Millisecond).Seconds())
}

// DependsOn returns the tasks among join's items it still waits for.
func (r joinReason) DependsOn() []*Task {
	var out []*Task
	for i, a := range r.its {
		if t, ok := a.(*Task); ok && !r.g.done[i] {
			out = append(out, t)
		}
	}
	return out
}

// DependsOn returns the tasks among race's items.
func (r raceReason) DependsOn() []*Task {
	var out []*Task
	for _, a := range r.its {
		if t, ok := a.(*Task); ok {
			out = append(out, t)
		}
	}
	return out
}
