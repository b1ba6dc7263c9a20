package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAllowFlags (issue 10, item 5): any --allow-* flag implies --sandbox;
// a bare --allow-read or --allow-write grants every path and leaves the
// script's name alone; an empty PATH, a value on a flag that takes none,
// and an unknown flag are usage errors naming the flag.
func TestAllowFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(dir, "x.star")
	require.NoError(t, os.WriteFile(file, []byte(`print(len(fs.read("/etc/passwd")) > 0, catch(fs.write, "f", "x").error.kind, catch(os.env, "HOME").error.kind)`+"\n"), 0o644))

	code, out := runCmd(t, "--allow-net", "-c", `print(catch(os.env, "HOME").error.kind)`)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "permission\n", out, "--allow-net alone is a sandbox")

	code, out = runCmd(t, "--allow-read", file)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "True permission permission\n", out, "a bare --allow-read grants every path, and only reading")

	code, out = runCmd(t, "--allow-write", "-c", `fs.write("f", "x"); print(catch(fs.read, "f").error.kind)`)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "permission\n", out)

	for _, c := range []struct{ argv []string }{
		{[]string{"--allow-read=", file}},
		{[]string{"--allow-write=", file}},
		{[]string{"--sandbox=no", file}},
		{[]string{"--allow-net=127.0.0.1", file}},
		{[]string{"--allow-evrything", file}},
	} {
		code, out := runCmd(t, c.argv...)
		assert.Equal(t, 2, code, "%v: %s", c.argv, out)
		name := c.argv[0]
		if i := len(name) - 1; name[i] == '=' {
			name = name[:i]
		} else if j := indexByte(name, '='); j > 0 {
			name = name[:j]
		}
		assert.Contains(t, out, "coro: ", c.argv)
		assert.Contains(t, out, name, "%v: the message names the flag", c.argv)
	}
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// TestSandboxKeepsSignals: the command grants os.signal in a sandbox (the
// process is the script's own); embedders must grant Permissions.Signals.
func TestSandboxKeepsSignals(t *testing.T) {
	code, out := runCmd(t, "--sandbox", "-c", `os.signal("HUP").close(); print("ok")`)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, "ok\n", out)
}

// TestDanglingLinkCommand is issue 10's item 1 as reported: a dangling
// link in the allowed folder took fs.write outside it.
func TestDanglingLinkCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("box", 0o755))
	require.NoError(t, os.Mkdir("out", 0o755))
	require.NoError(t, os.Symlink("../out/pwned.txt", "box/note.txt"))
	code, out := runCmd(t, "--sandbox", "--allow-read=box", "--allow-write=box", "-c", `fs.write("box/note.txt", "x")`)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "permission: fs.write: writing box/note.txt denied")
	assert.NotContains(t, out, "out/pwned")
	_, err := os.Lstat("out/pwned.txt")
	assert.True(t, os.IsNotExist(err), "the write escaped")
}
