// Package core is coro's event loop: tasks as stackful coroutines, the
// ready queue, the timer heap, the completion queue, cancellation and the
// builtins of SPEC sections 2 and 4. Package engine wraps it for embedders
// and adds the standard modules; stdlib modules and package generator
// build on the waiting primitives here (Exec, Waiter, Awaitable).
package loop

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corolang/coro/coroutine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// Permissions says which kinds of I/O scripts may do (SPEC 7). The zero
// value allows none; the coro command allows everything unless --sandbox.
type Permissions struct {
	Net   bool
	Read  []string // paths (and everything below them) scripts may read; "/" for all
	Write []string // paths scripts may write
	Run   bool     // start processes
	Env   bool     // read environment variables
	// Load are folders (or files) load() may read besides Read: the
	// command's sandbox grants the main script's folder. Options.Modules
	// need no grant.
	Load []string
	// Signals lets os.signal take the process's INT, TERM and HUP (the
	// coro command grants it; an embedder's process is not the script's).
	Signals bool
}

// All returns permissions that allow everything.
func AllPermissions() Permissions {
	return Permissions{Net: true, Read: []string{"/"}, Write: []string{"/"}, Run: true, Env: true, Signals: true}
}

// Options configure an engine.
type Options struct {
	Stdout, Stderr io.Writer
	Permissions    Permissions
	// Globals are extra predeclared names.
	Globals starlark.StringDict
	// Modules are extra load()-able modules by name: load("name", "x").
	Modules map[string]starlark.StringDict
	// TimeSlice is the number of Starlark steps a task runs before others
	// get a turn (default 10,000).
	TimeSlice uint64
	// MaxSteps, if non-zero, fails a task that computes more steps than this.
	MaxSteps uint64
	// MaxMemory, if non-zero, bounds the heap in bytes while a run (RunFile,
	// Exec) goes on: past it every task is cancelled, their deferred
	// functions run, and the run fails with a cancelled error that says
	// so. Go has one heap per process, so this bounds what the whole
	// process holds, every engine in it included.
	MaxMemory uint64
	// VirtualTime makes sleeps take no real time: when every task waits only
	// on timers, the clock jumps to the next deadline.
	VirtualTime bool
	// Seed fixes every random choice (select's among them); 0 picks one,
	// unless SeedSet.
	Seed uint64
	// SeedSet makes Seed fix the random choices even when it is 0: a
	// command's --seed 0 is a seed like any other, not the absence of one.
	SeedSet bool
	// Args is os.args as scripts see it.
	Args []string
	// GoTrace adds Go frames to error reports.
	GoTrace bool
	// SlowWarning is how long a task may keep the loop without yielding
	// before a warning is printed: 0 means 100ms, negative means never.
	SlowWarning time.Duration
	// OnFailure, if set, is called (on the loop) for each task failure that
	// no task waited on, after it was reported.
	OnFailure func(task string, err *Error)
	// ThreadHook, if set, is called for every Starlark thread the engine
	// makes, before it runs (to set thread-locals, say).
	ThreadHook func(*starlark.Thread)
	// Logger receives the records of the log module (log.info(...)),
	// whose fields include the task's name as "task". Nil: a text
	// handler at level info writing to Stderr.
	Logger *slog.Logger
	// Breakpoint, if set, is the debugger breakpoint() calls: on a
	// goroutine of its own while the calling task waits, which resumes
	// when it returns (or when ctx is done: the task was cancelled).
	// Nil: breakpoint() does nothing.
	Breakpoint func(ctx context.Context, f *BreakFrame)
	// Remote carries remote() calls to workers (remote.go); package
	// engine installs package nats's. Nil: remote() fails.
	Remote Remote
}

// DefaultTimeSlice is the default number of steps in a time slice.
const DefaultTimeSlice = 10000

// virtualSlice is how far a time slice of computation moves the virtual clock.
const virtualSlice = time.Millisecond

// idleWorkers bounds the pool of parked worker coroutines kept for reuse.
// Short-lived tasks are created and finish in bursts (a server's
// connections, 100k sleepers joined): a pool this size takes most of them
// without creating a goroutine, at the cost of at most ~40 MB of idle
// stacks and threads after a burst (measured: 13% faster on the spawn
// workload than with 256, and no faster with 16384).
const idleWorkers = 4096

// A Tracer receives scheduling events (package diag writes them as a
// Chrome trace). Calls happen on the loop.
type Tracer interface {
	Spawn(t *Task, parent *Task)
	Run(t *Task, start, end time.Duration)
	Wake(t *Task, by *Task)
	Event(t *Task, what string)
	End(t *Task)
}

