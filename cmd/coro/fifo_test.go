package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestToolsSkipFIFOs: coro fmt, check and test skip a FIFO named like a
// script found in a directory they search (reading it waited for a
// writer for ever), and refuse one named on the command line with a
// usage error.
func TestToolsSkipFIFOs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "p.star"), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "p_test.star"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.star"), []byte("x = 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a_test.star"), []byte("def test_a():\n    pass\n"), 0o644))

	code, out := runCoroBounded(t, "", "fmt", "--check", dir)
	assert.Equal(t, 0, code, out)
	code, out = runCoroBounded(t, "", "check", dir)
	assert.Equal(t, 0, code, out)
	code, out = runCoroBounded(t, "", "test", dir)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "1 passed, 0 failed")

	for _, cmd := range []string{"fmt", "check"} {
		code, out = runCoroBounded(t, "", cmd, filepath.Join(dir, "p.star"))
		assert.Equal(t, 2, code, out)
		assert.Equal(t, "coro "+cmd+": "+filepath.Join(dir, "p.star")+": not a regular file or a directory\n", out)
	}
	code, out = runCoroBounded(t, "", "test", filepath.Join(dir, "p_test.star"))
	assert.Equal(t, 2, code, out)
	assert.Equal(t, "coro test: "+filepath.Join(dir, "p_test.star")+": not a regular file or a directory\n", out)
}
