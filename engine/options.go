package engine

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/corolang/coro/engine/trace"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	natsmod "github.com/corolang/coro/stdlib/nats"
)

// Options configure an engine. The zero value allows no I/O, writes
// script output to os.Stdout and os.Stderr, and uses the real clock.
type Options struct {
	// Stdout and Stderr receive print() and the engine's reports (nil:
	// the process's).
	Stdout, Stderr io.Writer
	// Permissions says what I/O scripts may do (none by default).
	Permissions Permissions
	// Globals are extra predeclared names. Every module sees them, so
	// parallel() refuses while one is a list, dict or set that is not
	// frozen, and a builtin among them may be called from a parallel
	// function's goroutine (docs/embedding.md).
	Globals starlark.StringDict
	// Stdlib, if not nil, names the standard modules scripts see (json,
	// time, net, fs, ...; the builtins are always there); nil means all
	// of them. A module left out is not there at all, whatever the
	// Permissions.
	Stdlib []string
	// Modules are extra load()-able modules by name: load("name", "x").
	Modules map[string]starlark.StringDict
	// TimeSlice is the number of Starlark steps a task runs before others
	// get a turn (default 10,000).
	TimeSlice uint64
	// MaxSteps, if non-zero, fails a task that computes more steps than
	// this.
	MaxSteps uint64
	// MaxMemory, if non-zero, bounds the heap and goroutine stacks, in
	// bytes, while RunFile or Exec runs: past it every task is cancelled,
	// their deferred functions run, and the run fails with a cancelled
	// error that says so. Go has one heap per process, so this bounds what
	// the whole process holds, every engine in it included.
	MaxMemory uint64
	// VirtualTime makes sleeps take no real time: when every task waits
	// only on timers, the clock jumps to the next deadline.
	VirtualTime bool
	// Seed fixes every random choice (select's, the random module's); 0
	// picks one, unless SeedSet.
	Seed uint64
	// SeedSet makes Seed fix the random choices even when it is 0 (the
	// coro command's --seed 0): a zero Seed alone means none was given.
	SeedSet bool
	// Args is os.args as scripts see it.
	Args []string
	// GoTrace adds Go frames to error reports.
	GoTrace bool
	// SlowWarning is how long a task may keep the loop without yielding
	// before a warning is printed: 0 means 100ms, negative means never.
	SlowWarning time.Duration
	// OnFailure, if set, is called (on the loop) for each task failure
	// that nobody observed, after it was reported. A panic in it (or in
	// ThreadHook) is written on Stderr and the engine goes on.
	OnFailure func(task string, err *Error)
	// Trace, if set, receives a Chrome trace-event JSON file of the
	// engine's scheduling (what coro --trace writes); it is finished when
	// the engine closes.
	Trace io.Writer
	// Recorder, if set, keeps the latest trace events in memory, and what
	// each live task has done so far: what coro --inspect serves (see
	// package engine/inspect).
	Recorder *trace.Recorder
	// ThreadHook, if set, is called for every Starlark thread the engine
	// makes, before it runs (to set thread-locals, say).
	ThreadHook func(*starlark.Thread)
	// Logger receives the records of the log module (log.info(...)),
	// whose fields include the task's name as "task". Nil: a text handler
	// at level info writing to Stderr.
	Logger *slog.Logger
	// Breakpoint, if set, is the debugger of breakpoint(): it is called on
	// a goroutine of its own with the paused task, which resumes when it
	// returns; ctx is done if the task is cancelled meanwhile (return
	// then). Nil: breakpoint() does nothing.
	Breakpoint func(ctx context.Context, bp *Breakpoint)
	// NATS is the NATS server of the nats module and remote() (SPEC 16).
	// The zero value runs one inside the engine, started on first use
	// (in-process, no port, memory store) and shut down by Close; URL
	// connects to a server or cluster instead, and Conn uses a connection
	// of the embedder's own (which Close leaves open).
	NATS NATS
}

// NATS configures Options.NATS: URL ("nats://host:4222", several
// comma-separated) or Conn (a *nats.Conn of the embedder's, from
// github.com/nats-io/nats.go) for a server elsewhere; for the embedded
// one, Listen (an address other processes, such as coro worker, connect
// to) and StoreDir (a folder that keeps queues and buckets across runs);
// Replicas, how many servers of a cluster hold each queue and bucket (0
// means 1).
type NATS = natsmod.Config

// Permissions says which kinds of I/O scripts may do (SPEC 7). The zero
// value allows none; AllPermissions allows everything, as the coro
// command does unless --sandbox.
type Permissions struct {
	// Net allows sockets and HTTP. A unix socket's path must also lie
	// under Write.
	Net bool
	// Read and Write are the paths (with everything below them) scripts
	// may read and write, each opened once as an os.Root so that no link
	// or ".." leads out; "/" allows every path.
	Read, Write []string
	// Run allows starting processes (proc); their cwd= must lie under
	// Read.
	Run bool
	// Env allows reading environment variables.
	Env bool
	// Load are folders (or files) load() may read besides Read. Modules
	// given in Options.Modules need no grant.
	Load []string
	// Signals lets os.signal take the process's INT, TERM and HUP.
	Signals bool
}

// AllPermissions allows every kind of I/O, as the coro command does.
func AllPermissions() Permissions { return Permissions(loop.AllPermissions()) }

// TaskInfo describes a live task (Engine.TaskInfos): what tasks() shows.
type TaskInfo struct {
	ID        int64
	Name      string
	State     string // ready, running, waiting
	WaitingOn string // what it waits for; "" unless waiting
	SpawnedAt string // file:line:col of the spawn call; "" for main and host calls
	Stack     []string
}

// loopOptions is o as the loop takes it.
func (o *Options) loopOptions() loop.Options {
	return loop.Options{
		Stdout: o.Stdout, Stderr: o.Stderr,
		Permissions: loop.Permissions(o.Permissions),
		Globals:     o.Globals, Modules: o.Modules,
		TimeSlice: o.TimeSlice, MaxSteps: o.MaxSteps, MaxMemory: o.MaxMemory,
		VirtualTime: o.VirtualTime, Seed: o.Seed, SeedSet: o.SeedSet, Args: o.Args, GoTrace: o.GoTrace,
		SlowWarning: o.SlowWarning, OnFailure: o.OnFailure, ThreadHook: o.ThreadHook,
		Logger: o.Logger,
	}
}
