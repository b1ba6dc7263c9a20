package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCmd runs the command in-process and returns its status and output.
func runCmd(t *testing.T, argv ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(argv, strings.NewReader(""), &out, &out)
	return code, out.String()
}

func TestCommandForms(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.star")
	assert.NoError(t, os.WriteFile(file, []byte("print('args', os.args)\n"), 0o644))

	code, out := runCmd(t, "-c", "print(1 + 1, os.args)", "a", "b")
	assert.Equal(t, 0, code)
	assert.Equal(t, "2 [\"a\", \"b\"]\n", out)

	code, out = runCmd(t, "version")
	assert.Equal(t, 0, code)
	assert.Equal(t, "coro "+Version+"\n", out)

	code, out = runCmd(t, "run", file, "x")
	assert.Equal(t, 0, code)
	assert.Equal(t, "args [\"x\"]\n", out)

	code, out = runCmd(t, file, "--not-a-flag")
	assert.Equal(t, 0, code, "flags after the file belong to the script")
	assert.Equal(t, "args [\"--not-a-flag\"]\n", out)
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, argv := range [][]string{
		{"--no-such-flag", "x.star"},
		{"--seed", "minus-one", "x.star"},
		{"--seed"},
		{"run"},
		{"-c"},
		{filepath.Join(t.TempDir(), "missing.star")},
	} {
		code, out := runCmd(t, argv...)
		assert.Equal(t, 2, code, "%v: %s", argv, out)
		assert.NotEmpty(t, out, "%v says what was wrong", argv)
	}
}

// -h, --help and `coro help` write the usage on stdout and exit 0, the
// subcommands' their own (they were usage errors: stderr, status 2).
func TestHelpExits0(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"--help"}, "usage: coro [FLAGS] [FILE [ARGS...]]\n"},
		{[]string{"-h"}, "usage: coro [FLAGS] [FILE [ARGS...]]\n"},
		{[]string{"help"}, "usage: coro [FLAGS] [FILE [ARGS...]]\n"},
		{[]string{"test", "--help"}, "usage: coro [FLAGS] test "},
		{[]string{"fmt", "-h"}, "usage: coro fmt "},
		{[]string{"check", "--help"}, "usage: coro [FLAGS] check "},
		{[]string{"worker", "--help"}, "usage: coro [FLAGS] [FILE [ARGS...]]\n"},
	} {
		stdout, stderr, code := runCoro(t, c.argv...)
		assert.Equal(t, exitOK, code, "%v", c.argv)
		assert.True(t, strings.HasPrefix(stdout, c.want), "%v: %q", c.argv, stdout)
		assert.Empty(t, stderr, "%v", c.argv)
	}
}

func TestSyntaxErrorExit2WithPosition(t *testing.T) {
	code, out := runCmd(t, "-c", "x = 1\nprint(x 2)\n")
	assert.Equal(t, 2, code)
	assert.Equal(t, "<command-line>:2:10: got int literal, want ','\n", out)

	code, out = runCmd(t, "-c", "print(undefined_name)")
	assert.Equal(t, 2, code)
	assert.Equal(t, "<command-line>:1:7: undefined: undefined_name\n", out)
}

// A NUL byte in a script is a syntax error at its position: it ended the
// script silently (the rest never ran, the run exited 0), for coro check too.
func TestNULByteIsASyntaxError(t *testing.T) {
	writeFiles(t, map[string]string{"n.star": "x = 1\x00\nprint(x)\n"})
	const want = "n.star:1:6: unexpected NUL byte (source code cannot contain null bytes)\n"
	code, out := runCmd(t, "n.star")
	assert.Equal(t, 2, code)
	assert.Equal(t, want, out)
	code, out = runCmd(t, "check", "n.star")
	assert.Equal(t, 1, code)
	assert.Equal(t, want, out)
}

