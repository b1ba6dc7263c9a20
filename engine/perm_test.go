package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestEmbedderDeniesIOByDefault: an engine made with zero Options allows
// no I/O (SPEC 7); each refusal is a permission error naming the option
// that would allow it, and granting that option allows it.
func TestEmbedderDeniesIOByDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("content"), 0o644))
	for _, c := range []struct {
		src    string
		option string
		grant  engine.Permissions
	}{
		{`fs.read(` + quote(file) + `)`, "Permissions.Read", engine.Permissions{Read: []string{dir}}},
		{`fs.write(` + quote(file) + `, "x")`, "Permissions.Write", engine.Permissions{Write: []string{dir}}},
		{`proc.run(["true"])`, "Permissions.Run", engine.Permissions{Run: true}},
		{`os.env("HOME")`, "Permissions.Env", engine.Permissions{Env: true}},
		{`net.listen("127.0.0.1:0").close()`, "Permissions.Net", engine.Permissions{Net: true}},
		// Issue 10, item 4: os.signal took the host's signals with no grant.
		{`os.signal("HUP").close()`, "Permissions.Signals", engine.Permissions{Signals: true}},
	} {
		t.Run(c.option, func(t *testing.T) {
			var out bytes.Buffer
			eng, err := engine.New(engine.Options{Stdout: &out, Stderr: &out})
			require.NoError(t, err)
			defer eng.Close()
			_, err = eng.Exec(context.Background(), "embed.star", c.src)
			var ce *engine.Error
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, engine.KindPermission, ce.Kind)
			assert.Contains(t, ce.Msg, c.option)

			granted, err := engine.New(engine.Options{Stdout: &out, Stderr: &out, Permissions: c.grant})
			require.NoError(t, err)
			defer granted.Close()
			_, err = granted.Exec(context.Background(), "embed.star", c.src)
			assert.NoError(t, err)
		})
	}
}

func quote(s string) string { return `"` + s + `"` }

// TestLoadNeedsAGrant (issue 10, item 3): load() read any file, in an
// embedder's default engine too, and its errors echoed the file
// ("undefined: bookworm" for /etc/os-release; a KEY = "..." file loaded in
// full). Now an engine loads only Options.Modules and files its
// Permissions grant (Read or Load), and a refused file is never opened.
func TestLoadNeedsAGrant(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.cfg")
	require.NoError(t, os.WriteFile(secret, []byte("KEY = \"hunter2\"\n"), 0o644))
	notStar := filepath.Join(dir, "os-release")
	require.NoError(t, os.WriteFile(notStar, []byte("ID=bookworm\n"), 0o644))
	for _, src := range []string{
		`load(` + quote(secret) + `, "KEY")` + "\nprint(KEY)",
		`load(` + quote(notStar) + `, "X")`,
	} {
		var out bytes.Buffer
		eng, err := engine.New(engine.Options{Stdout: &out, Stderr: &out})
		require.NoError(t, err)
		_, err = eng.Exec(context.Background(), "embed.star", src)
		eng.Close()
		var ce *engine.Error
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, engine.KindPermission, ce.Kind)
		assert.Contains(t, ce.Msg, "Permissions.Read")
		for _, leak := range []string{"hunter2", "bookworm"} {
			assert.NotContains(t, err.Error(), leak)
			assert.NotContains(t, out.String(), leak)
		}
	}

	// Options.Modules need no grant; a grant of the folder loads files.
	var out bytes.Buffer
	eng, err := engine.New(engine.Options{Stdout: &out, Stderr: &out,
		Modules:     map[string]starlark.StringDict{"consts": {"N": starlark.MakeInt(7)}},
		Permissions: engine.Permissions{Load: []string{dir}}})
	require.NoError(t, err)
	defer eng.Close()
	_, err = eng.Exec(context.Background(), "embed.star", `load("consts", "N")
load(`+quote(secret)+`, "KEY")
print(N, len(KEY))`)
	require.NoError(t, err)
	assert.Equal(t, "7 7\n", out.String())
}

// ReadModule reads as load() does: a file outside the grants is refused
// with load()'s permission error, naming the module as written; a
// missing one is not_found, its errno found by errors.Is.
func TestReadModule(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.star"), []byte("X = 1\n"), 0o644))
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "s.star"), []byte("KEY = \"hunter2\"\n"), 0o644))
	eng, err := engine.New(engine.Options{Permissions: engine.Permissions{Load: []string{dir}}})
	require.NoError(t, err)
	defer eng.Close()

	src, err := eng.ReadModule("lib.star", filepath.Join(dir, "lib.star"))
	require.NoError(t, err)
	assert.Equal(t, "X = 1\n", string(src))

	_, err = eng.ReadModule("../o/s.star", filepath.Join(outside, "s.star"))
	ce := engine.AsError(err)
	assert.Equal(t, engine.KindPermission, ce.Kind)
	assert.Equal(t, "load: reading ../o/s.star denied (allow with --allow-read=PATH, or Permissions.Read or Options.Modules)", ce.Msg)

	_, err = eng.ReadModule("nope.star", filepath.Join(dir, "nope.star"))
	assert.Equal(t, engine.KindNotFound, engine.AsError(err).Kind)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// Relative paths in Permissions are the paths they name when the engine
