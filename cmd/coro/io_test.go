package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeScript writes src to a file of its own and returns its path.
func writeScript(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	return path
}

// startCoroShell starts the built command through sh -c with shell
// prefixing it (ulimit, say); its stderr goes to the returned buffer.
// The process is killed when the test ends.
func startCoroShell(t *testing.T, shell string, args ...string) (*exec.Cmd, *bufio.Scanner, *syncBuffer) {
	t.Helper()
	argv := append([]string{"-c", shell + ` && exec "$0" "$@"`, buildCoro(t)}, args...)
	cmd := exec.Command("sh", argv...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(stdout), stderr
}

// TestAcceptSurvivesFileDescriptorExhaustion runs an echo server in a coro
// process limited to 40 file descriptors and opens more connections than
// that: accept fails with EMFILE, which used to raise in `for conn in ln`
// and end the server. Now it retries with a backoff and says so once on
// stderr; once clients hang up, every connection still open is served.
func TestAcceptSurvivesFileDescriptorExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	script := writeScript(t, "echo.star", `
ln = net.listen("127.0.0.1:0")
print(ln.port)

def echo(conn):
    defer(conn.close)
    for line in conn.lines():
        conn.write(line)

for conn in ln:
    spawn(echo, conn)
print("accept loop ended")
`)
	_, sc, stderr := startCoroShell(t, "ulimit -n 40", script)
	require.True(t, sc.Scan())
	addr := "127.0.0.1:" + sc.Text()

	const n = 60
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = fmt.Fprintf(c, "ping %d\n", i)
		require.NoError(t, err)
		conns[i] = c
	}
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "too many open files") },
		10*time.Second, 10*time.Millisecond, "no EMFILE warning; stderr: %s", stderr.String())

	// Free descriptors in the server: its echo tasks see end of stream
	// and close their side.
	for _, c := range conns[:n/2] {
		c.Close()
	}
	for i, c := range conns[n/2:] {
		i += n / 2
		require.NoError(t, c.SetReadDeadline(time.Now().Add(15*time.Second)))
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err, "connection %d; stderr: %s", i, stderr.String())
		assert.Equal(t, fmt.Sprintf("ping %d\n", i), line)
		c.Close()
	}
	warning := stderr.String()
	assert.Equal(t, 1, strings.Count(warning, "coro: warning: net: accept on "+addr+": too many open files; retrying"), warning)
	// (Clients that hung up with an echo unread make the server's
	// reads fail with reset; those tasks' failures are reported.)
	assert.NotContains(t, warning, "listener.accept")
}
