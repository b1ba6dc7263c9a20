package main

// The command's diagnostics (SPEC 8): --trace FILE and the SIGQUIT task dump.

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/engine/trace"
)

// startTrace installs the --trace writer, if asked for, and returns the
// function that uninstalls it and finishes the file (call it once the run
// is over, before the engine closes).
func startTrace(c *config, eng *engine.Engine) (stop func() error, err error) {
	if c.tracePath == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(c.tracePath)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	tw := trace.New(f, eng.Now)
	eng.SetTracer(tw)
	return func() error {
		eng.SetTracer(nil)
		err := tw.Close()
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
				eng.Post(func() { io.WriteString(w, "coro: SIGQUIT: "+eng.Dump()) })
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
