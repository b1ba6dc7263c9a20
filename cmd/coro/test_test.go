package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCoro runs the command in-process and returns stdout, stderr and the status.
func runCoro(t *testing.T, argv ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(argv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// writeFiles creates files (path → content) under a fresh directory and
// makes it the working directory, so that output names them relatively.
func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	}
	t.Chdir(dir)
}

var summaryRE = regexp.MustCompile(`(?m)^seed (\d+)\n(\d+) passed, (\d+) failed\n\z`)

// TestProjectScriptTests is the project's own script suite: every
// tests/*_test.star through `coro test`.
func TestProjectScriptTests(t *testing.T) {
	stdout, stderr, code := runCoro(t, "test", "../../tests")
	m := summaryRE.FindStringSubmatch(stdout)
	require.NotNil(t, m, "no summary line in:\n%s", stdout)
	assert.NotEqual(t, "0", m[2], "no test ran")
	assert.Equal(t, "0", m[3], "script tests failed (replay with --seed %s):\n%s", m[1], stdout)
	assert.Equal(t, 0, code)
	assert.Empty(t, stderr)
	// Every line but the last two is one test, and each passed.
	for _, line := range strings.Split(strings.TrimSuffix(stdout, m[0]), "\n") {
		if line != "" {
			assert.True(t, strings.HasPrefix(line, "ok   ../../tests/"), "unexpected line %q", line)
		}
	}
}

const runnerFixture = `# A file of tests for the runner itself.
shared = []

def helper():
    return "not a test"

def test_passes():
    shared.append(1)
    assert.eq(shared, [1])  # globals are fresh for every test

def test_assert_fails():
    print("printed before")
    assert.eq(1 + 1, 3)
    assert.true(False, "custom message")
    print("assertions do not stop the test")

def test_raises():
    def inner():
        fail("boom")
    inner()

def test_background_task_fails():
    spawn(lambda: fail("in the background"), name = "bg")
    sleep(1)

def test_deadlocks():
    future().wait()

def test_cancelled():
    current_task().cancel("gave up")
    sleep(1)

def test_passes_again():
    sleep(10)
    assert.eq(shared, [])
`

// The whole output of a run with failures, exactly: what a failing test
// shows (its output, assertion messages with script tracebacks, errors of
// tasks nobody waited on, deadlocks), the seed and the summary.
func TestRunnerReportsFailures(t *testing.T) {
	writeFiles(t, map[string]string{"runner_test.star": runnerFixture})
	stdout, stderr, code := runCoro(t, "test", "--seed", "7")
	assert.Equal(t, `ok   runner_test.star::test_passes
FAIL runner_test.star::test_assert_fails
    printed before
    Traceback (most recent call last):
      runner_test.star:13:14: in test_assert_fails
    Error: 2 != 3
    Traceback (most recent call last):
      runner_test.star:14:16: in test_assert_fails
    Error: custom message
    assertions do not stop the test
FAIL runner_test.star::test_raises
    Traceback (most recent call last):
      runner_test.star:20:10: in test_raises
      runner_test.star:19:13: in inner
    error: boom
FAIL runner_test.star::test_background_task_fails
    task 'bg' failed:
    Traceback (most recent call last):
      runner_test.star:23:10: task 'test_background_task_fails' spawned task 'bg'
      runner_test.star:23:23: in lambda
    error: in the background
FAIL runner_test.star::test_deadlocks
    deadlock: 1 task blocked forever
      task 'test_deadlocks' (id 1, waiting): wait future
        runner_test.star:27:18 in test_deadlocks
FAIL runner_test.star::test_cancelled
    test was cancelled: gave up
ok   runner_test.star::test_passes_again
seed 7
2 passed, 5 failed
`, stdout)
	assert.Empty(t, stderr)
	assert.Equal(t, exitError, code)
}

