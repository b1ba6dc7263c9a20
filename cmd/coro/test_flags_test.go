package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const flagsFixture = `
def test_alpha():
    print("alpha ran")

def test_beta():
    assert.eq(1, 2)

def test_gamma():
    pass
`

func TestRunnerRunFilter(t *testing.T) {
	writeFiles(t, map[string]string{"f_test.star": flagsFixture, "g_test.star": "def test_alpha():\n    pass\n"})
	stdout, _, code := runCoro(t, "test", "--seed", "1", "--run", "f_test.*(alpha|gamma)")
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok   f_test.star::test_alpha\nok   f_test.star::test_gamma\nseed 1\n2 passed, 0 failed\n", stdout)

	stdout, stderr, code := runCoro(t, "test", "--seed", "1", "--run=nothing")
	assert.Equal(t, 0, code)
	assert.Equal(t, "seed 1\n0 passed, 0 failed\n", stdout)
	assert.Equal(t, "coro test: no test matches --run nothing\n", stderr)
}

func TestRunnerFailFast(t *testing.T) {
	writeFiles(t, map[string]string{"f_test.star": flagsFixture})
	stdout, _, code := runCoro(t, "test", "--seed", "1", "--fail-fast")
	assert.Equal(t, exitError, code)
	assert.True(t, strings.HasPrefix(stdout, "ok   f_test.star::test_alpha\nFAIL f_test.star::test_beta\n"), stdout)
	assert.NotContains(t, stdout, "test_gamma")
	assert.True(t, strings.HasSuffix(stdout, "seed 1\n1 passed, 1 failed\n"), stdout)
}

func TestRunnerJSON(t *testing.T) {
	writeFiles(t, map[string]string{"f_test.star": flagsFixture})
	stdout, stderr, code := runCoro(t, "test", "--seed", "1", "--json")
	assert.Equal(t, exitError, code)
	assert.Equal(t, "seed 1\n2 passed, 1 failed\n", stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 3)
	var results []testResult
	for _, line := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		assert.ElementsMatch(t, []string{"test", "file", "name", "ok", "seconds", "output"}, keys(m))
		var r testResult
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		assert.GreaterOrEqual(t, r.Seconds, 0.0)
		r.Seconds = 0
		results = append(results, r)
	}
	assert.Equal(t, []testResult{
		{Test: "f_test.star::test_alpha", File: "f_test.star", Name: "test_alpha", OK: true, Output: "alpha ran\n"},
		{Test: "f_test.star::test_beta", File: "f_test.star", Name: "test_beta", OK: false,
			Output: "Traceback (most recent call last):\n  f_test.star:6:14: in test_beta\nError: 1 != 2\n"},
		{Test: "f_test.star::test_gamma", File: "f_test.star", Name: "test_gamma", OK: true, Output: ""},
	}, results)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A test that never ends (a busy loop, real I/O that never comes) fails
// at --timeout with its task dump, its cleanups run, and the suite goes on.
func TestRunnerTimeout(t *testing.T) {
	writeFiles(t, map[string]string{"h_test.star": `
def test_spins():
    defer(print, "spin cleanup ran")
    n = 0
    while True:
        n += 1

def test_waits_on_io():
    defer(print, "io cleanup ran")
    l = net.listen("127.0.0.1:0")
    spawn(lambda: l.accept(), name = "acceptor")
    l.accept()

def test_leaves_a_ticker():
    spawn(lambda: [None for _ in ticker(0.01)], name = "left behind")

def test_after():
    pass
`})
	stdout, _, code := runCoro(t, "test", "--seed", "1", "--timeout", "200ms")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stdout, "FAIL h_test.star::test_spins\n    test timed out after 200ms (--timeout); its tasks then:\n")
	assert.Contains(t, stdout, "in test_spins\n")
	assert.Contains(t, stdout, "    spin cleanup ran\n")
	assert.Contains(t, stdout, "FAIL h_test.star::test_waits_on_io\n")
	assert.Contains(t, stdout, "io cleanup ran")
	assert.Contains(t, stdout, "acceptor")
	assert.Contains(t, stdout, "FAIL h_test.star::test_leaves_a_ticker\n    test timed out after 200ms (--timeout), waiting for tasks it started (the test function had returned); its tasks then:\n")
	assert.Contains(t, stdout, "left behind")
	assert.Contains(t, stdout, "ok   h_test.star::test_after\n")
}

func TestRunnerNewFlagErrors(t *testing.T) {
	writeFiles(t, map[string]string{"ok_test.star": "def test_ok():\n    pass\n"})
	for argv, want := range map[string]string{
		"--run":           "coro test: flag --run needs a value\n",
		"--run=(":         "coro test: --run: error parsing regexp",
		"--timeout=soon":  `coro test: --timeout: "soon" is not a duration`,
		"--json=yes":      "coro test: flag --json takes no value\n",
		"--fail-fast=yes": "coro test: flag --fail-fast takes no value\n",
	} {
		stdout, stderr, code := runCoro(t, "test", argv)
		assert.Equal(t, exitUsage, code, argv)
		assert.True(t, strings.HasPrefix(stderr, want), "%s: %q", argv, stderr)
		assert.Empty(t, stdout)
	}
}

// A global --seed 0 is a seed like any other (SPEC 9): coro --seed 0 FILE
// repeats its random choices, and coro --seed 0 test runs with seed 0, as
// coro test --seed 0 does (0 counted as no seed: choices differed run to
// run, and test printed a random seed).
func TestSeedZero(t *testing.T) {
	writeFiles(t, map[string]string{
		"r.star":      "print([random.randint(0, 1 << 30) for _ in range(4)])\n",
		"r_test.star": "def test_r():\n    print(random.random())\n",
	})
	code, first := runCmd(t, "--seed", "0", "r.star")
	require.Equal(t, 0, code, first)
	for range 5 {
		_, out := runCmd(t, "--seed", "0", "r.star")
		assert.Equal(t, first, out, "--seed 0 fixes every random choice")
	}
	stdout, _, code := runCoro(t, "--seed", "0", "test")
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok   r_test.star::test_r\nseed 0\n1 passed, 0 failed\n", stdout)
	local, _, _ := runCoro(t, "test", "--seed", "0")
	assert.Equal(t, local, stdout)
}
