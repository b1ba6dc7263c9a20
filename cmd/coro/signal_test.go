package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// buildCoro builds the command once per test run.
func buildCoro(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "coro-bin-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "coro")
		var out []byte
		out, buildErr = exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if buildErr != nil {
			buildErr = fmt.Errorf("%v\n%s", buildErr, out)
		}
	})
	require.NoError(t, buildErr)
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// startCoro starts the built command with args and returns it with a
// scanner over its stdout; the process is killed when the test ends.
func startCoro(t *testing.T, args ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(buildCoro(t), args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(stdout)
}

// expectLine reads the next line of sc and checks it is want.
func expectLine(t *testing.T, sc *bufio.Scanner, want string) {
	t.Helper()
	require.True(t, sc.Scan(), "waiting for %q", want)
	require.Equal(t, want, sc.Text())
}

// TestSignalsReachTheBinary drives a real coro process with real signals:
// while the script holds SIGHUP and SIGINT with os.signal, each delivery
// reaches its channel; once it closed the HUP channel, the next SIGHUP
// cancels the run and exits 129 (SPEC 9, 1.1); SIGINT with no channel open cancels
// the run and exits 130 after deferred functions ran.
func TestSignalsReachTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	script := filepath.Join(t.TempDir(), "sig.star")
	require.NoError(t, os.WriteFile(script, []byte(`
mode = os.args[0]
if mode == "hup":
    hups = os.signal("HUP")
    print("ready")
    print("got", hups.recv())
    hups.close()
    print("closed")
    sleep(30)
else:
    defer(print, "cleanup ran")
    print("ready")
    sleep(30)
`), 0o644))

	start := func(mode string) (*exec.Cmd, *bufio.Scanner) { return startCoro(t, script, mode) }
	expect := func(sc *bufio.Scanner, want string) { t.Helper(); expectLine(t, sc, want) }

	cmd, sc := start("hup")
	expect(sc, "ready")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	expect(sc, "got HUP")
	expect(sc, "closed")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 129, ee.ExitCode())

	cmd, sc = start("int")
	expect(sc, "ready")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	expect(sc, "cleanup ran")
	err = cmd.Wait()
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 130, ee.ExitCode())
}

// TestConfigWatchExample runs scripts/config_watch.star for real on a
// config file that this test replaces, then stops it with Ctrl-C (SIGINT),
// which the script takes over with os.signal to shut down cleanly.
func TestConfigWatchExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.json")
	deploy := func(text string) {
		require.NoError(t, os.WriteFile(conf+".new", []byte(text), 0o644))
		require.NoError(t, os.Rename(conf+".new", conf))
	}
	deploy(`{"version": 1, "greeting": "hi"}`)
	cmd, sc := startCoro(t, "../../scripts/config_watch.star", conf)
	expectLine(t, sc, "worker-1: hi (version 1)")
	expectLine(t, sc, "worker-2: hi (version 1)")

	deploy(`{"version": 2, "greeting": "hey"}`)
	expectLine(t, sc, "watcher: loaded version 2")
	expectLine(t, sc, "worker-1: hey (version 2)")
	expectLine(t, sc, "worker-2: hey (version 2)")

	deploy(`[1, 2]`)
	expectLine(t, sc, "watcher: rejected a bad config (error); keeping version 2")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	expectLine(t, sc, "stopped")
	require.NoError(t, cmd.Wait())
}

// TestSignalsStopComputingScripts (issue 10, items 9 and 14): a script
// that only computes, or a spawn bomb, used to survive SIGINT and SIGTERM;
// SIGTERM exited 130 and SIGHUP killed the process without cleanups. Each
// signal now stops it within a time slice, runs the deferred functions and
// exits 128+N.
func TestSignalsStopComputingScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	script := filepath.Join(t.TempDir(), "busy.star")
	require.NoError(t, os.WriteFile(script, []byte(`
def bomb():
    while True:
        spawn(bomb)
defer(print, "cleanup ran")
print("ready")
if os.args[0] == "bomb":
    bomb()
while True:
    pass
`), 0o644))
	for _, tc := range []struct {
		mode string
		sig  syscall.Signal
		code int
	}{{"busy", syscall.SIGINT, 130}, {"busy", syscall.SIGTERM, 143}, {"busy", syscall.SIGHUP, 129}, {"bomb", syscall.SIGTERM, 143}} {
		cmd, sc := startCoro(t, script, tc.mode)
		expectLine(t, sc, "ready")
		require.NoError(t, cmd.Process.Signal(tc.sig))
		expectLine(t, sc, "cleanup ran")
		err := cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "%v", err)
		assert.Equal(t, tc.code, ee.ExitCode(), "%s %v", tc.mode, tc.sig)
	}
}

// TestREPLEndsOnTermAndHup (issue 10, item 14): SIGTERM and SIGHUP end a
// REPL session: the running statement and the background tasks are
// cancelled, their deferred functions run, and the status is 128+N.
func TestREPLEndsOnTermAndHup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		cmd, stdin, sc := startPipedREPL(t)
		// The pipe stays open: the session waits for more input, with a
		// background task and a running statement.
		_, err := stdin.Write([]byte(`def bg():
    defer(print, "bg cleaned up")
    sleep(3600)

t = spawn(bg)
def fg():
    defer(print, "statement cleaned up")
    print("ready")
    sleep(3600)

fg()
`))
		require.NoError(t, err)
		expectLine(t, sc, "ready")
		require.NoError(t, cmd.Process.Signal(tc.sig))
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		assert.ElementsMatch(t, []string{"bg cleaned up", "statement cleaned up"}, lines, "%v", tc.sig)
		err = cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "%v", err)
		assert.Equal(t, tc.code, ee.ExitCode(), "%v", tc.sig)
	}
}