func TestScriptErrorExit1WithTraceback(t *testing.T) {
	code, out := runCmd(t, "-c", "def f():\n    fail('boom')\nf()\n")
	assert.Equal(t, 1, code)
	assert.Equal(t, "Traceback (most recent call last):\n  <command-line>:3:2: in <toplevel>\n  <command-line>:2:9: in f\nerror: boom\n", out)
}

// The README's tour is a script: it must run as printed.
func TestReadmeTourRuns(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	assert.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "## A short tour\n\n```python\n")
	assert.True(t, ok, "README has a tour")
	tour, _, ok := strings.Cut(rest, "```")
	assert.True(t, ok)
	code, out := runCmd(t, "-c", tour)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "[0, 1, 4]\ngot 0\ngot 1\ngot 2\n(1, \"fast\")\ntimeout\ncrawled\nHELLO\n\n[0, 1, 2]\n", out)
}

// runCmdIn is runCmd with stdin.
func runCmdIn(t *testing.T, stdin string, argv ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(argv, strings.NewReader(stdin), &out, &out)
	return code, out.String()
}

// TestPipedStatements (issue 10, item 14; SPEC 9): statements piped into
// coro run as at the prompt, and the status says whether any failed. A
// block may end with the input.
func TestPipedStatements(t *testing.T) {
	code, out := runCmdIn(t, "x = 2\nx * 3\nprint('ok')\n")
	assert.Equal(t, 0, code)
	assert.Equal(t, "6\nok\n", out)

	code, out = runCmdIn(t, "fail('boom')\nprint('after')\n")
	assert.Equal(t, 1, code, "a failed statement makes the status 1")
	assert.Contains(t, out, "error: boom")
	assert.Contains(t, out, "after\n", "the statements after a failure still run")

	code, out = runCmdIn(t, "spawn(fail, 'lost')\nsleep(0.01)\n")
	assert.Equal(t, 1, code, "a task failure nobody observed makes the status 1")
	assert.Contains(t, out, "error: lost")

	// At the prompt an expression's value is kept in _ (SPEC 9): a task
	// spawned there stays observable, and handling its failure on the next
	// line means no report (SPEC 4, 1.1).
	code, out = runCmdIn(t, "spawn(fail, 'handled')\ncatch(_.wait).error\n")
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "<task 'task-2' ready>\nerror: handled\n", out)

	// A failed task a global still refers to is reported when the session ends.
	code, out = runCmdIn(t, "t = spawn(fail, 'kept')\nsleep(0.01)\nprint(t.state)\n")
	assert.Equal(t, 1, code, out)
	assert.True(t, strings.HasPrefix(out, "failed\ntask 'task-2' failed:\n"), out)

	code, out = runCmdIn(t, "print(1)\nprint(2")
	assert.Equal(t, 1, code, "a syntax error is a failed statement")
	assert.Contains(t, out, "<stdin>:3:1: got end of file", "as in a script ending so")

	code, out = runCmdIn(t, "for i in range(2):\n    print(i)")
	assert.Equal(t, 0, code)
	assert.Equal(t, "0\n1\n", out, "the end of input closes the block")

	code, _ = runCmdIn(t, "os.exit(4)\nprint('never')\n")
	assert.Equal(t, 4, code)

	// Positions are lines of the input, as a script's are: each
	// statement said line 1.
	code, out = runCmdIn(t, "x = 1\n\nprint(zz)\ndef f():\n    return q\nf()\nif x:\n    fail('boom')\nprint(x y)\n")
	assert.Equal(t, 1, code)
	assert.Equal(t, "error: <stdin>:3:7: undefined: zz\n"+
		"error: <stdin>:5:12: undefined: q\n"+
		"error: <stdin>:6:1: undefined: f\n"+
		"Traceback (most recent call last):\n  <stdin>:8:9: in <toplevel>\nerror: boom\n"+
		"<stdin>:9:10: got identifier, want ','\n", out)
}

