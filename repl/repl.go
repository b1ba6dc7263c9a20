// Package repl is coro's interactive prompt (SPEC 9): each statement runs
// as the foreground task on one engine whose loop keeps running between
// statements, so tasks spawned at the prompt go on while the user types.
//
// Two goroutines share the work. The loop goroutine owns the engine
// (core.Engine.Serve) and everything Starlark: the session's globals, the
// foreground task, completion lookups. The REPL goroutine reads lines with
// liner (which blocks), parses them, and hands each chunk to the loop
// through Post, then waits for the foreground task to end or for Ctrl-C.
package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
	"github.com/corolang/coro/stdlib/osmod"
	"github.com/peterh/liner"
)

// HistoryFile is the history's file name in the home directory.
const HistoryFile = ".coro_history"

// Prompts, as in Python.
const (
	prompt1 = ">>> "
	prompt2 = "... "
)

// Options configure a session.
type Options struct {
	// Terminal selects line editing (liner on the process's own stdin and
	// stdout); without it statements are read from In line by line, with
	// no prompts, as when stdin is a pipe.
	Terminal bool
	In       io.Reader
	// Out and Err receive the REPL's own messages (values, errors); give
	// them the same Console writers as the engine.
	Out, Err io.Writer
	// Console is the terminal shared with task output (Terminal only).
	Console *Console
	// HistoryPath is where history is loaded from and saved to ("" for none).
	HistoryPath string
	// GoTrace adds Go frames to error reports.
	GoTrace bool
}

// DefaultHistoryPath returns ~/.coro_history, or "" without a home directory.
func DefaultHistoryPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, HistoryFile)
}

// A Session is one REPL on one engine.
type Session struct {
	eng     *core.Engine
	opts    Options
	globals starlark.StringDict // loop only
	fg      *core.Task          // the running statement; loop only

	ctx     context.Context
	stop    context.CancelFunc
	served  chan error
	stopInt func()

	// failed records that a statement failed: piped statements then exit
	// with status 1 (SPEC 9). REPL goroutine only.
	failed bool
	// ending is set by End (another goroutine): nothing more is run or
	// reported. lineMu guards line, which End closes to restore the
	// terminal while Run may still be blocked in it.
	ending atomic.Bool
	lineMu sync.Mutex
	line   *liner.State
}

// New returns a session on eng, which must not be running; Start begins
// serving its loop.
func New(eng *core.Engine, opts Options) *Session {
	s := &Session{eng: eng, opts: opts, globals: starlark.StringDict{}}
	for k, v := range eng.Predeclared() {
		s.globals[k] = v
	}
	return s
}

// Start runs the engine's loop on its own goroutine and starts catching
// SIGINT (Ctrl-C while a statement runs: it cancels that statement).
func (s *Session) Start() {
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.served = make(chan error, 1)
	go func() { s.served <- s.eng.Serve(s.ctx, s.deadlocked) }()
	// Between statements the loop waits for the user, not for a task:
	// tasks blocked then are not a deadlock (the next statement may wake
	// them). While a statement runs, nothing else can, so they are.
	s.onLoop(func() { s.eng.Keep(s, func() bool { return s.fg == nil }) })
	// Through the process's signal hub, as the coro command does: a
	// script holding SIGINT with os.signal("INT") gets Ctrl-C instead.
	s.stopInt = osmod.Signals.Fallback(os.Interrupt, func() {
		s.eng.Post(func() {
			if s.fg != nil {
				s.fg.Cancel("interrupted")
			}
		})
	})
}

// Finish stops the loop, cancels every task that is left (their deferred
// functions run) and closes the engine. It returns the status os.exit
// asked for; else, without a terminal (statements piped in), 1 if a
// statement or a task nobody waited on failed; else 0.
func (s *Session) Finish() int {
	s.stopInt()
	s.stop()
	<-s.served
	s.eng.Close()
	if ec := s.eng.ExitCode(); ec != nil {
		return ec.Code
	}
	if !s.opts.Terminal && (s.failed || s.eng.Unhandled > 0) {
		return 1
	}
	return 0
}

// End ends the session from another goroutine, as SIGTERM or SIGHUP do:
// nothing more is read, run or reported, and the terminal is restored.
// The caller then calls Finish, which cancels the running statement and
// every task and runs their deferred functions; Run may still be blocked
// reading a line (liner cannot be interrupted), so the caller does not
// wait for it.
func (s *Session) End() {
	s.ending.Store(true)
	s.lineMu.Lock()
	defer s.lineMu.Unlock()
	if s.line != nil {
		s.line.Close()
	}
}

// onLoop runs fn on the loop and waits for it.
func (s *Session) onLoop(fn func()) {
	done := make(chan struct{})
	s.eng.Post(func() { fn(); close(done) })
	<-done
}

