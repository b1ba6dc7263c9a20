package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A remote() call whose worker is killed (SIGKILL) mid-call is run again
// by another worker (SPEC 16: at least once), and the caller gets its
// value: real processes, the caller embedding the server (--nats-listen).
func TestRemoteWorkerKilledMidCall(t *testing.T) {
	coro := buildCoro(t)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib", "sum.star"), []byte(`
def total(n):
    print("started")
    x = 0
    for i in range(n):
        x += i
    return x
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.star"), []byte(`
load("lib/sum.star", "total")
print(remote(total, 3000000, timeout=60).wait())
`), 0o644))
	addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	caller := exec.Command(coro, "--nats-listen", addr, filepath.Join(dir, "main.star"))
	var out strings.Builder
	caller.Stdout = &out
	caller.Stderr = os.Stderr
	require.NoError(t, caller.Start())
	defer caller.Process.Kill()

	startWorker := func() (*exec.Cmd, *bufio.Scanner) {
		w := exec.Command(coro, "--nats", "nats://"+addr, "worker", "--concurrency", "1", dir)
		stdout, err := w.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, w.Start())
		t.Cleanup(func() {
			w.Process.Signal(syscall.SIGINT)
			w.Wait()
		})
		return w, bufio.NewScanner(stdout)
	}
	// A worker needs the server there when it starts.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 10*time.Millisecond)
	a, aout := startWorker()
	require.True(t, aout.Scan(), "worker a never started the call")
	assert.Equal(t, "started", aout.Text())
	require.NoError(t, a.Process.Signal(syscall.SIGKILL))
	_, bout := startWorker()
	require.True(t, bout.Scan(), "worker b never got the call")
	assert.Equal(t, "started", bout.Text())
	require.NoError(t, caller.Wait())
	assert.Equal(t, "4499998500000\n", out.String())
}
