//go:build linux

package loop

import (
	"context"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReactorSleep: the loop's sleep ends when its deadline passes, when
// another goroutine posts, and when a watched descriptor becomes ready
// (its callback has run by then); a sleep without a deadline after one
// with a deadline does not inherit it. Both ways of sleeping are checked:
// parked in Go's netpoller (reactor.nest, where the loop's goroutine is
// in "IO wait" and its thread free) and blocked in epoll_wait.
func TestReactorSleep(t *testing.T) {
	for _, nested := range []bool{true, false} {
		name := "blocking"
		if nested {
			name = "nested"
		}
		t.Run(name, func(t *testing.T) {
			defer func(old bool) { nestReactor = old }(nestReactor)
			nestReactor = nested
			e := New(Options{Stdout: io.Discard, Stderr: io.Discard}, nil)
			defer e.Close()
			require.NoError(t, e.initIO())
			require.Equal(t, nested, e.io.nest != nil, "the epoll set is in the netpoller")
			ctx := context.Background()

			assert.True(t, e.sleep(ctx, 5*time.Millisecond), "the deadline passed")

			// whenAsleep runs fn on another goroutine once the loop has
			// said it sleeps.
			whenAsleep := func(fn func()) {
				go func() {
					for e.sleepState.Load() != asleep {
						time.Sleep(100 * time.Microsecond)
					}
					fn()
				}()
			}
			state := make(chan string, 1)
			whenAsleep(func() {
				state <- loopGoroutineState()
				e.Post(func() {})
			})
			assert.False(t, e.sleep(ctx, NoTimeout), "a post ended the sleep, not a deadline")
			e.drainPosted()
			select {
			case st := <-state:
				if nested {
					assert.Equal(t, "IO wait", st, "the loop waits in the netpoller")
				} else {
					assert.NotEqual(t, "IO wait", st)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the loop never slept")
			}

			r, w, err := os.Pipe()
			require.NoError(t, err)
			defer r.Close()
			defer w.Close()
			fd := -1
			rc, err := r.SyscallConn()
			require.NoError(t, err)
			rc.Control(func(f uintptr) { fd = int(f) })
			var got IOEvents
			watch, err := e.WatchFD(fd, func(ev IOEvents) { got |= ev })
			require.NoError(t, err)
			defer watch.Stop()
			whenAsleep(func() { w.Write([]byte("x")) })
			for i := 0; got&IORead == 0; i++ { // the first event may be the pipe's room to write
				require.Less(t, i, 3, "events without the pipe's data")
				require.False(t, e.sleep(ctx, time.Hour), "the pipe, not the hour, ended the sleep")
			}
		})
	}
}

// loopGoroutineState returns the state of the goroutine in sleep (as
// runtime.Stack shows it: "IO wait", "syscall", ...).
func loopGoroutineState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if !strings.Contains(g, "loop.(*Engine).sleep(") {
			continue
		}
		header, _, _ := strings.Cut(g, "\n")
		_, state, _ := strings.Cut(header, "[")
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",") // "IO wait, 2 minutes"
		return state
	}
	return "not found"
}