// An Engine runs one event loop and the tasks on it.
type Engine struct {
	opts        Options
	slice       uint64
	clock       clock
	Rand        *rand.Rand
	predeclared starlark.StringDict
	fileOpts    *syntax.FileOptions
	stdout      io.Writer
	stderr      io.Writer

	// perm.go: the path grants, made by New (a relative path is the
	// one it names then, whatever the working directory is later)
	readGrants, writeGrants *grantSet
	loadGrants              *grantSet

	ready    taskQueue
	timers   timerHeap
	timerSeq uint64

	mu     sync.Mutex // guards posted and gone
	posted []func()
	gone   []**timer // of owners collected, for the loop to remove (dropWhenGone)
	npost  atomic.Int32
	// The loop sleeps in its reactor (reactor.go); sleepState says
	// whether a Post must wake it.
	io         reactor
	sleepState atomic.Int32
	loopMu     sync.Mutex     // held by whoever drives the loop
	goroutines loopGoroutines // which goroutines run the loop's code (onloop.go)
	freeMu     sync.Mutex
	freeCh     chan struct{} // closed when the loop is released
	ctx        context.Context
	cancel     context.CancelFunc

	external int // operations outstanding: while any is, blocked tasks are no deadlock
	// listWaits counts the external operations that are tasks waiting on a
	// WakerList (a socket's readiness, a child, a stream), which something
	// else wakes; inflight counts work handed off (offload) and not yet
	// posted back. Only those two decide whether sleep first looks for a
	// completion about to be posted (reactor.go).
	listWaits, inflight int
	// lastSite is the call site Callers rendered last, and its text.
	lastSite struct {
		pos syntax.Position
		s   string
	}
	// lastLink is the spawn link made last: the tasks a loop spawns at
	// one site share it (linkSpawn).
	lastLink *spawnLink
	keepers  map[any]func() bool
	locals   map[any]any // modules' per-engine state (Local)

	nextID  int64
	live    int
	head    *Task // live tasks, oldest first
	tail    *Task
	current *Task
	curExec *Exec // the execution context running now (a task's or a generator body's)
	main    *Task
	idle    []*worker
	loopW   *worker // the worker running the loop now (loopRun)
	// runStart is when the current task's run began, for the tracer (a
	// run that a handOff ends is finished outside runTask's frame).
	runStart time.Duration
	objects  objectState // channel and sync-object ids, spare waiters (channel.go)
	host     hostState   // requests from Go code: Call, Do, Start (host.go)

	printFn   func(*starlark.Thread, string)
	loadFn    func(*starlark.Thread, string) (starlark.StringDict, error)
	preemptFn func(*starlark.Thread)
	// memGuard is the running drive's memory limit (memory.go), read by
	// checkAlloc on the loop and on parallel workers.
	memGuard atomic.Pointer[memoryGuard]

	modules   map[string]*moduleEntry
	owned     map[*starlark.Module]moduleReach // what parallel found a module's globals reach (ownedReach)
	Unhandled int                              // task failures reported with nobody observing them
	report    reportState                      // failures not observed yet (report.go)
	tracer    Tracer
	closed    bool
	// exitCode is the status the run's os.exit asked for: it ends the run,
	// not the engine, so a new run (Exec, RunFile, Run, and a host Call
	// or Start while no run is going on) clears it (newRun).
	exitCode *ExitError
	running  bool // a drive is going on (Exec, RunFile, Run, Wait, Serve)
	// acquireHook, for tests, runs as acquireLoop is about to wait for
	// the loop: where another goroutine may take it first.
	acquireHook func()
	wd          watchdog // the slow-task watchdog's view of the loop (diag.go)

	// stopReq is set from any goroutine when a drive's ctx is done (a
	// signal, an embedder's deadline): the loop then cancels every task at
	// the next task switch or time-slice boundary, so a computing task is
	// stopped too. stopMu guards stopOwner, the drive the request is for.
	stopReq   atomic.Pointer[string]
	stopMu    sync.Mutex
	stopOwner *int
	stopTaken bool // the current drive's request was taken: it was cancelled

	// teardown, once set, is why the run is ending (its ctx is done, a
	// deadlock, os.exit, the main module failed, Close): every task has
	// been cancelled, and a task spawned from then on (by a deferred
	// function, say) starts cancelled and runs no body, so the run does
	// end. (A deferred function that spawned its own function again kept
	// a cancelled run going for ever.) A drive clears it when it returns.
	teardown        string
	spawningCleanup bool // SpawnCleanup is spawning: not cancelled at birth
}

type moduleEntry struct {
	globals starlark.StringDict
	err     error
	loading bool
	// rel is the module's path as the main script's load() chain spells
	// it (the loading module's rel joined with the path it gave load),
	// and hash the SHA-256 of its source: what remote() sends (remote.go).
	rel  string
	hash [32]byte
	// waiters are the tasks waiting for the load under way (wait).
	waiters []*Waiter
}

// wait parks the task th runs for until the module's load under way, by
// another task, has ended; it fails if the task is interrupted first.
func (ent *moduleEntry) wait(th *starlark.Thread, module string) error {
	x, err := TaskOf(th, "load")
	if err != nil {
		return Errorf(KindValue, "load: %s is being loaded by another task", module)
	}
	for ent.loading {
		w := NewWaiter(x.Task)
		ent.waiters = append(ent.waiters, w)
		x.Park(w, ReasonString("load "+module+" (loaded by another task)"), NoTimeout, "load")
		if i := slices.Index(ent.waiters, w); i >= 0 {
			ent.waiters = slices.Delete(ent.waiters, i, i+1)
		}
		if w.Err != nil {
			return w.Err
		}
	}
	return nil
}

// loaded ends the module's load and wakes the tasks waiting for it.
func (ent *moduleEntry) loaded() {
	ent.loading = false
	for _, w := range ent.waiters {
		w.Complete(-1, nil, nil)
	}
	ent.waiters = nil
}

