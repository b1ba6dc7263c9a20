package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --profile writes a profile that go tool pprof reads, and the script's
// own hot function is in it.
func TestProfileFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "hot.star")
	require.NoError(t, os.WriteFile(script, []byte(`
def hot_loop(n):
    total = 0
    for i in range(n):
        total += i * i
    return total

def main():
    for _ in range(20):
        hot_loop(50000)
    print("done")

main()
`), 0o644))
	prof := filepath.Join(dir, "out.pprof")
	code, out := runCmd(t, "--profile", prof, script)
	require.Equal(t, 0, code, out)
	assert.Equal(t, "done\n", out)

	top, err := exec.Command("go", "tool", "pprof", "-top", prof).CombinedOutput()
	require.NoError(t, err, "%s", top)
	assert.Contains(t, string(top), "hot_loop")
	assert.Contains(t, string(top), "main")
}

func TestProfileFlagBadPath(t *testing.T) {
	code, out := runCmd(t, "--profile", filepath.Join(t.TempDir(), "no", "such", "dir.pprof"), "-c", "print(1)")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "--profile:")
}

// A profile shows the time tasks ran, not the time they waited: a task
// asleep through the whole run takes no samples, and the engine's task
// body (a builtin calling the script) is not counted beside the script.
func TestProfileCountsRunningTimeOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "mixed.star")
	require.NoError(t, os.WriteFile(script, []byte(`
def hot_loop(n):
    total = 0
    for i in range(n):
        total += i * i
    return total

def napper():
    sleep(0.5)

spawn(napper)
for _ in range(10):
    hot_loop(50000)
`), 0o644))
	prof := filepath.Join(dir, "out.pprof")
	code, out := runCmd(t, "--profile", prof, script)
	require.Equal(t, 0, code, out)
	top, err := exec.Command("go", "tool", "pprof", "-top", prof).CombinedOutput()
	require.NoError(t, err, "%s", top)
	assert.Contains(t, string(top), "hot_loop")
	assert.NotContains(t, string(top), "sleep", "a waiting task's time is not run time")
	assert.NotContains(t, string(top), "napper")
}