// is made: they were resolved at the first file operation, so an embedder
// that changed its working directory after New granted another folder.
func TestRelativeGrantsResolvedAtNew(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		require.NoError(t, os.Mkdir(filepath.Join(d, "box"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "box", "f"), []byte(d), 0o644))
	}
	t.Chdir(a)
	var out bytes.Buffer
	eng, err := engine.New(engine.Options{Stdout: &out, Stderr: &out, Permissions: engine.Permissions{Read: []string{"box"}, Write: []string{"box"}}})
	require.NoError(t, err)
	defer eng.Close()
	t.Chdir(b)
	_, err = eng.Exec(context.Background(), "embed.star", `
print(fs.read(`+quote(filepath.Join(a, "box", "f"))+`) == `+quote(a)+`)
print(catch(fs.read, `+quote(filepath.Join(b, "box", "f"))+`).error.kind)
print(catch(fs.write, "box/f", "x").error.kind)
`)
	require.NoError(t, err)
	assert.Equal(t, "True\npermission\npermission\n", out.String())
}

// load() read its module on the loop, whatever it was: a FIFO held every
// task (and the engine's signals) until a writer came, /dev/zero grew
// the heap without end. A module must be a regular file of at most
// MaxModuleSize bytes; anything else is refused without being read, a
// FIFO without being opened; the file is read off the loop. ReadModule
// (coro check, the REPL's :load) refuses the same.
func TestLoadReadsOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo.star"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d.star"), 0o755))
	big, err := os.Create(filepath.Join(dir, "big.star"))
	require.NoError(t, err)
	require.NoError(t, big.Truncate(engine.MaxModuleSize+1))
	big.Close()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok.star"), []byte("X = 1\n"), 0o644))
	eng, err := engine.New(engine.Options{Permissions: engine.Permissions{Load: []string{dir, "/dev/zero"}}})
	require.NoError(t, err)
	defer eng.Close()
	for _, c := range []struct{ module, msg string }{
		{"fifo.star", "is a FIFO, not a regular file"},
		{"d.star", "is a directory, not a regular file"},
		{"/dev/zero", "is a device, not a regular file"},
		{"big.star", "larger than 16 MiB, the limit of a module"},
	} {
		done := make(chan error, 2)
		go func() {
			path := c.module
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			_, err := eng.ReadModule(c.module, path)
			done <- err
			_, err = eng.Exec(context.Background(), filepath.Join(dir, "main.star"), "load(\""+c.module+"\", \"X\")")
			done <- err
		}()
		for _, via := range []string{"ReadModule", "load"} {
			select {
			case err := <-done:
				ce := engine.AsError(err)
				require.NotNil(t, ce, "%s %s: %v", via, c.module, err)
				assert.Equal(t, engine.KindValue, ce.Kind, "%s %s", via, c.module)
				assert.Contains(t, ce.Msg, "cannot load "+c.module+": ", via)
				assert.True(t, strings.HasSuffix(ce.Msg, c.msg), "%s: %s", via, ce.Msg)
			case <-time.After(time.Minute):
				t.Fatalf("%s %s: still reading after a minute", via, c.module)
			}
		}
	}
	_, err = eng.Exec(context.Background(), filepath.Join(dir, "main.star"), "load(\"ok.star\", \"X\")\n")
	assert.NoError(t, err)
}

// A module that is not there fails with not_found naming it and the path
// looked at, as fs's errors do, without Go's name of the system call
// ("cannot load nope.star: statat /dir/nope.star: ...").
func TestLoadMissingModuleError(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d.star"), 0o755))
	eng, _ := newEngine(t, engine.Options{Permissions: engine.Permissions{Load: []string{dir}}})
	for module, want := range map[string]string{
		"nope.star": "not_found: cannot load nope.star: " + filepath.Join(dir, "nope.star") + ": no such file or directory",
		"d.star":    "value: cannot load d.star: " + filepath.Join(dir, "d.star") + ": is a directory, not a regular file",
	} {
		_, err := eng.Exec(testCtx(t), filepath.Join(dir, "main.star"), "load(\""+module+"\", \"X\")\n")
		require.Error(t, err)
		assert.Equal(t, want, engine.AsError(err).Error())
	}
}