// New returns an engine whose scripts see predeclared (plus Options.Globals).
func New(opts Options, predeclared starlark.StringDict) *Engine {
	e := &Engine{opts: opts, slice: opts.TimeSlice}
	if e.slice == 0 {
		e.slice = DefaultTimeSlice
	}
	e.stdout, e.stderr = opts.Stdout, opts.Stderr
	if e.stdout == nil {
		e.stdout = os.Stdout
	}
	if e.stderr == nil {
		e.stderr = os.Stderr
	}
	// The slow-task watchdog reports from its own goroutine while the loop
	// may be writing too: every stderr write goes through one lock.
	e.stderr = &lockedWriter{w: e.stderr}
	e.wd.wake = make(chan struct{}, 1)
	e.clock = clock{virtual: opts.VirtualTime, start: time.Now()}
	seed := opts.Seed
	if seed == 0 && !opts.SeedSet {
		seed = rand.Uint64()
	}
	e.Rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e.fileOpts = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	e.predeclared = starlark.StringDict{}
	for k, v := range predeclared {
		e.predeclared[k] = v
	}
	for k, v := range opts.Globals {
		e.predeclared[k] = v
	}
	e.makeGrants()
	e.io = newReactor()
	e.freeCh = make(chan struct{})
	e.keepers = map[any]func() bool{}
	e.modules = map[string]*moduleEntry{}
	// Method values allocate: bind them once, not per thread.
	e.printFn, e.loadFn, e.preemptFn = e.print, e.load, e.preempt
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// checkAlloc answers the engine's threads' large allocations
// (starlark.AllocChecker, through their Host: a task's Exec, a parallel
// worker's allocHost): under Options.MaxMemory, while a drive runs, an
// allocation that would take the heap past the limit is refused and ends
// the run (memoryGuard.checkAlloc).
func (e *Engine) checkAlloc(what string, size uint64) error {
	if g := e.memGuard.Load(); g != nil {
		return g.checkAlloc(what, size)
	}
	return nil
}

// CheckAlloc is the AllocChecker of x's thread (starlark.Thread.Host).
func (x *Exec) CheckAlloc(_ *starlark.Thread, what string, size uint64) error {
	if x.Task == nil {
		return nil
	}
	return x.Task.eng.checkAlloc(what, size)
}

// allocHost is the Host of a parallel worker's thread, which has no task:
// it only answers the thread's large allocations.
type allocHost struct{ e *Engine }

func (h allocHost) CheckAlloc(_ *starlark.Thread, what string, size uint64) error {
	return h.e.checkAlloc(what, size)
}

// Options returns the engine's options.
func (e *Engine) Options() *Options { return &e.opts }

// Predeclared returns the names every module sees.
func (e *Engine) Predeclared() starlark.StringDict { return e.predeclared }

// FileOptions returns the dialect (SPEC: while, recursion, set, top-level control, global reassignment).
func (e *Engine) FileOptions() *syntax.FileOptions { return e.fileOpts }

// Stdout and Stderr return the engine's output streams.
func (e *Engine) Stdout() io.Writer { return e.stdout }
func (e *Engine) Stderr() io.Writer { return e.stderr }

// Context is cancelled when the engine closes; I/O started for tasks uses it.
func (e *Engine) Context() context.Context { return e.ctx }

// Now returns the engine's clock reading (virtual or monotonic since start).
func (e *Engine) Now() time.Duration { return e.clock.now() }

// Wall returns the wall-clock time as the engine sees it.
func (e *Engine) Wall() time.Time { return e.clock.wall() }

// Virtual reports whether the engine runs on the virtual clock.
func (e *Engine) Virtual() bool { return e.clock.virtual }

// SetTracer installs a scheduling tracer.
func (e *Engine) SetTracer(t Tracer) { e.tracer = t }

// Current returns the running task, if any.
func (e *Engine) Current() *Task { return e.current }

// CurrentExec returns the execution context running now: the running
// task's, or the generator body's it is inside. Values whose methods get
// no thread (a starlark.Iterator's Next) use it to wait.
func (e *Engine) CurrentExec() *Exec { return e.curExec }

// SetCurrentExec installs x as the running context and returns the one it
// replaces; package generator calls it around resuming a body.
func (e *Engine) SetCurrentExec(x *Exec) *Exec {
	prev := e.curExec
	e.curExec = x
	return prev
}

// Main returns the main task of the last RunFile or Exec.
func (e *Engine) Main() *Task { return e.main }

func (e *Engine) traceEvent(t *Task, what string) {
	if e.tracer != nil {
		e.tracer.Event(t, what)
	}
}

// print is every thread's print: written through at once (SPEC 1).
func (e *Engine) print(_ *starlark.Thread, msg string) {
	io.WriteString(e.stdout, msg+"\n")
}

// NewThread returns a thread for code that runs for the task in x: the
// engine's print, load, time slicing and thread hook are set.
func (e *Engine) NewThread(name string, x *Exec) *starlark.Thread {
	th := &starlark.Thread{Name: name, Print: e.printFn, Load: e.loadFn, OnMaxSteps: e.preemptFn}
	th.SetMaxExecutionSteps(e.slice)
	if x != nil {
		SetExec(th, x)
		e.threadHook(th)
	}
	return th
}

func (e *Engine) threadHook(th *starlark.Thread) {
	if e.opts.ThreadHook != nil {
		e.reportHostPanic(callHost("Options.ThreadHook", func() { e.opts.ThreadHook(th) }))
	}
}

// lockedWriter serializes writes from the loop and the watchdog.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ---- the ready queue ----

type taskQueue struct {
	buf  []*Task
	head int
	n    int
}

func (q *taskQueue) push(t *Task) {
	if q.n == len(q.buf) {
		nb := make([]*Task, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
}

func (q *taskQueue) pop() *Task {
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return t
}

// makeReady queues t to run.
func (e *Engine) makeReady(t *Task) {
	if e.tracer != nil && e.current != nil && e.current != t {
		e.tracer.Wake(t, e.current)
	}
	t.state = StateReady
	e.ready.push(t)
}

// ---- the completion queue ----

// Post hands fn to the loop; safe from any goroutine. Completions of
// offloaded work and host calls come back this way; a loop asleep in its
// reactor is woken (reactor.go).
func (e *Engine) Post(fn func()) {
	e.mu.Lock()
	e.posted = append(e.posted, fn)
	e.mu.Unlock()
	e.npost.Add(1)
	e.wake()
}

func (e *Engine) drainPosted() {
	if e.npost.Load() == 0 {
		return
	}
	e.mu.Lock()
	list := e.posted
	e.posted = nil
	e.npost.Store(0)
	e.mu.Unlock()
	for i, fn := range list {
		list[i] = nil
		fn()
	}
}

// Hold records an operation in progress whose completion will be posted:
// while any is held, blocked tasks are not a deadlock. Loop only.
func (e *Engine) Hold() { e.external++ }

// Release ends a Hold. Loop only.
func (e *Engine) Release() { e.external-- }

// holdList and releaseList are Hold and Release for a task waiting on a
// WakerList (WaitOnList): its wake-up comes from a reactor callback, or
// from offloaded work that counts as inflight itself, never from a Post
// of its own.
func (e *Engine) holdList()    { e.external++; e.listWaits++ }
func (e *Engine) releaseList() { e.external--; e.listWaits-- }

// completionsExpected reports whether another goroutine may post a
// completion soon: offloaded work in flight, or an external operation
// other than a wait on a WakerList (a request net/http is parsing, a
// child's exit).
func (e *Engine) completionsExpected() bool {
	return e.inflight > 0 || e.external > e.listWaits
}

// Local returns the engine's value for key, made by mk on first use: a
// module's per-engine state (package generator's owners of generators),
// so that no process-wide table is keyed by engine or task. Loop only.
func (e *Engine) Local(key any, mk func() any) any {
	v, ok := e.locals[key]
	if !ok {
		if e.locals == nil {
			e.locals = map[any]any{}
		}
		v = mk()
		e.locals[key] = v
	}
	return v
}

// Keep registers a check that a source outside the loop (a signal, a file
// watch) may still wake a task; remove it with Unkeep. Loop only.
func (e *Engine) Keep(key any, waited func() bool) { e.keepers[key] = waited }

// Unkeep removes a check registered with Keep.
func (e *Engine) Unkeep(key any) { delete(e.keepers, key) }

// ---- tasks ----

// Spawn creates a task running fn(*args, **kwargs) and queues it (spawn is
// eager, SPEC 1). Loop only.
func (e *Engine) Spawn(fn starlark.Callable, args starlark.Tuple, kwargs []starlark.Tuple, name string, parent *Task, spawnedAt string) *Task {
	t := e.newTask(fn, args, kwargs, name, parent, spawnedAt, nil)
	t.state = StateReady
	e.ready.push(t)
	return t
}

// newTask makes a live task that is not queued yet; in, if not nil, is
// the cancel scope it is started in (a group's). The caller queues it.
func (e *Engine) newTask(fn starlark.Callable, args starlark.Tuple, kwargs []starlark.Tuple, name string, parent *Task, spawnedAt string, in *CancelScope) *Task {
	e.nextID++
	t := &Task{eng: e, id: e.nextID, name: name, fn: fn, args: args}
	if len(kwargs) > 0 {
		t.more().kwargs = kwargs
	}
	t.root.owner = t
	t.scope = &t.root
	if in != nil {
		in.join(t)
	}
	t.watchers.q.init(t.watch1[:])
	if t.name == "" {
		t.name = "task-" + strconv.FormatInt(t.id, 10)
	}
	if spawnedAt != "" {
		t.link = e.linkSpawn(parent, spawnedAt)
	}
	e.live++
	if e.tail == nil {
		e.head, e.tail = t, t
	} else {
		t.prev = e.tail
		e.tail.next = t
		e.tail = t
	}
	if e.tracer != nil {
		e.tracer.Spawn(t, parent)
	}
	if e.teardown != "" && !e.spawningCleanup {
		// The run is ending: a task spawned now starts cancelled, so a
		// deferred function that respawns itself cannot keep it going.
		t.Cancel(e.teardown)
	}
	return t
}

// SpawnCleanup is Spawn for a task that does cleanup the engine owes
// scripts (closing abandoned generators, which runs their deferred
// functions): it runs even while a run is ending, when Spawn starts
// tasks cancelled (Engine.teardown). Loop only.
func (e *Engine) SpawnCleanup(fn starlark.Callable, name string) *Task {
	e.spawningCleanup = true
	defer func() { e.spawningCleanup = false }()
	t := e.Spawn(fn, nil, nil, name, nil, "")
	t.cleanup = true
	return t
}

// Ending returns why the run is ending (Engine.teardown), or "".
func (e *Engine) Ending() string { return e.teardown }

// Tasks returns every live task, in the order they were spawned.
func (e *Engine) Tasks() []*Task {
	var out []*Task
	for t := e.head; t != nil; t = t.next {
		out = append(out, t)
	}
	return out
}

// Live returns the number of live tasks.
func (e *Engine) Live() int { return e.live }

func (e *Engine) taskEnded(t *Task, watched bool) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		e.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		e.tail = t.prev
	}
	t.prev, t.next = nil, nil
	e.live--
	if e.tracer != nil {
		e.tracer.End(t)
	}
	if t == e.main && t.state == StateFailed {
		t.dropValue(false)
		// A failed main module ends the run: the other tasks are
		// cancelled (their deferred functions run) and RunFile reports it.
		e.endRun("main failed")
		return
	}
	if t.state != StateFailed || watched || t.observed {
		t.observe()
		t.dropValue(false)
		return
	}
	e.failedUnobserved(t) // report.go
}

func (e *Engine) getWorker() *worker {
	if n := len(e.idle); n > 0 {
		w := e.idle[n-1]
		e.idle[n-1] = nil
		e.idle = e.idle[:n-1]
		return w
	}
	return newWorker(e)
}

func (e *Engine) putWorker(w *worker) {
	if len(e.idle) < idleWorkers && !e.closed && w.layers < maxLayers {
		e.idle = append(e.idle, w)
		return
	}
	w.co.Resume(work{}) // retire: the body returns and its goroutine exits
}

// runTask resumes t until it parks, yields or finishes. A task without a
// worker (new, or waiting unwound) runs in line, on the loop's worker
// (except under Poll, whose caller's goroutine is no worker).
func (e *Engine) runTask(t *Task) {
	e.current = t
	e.curExec = &t.exec
	t.state = StateRunning
	if e.tracer != nil {
		e.runStart = e.clock.now()
	}
	e.wd.runStarted(t)
	// Under --profile, a task's time parked in a builtin is not run time.
	if th := t.thread; th != nil {
		th.ResumeProfile()
	}
	finished := false
	if t.worker == nil && e.loopW == nil {
		t.worker = e.getWorker() // Poll: the caller's goroutine runs the loop
	}
	if t.worker == nil {
		w := e.loopW
		t.run(w)
		if e.loopW != w {
			// t waited in place and the loop went on on another worker
			// (handOff); that loop resumed t on this one until now.
			w.afterHandOff()
		}
	} else {
		_, finished = t.worker.co.Resume(work{t: t})
	}
	e.ranTask(t, finished)
}

// ranTask ends a run of t that began in runTask: t waits (in place, or
// unwound), is ready again, or has finished.
func (e *Engine) ranTask(t *Task, finished bool) {
	if th := t.thread; th != nil {
		th.PauseProfile()
	}
	if e.wd.flagged.Load() != 0 {
		e.checkSlow(t, false)
	}
	if e.tracer != nil {
		e.tracer.Run(t, e.runStart, e.clock.now())
	}
	e.current = nil
	e.curExec = nil
	if finished {
		// The worker's body returned: only happens when retired.
		t.worker = nil
		return
	}
	if t.unwound {
		// Waiting without its goroutine: the worker takes other tasks.
		if w := t.worker; w != nil {
			t.worker = nil
			e.putWorker(w)
		}
		return
	}
	if t.Done() {
		w := t.worker
		t.worker = nil
		t.thread = nil
		// Nothing runs the task again: drop what could refer to its
		// script value (a closure's cells, the worker's thread), so that
		// once scripts let go of the value it can be collected and an
		// unobserved failure reported (report.go).
		t.fn = nil
		t.exec = Exec{Task: t}
		if w != nil {
			e.putWorker(w)
		}
	}
}

// A loopRun is one runLoop: its arguments, and its outcome once done.
type loopRun struct {
	e     *Engine
	ctx   context.Context
	stop  func() bool
	block bool
	err   error
	done  bool
}

// run runs the loop on w until it returns, unless a task it runs in line
// keeps w (handOff): then this call's frames stay below that task's, and
// the loop goes on on another worker.
func (r *loopRun) run(w *worker) {
	e := r.e
	e.loopW = w
	r.err = e.loopBody(r.ctx, r.stop, r.block)
	e.loopW = nil
	r.done = true
}

// afterHandOff is what a worker does once the task it ran in line for
// the loop, and kept, has ended its run: it tells its resumer (the loop,
// now on another worker) and serves as a plain worker from then on. The
// loop frames below never run again: retired, it unwinds them.
func (w *worker) afterHandOff() {
	w.serve(w.co.Suspend(true))
	panic(coroutine.ErrAbandoned)
}

// runLoop runs tasks, timers, completions and readiness callbacks until
// stop reports true, ctx is done, or no task can make progress (a
// deadlock error). With block false it returns as soon as nothing is
// ready; otherwise it sleeps in the reactor until something is.
//
// The loop runs on a worker coroutine (loopRun), not on the caller's
// goroutine, so that the tasks it runs in line can keep it (handOff).
func (e *Engine) runLoop(ctx context.Context, stop func() bool, block bool) error {
	if block && ctx.Done() != nil {
		// ctx's end wakes the loop from its sleep.
		defer context.AfterFunc(ctx, e.wake)()
	}
	r := &loopRun{e: e, ctx: ctx, stop: stop, block: block}
	for {
		w := e.getWorker()
		w.co.Resume(work{loop: r})
		if r.done {
			e.putWorker(w)
			return r.err
		}
		e.handOff(w)
	}
}

// handOff gives w, the worker the loop ran on, to the task the loop ran in
// line there, which waits in place (its Exec.Yield suspended w): the task
// resumes on w from now on, and the loop starts again on another worker.
func (e *Engine) handOff(w *worker) {
	t := e.current
	e.loopW = nil
	w.layers++
	t.worker = w
	e.ranTask(t, false)
}

// preempt is every thread's OnMaxSteps: the end of a time slice. The task
// yields if anything else wants the loop, and a pending interruption
// (cancel, expired timeout) is delivered through thread.Cancel.
func (e *Engine) preempt(th *starlark.Thread) {
	th.SetMaxExecutionSteps(th.Steps + e.slice)
	x := ExecOf(th)
	if x == nil || x.Task == nil {
		return
	}
	t := x.Task
	if e.wd.flagged.Load() != 0 {
		e.checkSlow(t, true)
	}
	e.wd.runStarted(t) // a slice boundary: the task offered the loop
	if e.clock.virtual {
		// Computing takes virtual time too (deterministically, per slice),
		// so timers and timeouts fire while a task is busy.
		e.clock.advance(virtualSlice)
	}
	if e.watching() {
		e.pollIO() // sockets that became ready wake their tasks now
	}
	if e.ready.n > 0 || e.npost.Load() > 0 || e.host.polling || (len(e.timers) > 0 && e.timers[0].when <= e.clock.now()) {
		e.makeReady(t)
		x.Yield()
	}
	e.takeStop()
	err, sticky := t.interruptionSticky()
	if err == nil && e.opts.MaxSteps > 0 && th.Steps > e.opts.MaxSteps {
		err = Errorf(KindError, "step limit of %d exceeded", e.opts.MaxSteps)
		// For good, as a cancellation: caught (catch(busy) in a loop),
		// it came back a slice later, and the task computed on without
		// bound, a slice per catch.
		sticky = true
	}
	if err != nil && t.injected() == nil {
		t.setInjected(err)
		if sticky {
			// The first delivery of a cancellation to a computing task
			// may be caught (cleanup code after catch gets a time
			// slice); a task still computing at the next boundary is
			// stopped for good: the interruption stays on its thread,
			// through every catch, up to the task's top (CallFn), and
			// only its deferred functions still run.
			t.final = t.delivered
			t.delivered = true
		}
		th.Cancel(err.Error())
	}
}

// requestStop asks the loop, from any goroutine, to cancel every task of
// the drive owner, at its next task switch or time-slice boundary.
func (e *Engine) requestStop(owner *int, reason string) {
	e.stopMu.Lock()
	if e.stopOwner == owner {
		e.stopReq.Store(&reason)
	}
	e.stopMu.Unlock()
	e.wake()
}

// takeStop carries out a pending stop request. Loop only.
func (e *Engine) takeStop() {
	if e.stopReq.Load() == nil {
		return
	}
	if r := e.stopReq.Swap(nil); r != nil {
		e.stopTaken = true
		e.endRun(*r)
	}
}

// ---- the loop ----

// loopBody is the loop itself (see runLoop).
func (e *Engine) loopBody(ctx context.Context, stop func() bool, block bool) error {
	for {
		for n := e.ready.n; n > 0 && e.ready.n > 0; n-- {
			e.takeStop() // a round may be long (a spawn bomb): check each turn
			e.runTask(e.ready.pop())
		}
		e.takeStop()
		e.drainPosted()
		e.fireTimers()
		// Checked after every round, busy or not: a host's Call or Do
		// whose work is done returns though other tasks stay ready (a
		// computing task, two tasks passing a value back and forth),
		// which waited for the engine to fall idle, that is for ever.
		if stop() {
			return nil
		}
		if e.ready.n > 0 {
			// Busy: the loop will not sleep, so look for ready sockets
			// now, or they would wait until the work runs out.
			if e.watching() {
				e.pollIO()
			}
			continue
		}
		if e.external == 0 && e.npost.Load() == 0 {
			if !e.strongTimerPending() && !e.keptAlive() {
				return e.deadlock()
			}
			if e.clock.virtual && len(e.timers) > 0 {
				e.jumpToNextTimer()
				continue
			}
		}
		if !block {
			return nil
		}
		d := NoTimeout
		if len(e.timers) > 0 {
			// On the virtual clock this is reached only while I/O or a host
			// call is outstanding: time then passes at the real rate, so a
			// timeout on a socket read, or a sleep beside a serving
			// listener, still fires.
			d = max(e.timers[0].when-e.clock.now(), 0)
		}
		e.wd.idle()
		slept := time.Now()
		if e.sleep(ctx, d) && e.clock.virtual {
			e.jumpToNextTimer()
		} else if e.clock.virtual {
			// Woken early (a completion): the time slept passed on the
			// virtual clock too, up to the next timer. Without it, I/O
			// completing more often than the next timer's distance
			// restarted that whole wait each time, and a timeout() beside
			// a steady stream of reads never fired.
			passed := time.Since(slept)
			if d != NoTimeout {
				passed = min(passed, d)
			}
			e.clock.advance(passed)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (e *Engine) keptAlive() bool {
	for _, waited := range e.keepers {
		if waited() {
			return true
		}
	}
	return false
}

// acquireLoop makes the calling goroutine the loop's driver (lockLoop),
// for a run or for Close.
func (e *Engine) acquireLoop(stop <-chan struct{}) error {
	if e.acquireHook != nil {
		e.acquireHook()
	}
	return e.lockLoop(stop)
}

// takeLoop makes the calling goroutine the loop's driver for a run, or
// fails with closed once Close has begun. Close sets that holding the
// loop, so it is checked holding it: checked before, a run that waited
// for the loop while Close held it ran after Close had returned.
//
// The wait for the loop is bounded by ctx (the run's error is then ctx's,
// and nothing ran): while a Call drove the loop, a run waited for that
// Call to end, deaf to its own deadline, for ever if the Call's task
// waited for something that never came.
func (e *Engine) takeLoop(ctx context.Context, what string) error {
	switch err := e.acquireLoop(ctx.Done()); err {
	case errStopped:
		return runCancelledError(ctx)
	case errOnLoop:
		return onLoopError(what)
	}
	if e.closed || e.host.closing {
		e.releaseLoop()
		return Errorf(KindClosed, "engine is closed")
	}
	return nil
}

// lockLoop makes the calling goroutine the loop's driver as soon as no
// other drives it; it fails with errStopped if stop is closed first (a
// host request finished by the driver, a run's ctx done), and with
// errOnLoop if the caller runs the loop's own code (onloop.go), checked
// once it has waited onLoopAfter. A nil stop waits for the loop however
// long.
func (e *Engine) lockLoop(stop <-chan struct{}) error {
	var check <-chan time.Time
	for {
		free := e.loopFree()
		if e.tryLockLoop() {
			return nil
		}
		if check == nil {
			t := time.NewTimer(onLoopAfter)
			defer t.Stop()
			check = t.C
		}
		select {
		case <-stop:
			return errStopped
		case <-free:
		case <-check:
			if e.onLoop() {
				return errOnLoop
			}
		}
	}
}

// onLoopAfter is how long a call waits for the loop before it asks
// whether it runs the loop's code itself (onLoop).
const onLoopAfter = 50 * time.Millisecond

// errStopped is lockLoop's failure once its stop channel is closed.
var errStopped = errors.New("stopped waiting for the loop")

// tryLockLoop makes the calling goroutine the loop's driver if no other
// is, and reports whether it did.
func (e *Engine) tryLockLoop() bool {
	if !e.loopMu.TryLock() {
		return false
	}
	e.goroutines.held.Store(true)
	return true
}

func (e *Engine) releaseLoop() {
	e.goroutines.held.Store(false)
	e.loopMu.Unlock()
	e.freeMu.Lock()
	close(e.freeCh)
	e.freeCh = make(chan struct{})
	e.freeMu.Unlock()
}

// loopFree returns a channel closed the next time the loop is released.
func (e *Engine) loopFree() <-chan struct{} {
	e.freeMu.Lock()
	defer e.freeMu.Unlock()
	return e.freeCh
}

// ---- running modules ----

// RunFile executes the module in path as the main task, then runs the loop
// until every task has finished. It returns the module's globals.
func (e *Engine) RunFile(ctx context.Context, path string) (starlark.StringDict, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Kind: KindNotFound, Msg: err.Error(), cause: err}
	}
	return e.Exec(ctx, path, src)
}

// Exec is RunFile with the module's source given.
func (e *Engine) Exec(ctx context.Context, filename string, src any) (starlark.StringDict, error) {
	if ctx.Err() != nil {
		return nil, hostErr(runCancelledError(ctx))
	}
	// Not ExecFileOptions: it freezes the globals, and the main module's
	// tasks (and host Calls) keep using them after the top level ends.
	// Only load()ed modules are frozen (SPEC 7). The main task runs the
	// toplevel function itself, so that its waits may unwind.
	var body starlark.Callable
	var top *starlark.Function
	_, prog, err := starlark.SourceProgramOptions(e.fileOpts, filename, src, e.predeclared.Has)
	if err != nil {
		body = starlark.NewBuiltin("<module>", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, err
		})
	} else {
		top = prog.Toplevel(e.predeclared)
		body = top
	}
	if err := e.takeLoop(ctx, "Exec"); err != nil {
		return nil, hostErr(err)
	}
	defer e.releaseLoop()
	e.newRun()
	main := e.Spawn(body, nil, nil, "main", nil, "")
	e.main = main
	err = e.drive(ctx, func() bool { return e.live == 0 })
	e.reportPending() // the run has ended: nobody can observe them now
	var globals starlark.StringDict
	if top != nil {
		globals = top.Globals() // partial if the toplevel failed
	}
	if e.exitCode != nil {
		return globals, e.exitCode
	}
	if err == nil && main.err != nil && (main.state == StateFailed || main.state == StateCancelled) {
		// Cancelled too (Close from another goroutine, a task's
		// cancel of main): the script did not run to its end, and a
		// nil error said it had.
		err = main.err
	}
	if err == nil && e.host.cut {
		// Main had ended, but Close cancelled tasks it left working.
		err = Errorf(KindCancelled, "engine closed")
	}
	return globals, hostErr(err) // text with the traceback (host.go)
}

// RunTask runs fn as a task named name (engine.Run) and drives the loop
// until it has finished; other tasks keep their turns meanwhile. It
// returns the task, whose outcome is the caller's to report.
func (e *Engine) RunTask(ctx context.Context, name string, fn starlark.Value, args starlark.Tuple) (*Task, error) {
	c, ok := fn.(starlark.Callable)
	if !ok {
		return nil, Errorf(KindValue, "Run: got %s, want a callable", typeName(fn))
	}
	if err := nilArg("Run", args); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, runCancelledError(ctx)
	}
	if err := e.takeLoop(ctx, "RunTask"); err != nil {
		return nil, err
	}
	defer e.releaseLoop()
	e.newRun()
	t := e.Spawn(c, args, nil, name, nil, "")
	t.observed = true // its outcome is returned, not reported
	err := e.drive(ctx, t.Done)
	if e.exitCode != nil {
		return t, e.exitCode
	}
	return t, err
}