func TestRunnerAllPassExitsZero(t *testing.T) {
	writeFiles(t, map[string]string{"a_test.star": "def test_one():\n    assert.eq(1, 1)\n"})
	stdout, _, code := runCoro(t, "test")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^ok   a_test.star::test_one\nseed \d+\n1 passed, 0 failed\n$`, stdout)
}

// A failed test task is a failure even when another task waited on it
// (and so it was not reported as unhandled).
func TestRunnerWatchedTestFailureStillFails(t *testing.T) {
	writeFiles(t, map[string]string{"w_test.star": `
def test_watched():
    me = current_task()
    spawn(lambda: catch(me.wait))
    sleep(0)
    fail("watched failure")
`})
	stdout, _, code := runCoro(t, "test", "--seed", "1")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stdout, "FAIL w_test.star::test_watched\n    Traceback (most recent call last):\n      w_test.star:6:9: in test_watched\n    error: watched failure\n")
}

// os.exit ends the test's run, which fails it, whatever the status.
func TestRunnerExitFailsTest(t *testing.T) {
	writeFiles(t, map[string]string{"e_test.star": `
def test_exit_zero():
    os.exit(0)

def test_exit_in_task():
    spawn(os.exit, 3)
    sleep(1)
`})
	stdout, _, code := runCoro(t, "test", "--seed", "1")
	assert.Equal(t, exitError, code)
	assert.Equal(t, `FAIL e_test.star::test_exit_zero
    os.exit(0) called during the test
FAIL e_test.star::test_exit_in_task
    os.exit(3) called during the test
seed 1
0 passed, 2 failed
`, stdout)
}

// load() in a test file is relative to it, as in any module.
func TestRunnerLoadsRelativeModules(t *testing.T) {
	writeFiles(t, map[string]string{
		"sub/helpers.star": "def double(x):\n    sleep(1)\n    return 2 * x\n",
		"sub/l_test.star":  "load(\"helpers.star\", \"double\")\n\ndef test_load():\n    assert.eq(double(4), 8)\n",
	})
	stdout, _, code := runCoro(t, "test", "--seed", "1")
	assert.Equal(t, 0, code, stdout)
	assert.Equal(t, "ok   sub/l_test.star::test_load\nseed 1\n1 passed, 0 failed\n", stdout)
}

// An error while the module itself runs fails each of its tests.
func TestRunnerModuleErrorFailsTests(t *testing.T) {
	writeFiles(t, map[string]string{"m_test.star": "def test_a():\n    pass\n\nx = 1 // 0\n"})
	stdout, _, code := runCoro(t, "test", "--seed", "1")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stdout, "FAIL m_test.star::test_a\n")
	assert.Contains(t, stdout, "m_test.star:4:7: in <toplevel>\n")
	assert.Contains(t, stdout, "division by zero")
	assert.True(t, strings.HasSuffix(stdout, "0 passed, 1 failed\n"), stdout)
}

// A syntax error in a module a test file loads fails the tests that load
// it and makes the exit status 2, as it is for one in a test file (and
// for coro FILE loading the same module); it was 1.
func TestRunnerSyntaxErrorInLoadedModule(t *testing.T) {
	writeFiles(t, map[string]string{
		"lib.star":    "x = \n",
		"z_test.star": "load(\"lib.star\", \"x\")\n\ndef test_d():\n    pass\n",
		"a_test.star": "def test_a():\n    pass\n",
	})
	stdout, _, code := runCoro(t, "test", "--seed", "1")
	assert.Equal(t, exitUsage, code, stdout)
	assert.Contains(t, stdout, "ok   a_test.star::test_a\n")
	assert.Contains(t, stdout, "FAIL z_test.star::test_d\n")
	assert.Contains(t, stdout, "lib.star:1:")
	assert.True(t, strings.HasSuffix(stdout, "1 passed, 1 failed\n"), stdout)
}

// Files are found recursively in lexical order, tests run in definition
// order, explicit files are taken whatever their name, testdata and hidden
// directories are skipped, and a file named twice runs once.
func TestRunnerDiscovery(t *testing.T) {
	test := func(names ...string) string {
		var b strings.Builder
		for _, n := range names {
			b.WriteString("def " + n + "():\n    pass\n\n")
		}
		return b.String()
	}
	writeFiles(t, map[string]string{
		"b_test.star":              test("test_z", "test_a", "helper_test"),
		"a/x_test.star":            test("test_x"),
		"a/deeper/y_test.star":     test("test_y"),
		"a/not_a_test.star.txt":    test("test_no"),
		"a/plain.star":             test("test_plain"),
		"a/testdata/t_test.star":   test("test_skipped"),
		"a/.hidden/h_test.star":    test("test_skipped"),
		"a/_private/p_test.star":   test("test_skipped"),
		"other/explicit.star":      test("test_explicit"),
		"other/testdata/d_test.st": test("test_no"),
	})
	stdout, stderr, code := runCoro(t, "test", "--seed", "3", ".", "other/explicit.star", "b_test.star")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `ok   a/deeper/y_test.star::test_y
ok   a/x_test.star::test_x
ok   b_test.star::test_z
ok   b_test.star::test_a
ok   other/explicit.star::test_explicit
seed 3
5 passed, 0 failed
`, stdout)

	// A directory given explicitly is searched even if it is testdata.
	stdout, _, code = runCoro(t, "test", "--seed", "3", "a/testdata")
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok   a/testdata/t_test.star::test_skipped\nseed 3\n1 passed, 0 failed\n", stdout)
}

func TestRunnerUsageErrors(t *testing.T) {
	writeFiles(t, map[string]string{
		"ok_test.star":      "def test_ok():\n    pass\n",
		"bad/x_test.star":   "def test_bad(:\n    pass\n",
		"undef/u_test.star": "def test_u():\n    nosuchname()\n",
		"empty/readme.txt":  "",
	})
	for _, tc := range []struct {
		name string
		argv []string
		want string
	}{
		{"unknown flag", []string{"test", "--bogus"}, "coro test: unknown flag --bogus\n"},
		{"seed without value", []string{"test", "--seed"}, "coro test: flag --seed needs a value\n"},
		{"bad seed", []string{"test", "--seed", "-3"}, `coro test: --seed: "-3" is not a non-negative integer` + "\n"},
		{"missing path", []string{"test", "nope"}, "coro test: stat nope: no such file or directory\n"},
		{"no test files", []string{"test", "empty"}, "coro test: no *_test.star files in empty\n"},
		{"syntax error", []string{"test", "ok_test.star", "bad"}, "bad/x_test.star:1:15: got ':', want ')'\n"},
		{"undefined name", []string{"test", "undef"}, "undef/u_test.star:2:5: undefined: nosuchname\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCoro(t, tc.argv...)
			assert.Equal(t, exitUsage, code)
			assert.True(t, strings.HasPrefix(stderr, tc.want), "stderr: %q", stderr)
			assert.Empty(t, stdout, "no test may run")
		})
	}
}

// selectFixture makes choices that depend on the seed: select among ready
// channels picks uniformly at random. The failing assertion shows them.
const selectFixture = `
def test_picks():
    chans = [channel(100) for i in range(4)]
    for c in chans:
        for j in range(30):
            c.send(j)
    picks = [select(*chans)[0] for i in range(60)]
    assert.eq(picks, "")
`

// The same seed gives byte-identical output; without --seed the run prints
// the seed it picked, and that seed replays it.
func TestRunnerSeedReplays(t *testing.T) {
	writeFiles(t, map[string]string{"s_test.star": selectFixture})
	first, _, code := runCoro(t, "test")
	require.Equal(t, exitError, code)
	m := summaryRE.FindStringSubmatch(first)
	require.NotNil(t, m, first)
	again, _, _ := runCoro(t, "test", "--seed", m[1])
	assert.Equal(t, first, again)
	global, _, _ := runCoro(t, "--seed", m[1], "test")
	assert.Equal(t, first, global, "coro --seed N test is coro test --seed N")

	// And the seed matters: of a few other seeds, some choose differently.
	differs := false
	for _, s := range []string{"1", "2", "3", "4"} {
		out, _, _ := runCoro(t, "test", "--seed", s)
		differs = differs || strings.TrimSuffix(out, "seed "+s+"\n0 passed, 1 failed\n") != strings.TrimSuffix(first, m[0])
	}
	assert.True(t, differs, "select's choices do not depend on the seed")
}

// coro --seed N FILE: the same seed, the same output (see also the golden
// testdata/seed_select.star); another seed, other choices.
func TestScriptSeedReplays(t *testing.T) {
	file, err := filepath.Abs("testdata/seed_select.star")
	require.NoError(t, err)
	out := func(seed string) string {
		stdout, stderr, code := runCoro(t, "--virtual-time", "--seed", seed, file)
		require.Equal(t, 0, code, stderr)
		return stdout
	}
	a := out("99")
	assert.Equal(t, a, out("99"))
	assert.NotEqual(t, a, out("100"))
}
