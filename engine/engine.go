// Package engine embeds coro in Go programs (SPEC section 10): an Engine
// runs Starlark scripts as tasks on one event loop, with the standard
// modules of SPEC.md.
//
// The entry points, all on *Engine (see the examples):
//
//   - RunFile and Exec run a module, then the loop until every task has
//     finished, and return the module's globals. Cancelling their ctx
//     cancels every task and returns once the deferred functions ran.
//   - Call runs a script function as a task and returns its value; it is
//     safe from any goroutine, many at once. Do runs a Go func on the loop.
//   - AsyncBuiltin makes a builtin whose Go function runs on its own
//     goroutine while only the calling task waits: a slow Go call does not
//     stall the other scripts.
//   - Poll (with Start) lets a host with its own loop drive the engine a
//     slice at a time without blocking.
//   - TaskInfos (and Dump, as text) shows the live tasks;
//     Options.OnFailure receives task failures nobody observed, and
//     Failures counts them.
//   - A Session runs statements one at a time on a loop that keeps
//     running between them: the engine side of a REPL.
//   - Close cancels every task and releases every goroutine.
//
// No goroutine is dedicated to an engine: whoever needs the loop while
// nobody drives it drives it (a Call, Poll, RunFile), and requests from
// other goroutines are posted to that driver. Engines are independent of
// each other; several may run in one process.
//
// Errors from scripts are Go errors whose text holds the kind, the message
// and the script traceback; errors.As finds an *Error with the Kind.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/corolang/coro/engine/trace"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/resolve"
	"github.com/corolang/coro/starlark/syntax"
	"github.com/corolang/coro/stdlib"
	natsmod "github.com/corolang/coro/stdlib/nats"
)

// An Engine runs one event loop and the tasks on it. Its methods are safe
// from any goroutine unless they say otherwise. Those that wait for the
// loop (Call, Do, TaskInfos, Dump, RunFile, Exec, Close) fail, instead of
// waiting for themselves, when called from the loop's own code: a
// builtin (in a task or a generator's body), Options.OnFailure or
// Options.ThreadHook (spawn a task there, or call from another
// goroutine). Such a call holds the loop ~50 ms before it finds out.
type Engine struct {
	c     *loop.Engine
	trace *trace.Writer // Options.Trace and Options.Recorder
	nats  *natsmod.Hub  // Options.NATS, connected on first use
}

// Error is a script failure with a kind (cancelled, timeout, value, ...),
// the type of every error RunFile, Exec, Run, Call and the rest return for
// a script (errors.As finds it; errors.Is matches it against the Err*
// sentinels by kind). Its fields:
//
//	Kind       Kind               // what sort of failure
//	Msg        string             // the message, without the "kind: " prefix
//	Stack      starlark.CallStack // the script frames where it arose, outermost first
//	Task       string             // the task it arose in, when known
//	SpawnedAt  string             // where that task was spawned (file:line:col)
//	Spawns     []SpawnSite        // the chain of spawns that led to Task
//	GoStack    string             // Go frames, with Options.GoTrace
//
// Error() is "kind: message"; Traceback() the script traceback; Report(goTrace)
// both, as the coro command prints an unhandled error. (It is the loop's
// type: builtins everywhere make it.)
type Error = loop.Error

// SpawnSite is one step of Error.Spawns: at At, task By spawned Task.
type SpawnSite = loop.SpawnSite

// ExitError is returned by RunFile and Exec when a script called
// os.exit(Code).
type ExitError = loop.ExitError

// Kind says what sort of failure an Error is: Error.Kind, and error.kind
// in scripts.
type Kind = loop.Kind

// The kinds of Error (SPEC 4).
const (
	KindCancelled  = loop.KindCancelled
	KindTimeout    = loop.KindTimeout
	KindClosed     = loop.KindClosed
	KindEOF        = loop.KindEOF
	KindRefused    = loop.KindRefused
	KindReset      = loop.KindReset
	KindNotFound   = loop.KindNotFound
	KindExists     = loop.KindExists
	KindPermission = loop.KindPermission
	KindIO         = loop.KindIO
	KindValue      = loop.KindValue
	KindDeadlock   = loop.KindDeadlock
	KindStop       = loop.KindStop
	KindError      = loop.KindError
)