// RunUntilIdle drives the loop until every task has finished, as RunFile
// does after the module: `coro test` runs a test function with RunTask,
// then lets the tasks it left behind finish (or deadlock, or fail).
func (e *Engine) RunUntilIdle(ctx context.Context) error {
	if ctx.Err() != nil {
		return runCancelledError(ctx)
	}
	if err := e.takeLoop(ctx, "RunUntilIdle"); err != nil {
		return err
	}
	defer e.releaseLoop()
	before := e.exitCode
	err := e.drive(ctx, func() bool { return e.live == 0 })
	e.reportPending() // the run has ended: nobody can observe them now
	if e.exitCode != before {
		return e.exitCode // os.exit was called meanwhile
	}
	return err
}

// newRun clears what the last run's os.exit left: its status, and the
// teardown that cancels every task spawned (an exit in a Call, which no
// drive ends, left it for ever). The caller holds the loop.
func (e *Engine) newRun() {
	e.exitCode = nil
	e.teardown = ""
}

// drive runs the loop until stop; on a cancelled ctx it cancels every task
// and waits for their deferred functions. The caller holds the loop.
func (e *Engine) drive(ctx context.Context, stop func() bool) error {
	return e.driveLoop(ctx, func(ctx context.Context) error {
		return e.runLoop(ctx, func() bool { return stop() || (e.exitCode != nil && e.live == 0) }, true)
	})
}

