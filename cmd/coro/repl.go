package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/repl"
	"github.com/peterh/liner"
)

// replStart is the script `coro -i FILE` runs before the prompt.
type replStart struct {
	file string
	src  []byte
	args []string
}

// runREPL runs the interactive session (SPEC 9). With a terminal on the
// process's stdin and stdout it edits lines with liner; otherwise (a pipe,
// or an in-process caller's reader) it reads statements line by line.
func runREPL(c *config, start *replStart, stdin io.Reader, stdout, stderr io.Writer) int {
	tty := onTerminal(stdin, stdout)
	// SIGTERM and SIGHUP end the session (Ctrl-C, SIGINT, only cancels the
	// running statement: the session handles it), as does a closed pipe.
	ctx, stop, signalled, broken := interruptContext(syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	stdout, stderr = &pipeGuard{stdout, broken}, &pipeGuard{stderr, broken}
	out, errw := stdout, stderr
	var con *repl.Console
	if tty {
		con = repl.NewConsole()
		out = con.Writer(stdout)
		errw = con.Writer(stderr)
	}
	var args []string
	if start != nil {
		args = start.args
	}
	eng, closeTrace, err := newEngine(c, out, errw, args, nil)
	if err != nil {
		fmt.Fprintf(stderr, "coro: %v\n", err)
		return exitUsage
	}
	history := ""
	if tty {
		history = repl.DefaultHistoryPath()
	}
	s := repl.New(eng, repl.Options{
		Terminal:    tty,
		In:          stdin,
		Out:         out,
		Err:         errw,
		Console:     con,
		HistoryPath: history,
		GoTrace:     c.goTrace,
	})
	s.Start()
	ran := make(chan struct{})
	var syntaxErr atomic.Bool
	go func() {
		defer close(ran)
		if start != nil {
			o := s.Load(start.file, start.src)
			if o.Err != nil && engine.IsSyntaxError(o.Err) {
				// As coro FILE says it, with status 2: nothing of
				// the file ran, there is no session to start.
				fmt.Fprintln(errw, syntaxMessage(o.Err))
				syntaxErr.Store(true)
				return
			}
			if s.Report(o) {
				return
			}
		}
		s.Run()
	}()
	select {
	case <-ran:
	case <-ctx.Done():
		// Run may be blocked reading a line: leave it; the process ends.
		s.End()
	case <-s.Done():
		// The loop stopped by itself (--max-memory): the session is
		// over, though Run may be waiting for a line.
		s.End()
	}
	code, closeErr := s.Finish()
	if syntaxErr.Load() {
		code = exitUsage
	}
	if sig := signalled(); sig != 0 {
		code = sig
	}
	if terr := closeTrace(closeErr); terr != nil {
		fmt.Fprintf(stderr, "coro: writing trace: %v\n", terr)
	}
	return code
}

// onTerminal reports whether the command talks to a person: the process's
// own stdin and stdout on a terminal liner can drive. The REPL edits lines
// then, and breakpoint() opens a prompt.
func onTerminal(stdin io.Reader, stdout io.Writer) bool {
	if stdin != io.Reader(os.Stdin) || stdout != io.Writer(os.Stdout) || !isTerminal(os.Stdout) {
		return false
	}
	_, err := liner.TerminalMode()
	return err == nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
