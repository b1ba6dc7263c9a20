package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lineReader delivers the lines of a stream as they come.
func lineReader(r io.Reader) <-chan string {
	ch := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	return ch
}

// nextLine waits (generously: the binary reacts to real file events) for
// the next line of ch and checks it.
func nextLine(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-ch:
		require.True(t, ok, "stream ended waiting for %q", want)
		require.Equal(t, want, got)
	case <-time.After(20 * time.Second):
		t.Fatalf("no line %q", want)
	}
}

// lineUntil waits (as nextLine) for a line of ch equal to want, skipping
// the lines before it (a traceback).
func lineUntil(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got, ok := <-ch:
			require.True(t, ok, "stream ended waiting for %q", want)
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no line %q", want)
		}
	}
}

// startWatch starts the built command as coro --watch main.star in dir,
// and returns it with its stdout's and stderr's lines.
func startWatch(t *testing.T, dir string) (cmd *exec.Cmd, out, errs <-chan string) {
	t.Helper()
	cmd = exec.Command(buildCoro(t), "--watch", "main.star")
	cmd.Dir = dir
	stdoutPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderrPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, lineReader(stdoutPipe), lineReader(stderrPipe)
}

// The real binary under --watch, driven by real edits: in place, by
// rename (as editors save), of a loaded module, a broken edit (which
// waits) and its fix; each restart cancels the old run with its cleanups.
func TestWatchRestartsOnChange(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	script := func(tag string) string {
		return "load(\"lib.star\", \"V\")\ndefer(print, \"cleanup " + tag + "\", V)\nprint(\"start " + tag + "\", V)\nsleep(3600)\n"
	}
	write("lib.star", "V = 1\n")
	write("main.star", script("a"))

	cmd, out, errs := startWatch(t, dir)

	nextLine(t, out, "start a 1")

	// In place.
	write("main.star", script("b"))
	nextLine(t, out, "cleanup a 1")
	nextLine(t, errs, "--- main.star changed: restarting ---")
	nextLine(t, out, "start b 1")

	// By rename, as editors save.
	write("main.star.tmp", script("c"))
	require.NoError(t, os.Rename(filepath.Join(dir, "main.star.tmp"), filepath.Join(dir, "main.star")))
	nextLine(t, out, "cleanup b 1")
	nextLine(t, errs, "--- main.star changed: restarting ---")
	nextLine(t, out, "start c 1")

	// A module it loaded.
	write("lib.star", "V = 2\n")
	nextLine(t, out, "cleanup c 1")
	nextLine(t, errs, "--- lib.star changed: restarting ---")
	nextLine(t, out, "start c 2")

	// A broken edit: the old run ends, the error is shown, and the
	// command waits for the next change.
	write("main.star", "print(\n")
	nextLine(t, out, "cleanup c 2")
	nextLine(t, errs, "--- main.star changed: restarting ---")
	nextLine(t, errs, "main.star:2:1: got end of file, want ')'")
	nextLine(t, errs, "--- exit status 2: waiting for a change ---")
	write("main.star", script("d"))
	nextLine(t, errs, "--- main.star changed: restarting ---")
	nextLine(t, out, "start d 2")

	// A signal ends it all, cleanups first.
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	nextLine(t, out, "cleanup d 2")
	err := cmd.Wait()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 130, ee.ExitCode())
}

// A module in a folder that is missing when the watch starts, or removed
// and made again (a checkout, a build output), is still watched: its
// folder's making is seen from the folder above. Edits to it restarted
// nothing, ever.
func TestWatchSeesFoldersMadeLater(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen")
	writeGen := func(v string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(gen, "config.star"), []byte("V = "+v+"\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.star"), []byte("load(\"gen/config.star\", \"V\")\nprint(\"v\", V)\nsleep(3600)\n"), 0o644))
	_, out, errs := startWatch(t, dir)

	// Missing at the start, then removed and made again.
	for _, vs := range [][]string{{"1", "2"}, {"3", "4"}} {
		require.NoError(t, os.RemoveAll(gen))
		lineUntil(t, errs, "--- exit status 1: waiting for a change ---")
		require.NoError(t, os.Mkdir(gen, 0o755))
		for _, v := range vs {
			writeGen(v)
			nextLine(t, out, "v "+v)
		}
	}
}

func TestWatchUsage(t *testing.T) {
	for _, argv := range [][]string{
		{"--watch"},
		{"--watch", "-c", "print(1)"},
		{"--watch", "test"},
		{"--watch", "-"},
		{"--watch=yes", "x.star"},
	} {
		code, out := runCmd(t, argv...)
		assert.Equal(t, 2, code, "%v", argv)
		assert.NotEmpty(t, out)
	}
}

func TestLoadClosure(t *testing.T) {
	writeFiles(t, map[string]string{
		"main.star":       "load(\"lib/a.star\", \"A\")\nload(\"lib/a.star\", \"A2\")\n",
		"lib/a.star":      "load(\"b.star\", \"B\")\nA = B\n",
		"lib/b.star":      "load(\"../main.star\", \"x\")\nload(\"broken.star\", \"y\")\nB = 1\n",
		"lib/broken.star": "load(\"never.star\", \"z\")\n(\n",
	})
	assert.Equal(t, []string{"main.star", "lib/a.star", "lib/b.star", "lib/broken.star"}, loadClosure("main.star"))
}