// driveLoop is the one loop driver under a ctx, for drive and Serve: it
// arms the run's guards, runs body on the ctx they watch, and ends the
// run. Armed: the memory limit (Options.MaxMemory), which cancels that
// ctx, and the stop request that makes ctx's end reach even a task
// computing alone, at its next time slice (preempt); without it only the
// loop's sleep saw ctx, so a computing task ran on. Ended: on a
// cancelled ctx every task is cancelled and the loop runs until their
// deferred functions have run; on a deadlock too. The caller holds the
// loop.
func (e *Engine) driveLoop(ctx context.Context, body func(context.Context) error) error {
	defer e.startDiag()()
	e.running = true
	defer func() { e.teardown, e.running = "", false }() // the run has ended: the engine may run more
	if e.opts.MaxMemory > 0 {
		var stopGuard func()
		var g *memoryGuard
		ctx, g, stopGuard = guardMemory(ctx, e.opts.MaxMemory)
		defer stopGuard()
		defer e.memGuard.Store(e.memGuard.Swap(g))
	}
	if ctx.Done() != nil {
		// ctx's end reaches the loop even while a task computes: the
		// request is taken at the next time-slice boundary (preempt).
		owner := new(int)
		e.stopMu.Lock()
		e.stopOwner, e.stopTaken = owner, false
		e.stopMu.Unlock()
		after := context.AfterFunc(ctx, func() { e.requestStop(owner, runCancelled(ctx)) })
		defer func() {
			after()
			e.stopMu.Lock()
			e.stopOwner = nil
			e.stopReq.Store(nil)
			e.stopMu.Unlock()
		}()
	}
	err := body(ctx)
	// A run that passed the memory limit fails, even when it ended
	// before the cancellation was taken (a refused allocation caught by
	// the script, the sampler's last look).
	var overLimit *memoryLimitError
	if ctx.Err() != nil && (err != nil || e.stopTaken || errors.As(context.Cause(ctx), &overLimit)) {
		e.endRun(runCancelled(ctx))
		e.runLoop(context.Background(), func() bool { return e.live == 0 }, true)
		return runCancelledError(ctx)
	}
	if ce, ok := err.(*Error); ok && ce.Kind == KindDeadlock {
		// Nothing can wake the blocked tasks: cancel them so their
		// deferred functions run and no goroutine is left behind.
		e.endRun("deadlock")
		e.runLoop(context.Background(), func() bool { return e.live == 0 }, true)
	}
	return err
}

