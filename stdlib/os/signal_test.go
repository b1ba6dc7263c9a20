package os

import (
	"bytes"
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Closing an os.signal channel ends everything it started: opening and
// closing many in one run used to leave a goroutine per channel until the
// engine closed.
func TestSignalCloseLeavesNoGoroutine(t *testing.T) {
	var out, errOut bytes.Buffer
	d := loop.Builtins()
	d["os"] = Module(nil)
	e := loop.New(loop.Options{Stdout: &out, Stderr: &errOut, Permissions: loop.AllPermissions()}, d)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", `
for i in range(200):
    os.signal("HUP").close()
`)
	require.NoError(t, err)
	before := runtime.NumGoroutine()
	_, err = e.Exec(context.Background(), "test.star", `
for i in range(200):
    os.signal("HUP").close()
`)
	require.NoError(t, err)
	var after int
	for range 100 {
		if after = runtime.NumGoroutine(); after < before+50 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	assert.Less(t, after, before+50, "goroutines: %d before, %d after", before, after)
	assert.False(t, Signals.Subscribed(syscall.SIGHUP))
}
