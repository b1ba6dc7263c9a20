package repl_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// breakpointScript pauses f at a breakpoint while a ticker task goes on.
const breakpointScript = `
go_on = channel()
def ticker():
    go_on.recv()
    for i in range(3):
        print("tick", i)
def f(x):
    y = x * 2
    breakpoint()
    print("after", y)
spawn(ticker)
f(21)
`

func writeScript(t *testing.T, dir, src string) string {
	t.Helper()
	path := filepath.Join(dir, "bp.star")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	return path
}

func TestBreakpointOpensAPromptInTheFrame(t *testing.T) {
	home := t.TempDir()
	s := start(t, home, writeScript(t, home, breakpointScript))
	s.expect("breakpoint in task main at ")
	s.expect("bp.star:9:")
	s.expectLine("(breakpoint) >>>")
	s.send("y + x\r")
	s.expect("\n63\n")
	// Other tasks keep running while the task is paused.
	s.send("go_on.send(True)\r")
	s.expect("tick 2")
	s.expectLine("(breakpoint) >>>")
	s.send(":where\r")
	s.expect("task main, innermost last:")
	s.expect("in f")
	s.expectLine("(breakpoint) >>>")
	s.send(":c\r")
	s.expect("after 42")
	assert.Equal(t, 0, s.wait(), "screen:\n%s", s.dump())
}

func TestBreakpointCtrlDContinues(t *testing.T) {
	home := t.TempDir()
	s := start(t, home, "-c", "def f():\n    z = 'local'\n    breakpoint()\n    print('resumed', z)\nf()\n")
	s.expectLine("(breakpoint) >>>")
	s.send("z\r")
	s.expect("\"local\"")
	s.expectLine("(breakpoint) >>>")
	s.send("\x04")
	s.expect("resumed local")
	assert.Equal(t, 0, s.wait(), "screen:\n%s", s.dump())
}

func TestBreakpointSIGTERMRestoresAndRunsCleanups(t *testing.T) {
	home := t.TempDir()
	s := start(t, home, "-c", "defer(print, 'cleanup ran')\nbreakpoint()\nprint('not reached')\n")
	s.expectLine("(breakpoint) >>>")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	s.expect("cleanup ran")
	assert.Equal(t, 143, s.wait(), "screen:\n%s", s.dump())
}

func TestBreakpointWithoutTerminalDoesNothing(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(coroBin, writeScript(t, dir, "breakpoint()\nprint('went on')\n")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "went on\n", string(out))
	// Nor under coro test, even on a terminal.
	test := filepath.Join(dir, "bp_test.star")
	require.NoError(t, os.WriteFile(test, []byte("def test_bp():\n    breakpoint()\n"), 0o600))
	s := start(t, dir, "test", test)
	assert.Equal(t, 0, s.wait(), "screen:\n%s", s.dump())
}