// deadlocked is Serve's hook: with every task blocked while a statement
// runs, nothing can ever wake the statement, so it is told so and
// cancelled (its deferred functions run) instead of hanging the REPL.
func (s *Session) deadlocked(err *core.Error) {
	if s.fg == nil || s.fg.Done() {
		return
	}
	fmt.Fprintln(s.eng.Stderr(), err.Error())
	s.fg.Cancel("deadlock")
}

// An Outcome is how a statement (or a loaded file) ended.
type Outcome struct {
	Err  *core.Error // nil on success
	Exit bool        // os.exit was called: the session must end
}

// doneWaker watches the foreground task: being a watcher also marks its
// failure as seen, so the engine does not report it as a lost task failure;
// the REPL prints it instead.
type doneWaker struct {
	s     *Session
	fired bool
	out   Outcome
	ch    chan struct{}
}

func (w *doneWaker) Accepts(int) bool { return !w.fired }

func (w *doneWaker) Complete(_ int, _ starlark.Value, err error) {
	w.fired = true
	if err != nil {
		w.out.Err = core.ToError(err)
	}
	w.out.Exit = w.s.eng.ExitCode() != nil
	w.s.fg = nil
	close(w.ch)
}

// run executes body as the foreground task and waits for it.
func (s *Session) run(body func(th *starlark.Thread) error) Outcome {
	w := &doneWaker{s: s, ch: make(chan struct{})}
	fn := starlark.NewBuiltin("<stdin>", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return starlark.None, body(th)
	})
	s.eng.Post(func() {
		t := s.eng.Spawn(fn, nil, nil, "repl", nil, "")
		generator.Outlive(t) // a generator made at the prompt lives on in the session
		s.fg = t
		t.Enqueue(w, 0)
	})
	<-w.ch
	return w.out
}

// report prints a statement's error: a short traceback and the message.
// A statement the user interrupted just says so.
func (s *Session) report(err *core.Error) {
	if err.Kind == core.KindCancelled && (err.Msg == "interrupted" || err.Msg == "deadlock") {
		fmt.Fprintln(s.opts.Err, err.Error())
		return
	}
	fmt.Fprint(s.opts.Err, err.Report(s.opts.GoTrace))
}

// Exec runs one parsed chunk in the session: an expression statement's
// value is printed (as repr, unless None) and kept in _.
func (s *Session) Exec(f *syntax.File) Outcome {
	return s.run(func(th *starlark.Thread) error {
		if expr := soleExpr(f); expr != nil {
			v, err := starlark.EvalExprOptions(f.Options, th, expr, s.globals)
			if err != nil {
				return err
			}
			s.globals["_"] = v
			if v != starlark.None {
				fmt.Fprintln(s.eng.Stdout(), v.String())
			}
			return nil
		}
		return starlark.ExecREPLChunk(f, th, s.globals)
	})
}

// Load runs a script file into the session (coro -i, :load): its globals
// join the session's, even those defined before an error stopped it.
func (s *Session) Load(path string, src []byte) Outcome {
	return s.run(func(th *starlark.Thread) error {
		g, err := starlark.ExecFileOptions(s.eng.FileOptions(), th, path, src, s.globals)
		for k, v := range g {
			s.globals[k] = v
		}
		return err
	})
}

// Report prints an Outcome's error, if any, and says whether the session
// must end (os.exit).
func (s *Session) Report(o Outcome) (exit bool) {
	if s.ending.Load() {
		return true
	}
	if o.Err != nil && !o.Exit {
		s.failed = true
		s.report(o.Err)
	}
	return o.Exit
}

func soleExpr(f *syntax.File) syntax.Expr {
	if len(f.Stmts) == 1 {
		if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			return stmt.X
		}
	}
	return nil
}

// fileOptions is the engine's dialect with load() binding globally, as
// every REPL statement is its own chunk.
func (s *Session) fileOptions() *syntax.FileOptions {
	o := *s.eng.FileOptions()
	o.LoadBindsGlobally = true
	return &o
}

// errAbort is a chunk abandoned with Ctrl-C at the prompt.
var errAbort = errors.New("aborted")

