package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/internal/proctest"
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
	assert.NotContains(t, warning, "Listener.accept")
}

// TestHTTPAcceptSurvivesFileDescriptorExhaustion: http.serve out of
// descriptors retries accepting as net.listen does, and says so once:
// net/http's own retry logged "http: Accept error: ... too many open
// files; retrying in 5ms" on every attempt, so that clients decided how
// much the server logged. Once clients hang up, those still waiting are
// served.
func TestHTTPAcceptSurvivesFileDescriptorExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	script := writeScript(t, "serve.star", `
srv = http.serve("127.0.0.1:0", lambda req: "hello " + req.path)
print(srv.port)
`)
	_, sc, stderr := startCoroShell(t, "ulimit -n 40", script)
	require.True(t, sc.Scan())
	addr := "127.0.0.1:" + sc.Text()

	const n = 80
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		require.NoError(t, err)
		conns[i] = c
	}
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "too many open files") },
		10*time.Second, 10*time.Millisecond, "no EMFILE warning; stderr: %s", stderr.String())
	// Clients that were answered hang up, which frees descriptors for
	// the others.
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(15*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "connection %d; stderr: %s", i, stderr.String())
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, fmt.Sprintf("hello /%d", i), string(b))
		c.Close()
	}
	warning := stderr.String()
	assert.Equal(t, 1, strings.Count(warning, "coro: warning: net: accept on "+addr+": too many open files; retrying"), warning)
	assert.NotContains(t, warning, "Accept error")
}

// killLeftovers kills what a failing test left running.
func killLeftovers(t *testing.T, pids ...*int) {
	t.Cleanup(func() {
		for _, p := range pids {
			if *p > 0 && !proctest.Gone(*p) {
				syscall.Kill(*p, syscall.SIGKILL)
			}
		}
	})
}

// TestChildrenEndWithCoro: when coro exits, children of proc.start still
// running get TERM with their process group (the shell's background
// sleep too), one that ignores TERM gets KILL after 2 s, and coro reaps
// them before it exits. They used to outlive coro, reparented to init.
func TestChildrenEndWithCoro(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds the command; reads /proc")
	}
	script := writeScript(t, "children.star", `
polite = proc.start(["sh", "-c", "sleep 100 & echo $!; wait"])
stubborn = proc.start(["sh", "-c", "trap '' TERM; echo $$; sleep 100"])
print(polite.pid, polite.stdout.read_line().strip(), stubborn.stdout.read_line().strip())
`)
	cmd, sc := startCoro(t, script)
	require.True(t, sc.Scan())
	var child, grandchild, stubborn int
	killLeftovers(t, &child, &grandchild, &stubborn)
	_, err := fmt.Sscan(sc.Text(), &child, &grandchild, &stubborn)
	require.NoError(t, err, sc.Text())
	require.NoError(t, cmd.Wait())
	assert.True(t, proctest.Gone(child), "the child %d outlived coro", child)
	assert.True(t, proctest.Gone(stubborn), "the child %d that ignores TERM outlived coro", stubborn)
	assert.Eventually(t, func() bool { return proctest.Gone(grandchild) }, 10*time.Second, 10*time.Millisecond,
		"the grandchild %d outlived coro", grandchild)
}

// TestChildDiesWithKilledCoro: a coro process killed with SIGKILL runs no
// cleanup, but its children get the parent-death signal (KILL) from the
// kernel, so none is left orphaned.
func TestChildDiesWithKilledCoro(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds the command; reads /proc")
	}
	script := writeScript(t, "orphan.star", `
p = proc.start(["sleep", "100"])
print(p.pid)
p.wait()
`)
	cmd, sc := startCoro(t, script)
	require.True(t, sc.Scan())
	child, err := strconv.Atoi(sc.Text())
	require.NoError(t, err)
	killLeftovers(t, &child)
	require.False(t, proctest.Gone(child))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	assert.Eventually(t, func() bool { return proctest.Gone(child) }, 10*time.Second, 10*time.Millisecond,
		"the child %d outlived a killed coro", child)
}
