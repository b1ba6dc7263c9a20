package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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

func TestSyntaxErrorExit2WithPosition(t *testing.T) {
	code, out := runCmd(t, "-c", "x = 1\nprint(x 2)\n")
	assert.Equal(t, 2, code)
	assert.Equal(t, "<command-line>:2:10: got int literal, want ','\n", out)

	code, out = runCmd(t, "-c", "print(undefined_name)")
	assert.Equal(t, 2, code)
	assert.Equal(t, "<command-line>:1:7: undefined: undefined_name\n", out)
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
	assert.Equal(t, "[0, 1, 4]\ngot 0\ngot 1\ngot 2\n(1, \"fast\")\ntimeout\nHELLO\n\n[0, 1, 2]\n", out)
}
