package main

import (
	"bufio"
	"context"
	"errors"
	"io"
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

// runCoroBounded runs the built command with stdin and returns its status
// and combined output; a command still running after a generous bound
// (it used to hang) is killed and fails the test.
func runCoroBounded(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildCoro(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "coro %v did not end: %s", args, out)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err)
	return 0, string(out)
}

// killAfter kills cmd if it is still running after a generous bound (it
// used to hang), so that the test fails instead of waiting for ever.
// startPipedREPL starts the REPL on pipes it keeps open: the session
// waits for more input. Its stderr is the test's.
func startPipedREPL(t *testing.T) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(buildCoro(t))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin, bufio.NewScanner(stdout)
}

func killAfter(t *testing.T, cmd *exec.Cmd) {
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	t.Cleanup(func() { timer.Stop() })
}

// computingTask spawns a task that computes for ever without waiting,
// with a deferred function that says when it ran.
const computingTask = `def cleanup():
    print("cleanup ran")

def work():
    defer(cleanup)
    while True:
        pass

t = spawn(work)
`

// TestREPLEndsWithComputingTask: a REPL session ends, at the end of piped
// input or of `coro -i`'s stdin, though a background task is computing:
// it is cancelled at its next time slice and its deferred function runs.
// The session used to wait for ever, the task never yielding to the
// loop's stop.
func TestREPLEndsWithComputingTask(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	code, out := runCoroBounded(t, computingTask)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "cleanup ran\n", out)

	script := filepath.Join(t.TempDir(), "bg.star")
	require.NoError(t, os.WriteFile(script, []byte(computingTask), 0o644))
	code, out = runCoroBounded(t, "", "-i", script)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "cleanup ran\n", out)
}

// TestREPLTermStopsComputingStatement: SIGTERM ends a REPL session whose
// statement computes (and a background task too): both are cancelled at
// their next time slice, their deferred functions run, and the status is
// 143. One SIGTERM did nothing; a second ended the process without
// cleanups.
func TestREPLTermStopsComputingStatement(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	cmd, stdin, sc := startPipedREPL(t)
	killAfter(t, cmd)
	// The pipe stays open: the session would wait for more input.
	_, err := stdin.Write([]byte(computingTask + `def fg():
    defer(print, "statement cleaned up")
    print("ready")
    n = 0
    while True:
        n += 1

fg()
`))
	require.NoError(t, err)
	expectLine(t, sc, "ready")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	assert.ElementsMatch(t, []string{"cleanup ran", "statement cleaned up"}, lines)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 143, ee.ExitCode())
}

// TestREPLMaxMemory: --max-memory holds in a REPL session as in a run:
// past the limit every task is cancelled, their deferred functions run,
// the session ends with the error and status 1, and nothing more is
// read. It was ignored: the loop of the REPL never armed the guard.
func TestREPLMaxMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	// The limit passed by a statement (which would hold about 200 MiB).
	code, out := runCoroBounded(t, `keep = []
def grow():
    defer(print, "statement cleaned up")
    for i in range(200000):
        keep.append("x" * 1000 + str(i))

grow()
print("still here")
`, "--max-memory=50M")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "statement cleaned up\n")
	assert.Contains(t, out, "cancelled: run cancelled: memory limit exceeded: the heap grew to ")
	assert.NotContains(t, out, "still here")
	assert.NotContains(t, out, "Traceback", "a session stopped from outside has no script frames to show")

	// By a background task while the session waits for input: the
	// session ends though the pipe stays open.
	cmd := exec.Command(buildCoro(t), "--max-memory=50M")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	killAfter(t, cmd)
	_, err = stdin.Write([]byte(`def grow():
    defer(print, "grower cleaned up")
    keep = []
    for i in range(100000000):
        keep.append("x" * 1000 + str(i))

t = spawn(grow)
`))
	require.NoError(t, err)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", buf.String())
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, buf.String(), "grower cleaned up\n")
	assert.Contains(t, buf.String(), "cancelled: run cancelled: memory limit exceeded: the heap grew to ")
}

// TestInteractiveSyntaxError: `coro -i FILE` with a syntax error in FILE
// says so as `coro FILE` does, with status 2, and starts no session (it
// exited 1 after running what was piped in).
func TestInteractiveSyntaxError(t *testing.T) {
	script := filepath.Join(t.TempDir(), "bad.star")
	require.NoError(t, os.WriteFile(script, []byte("x = = 1\n"), 0o644))
	code, out := runCmdIn(t, "print('session ran')\n", "-i", script)
	assert.Equal(t, 2, code, out)
	assert.Equal(t, script+":1:5: got '=', want primary expression\n", out)
}
