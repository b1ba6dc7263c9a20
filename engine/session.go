package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
)

// A Session runs statements one at a time on an engine whose loop keeps
// running between them (SPEC 9): the engine side of a REPL, for the coro
// command's and for an application's own console. Each statement runs as
// the foreground task, named "repl"; tasks it spawns go on while the
// session waits for the next one.
//
// A goroutine of the session's own drives the loop from Start to Finish,
// as RunFile's is driven: Finish cancels even a task computing alone, and
// Options.MaxMemory holds, its limit ending the session (Done). The
// methods are for one goroutine (the one reading statements), except
// Interrupt, Done and Err, which may be called from anywhere.
type Session struct {
	chunks
	stop context.CancelCauseFunc
	err  error // why the loop stopped by itself; set before done is closed
}

// chunks runs statements typed at a prompt as tasks, one at a time, in an
// environment of their own: a Session's globals, or a paused frame's
// (Breakpoint).
type chunks struct {
	e       *Engine
	name    string              // the tasks' name
	globals starlark.StringDict // loop only
	fg      *loop.Task          // the running statement; loop only
	// done is closed once nothing drives the loop any more (a Session's
	// loop has stopped); nil for a Breakpoint's, which the run drives.
	done chan struct{}
}

// An Outcome is how a statement (or a loaded file) ended.
type Outcome struct {
	Err *Error // nil on success
	// Exit says the session must end: os.exit was called, or the run is
	// ending (every task cancelled: the session's loop stopped, past
	// Options.MaxMemory, say).
	Exit bool
}

// NewSession returns a session on e, whose globals start as the
// predeclared names. The engine must not be running anything else.
func (e *Engine) NewSession() *Session {
	s := &Session{chunks: chunks{e: e, name: "repl", globals: starlark.StringDict{}}}
	for k, v := range e.c.Predeclared() {
		s.globals[k] = v
	}
	return s
}

// errSessionEnded is the cause Finish gives the loop's ctx: the tasks it
// cancels are cancelled with "run cancelled: session ended".
var errSessionEnded = errors.New("session ended")

// Start begins driving the engine's loop.
func (s *Session) Start() {
	c := s.e.c
	var ctx context.Context
	ctx, s.stop = context.WithCancelCause(context.Background())
	s.done = make(chan struct{})
	go func() {
		s.err = c.Serve(ctx, s.deadlocked)
		close(s.done)
	}()
	// Between statements the loop waits for the user, not for a task:
	// tasks blocked then are not a deadlock (the next statement may wake
	// them). While a statement runs, nothing else can, so they are.
	s.e.Do(func() { c.Keep(s, func() bool { return s.fg == nil }) })
}

// Interrupt cancels the running statement, if any, with the message
// "interrupted" (Ctrl-C). Safe from any goroutine.
func (s *Session) Interrupt() {
	s.e.c.Post(func() {
		if s.fg != nil {
			s.fg.Cancel("interrupted")
		}
	})
}

// Finish stops the loop, cancels every task that is left, even one
// computing, at its next time slice (their deferred functions run) and
// closes the engine, returning Close's error. A session never started
// has no loop to stop: Finish just closes.
func (s *Session) Finish() error {
	if s.stop != nil {
		s.stop(errSessionEnded)
		<-s.done
	}
	return s.e.Close()
}

// Done returns a channel closed once the loop has stopped: after Finish,
// or by itself, when Options.MaxMemory was exceeded. That ends the
// session: every task has been cancelled and their deferred functions
// have run, Err says why, statements run from then on do nothing but
// report Exit, and the caller is still to call Finish.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the loop stopped by itself (a cancelled error naming
// the memory limit), once Done is closed; else nil.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Inspect runs fn on the loop with the statements' globals (to complete
// a name, say) and returns once it has run.
func (s *chunks) Inspect(fn func(globals starlark.StringDict)) {
	s.e.Do(func() { fn(s.globals) })
}

// Dump returns the live tasks as text (Engine.Dump).
func (s *chunks) Dump() string {
	dump, _ := s.e.Dump()
	return dump
}