// runCancelled is the reason given to tasks cancelled by a drive's ctx:
// its cause, when one was given (the command's "interrupted (SIGINT)").
func runCancelled(ctx context.Context) string {
	return "run cancelled: " + context.Cause(ctx).Error()
}

// runCancelledError is the error of a run whose ctx is done (timeout
// for a deadline, as everywhere). A run asked
// for with a ctx done already fails with it at once, as Call does, and
// runs nothing: the cancellation reached the loop only once the script
// had begun, and a short one ran to its end and returned nil.
func runCancelledError(ctx context.Context) *Error {
	return &Error{Kind: ctxKind(ctx.Err()), Msg: runCancelled(ctx), cause: ctx.Err()}
}

// endRun cancels every live task, and every task spawned until the
// current drive returns (Engine.teardown), for reason.
func (e *Engine) endRun(reason string) {
	e.teardown = reason
	e.cancelAll(reason)
}

// cancelAll cancels every live task.
func (e *Engine) cancelAll(reason string) {
	for t := e.head; t != nil; t = t.next {
		t.Cancel(reason)
	}
}

// Close cancels every task, lets their deferred functions run, and releases
// every goroutine the engine made.
func (e *Engine) Close() error {
	if !e.tryLockLoop() {
		if e.onLoop() {
			return onLoopError("Close")
		}
		// Another goroutine drives the loop (a Call, RunFile): cancel
		// everything there, so that it ends and lets go (host.go).
		e.Post(e.beginClose)
		e.acquireLoop(nil)
	}
	defer e.releaseLoop()
	if e.closed {
		return nil
	}
	e.host.closing = true
	if e.live > 0 {
		e.endRun("engine closed")
		e.runLoop(context.Background(), func() bool { return e.live == 0 }, true)
	}
	e.reportPending()
	e.closed = true
	e.closeGrants()
	for _, w := range e.idle {
		w.co.Resume(work{})
	}
	e.idle = nil
	e.closeIO()
	e.cancel()
	return nil
}

