package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// profileTop runs src with --profile and returns its output and what
// go tool pprof -top makes of the profile.
func profileTop(t *testing.T, src string) (out, top string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "profiled.star")
	require.NoError(t, os.WriteFile(script, []byte(src), 0o644))
	prof := filepath.Join(dir, "out.pprof")
	code, out := runCmd(t, "--profile", prof, script)
	require.Equal(t, 0, code, out)
	b, err := exec.Command("go", "tool", "pprof", "-top", prof).CombinedOutput()
	require.NoError(t, err, "%s", b)
	return out, string(b)
}

// hotLoop is the function whose time the profiles must show.
const hotLoop = `
def hot_loop(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
`

// --profile writes a profile that go tool pprof reads, and the script's
// own hot function is in it.
func TestProfileFlag(t *testing.T) {
	out, top := profileTop(t, hotLoop+`
def main():
    for _ in range(20):
        hot_loop(50000)
    print("done")

main()
`)
	assert.Equal(t, "done\n", out)
	assert.Contains(t, top, "hot_loop")
	assert.Contains(t, top, "main")
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
	_, top := profileTop(t, hotLoop+`
def napper():
    sleep(0.5)

spawn(napper)
for _ in range(10):
    hot_loop(50000)
`)
	assert.Contains(t, top, "hot_loop")
	assert.NotContains(t, top, "sleep", "a waiting task's time is not run time")
	assert.NotContains(t, top, "napper")
}
