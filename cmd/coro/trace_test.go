package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --trace FILE writes a trace-event document with a named track per task
// and run slices on them (package trace tests the details).
func TestTraceFlag(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "three.star")
	require.NoError(t, os.WriteFile(script, []byte(`
def work(n):
    for i in range(n):
        sleep(0.1)
join(*[spawn(work, n, name=name) for n, name in [(1, "alpha"), (2, "beta"), (3, "gamma")]])
`), 0o644))
	tracePath := filepath.Join(dir, "out.json")
	var out bytes.Buffer
	code := run([]string{"--virtual-time", "--trace", tracePath, script}, strings.NewReader(""), &out, &out)
	require.Equal(t, 0, code, out.String())

	data, err := os.ReadFile(tracePath)
	require.NoError(t, err)
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Tid  int64          `json:"tid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	tracks := map[int64]string{}
	slices := map[string]int{}
	for _, ev := range doc.TraceEvents {
		switch ev.Ph {
		case "M":
			if ev.Name == "thread_name" {
				tracks[ev.Tid] = ev.Args["name"].(string)
			}
		case "X":
			slices[tracks[ev.Tid]]++
		}
	}
	assert.ElementsMatch(t, []string{"main", "alpha", "beta", "gamma"}, mapValues(tracks))
	// Each worker runs once per sleep plus once to start: n+1 slices.
	assert.Equal(t, 2, slices["alpha"])
	assert.Equal(t, 3, slices["beta"])
	assert.Equal(t, 4, slices["gamma"])
}

func TestTraceFlagBadPath(t *testing.T) {
	var out bytes.Buffer
	code := run([]string{"--trace", filepath.Join(t.TempDir(), "no", "such", "dir.json"), "-c", "print(1)"}, strings.NewReader(""), &out, &out)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, out.String(), "coro: --trace: open ")
}

func mapValues(m map[int64]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// SIGQUIT prints the task dump on stderr and the run goes on: the built
// command is run for real, asked with SIGQUIT, then interrupted (status
// 130 shows that SIGQUIT had not ended it).
func TestSIGQUITPrintsTaskDump(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "coro")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	script := filepath.Join(dir, "hang.star")
	require.NoError(t, os.WriteFile(script, []byte(`
never = future()
def stuck():
    never.wait()
spawn(stuck, name="stuck")
sleep(0)  # let stuck reach its wait
print("ready")
sleep(60)
`), 0o644))

	cmd := exec.Command(bin, script)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	require.NoError(t, cmd.Process.Signal(syscall.SIGQUIT))

	errs := bufio.NewReader(stderr)
	var dump strings.Builder
	for !strings.Contains(dump.String(), "hang.star:4:15 in stuck\n") {
		line, err := errs.ReadString('\n')
		require.NoError(t, err, "stderr so far: %q", dump.String())
		dump.WriteString(line)
	}
	// The sleep's remaining time depends on how fast this machine is.
	got := regexp.MustCompile(`\+[0-9.]+s`).ReplaceAllString(dump.String(), "+Ns")
	assert.Equal(t, `coro: SIGQUIT: 2 live tasks:
  task 'main' (id 1, waiting): sleep until +Ns
    `+script+`:8:6 in <toplevel>
  task 'stuck' (id 2, waiting): wait future
    spawned at `+script+`:5:6
    `+script+`:4:15 in stuck
`, got)

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	rest, _ := io.ReadAll(errs)
	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "stderr: %s", rest)
	assert.Equal(t, exitInterrupted, exitErr.ExitCode())
}
