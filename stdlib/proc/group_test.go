package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/internal/proctest"
	"github.com/corolang/coro/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readPid waits for a pid written to path by a child.
func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 10*time.Second, 5*time.Millisecond)
	t.Cleanup(func() {
		if !proctest.Gone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

func linuxOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
}

// TestRunTimeoutKillsGroup: proc.run's timeout kills the child's whole
// process group. It used to kill the child only: a grandchild (here the
// shell's background sleep) lived on, reparented to init.
func TestRunTimeoutKillsGroup(t *testing.T) {
	linuxOnly(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	out, err := runScript(t, loop.AllPermissions(), fmt.Sprintf(`
r = catch(proc.run, ["sh", "-c", "sleep 100 & echo $! > %s; wait"], timeout=0.5)
print(r.error)
`, pidFile))
	require.NoError(t, err)
	assert.Equal(t, "timeout: proc.run exceeded 0.5s\n", out)
	grandchild := readPid(t, pidFile)
	assert.Eventually(t, func() bool { return proctest.Gone(grandchild) }, 10*time.Second, 10*time.Millisecond,
		"the grandchild %d outlived proc.run's timeout", grandchild)
}

// TestEngineCloseTerminatesChildren: children of proc.start still
// running when the engine closes get TERM, with their process groups;
// one that ignores TERM gets KILL after 2 s. Reap waits for both.
func TestEngineCloseTerminatesChildren(t *testing.T) {
	linuxOnly(t)
	out, err := runScript(t, loop.AllPermissions(), `
polite = proc.start(["sh", "-c", "sleep 100 & echo $!; wait"])
stubborn = proc.start(["sh", "-c", "trap '' TERM; echo $$; sleep 100; echo survived"])
print(polite.stdout.read_line().strip(), stubborn.stdout.read_line().strip())
`)
	require.NoError(t, err)
	var grandchild, stubborn int
	_, err = fmt.Sscan(out, &grandchild, &stubborn)
	require.NoError(t, err, out)
	t.Cleanup(func() {
		for _, pid := range []int{grandchild, stubborn} {
			if !proctest.Gone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	Reap()
	assert.True(t, proctest.Gone(stubborn), "the child that ignores TERM was not killed")
	assert.Eventually(t, func() bool { return proctest.Gone(grandchild) }, 10*time.Second, 10*time.Millisecond,
		"the grandchild %d outlived the engine", grandchild)
}