// The sentinel of each kind: errors.Is(err, engine.ErrTimeout) holds when
// err (from RunFile, Exec, Call, ...) is, or wraps, an Error of kind
// timeout. KindError, the catch-all, has none.
var (
	ErrCancelled  = loop.ErrCancelled
	ErrTimeout    = loop.ErrTimeout
	ErrClosed     = loop.ErrClosed
	ErrEOF        = loop.ErrEOF
	ErrRefused    = loop.ErrRefused
	ErrReset      = loop.ErrReset
	ErrNotFound   = loop.ErrNotFound
	ErrExists     = loop.ErrExists
	ErrPermission = loop.ErrPermission
	ErrIO         = loop.ErrIO
	ErrValue      = loop.ErrValue
	ErrDeadlock   = loop.ErrDeadlock
	ErrStop       = loop.ErrStop
)

// Errorf returns an Error of the given kind; an AsyncBuiltin's function
// returns one to fail with that kind (not_found, say) instead of error.
func Errorf(kind Kind, format string, args ...any) *Error {
	return loop.Errorf(kind, format, args...)
}

// New returns an engine configured by opts, or an error naming the first
// bad option. Close it when done.
func New(opts Options) (*Engine, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	lo := opts.loopOptions()
	var c *loop.Engine
	hub := natsmod.NewHub(opts.NATS, func(msg string) {
		// From a NATS client's goroutine: written on the loop, where
		// the engine's reports are.
		c.Post(func() { io.WriteString(c.Stderr(), msg+"\n") })
	})
	lo.Remote = hub
	pre := stdlib.Predeclared(&lo)
	if opts.Stdlib != nil {
		for _, name := range stdlib.Modules {
			if !slices.Contains(opts.Stdlib, name) {
				delete(pre, name)
			}
		}
	}
	e := &Engine{nats: hub}
	lo.Breakpoint = e.breakpointHook(opts.Breakpoint)
	c = loop.New(lo, pre)
	e.c = c
	if opts.Trace != nil || opts.Recorder != nil {
		e.trace = trace.New(opts.Trace, opts.Recorder, e.c.Now)
		e.c.SetTracer(e.trace)
	}
	return e, nil
}

// checkOptions rejects options that cannot mean anything, rather than
// letting them surface later as a puzzling failure of some script.
func checkOptions(o *Options) error {
	for _, g := range []struct {
		name  string
		paths []string
	}{{"Read", o.Permissions.Read}, {"Write", o.Permissions.Write}, {"Load", o.Permissions.Load}} {
		for _, p := range g.paths {
			if p == "" {
				return fmt.Errorf("engine.New: Options.Permissions.%s: an empty path (use \"/\" to allow every path)", g.name)
			}
		}
	}
	for _, name := range o.Stdlib {
		if !slices.Contains(stdlib.Modules, name) {
			return fmt.Errorf("engine.New: Options.Stdlib: no standard module %q (there are %s)", name, strings.Join(stdlib.Modules, ", "))
		}
	}
	for name, m := range o.Modules {
		if name == "" || m == nil {
			return fmt.Errorf("engine.New: Options.Modules: module %q: want a non-empty name and members", name)
		}
		for member, v := range m {
			if v == nil {
				return fmt.Errorf("engine.New: Options.Modules: module %q: member %q is nil", name, member)
			}
		}
	}
	for name, v := range o.Globals {
		if v == nil {
			return fmt.Errorf("engine.New: Options.Globals: %q is nil", name)
		}
		if !isIdentifier(name) {
			return fmt.Errorf("engine.New: Options.Globals: %q is not an identifier", name)
		}
	}
	return nil
}