// TestGroupServerCancelledOnTerm runs scripts/group_server.star for real:
// three clients connect and get echoes, then SIGTERM cancels the run; the
// group cancels every connection handler, each one's deferred goodbye
// reaches its client, and the command exits 143 (SPEC 9, 11).
func TestGroupServerCancelledOnTerm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	cmd, sc := startCoro(t, "../../scripts/group_server.star")
	require.True(t, sc.Scan())
	port, ok := strings.CutPrefix(sc.Text(), "listening on port ")
	require.True(t, ok, sc.Text())

	var clients []*bufio.Reader
	var conns []net.Conn
	for i := 1; i <= 3; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
		expectLine(t, sc, fmt.Sprintf("connection %d open", i))
		_, err = fmt.Fprintf(c, "hello %d\n", i)
		require.NoError(t, err)
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("echo: hello %d\n", i), line)
		clients = append(clients, r)
	}
	// A client that sends a line past the limit (or resets) ends its own
	// connection, not the server: the other clients keep theirs.
	bad, err := net.Dial("tcp", "127.0.0.1:"+port)
	require.NoError(t, err)
	expectLine(t, sc, "connection 4 open")
	_, err = bad.Write(bytes.Repeat([]byte("x"), 1<<20+1))
	require.NoError(t, err)
	expectLine(t, sc, "connection 4 failed: value")
	expectLine(t, sc, "connection 4 closed")
	bad.Close()
	_, err = fmt.Fprintf(conns[0], "still here\n")
	require.NoError(t, err)
	line, err := clients[0].ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "echo: still here\n", line)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	for _, r := range clients {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "server shutting down\n", line)
		_, err = r.ReadString('\n')
		assert.ErrorIs(t, err, io.EOF, "the handler closed the connection")
	}
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	assert.ElementsMatch(t, []string{"connection 1 closed", "connection 2 closed", "connection 3 closed"}, lines)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 143, ee.ExitCode())
}

// TestSignalsStopCoroTest (issue 10, item 9): `coro test` too stops a test
// that only computes on SIGINT, SIGTERM or SIGHUP, runs its cleanups and
// exits 128+N.
func TestSignalsStopCoroTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "busy_test.star"), []byte(`
def test_busy():
    defer(print, "cleanup ran")
    fs.write("ready", "")
    while True:
        pass
`), 0o644))
	ready := filepath.Join(dir, "ready")
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		os.Remove(ready)
		cmd := exec.Command(buildCoro(t), "test", dir)
		cmd.Dir = dir // the test writes "ready" here once it runs
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		sc := bufio.NewScanner(stdout)
		// A test's output is shown once it ended, so it says it runs
		// with a file.
		require.Eventually(t, func() bool { _, err := os.Stat(ready); return err == nil }, 30*time.Second, 10*time.Millisecond)
		require.NoError(t, cmd.Process.Signal(tc.sig))
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		assert.Contains(t, lines, "    cleanup ran", "%v", tc.sig)
		err = cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "%v", err)
		assert.Equal(t, tc.code, ee.ExitCode(), "%v", tc.sig)
	}
}

// TestSecondInterruptEndsAStuckRun: a task stuck in one long Go call
// (here squaring an int of 53 million bits, about 5 s, then one twice
// as long) never reaches the time-slice boundary where SIGINT would stop
// it; a second SIGINT ends the process at once, with the first one's
// status.
func TestSecondInterruptEndsAStuckRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	script := filepath.Join(t.TempDir(), "stuck.star")
	require.NoError(t, os.WriteFile(script, []byte(`
x = 3
for i in range(24):
    x = x * x
print("ready")
x = x * x
x = x * x
print("squared")
`), 0o644))
	cmd := exec.Command(buildCoro(t), script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	expectLine(t, sc, "ready")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	time.Sleep(200 * time.Millisecond) // the first one is taken (the process is not ending)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a second SIGINT did not end the process")
	}
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 130, ee.ExitCode())
	assert.Contains(t, stderr.String(), "coro: interrupted again (SIGINT): exiting now")
	assert.False(t, sc.Scan(), "the run went on: %q", sc.Text())
}

// A signal that came while the run was ending well (a task held the loop
// in one long Go call, and the script ended before the loop could act on
// the signal) still gives 128+N: it gave 0, as if no signal had come.
func TestSignalStatusWinsOverACleanEnd(t *testing.T) {
	eng, err := engine.New(engine.Options{})
	require.NoError(t, err)
	defer eng.Close()
	assert.Equal(t, 143, exitStatus(nil, eng, 143, false, io.Discard))
	assert.Equal(t, exitOK, exitStatus(nil, eng, 0, false, io.Discard))
	assert.Equal(t, 3, exitStatus(&engine.ExitError{Code: 3}, eng, 143, false, io.Discard), "os.exit's status stands")
}
