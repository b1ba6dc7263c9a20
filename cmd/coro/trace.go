package main

// The command's diagnostics (SPEC 8, 14): --trace FILE, --profile FILE and
// the SIGQUIT task dump.

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/engine/trace"
	"github.com/corolang/coro/repl"
	"github.com/corolang/coro/starlark"
)

// newEngine makes the engine of a run or a session with the command's
// options, the --trace file as its Options.Trace and rec (--inspect's,
// or nil) as its Options.Recorder; closeTrace closes that
// file once the engine has closed (given Close's error, it returns the
// first of the two).
func newEngine(c *config, stdout, stderr io.Writer, args []string, rec *trace.Recorder) (eng *engine.Engine, closeTrace func(error) error, err error) {
	var debugger *repl.Debugger
	if c.debug {
		// breakpoint() opens a prompt; task output keeps clear of it.
		con := repl.NewConsole()
		stdout, stderr = con.Writer(stdout), con.Writer(stderr)
		debugger = repl.NewDebugger(repl.Options{Out: stdout, Err: stderr, Console: con,
			HistoryPath: repl.DefaultHistoryPath(), GoTrace: c.goTrace})
	}
	opts := c.options(stdout, stderr, args)
	if debugger != nil {
		opts.Breakpoint = debugger.Break
	}
	opts.Recorder = rec
	closeTrace, err = openTrace(c, &opts)
	if err != nil {
		return nil, nil, err
	}
	eng, err = engine.New(opts)
	if err != nil {
		closeTrace(nil)
		return nil, nil, err
	}
	return eng, closeTrace, nil
}

// openTrace opens the --trace file, if asked for, as opts.Trace (the
// engine writes it), and returns the function that closes the file once
// the engine has closed (and finished the trace): it is given Close's
// error and returns the first error of the two.
func openTrace(c *config, opts *engine.Options) (closeTrace func(error) error, err error) {
	if c.tracePath == "" {
		return func(err error) error { return err }, nil
	}
	f, err := os.Create(c.tracePath)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	opts.Trace = f
	return func(err error) error {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// dumpOnQuit makes SIGQUIT (kill -QUIT, Ctrl-\) print the task dump to w
// instead of ending the process with Go's goroutine dump: a hung script
// can be asked what it waits for. The dump is made on the loop (the
// engine's state belongs to it), so it appears once the loop is free to
// take it: at once while tasks wait, after the current run otherwise. The
// returned function stops listening.
func dumpOnQuit(eng *engine.Engine, w io.Writer) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGQUIT)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				if dump, err := eng.Dump(); err == nil {
					io.WriteString(w, "coro: SIGQUIT: "+dump)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// startProfile starts the interpreter's profiler if --profile asked for
// it: the time spent in each Starlark function (the script's own and the
// builtins it calls), with the call stacks, written in pprof format. The
// returned function stops it and closes the file.
func startProfile(c *config) (stop func() error, err error) {
	if c.profilePath == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(c.profilePath)
	if err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	if err := starlark.StartProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--profile: %w", err)
	}
	return func() error {
		err := starlark.StopProfile()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
