// Package repl is coro's interactive prompt (SPEC 9): each statement runs
// as the foreground task on one engine whose loop keeps running between
// statements, so tasks spawned at the prompt go on while the user types.
//
// Two goroutines share the work. The loop goroutine owns the engine
// (engine.Session) and everything Starlark: the session's globals, the
// foreground task, completion lookups. The REPL goroutine reads lines with
// liner (which blocks), parses them, and hands each chunk to the session,
// then waits for the statement to end or for Ctrl-C.
package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/syntax"
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
	eng     *engine.Engine
	es      *engine.Session
	st      statements // es, or a breakpoint's frame (Debugger)
	bp      *engine.Breakpoint
	opts    Options
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
func New(eng *engine.Engine, opts Options) *Session {
	es := eng.NewSession()
	return &Session{eng: eng, es: es, st: es, opts: opts}
}

// statements is what a prompt runs what is typed on: an engine.Session's
// globals, or the frame a breakpoint() paused (engine.Breakpoint).
type statements interface {
	Exec(*syntax.File) engine.Outcome
	FileOptions() *syntax.FileOptions
	Inspect(func(globals starlark.StringDict))
	Dump() string
	Exited() bool
}

// Start runs the engine's loop on its own goroutine and starts catching
// SIGINT (Ctrl-C while a statement runs: it cancels that statement).
func (s *Session) Start() {
	s.es.Start()
	// Through the process's signal hub, as the coro command does: a
	// script holding SIGINT with os.signal("INT") gets Ctrl-C instead.
	s.stopInt = engine.OnSignal(os.Interrupt, s.es.Interrupt)
}

// Finish stops the loop, cancels every task that is left (their deferred
// functions run) and closes the engine, whose error it returns too. The
// status is what os.exit asked for; else 1 if the loop stopped by itself
// (Done: the memory limit), whose reason it prints; else, without a
// terminal (statements piped in), 1 if a statement or a task nobody
// waited on failed; else 0.
func (s *Session) Finish() (int, error) {
	s.stopInt()
	err := s.es.Finish()
	if ec := s.eng.Exit(); ec != nil {
		return ec.Code, err
	}
	if serr := s.es.Err(); serr != nil {
		fmt.Fprintln(s.opts.Err, serr)
		return 1, err
	}
	if !s.opts.Terminal && (s.failed || s.eng.Failures() > 0) {
		return 1, err
	}
	return 0, err
}

// Done returns a channel closed when the session's loop has stopped by
// itself (engine.Session.Done: the memory limit): the caller then ends
// the session as for SIGTERM, with End and Finish.
func (s *Session) Done() <-chan struct{} { return s.es.Done() }

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

// report prints a statement's error: a short traceback and the message.
// A statement the user interrupted just says so.
func (s *Session) report(err *engine.Error) {
	if err.Kind == engine.KindCancelled && (err.Msg == "interrupted" || err.Msg == "deadlock") {
		fmt.Fprintln(s.opts.Err, err.Error())
		return
	}
	fmt.Fprint(s.opts.Err, err.Report(s.opts.GoTrace))
}

// Load runs a script file into the session (coro -i, :load).
func (s *Session) Load(path string, src []byte) engine.Outcome { return s.es.Load(path, src) }

// Report prints an Outcome's error, if any, and says whether the session
// must end (os.exit).
func (s *Session) Report(o engine.Outcome) (exit bool) {
	if s.ending.Load() {
		return true
	}
	if o.Err != nil && !o.Exit {
		s.failed = true
		s.report(o.Err)
	}
	return o.Exit
}

// errAbort is a chunk abandoned with Ctrl-C at the prompt.
var errAbort = errors.New("aborted")

// Run reads and runs statements until end of input (Ctrl-D) or os.exit.
// The caller calls Finish afterwards.
func (s *Session) Run() {
	// Piped statements are numbered by their line in the input (read
	// counts them), as a script's are; at the prompt each starts at line
	// 1, as in Python's REPL.
	lineNo := int32(0)
	pipe := s.pipeReader()
	read := func(p string) (string, error) {
		line, err := pipe(p)
		if err == nil {
			lineNo++
		}
		return line, err
	}
	if s.opts.Terminal {
		s.openLiner()
		defer s.closeLiner()
		read = s.promptReader()
	}
	opts := s.st.FileOptions()
	p1 := prompt1
	if s.bp != nil {
		p1 = debugPrompt
	}
	// lookahead is a line read past the end of a block: the parser needs
	// the next line to see that a block has ended (dedented), and that line
	// begins the next statement. It was dropped: a statement right after a
	// block, with no empty line between, never ran.
	var lookahead *string
	for {
		var first string
		var err error
		if lookahead != nil {
			first, lookahead = *lookahead, nil
		} else {
			first, err = read(p1)
		}
		if s.ending.Load() || s.st.Exited() {
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
		last, lines := first, 1 // the last line read, and how many
		start := int32(1)
		if !s.opts.Terminal {
			start = lineNo // first is the last line read, even a lookahead
		}
		f, err := opts.ParseCompoundStmtAt("<stdin>", start, func() ([]byte, error) {
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
			last, lines = line, lines+1
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
		if n := len(f.Stmts); n > 0 && lines > 1 && strings.TrimSpace(last) != "" {
			if _, end := f.Stmts[n-1].Span(); int(end.Line-start+1) < lines {
				lookahead = &last
			}
		}
		if s.Report(s.st.Exec(f)) || eof {
			return
		}
	}
}

// A background task's os.exit takes effect when the current line is
// read: liner cannot be interrupted while it waits for a key.

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
		if s.bp != nil {
			fmt.Fprint(s.opts.Out, debugHelpText)
			return false
		}
		fmt.Fprint(s.opts.Out, helpText)
	case ":tasks":
		fmt.Fprint(s.opts.Out, s.st.Dump())
	case ":c", ":continue":
		if s.bp != nil {
			return true
		}
		s.refuse(":c continues from a breakpoint(); there is none here")
	case ":where":
		if s.bp != nil {
			fmt.Fprint(s.opts.Out, where(s.bp))
			return false
		}
		s.refuse(":where shows a breakpoint()'s stack; there is none here")
	case ":load":
		if s.bp != nil {
			s.refuse(":load is not available at a breakpoint")
			return false
		}
		if arg == "" {
			s.refuse(":load needs a file name")
			return false
		}
		return s.Report(s.es.LoadFile(arg))
	default:
		s.refuse("unknown command " + name + " (try :help)")
	}
	return false
}

// refuse reports a command that cannot run: like a failed statement, it
// makes piped input end with status 1.
func (s *Session) refuse(msg string) {
	s.failed = true
	fmt.Fprintln(s.opts.Err, msg)
}
