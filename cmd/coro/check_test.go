package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckClean(t *testing.T) {
	writeFiles(t, map[string]string{
		"main.star":       "load(\"lib/util.star\", \"double\", d2 = \"double\")\nprint(double(2), d2(3), json.encode([1]))\n",
		"lib/util.star":   "load(\"consts.star\", \"TWO\")\ndef double(x):\n    return x * TWO\n",
		"lib/consts.star": "TWO = 2\n",
		"x_test.star":     "def test_x():\n    assert.eq(1, 1)\n",
	})
	code, out := runCmd(t, "check")
	assert.Equal(t, 0, code)
	assert.Empty(t, out)
	code, out = runCmd(t, "check", "main.star")
	assert.Equal(t, 0, code, out)
}

// Every error of every file, with its position; a load of a missing or
// broken module, or of a name the module lacks, is an error at the load.
func TestCheckReportsEveryError(t *testing.T) {
	writeFiles(t, map[string]string{
		"main.star": `load("lib.star", "f", "nothere")
load("missing.star", "g")
load("broken.star", "h")
def run():
    print(undefined_a)
    return f() + undefined_b
x = 1
x += undefined_a
`,
		"lib.star":    "def f():\n    return 1\n",
		"broken.star": "def h(:\n    pass\n",
		"a.star":      "load(\"b.star\", \"B\")\nA = 1\n",
		"b.star":      "load(\"a.star\", \"A\")\nB = 2\n",
	})
	code, out := runCmd(t, "check", "main.star", "a.star")
	assert.Equal(t, 1, code)
	assert.Equal(t, `main.star:1:24: load "lib.star": lib.star defines no nothere
main.star:2:1: load "missing.star": no such file or directory
main.star:3:1: load "broken.star": broken.star has errors
main.star:5:11: undefined: undefined_a
main.star:6:18: undefined: undefined_b (did you mean undefined_a?)
main.star:8:6: undefined: undefined_a
broken.star:1:8: got ':', want ')'
a.star:1:1: load "b.star": b.star has errors
b.star:1:1: load "a.star": cycle in load graph: a.star loads b.star loads a.star
`, out)
}

// A member a predeclared module lacks (a typo: http.gett) is an error at
// its position, as running reports it when the line runs; a name the
// file binds itself (a parameter called http) is not the module.
func TestCheckModuleMembers(t *testing.T) {
	writeFiles(t, map[string]string{
		"m.star": `http.gett("x")
def f(http):
    return http.gett
print(time.second, math.pi, json.encode, fs.read)
fs.reed("a")
`,
		"t_test.star": "def test_x():\n    assert.eq(1, 1)\n    assert.nope()\n",
	})
	code, out := runCmd(t, "check", "m.star", "t_test.star")
	assert.Equal(t, 1, code)
	assert.Equal(t, `m.star:1:6: module http has no .gett field or method
m.star:5:4: module fs has no .reed field or method
`, out)
}

func TestCheckUsage(t *testing.T) {
	writeFiles(t, map[string]string{"x.star": "print(1)\n"})
	code, _ := runCmd(t, "check", "--nope")
	assert.Equal(t, 2, code)
	code, out := runCmd(t, "check", "missing.star")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "missing.star")
	_, err := os.Stat("x.star")
	assert.NoError(t, err)
}

// Under --sandbox, check follows load() only where running the script
// may: a module outside the checked files' folders and the --allow-read
// paths is refused unopened, with the permission error running gives
// (naming the module, never what the file holds).
func TestCheckSandboxedLoads(t *testing.T) {
	writeFiles(t, map[string]string{
		"app/m.star":    "load(\"../secret/s.star\", \"x\")\nload(\"lib.star\", \"y\")\nprint(x, y)\n",
		"app/lib.star":  "y = 1\n",
		"secret/s.star": "x = hunter2_s3cr3t\n",
	})
	denied := `app/m.star:1:1: permission: load: reading ../secret/s.star denied (allow with --allow-read=PATH, or Permissions.Read or Options.Modules)` + "\n"
	code, out := runCmd(t, "--sandbox", "check", "app/m.star")
	assert.Equal(t, 1, code)
	assert.Equal(t, denied, out)
	code, runOut := runCmd(t, "--sandbox", "app/m.star")
	assert.Equal(t, 1, code)
	assert.Contains(t, runOut, "permission: load: reading ../secret/s.star denied", "as running says")

	code, out = runCmd(t, "--allow-net", "check", "app")
	assert.Equal(t, 1, code)
	assert.Equal(t, denied, out, "any --allow flag is a sandbox")

	code, out = runCmd(t, "--allow-read=secret", "check", "app/m.star")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "undefined: hunter2_s3cr3t", "an allowed folder is followed")

	code, out = runCmd(t, "check", "app/m.star")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "secret/s.star:1:5: undefined: hunter2_s3cr3t", "without a sandbox every load is followed")
}

// coro test predeclares assert for every module its engines load, so
// check does for the modules test files load, directly or not; a module
// loaded from other code too is also checked without it (loading it there
// fails).
func TestCheckAssertInTestModules(t *testing.T) {
	writeFiles(t, map[string]string{
		"x_test.star":   "load(\"helper.star\", \"check\")\ndef test_x():\n    check(1)\n",
		"helper.star":   "load(\"lib/deep.star\", \"deep\")\ndef check(v):\n    assert.eq(v, 1)\n    deep(v)\n",
		"lib/deep.star": "def deep(v):\n    assert.true(v)\n",
	})
	code, out := runCmd(t, "test")
	assert.Equal(t, 0, code, out)
	code, out = runCmd(t, "check")
	assert.Equal(t, 0, code)
	assert.Empty(t, out)
	code, out = runCmd(t, "check", "helper.star", "x_test.star")
	assert.Equal(t, 0, code)
	assert.Empty(t, out)

	require.NoError(t, os.WriteFile("main.star", []byte("load(\"helper.star\", \"check\")\ncheck(1)\n"), 0o644))
	code, out = runCmd(t, "check")
	assert.Equal(t, 1, code)
	assert.Equal(t, `helper.star:1:1: load "lib/deep.star": lib/deep.star has errors
helper.star:3:5: undefined: assert
lib/deep.star:2:5: undefined: assert
main.star:1:1: load "helper.star": helper.star has errors
`, out)
}

// A cycle of loads shows its chain, in check as in running (both named
// the wrong file: "a.star loads itself", "b.star loads itself").
func TestCheckLoadCycle(t *testing.T) {
	writeFiles(t, map[string]string{
		"a.star": "load(\"b.star\", \"B\")\nA = 1\n",
		"b.star": "load(\"a.star\", \"A\")\nB = 2\n",
	})
	const msg = "cycle in load graph: a.star loads b.star loads a.star"
	code, out := runCmd(t, "check", "a.star")
	assert.Equal(t, 1, code)
	assert.Equal(t, "a.star:1:1: load \"b.star\": b.star has errors\nb.star:1:1: load \"a.star\": "+msg+"\n", out)
	code, out = runCmd(t, "a.star")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "value: "+msg+"\n")
}