// isIdentifier reports whether name can be written in a script: the
// scanner reads it as one identifier (not a keyword such as "for", which
// passed a check of its letters and could then never be used).
func isIdentifier(name string) bool {
	x, err := (&syntax.FileOptions{}).ParseExpr("", name, 0)
	id, ok := x.(*syntax.Ident)
	return err == nil && ok && id.Name == name
}

// RunFile executes the module in path as the main task, then runs the
// loop until every task has finished, and returns the module's globals.
// Cancelling ctx cancels every task and returns once their deferred
// functions ran. A script that called os.exit returns an *ExitError.
func (e *Engine) RunFile(ctx context.Context, path string) (starlark.StringDict, error) {
	return e.c.RunFile(ctx, path)
}

// Exec is RunFile with the source given: src is a string, []byte or
// io.Reader, and filename names it in tracebacks.
func (e *Engine) Exec(ctx context.Context, filename string, src any) (starlark.StringDict, error) {
	return e.c.Exec(ctx, filename, src)
}

// Run runs fn(*args) as the main task, like the top level of Exec, and
// drives the loop until it has finished (other tasks keep their turns);
// it returns fn's value or its error (an *ExitError if os.exit was
// called meanwhile). Unlike Call it reports a deadlock, and the tasks fn
// left are still live: Wait lets them finish.
func (e *Engine) Run(ctx context.Context, name string, fn starlark.Value, args ...starlark.Value) (starlark.Value, error) {
	t, err := e.c.RunTask(ctx, name, fn, starlark.Tuple(args))
	if err != nil {
		return nil, err
	}
	if t.Err() != nil {
		return nil, t.Err()
	}
	return t.Result(), nil
}

// Wait drives the loop until every task has finished, as RunFile does
// after the module; it returns a deadlock error if they never can, and
// an *ExitError if a task called os.exit meanwhile.
func (e *Engine) Wait(ctx context.Context) error { return e.c.RunUntilIdle(ctx) }

// Call runs fn(*args) as a task on the loop and returns its value. It is
// safe from any goroutine, and many calls may run at once; while one
// waits, the loop runs every other task. Cancelling ctx cancels the call's
// task (its deferred functions run) and Call returns once it finished. A
// call waiting for something that never comes is bounded only by ctx:
// another Call may still provide it, so Call reports no deadlock. A call
// that os.exit ended (its own or another task's) returns the *ExitError;
// the calls after it run as before.
//
// The arguments and the result are shared with the scripts: do not change
// a mutable argument after passing it, and copy or freeze a result that a
// task may still modify.
func (e *Engine) Call(ctx context.Context, fn starlark.Value, args ...starlark.Value) (starlark.Value, error) {
	return e.c.Call(ctx, fn, args...)
}

// Do runs fn on the loop, where it may touch script values, and returns
// once it has run. If fn panics, Do panics in its caller's goroutine
// (with an error holding fn's panic value and stack); the engine goes on.
func (e *Engine) Do(fn func()) error { return e.c.Do(fn) }

// Start queues fn(*args) as a new task named name and returns at once; it
// runs whenever the loop is driven (Poll, Call, RunFile, Exec). It is the
// way a host that drives the loop with Poll starts work.
func (e *Engine) Start(name string, fn starlark.Value, args ...starlark.Value) error {
	return e.c.Start(name, fn, args...)
}

// Poll drives the loop for a host with its own loop (a game loop, a GUI)
// and returns without blocking: it runs what is ready, pass after pass,
// until nothing is or budget (wall-clock time, checked between task
// turns) is used up; budget <= 0 means a single pass. It returns the
// number of task turns it ran: 0 also when another goroutine drives the
// loop. It never reports a deadlock (the host may still bring what blocked
// tasks wait for; TaskInfos shows them).
func (e *Engine) Poll(budget time.Duration) (int, error) { return e.c.Poll(budget) }