// ---- load ----

// load implements load(): paths are relative to the loading file; each
// module runs once and is then frozen.
func (e *Engine) load(th *starlark.Thread, module string) (starlark.StringDict, error) {
	if m, ok := e.opts.Modules[module]; ok {
		return m, nil
	}
	path := module
	if !filepath.IsAbs(path) {
		from := th.CallFrame(0).Pos.Filename()
		path = filepath.Join(filepath.Dir(from), module)
	}
	if chain := loadChain(th, path); len(chain) == 2 {
		return nil, Errorf(KindValue, "cycle in load graph: %s loads itself", chain[0])
	} else if chain != nil {
		return nil, Errorf(KindValue, "cycle in load graph: %s", strings.Join(chain, " loads "))
	}
	if ent, ok := e.modules[path]; ok {
		if ent.loading {
			// Not a cycle (loadChain saw none on th): another task is
			// loading it, its file being read on the pool or its top
			// level waiting. Wait for that load, as Python's import
			// waits for another thread's; it said "loads itself".
			if err := ent.wait(th, module); err != nil {
				return nil, err
			}
		}
		return ent.globals, ent.err
	}
	ent := &moduleEntry{loading: true, rel: e.relModule(th, module)}
	e.modules[path] = ent
	defer ent.loaded()
	src, err := e.loadModule(th, module, path)
	if err != nil {
		ent.err = err
		return nil, ent.err
	}
	ent.hash = sha256.Sum256(src)
	g, err := starlark.ExecFileOptions(e.fileOpts, th, path, src, e.predeclared)
	if err != nil {
		ent.err = err
		return nil, err
	}
	g.Freeze()
	ent.globals = g
	return g, nil
}

