//go:build linux

package loop_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// A descriptor watched with WatchFD wakes the task waiting for it: the
// loop sleeps in epoll, a goroutine writes the pipe, and the callback
// (on the loop) completes the task's waiter.
func TestWatchFDWakesTask(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	rc, err := r.SyscallConn()
	require.NoError(t, err)
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	written := make(chan struct{})
	readPipe := starlark.NewBuiltin("read_pipe", func(th *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		e := x.Task.Engine()
		waiter := loop.NewWaiter(x.Task)
		watch, err := e.WatchFD(fd, func(ev loop.IOEvents) {
			if ev&loop.IORead != 0 {
				waiter.Complete(0, nil, nil)
			}
		})
		require.NoError(t, err)
		defer watch.Stop()
		close(written) // the writer may go: the watch is armed
		e.Hold()
		x.Park(waiter, loop.ReasonString("read pipe"), loop.NoTimeout, b.Name())
		e.Release()
		if waiter.Err != nil {
			return nil, waiter.Err
		}
		buf := make([]byte, 16)
		n, _ := r.Read(buf)
		return starlark.String(buf[:n]), nil
	})
	go func() {
		<-written
		w.Write([]byte("ready"))
	}()
	var out bytes.Buffer
	d := loop.Builtins()
	d["read_pipe"] = readPipe
	e := loop.New(loop.Options{Stdout: &out, Stderr: io.Discard}, d)
	defer e.Close()
	_, err = e.Exec(context.Background(), "pipe.star", "print(read_pipe())\n")
	require.NoError(t, err)
	assert.Equal(t, "ready\n", out.String())
}

// While offloaded work is in flight the virtual clock does not jump: the
// work, released only once the script waits, finishes before a timer an
// hour away.
func TestVirtualClockWaitsForOffloadedWork(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	block := starlark.NewBuiltin("block", func(th *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		return x.Offload(loop.Offload{Why: loop.ReasonString("block"), Op: b.Name(), Timeout: loop.NoTimeout, Own: true,
			Work: func(context.Context) (starlark.Value, error) {
				close(started)
				<-release
				return starlark.String("work"), nil
			}})
	})
	go func() {
		<-started
		close(release)
	}()
	var out bytes.Buffer
	d := loop.Builtins()
	d["block"] = block
	e := loop.New(loop.Options{Stdout: &out, Stderr: io.Discard, VirtualTime: true}, d)
	defer e.Close()
	_, err := e.Exec(context.Background(), "clock.star", "print(race(spawn(block), after(3600)))\n")
	require.NoError(t, err)
	assert.Equal(t, "(0, \"work\")\n", out.String())
}
