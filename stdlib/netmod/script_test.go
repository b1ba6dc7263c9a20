package netmod_test

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

// output collects a script's stdout or stderr and hands each printed line
// to the test as it appears (servers print the address they got).
type output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newOutput() *output { return &output{lines: make(chan string, 1000)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if strings.HasSuffix(l, "\n") {
			select {
			case o.lines <- strings.TrimSuffix(l, "\n"):
			default:
			}
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *output) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-o.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatalf("no output from the script; so far: %q", o.String())
		return ""
	}
}

// run is a script running in-process on its own engine (network allowed).
type run struct {
	stdout, stderr *output
	done           chan error // the run's result, sent once
	finished       chan struct{}
	cancel         context.CancelFunc
}

func startFile(t *testing.T, path string, args ...string) *run {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	return startScript(t, path, string(src), args...)
}

func startScript(t *testing.T, name, src string, args ...string) *run {
	t.Helper()
	r := &run{stdout: newOutput(), stderr: newOutput(), done: make(chan error, 1), finished: make(chan struct{})}
	e, err := engine.New(engine.Options{Stdout: r.stdout, Stderr: r.stderr, Args: args,
		Permissions: engine.Permissions{Net: true}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	r.cancel = cancel
	go func() {
		_, err := e.Exec(ctx, name, src)
		r.done <- err
		close(r.finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.finished
		e.Close()
	})
	return r
}

// wait returns the run's result, failing the test if it does not end.
func (r *run) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("the script did not end; stdout %q stderr %q", r.stdout.String(), r.stderr.String())
		return nil
	}
}