// loadChain returns the files of a cycle of loads, when a load of path
// on th closes one: the file whose top level (one of the frames on th,
// each file's top level running the next one's load) is path's, each
// file it led to, and path again ("a.star", "b.star", "a.star"); else nil.
// The thread's frames, not the modules being loaded, say it: they include
// the main script (a test file, a :load), which load() does not record,
// so b.star loading the main a.star back is a cycle, not a second run of
// a.star; and they name the files in the order they loaded each other.
func loadChain(th *starlark.Thread, path string) []string {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	target := abs(path)
	var chain []string
	for d := th.CallStackDepth() - 1; d >= 0; d-- {
		fr := th.CallFrame(d)
		if fr.Name != "<toplevel>" {
			continue
		}
		if name := fr.Pos.Filename(); chain != nil || abs(name) == target {
			chain = append(chain, filepath.Clean(name))
		}
	}
	if chain == nil {
		return nil
	}
	return append(chain, path)
}

// Callers returns the file:line:col of the script call site of the builtin
// running on th (the frame below the builtin).
func Callers(th *starlark.Thread) string {
	for d := 1; d < th.CallStackDepth(); d++ {
		fr := th.CallFrame(d)
		if fr.Pos.Line > 0 {
			// A spawn in a loop asks for the same site over and over:
			// the engine keeps the last one made (loop only, which an
			// engine's thread runs on).
			if x := ExecOf(th); x != nil && x.Task != nil {
				e := x.Task.eng
				if e.lastSite.pos != fr.Pos {
					e.lastSite.pos, e.lastSite.s = fr.Pos, posString(fr.Pos)
				}
				return e.lastSite.s
			}
			return posString(fr.Pos)
		}
	}
	return ""
}

// posString is syntax.Position.String without fmt: it runs on every spawn.
func posString(p syntax.Position) string {
	var arr [96]byte
	buf := append(arr[:0], p.Filename()...)
	buf = append(buf, ':')
	buf = strconv.AppendInt(buf, int64(p.Line), 10)
	if p.Col > 0 {
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(p.Col), 10)
	}
	return string(buf)
}
