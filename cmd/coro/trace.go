package main

// The command's diagnostics (SPEC 8): --trace FILE and the SIGQUIT task dump.

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/corolang/coro/engine"
)

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