// Run reads and runs statements until end of input (Ctrl-D) or os.exit.
// The caller calls Finish afterwards.
func (s *Session) Run() {
	read := s.pipeReader()
	if s.opts.Terminal {
		s.openLiner()
		defer s.closeLiner()
		read = s.promptReader()
	}
	opts := s.fileOptions()
	for {
		first, err := read(prompt1)
		if s.ending.Load() || s.exitRequested() {
			return
		}
		if err == errAbort {
			continue
		}
		if err != nil {
			if s.opts.Terminal {
				fmt.Fprintln(s.opts.Out)
			}
			return
		}
		if cmd := strings.TrimSpace(first); strings.HasPrefix(cmd, ":") {
			if s.command(cmd) {
				return
			}
			continue
		}
		if strings.TrimSpace(first) == "" {
			continue
		}
		pending := []byte(first + "\n")
		eof, aborted := false, false
		f, err := opts.ParseCompoundStmt("<stdin>", func() ([]byte, error) {
			if pending != nil {
				b := pending
				pending = nil
				return b, nil
			}
			line, err := read(prompt2)
			if err != nil {
				eof = err == io.EOF
				aborted = err == errAbort
				if eof && !s.opts.Terminal {
					// Piped input may end inside a block: the end
					// closes it, as an empty line would.
					return nil, nil
				}
				return nil, err
			}
			return []byte(line + "\n"), nil
		})
		switch {
		case err != nil && aborted:
			continue
		case err != nil && eof && s.opts.Terminal:
			return
		case err != nil:
			s.failed = true
			fmt.Fprintln(s.opts.Err, err)
			if eof {
				return
			}
			continue
		}
		if s.Report(s.Exec(f)) || eof {
			return
		}
	}
}

// exitRequested reports whether a background task called os.exit. liner
// cannot be interrupted while it waits for a key, so such an exit takes
// effect when the current line is read.
func (s *Session) exitRequested() bool {
	var exit bool
	s.onLoop(func() { exit = s.eng.ExitCode() != nil })
	return exit
}

// pipeReader reads statements line by line from In, without prompts.
func (s *Session) pipeReader() func(string) (string, error) {
	br := bufio.NewReader(s.opts.In)
	return func(string) (string, error) {
		line, err := br.ReadString('\n')
		if err != nil && (line == "" || err != io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
}

// promptReader reads with liner. While liner holds the prompt the console
// redraws it around task output.
func (s *Session) promptReader() func(string) (string, error) {
	return func(p string) (string, error) {
		s.opts.Console.setPrompting(true)
		line, err := s.line.Prompt(p)
		s.opts.Console.setPrompting(false)
		switch err {
		case nil:
			if strings.TrimSpace(line) != "" {
				s.line.AppendHistory(line)
			}
			return line, nil
		case liner.ErrPromptAborted:
			return "", errAbort
		}
		return "", err
	}
}

func (s *Session) openLiner() {
	s.lineMu.Lock()
	defer s.lineMu.Unlock()
	s.line = liner.NewLiner()
	s.line.SetCtrlCAborts(true)
	s.line.SetTabCompletionStyle(liner.TabPrints)
	s.line.SetWordCompleter(s.complete)
	if s.opts.HistoryPath != "" {
		if f, err := os.Open(s.opts.HistoryPath); err == nil {
			s.line.ReadHistory(f)
			f.Close()
		}
	}
}

// closeLiner saves the history (liner keeps the newest HistoryLimit
// entries, so the file stays bounded) and restores the terminal.
func (s *Session) closeLiner() {
	s.lineMu.Lock()
	defer s.lineMu.Unlock()
	if s.ending.Load() {
		return // End closed it
	}
	if s.opts.HistoryPath != "" {
		if f, err := os.Create(s.opts.HistoryPath); err == nil {
			s.line.WriteHistory(f)
			f.Close()
		} else {
			fmt.Fprintf(s.opts.Err, "coro: saving history: %v\n", err)
		}
	}
	s.line.Close()
}

const helpText = `Type Starlark statements; an expression's value is printed.
A def, if, for or while block continues on "... " lines until an empty line.
Tasks you spawn keep running while you type; their output appears above the prompt.
  Ctrl-C      cancel the running statement (at the prompt: clear the line)
  Ctrl-D      leave (remaining tasks are cancelled; their deferred calls run)
  Tab         complete names and attributes
Commands:
  :help       this text
  :tasks      list the live tasks: state, what they wait on, stack
  :load FILE  run a script file into this session's globals
`

// command runs a ":" command; it reports whether the session must end.
func (s *Session) command(cmd string) bool {
	name, arg, _ := strings.Cut(cmd, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case ":help":
		fmt.Fprint(s.opts.Out, helpText)
	case ":tasks":
		var dump string
		s.onLoop(func() { dump = s.eng.Dump() })
		fmt.Fprint(s.opts.Out, dump)
	case ":load":
		if arg == "" {
			fmt.Fprintln(s.opts.Err, ":load needs a file name")
			return false
		}
		src, err := os.ReadFile(arg)
		if err != nil {
			fmt.Fprintf(s.opts.Err, ":load: %v\n", err)
			return false
		}
		return s.Report(s.Load(arg, src))
	default:
		fmt.Fprintf(s.opts.Err, "unknown command %s (try :help)\n", name)
	}
	return false
}