// TestStdinScript: `coro -` runs the script read from stdin (SPEC 9), as a
// whole module: one failure ends it, with the usual statuses.
func TestStdinScript(t *testing.T) {
	code, out := runCmdIn(t, "def f(x):\n    return x + 1\n\nprint(f(1), os.args)\n", "-", "a")
	assert.Equal(t, 0, code)
	assert.Equal(t, "2 [\"a\"]\n", out)

	code, out = runCmdIn(t, "print('one')\nfail('boom')\nprint('never')\n", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "one\n")
	assert.Contains(t, out, "<stdin>:2:5: in <toplevel>")
	assert.NotContains(t, out, "never")

	code, out = runCmdIn(t, "print(1\n", "-")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "<stdin>:2:1:")
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"4096": 4096, "512M": 512 << 20, "2G": 2 << 30, "2GiB": 2 << 30, "1gb": 1 << 30, "64k": 64 << 10, "10B": 10} {
		got, err := parseSize(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{"", "0", "abc", "-5M", "1.5G", "5i", "5X", "99999999999T"} {
		_, err := parseSize(in)
		assert.Error(t, err, in)
	}
}

// TestMaxMemoryFlag (issue 10, item 8): --max-memory ends a script that
// keeps growing, with its cleanups and status 1.
func TestMaxMemoryFlag(t *testing.T) {
	script := filepath.Join(t.TempDir(), "grow.star")
	assert.NoError(t, os.WriteFile(script, []byte(`
def grow():
    defer(print, "grower cleaned up")
    keep = []
    for i in range(100000000):
        keep.append("x" * 1000 + str(i))
defer(print, "main cleaned up")
spawn(grow)
sleep(3600)
`), 0o644))
	out, err := exec.Command(buildCoro(t), "--max-memory=150M", script).CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, string(out), "grower cleaned up\n")
	assert.Contains(t, string(out), "main cleaned up\n")
	assert.Contains(t, string(out), "cancelled: run cancelled: memory limit exceeded: the heap grew to ")
	assert.NotContains(t, string(out), "Traceback", "a run stopped from outside has no script frames to show")

	code, out2 := runCmd(t, "--max-memory=lots", "-c", "1")
	assert.Equal(t, 2, code)
	assert.Contains(t, out2, `coro: --max-memory: "lots" is not a size`)
}

// TestVersionAndHelpTakeNoArguments: `coro version extra` was accepted,
// the argument ignored; it is a usage error, as for `coro help`.
func TestVersionAndHelpTakeNoArguments(t *testing.T) {
	for _, cmd := range []string{"version", "help"} {
		code, out := runCmd(t, cmd, "extra")
		assert.Equal(t, 2, code, out)
		assert.True(t, strings.HasPrefix(out, "coro "+cmd+": unexpected argument \"extra\"\nusage: "), out)
	}
}

// A script, a test or a file to format is read up to engine.MaxModuleSize
// (16 MiB), as load() reads a module: "coro /dev/zero" grew the heap
// until the process died. A FIFO is read as a file (coro <(cmd)).
func TestScriptReadIsBounded(t *testing.T) {
	code, out := runCmd(t, "/dev/zero")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "coro: /dev/zero: larger than 16 MiB, the limit of a script\n", out)
	big := filepath.Join(t.TempDir(), "big.star")
	require.NoError(t, os.WriteFile(big, make([]byte, 16<<20+1), 0o644))
	for _, argv := range [][]string{{big}, {"fmt", "--check", big}, {"check", big}} {
		code, out := runCmd(t, argv...)
		assert.NotEqual(t, 0, code, argv)
		assert.Contains(t, out, big+": larger than 16 MiB, the limit of a script", argv)
	}
	code, out = runCmdIn(t, strings.Repeat("#", 16<<20+1), "-")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "coro: the script from stdin: larger than 16 MiB, the limit of a script\n", out)
	code, out = runCmdIn(t, "print('piped')\n"+strings.Repeat("#", 16<<20-20), "-")
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "piped\n", out)
}