// TaskInfos returns every live task, oldest first.
func (e *Engine) TaskInfos() ([]TaskInfo, error) {
	infos, err := e.c.TaskInfos()
	out := make([]TaskInfo, len(infos))
	for i, ti := range infos {
		out[i] = TaskInfo(ti)
	}
	return out, err
}

// Dump returns the live tasks as text, as `tasks()`, SIGQUIT and the
// REPL's :tasks show them: state, what each waits on, its script stack.
func (e *Engine) Dump() (string, error) {
	return e.c.Dump()
}

// Predeclared returns the names every module of the engine sees: the
// builtins, the standard modules and Options.Globals. Do not modify it.
func (e *Engine) Predeclared() starlark.StringDict { return e.c.Predeclared() }

// FileOptions returns the dialect of coro's scripts (while, recursion,
// set, top-level control, global reassignment), to parse or compile a file
// as the engine would. Do not modify it.
func (e *Engine) FileOptions() *syntax.FileOptions { return e.c.FileOptions() }

// MaxModuleSize is the largest file load() reads, in bytes (16 MiB).
const MaxModuleSize = loop.MaxModuleSize

// ReadModule reads the file a load() of module would run (path: module,
// if absolute, else joined to the loading file's folder) through the same
// grants load() uses: in a sandbox, only below Permissions.Load or
// Permissions.Read, a refused file not being opened (a permission error
// naming module); a FIFO, a device, a directory, or a file of more than
// MaxModuleSize bytes is a value error. For tools that follow loads
// without running them.
func (e *Engine) ReadModule(module, path string) ([]byte, error) {
	return e.c.ReadModule(module, path)
}

// Failures returns how many task failures were reported because nobody
// observed them (SPEC 4): the coro command then exits 1.
func (e *Engine) Failures() int {
	var n int
	if e.c.Do(func() { n = e.c.Unhandled }) != nil {
		n = e.c.Unhandled // closed: nothing runs on the loop any more
	}
	return n
}

// Exit returns the exit a script asked for with os.exit in the current
// run, or nil: Exec, RunFile and Run begin a new run, and so does a Call
// or Start while none of them (nor Wait) is going on.
func (e *Engine) Exit() *ExitError {
	var x *ExitError
	if e.c.Do(func() { x = e.c.ExitCode() }) != nil {
		x = e.c.ExitCode()
	}
	return x
}

// Close cancels every task, lets their deferred functions run, releases
// every goroutine the engine made and finishes the trace (Options.Trace).
func (e *Engine) Close() error {
	err := e.c.Close()
	e.nats.Close()
	if e.trace != nil {
		e.c.SetTracer(nil)
		if terr := e.trace.Close(); err == nil {
			err = terr
		}
		e.trace = nil
	}
	return err
}

// IsSyntaxError reports whether err is a script's syntax or name-resolution
// error (the coro command exits 2 for those).
func IsSyntaxError(err error) bool {
	var synErr syntax.Error
	var resErrs resolve.ErrorList
	return errors.As(err, &synErr) || errors.As(err, &resErrs)
}

// AsError returns err as an *Error with a kind (KindError when err has
// none of its own).
func AsError(err error) *Error { return loop.ToError(err) }

// Serve serves remote() calls (SPEC 16) with the modules below dir, until
// ctx is done: what `coro worker` runs. concurrency calls run at once
// (each computes on a goroutine of its own, as parallel() does); dir is
// where callers' load() paths are found. It needs Permissions.Net, and
// reads the modules as load() does.
func (e *Engine) Serve(ctx context.Context, dir string, concurrency int) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Errorf(KindValue, "Serve: %v", err)
	}
	body := starlark.NewBuiltin("worker", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, "worker")
		if err != nil {
			return nil, err
		}
		return starlark.None, e.nats.Serve(x, abs, concurrency)
	})
	t, err := e.c.RunTask(ctx, "worker", body, nil)
	if err != nil {
		return err
	}
	if t.Err() != nil {
		return t.Err()
	}
	return nil
}