// Exited reports whether a task called os.exit.
func (s *chunks) Exited() bool { return s.e.Exit() != nil }

// FileOptions returns the engine's dialect with load() binding globally,
// as every statement is its own chunk: for syntax.ParseCompoundStmt.
func (s *chunks) FileOptions() *syntax.FileOptions {
	o := *s.e.c.FileOptions()
	o.LoadBindsGlobally = true
	return &o
}

// deadlocked is Serve's hook: with every task blocked while a statement
// runs, nothing can ever wake the statement, so it is told so and
// cancelled (its deferred functions run) instead of hanging the session.
func (s *Session) deadlocked(err *loop.Error) {
	if s.fg == nil || s.fg.Done() {
		return
	}
	fmt.Fprintln(s.e.c.Stderr(), err.Error())
	s.fg.Cancel("deadlock")
}

// doneWaker watches the foreground task: being a watcher also marks its
// failure as seen, so the engine does not report it as a lost task
// failure; the session's caller reports it instead.
type doneWaker struct {
	s     *chunks
	fired bool
	out   Outcome
	ch    chan struct{}
}

func (w *doneWaker) Accepts(int) bool { return !w.fired }

func (w *doneWaker) Complete(_ int, _ starlark.Value, err error) {
	w.fired = true
	if err != nil {
		w.out.Err = loop.ToError(err)
	}
	w.out.Exit = w.s.e.c.ExitCode() != nil || w.s.e.c.Ending() != ""
	w.s.fg = nil
	close(w.ch)
}

// run executes body as the foreground task and waits for it.
func (s *chunks) run(body func(th *starlark.Thread) error) Outcome {
	c := s.e.c
	w := &doneWaker{s: s, ch: make(chan struct{})}
	fn := starlark.NewBuiltin("<stdin>", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return starlark.None, body(th)
	})
	c.Post(func() {
		t := c.Spawn(fn, nil, nil, s.name, nil, "")
		generator.Outlive(t) // a generator made at the prompt lives on in the session
		s.fg = t
		t.Enqueue(w, 0)
	})
	select {
	case <-w.ch:
		return w.out
	case <-s.done:
		// The loop has stopped: nothing runs the statement.
		return Outcome{Exit: true}
	}
}

// Exec runs one parsed chunk: an expression statement's value is printed
// (as repr, unless None) and kept in _.
func (s *chunks) Exec(f *syntax.File) Outcome {
	return s.run(func(th *starlark.Thread) error {
		if expr := soleExpr(f); expr != nil {
			v, err := starlark.EvalExprOptions(f.Options, th, expr, s.globals)
			if err != nil {
				return err
			}
			s.globals["_"] = v
			if v != starlark.None {
				fmt.Fprintln(s.e.c.Stdout(), v.String())
			}
			return nil
		}
		return starlark.ExecREPLChunk(f, th, s.globals)
	})
}

// Load runs a script file into the session (coro -i): its globals join
// the session's, even those defined before an error stopped it.
func (s *Session) Load(path string, src []byte) Outcome {
	return s.run(func(th *starlark.Thread) error { return s.load(th, path, src) })
}

// LoadFile reads the script at path as load() reads a module (in a
// sandbox, only below the main script's folder or a path allowed to be
// read; a refused file is not opened) and runs it into the session as
// Load does (:load).
func (s *Session) LoadFile(path string) Outcome {
	return s.run(func(th *starlark.Thread) error {
		src, err := s.e.c.ReadModule(path, path)
		if err != nil {
			return err
		}
		return s.load(th, path, src)
	})
}

func (s *Session) load(th *starlark.Thread, path string, src []byte) error {
	g, err := starlark.ExecFileOptions(s.e.c.FileOptions(), th, path, src, s.globals)
	for k, v := range g {
		s.globals[k] = v
	}
	return err
}

func soleExpr(f *syntax.File) syntax.Expr {
	if len(f.Stmts) == 1 {
		if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			return stmt.X
		}
	}
	return nil
}
