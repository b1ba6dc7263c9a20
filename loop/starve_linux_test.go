package loop

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// threadRunDelays reads every thread of the process, this one included,
// and a thread's wait for a CPU only grows.
func TestThreadRunDelays(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	before := threadRunDelays()
	require.Contains(t, before, tid)
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	after := threadRunDelays()
	require.Contains(t, after, tid)
	assert.GreaterOrEqual(t, after[tid], before[tid])
	assert.GreaterOrEqual(t, before[tid], time.Duration(0))
}
