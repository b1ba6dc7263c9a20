// Package scripttest runs scripts in-process for the tests of the I/O
// modules (net, http): each on an engine of its own that allows network
// access, its output handed to the test line by line as it appears
// (servers print the address or port they got).
package scripttest

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/stretchr/testify/require"
)

// Output collects a script's stdout or stderr and hands each printed line
// to the test as it appears.
type Output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{lines: make(chan string, 1000)} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if strings.HasSuffix(l, "\n") {
			select {
			case o.lines <- strings.TrimSuffix(l, "\n"):
			default: // nobody reads this many lines; the buffer keeps them
			}
		}
	}
	return len(p), nil
}

// String returns all that was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Next returns the next line printed (without its newline), failing the
// test if none comes within 10 seconds.
func (o *Output) Next(t testing.TB) string {
	t.Helper()
	select {
	case l := <-o.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatalf("no output from the script; so far: %q", o.String())
		return ""
	}
}

// A Run is a script running on its own engine.
type Run struct {
	Stdout, Stderr *Output
	Done           chan error // the run's result, sent once
	finished       chan struct{}
}

// Start runs src (named name, with os.args args) on a new engine that
// allows network access (and writes under the temporary folder, for unix
// sockets), for at most limit. The test's cleanup cancels
// the run, waits for it to end and closes the engine.
func Start(t testing.TB, name, src string, limit time.Duration, args ...string) *Run {
	t.Helper()
	// Unix sockets are files: the tests' temporary folders are granted.
	return StartWith(t, engine.Options{Permissions: engine.Permissions{Net: true, Write: []string{os.TempDir()}}}, name, src, limit, args...)
}

// StartWith is Start with the engine's permissions and extra predeclared
// names (moduletest.Unwound) taken from opts.
func StartWith(t testing.TB, opts engine.Options, name, src string, limit time.Duration, args ...string) *Run {
	t.Helper()
	r := &Run{Stdout: NewOutput(), Stderr: NewOutput(), Done: make(chan error, 1), finished: make(chan struct{})}
	e, err := engine.New(engine.Options{Stdout: r.Stdout, Stderr: r.Stderr, Args: args, Globals: opts.Globals, Permissions: opts.Permissions})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	go func() {
		_, err := e.Exec(ctx, name, src)
		r.Done <- err
		close(r.finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.finished
		e.Close()
	})
	return r
}

// Wait returns the run's result, failing the test if it does not end
// within 20 seconds.
func (r *Run) Wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.Done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("the script did not end; stdout %q stderr %q", r.Stdout.String(), r.Stderr.String())
		return nil
	}
}
