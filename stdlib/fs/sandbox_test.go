package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDanglingLinkWrite (issue 10, item 1): a write through a link whose
// target does not exist yet went where the link pointed, outside the
// allowed directory (the check could not resolve the link and looked at
// its name). Every way to write fails with `permission`, creates nothing,
// and names only the path the script gave.
func TestDanglingLinkWrite(t *testing.T) {
	dir := t.TempDir()
	box, out := filepath.Join(dir, "box"), filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(box, 0o755))
	require.NoError(t, os.Mkdir(out, 0o755))
	require.NoError(t, os.Symlink("../out/pwned.txt", filepath.Join(box, "note.txt")))
	got, err := run(t, loop.Permissions{Read: []string{box}, Write: []string{box}}, fmt.Sprintf(`
p = %q + "/note.txt"
print(catch(fs.write, p, "x").error)
print(catch(fs.append, p, "x").error.kind)
for mode in ["w", "a", "x", "r+", "a+"]:
    print(mode, catch(fs.open, p, mode).error.kind)
print(catch(fs.rename, p, %q + "/moved").error or "renamed the link itself")
`, box, box))
	require.NoError(t, err)
	assert.Equal(t, `permission: fs.write: writing BOX/note.txt denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
permission
w permission
a permission
x exists
r+ permission
a+ permission
renamed the link itself
`, strings.ReplaceAll(got, box, "BOX"))
	_, err = os.Lstat(filepath.Join(out, "pwned.txt"))
	assert.True(t, os.IsNotExist(err), "the write escaped: %v", err)
}

// TestRenameRace (issue 10, item 2): the permission was checked on the
// loop and the file opened later on the pool, so a task renaming
// directories meanwhile could swap a link to a secret into the checked
// path. Three tasks read box/x/y/key.txt while a fourth swaps box/p (whose
// y is a link to ../../secret) and box/x; no read may ever see the secret.
// The old code leaked it within a few hundred tries on a 2-core machine.
func TestRenameRace(t *testing.T) {
	dir := t.TempDir()
	box := filepath.Join(dir, "box")
	require.NoError(t, os.MkdirAll(filepath.Join(box, "x", "y"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(box, "x", "y", "key.txt"), []byte("public"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(box, "p"), 0o755))
	require.NoError(t, os.Symlink("../../secret", filepath.Join(box, "p", "y")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "secret"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret", "key.txt"), []byte("SECRET"), 0o644))
	got, err := run(t, loop.Permissions{Read: []string{box}, Write: []string{box}}, fmt.Sprintf(`
b = %q
seen = {}
def reader():
    for i in range(1500):
        r = catch(fs.read, b + "/x/y/key.txt")
        k = r.value if r.error == None else r.error.kind
        seen[k] = seen.get(k, 0) + 1
readers = [spawn(reader) for i in range(3)]
def swapper():
    for i in range(100000):
        if all([t.done for t in readers]):
            break
        fs.rename(b + "/p", b + "/tmp")
        fs.rename(b + "/x", b + "/p")
        fs.rename(b + "/tmp", b + "/x")
join(spawn(swapper), *readers)
print("SECRET" in seen, seen.get("public", 0) > 0)
`, box))
	require.NoError(t, err)
	assert.Equal(t, "False True\n", got)
}

// TestLinksInsideGrant: links that stay inside the allowed directory
// work, for reading and writing, and paths may reach the grant through a
// link outside it (which the script cannot change).
func TestLinksInsideGrant(t *testing.T) {
	dir := t.TempDir()
	box := filepath.Join(dir, "box")
	require.NoError(t, os.MkdirAll(filepath.Join(box, "real"), 0o755))
	require.NoError(t, os.Symlink("real", filepath.Join(box, "alias")))
	require.NoError(t, os.Symlink("box", filepath.Join(dir, "door")))
	got, err := run(t, loop.Permissions{Read: []string{box}, Write: []string{box}}, fmt.Sprintf(`
d = %q
fs.write(d + "/box/alias/f", "via alias")
print(fs.read(d + "/box/real/f"), fs.read(d + "/door/real/../alias/f"))
print(fs.listdir(d + "/box"), fs.exists(d + "/box/alias/nothing"))
fs.rename(d + "/box/alias/f", d + "/box/g")
print(fs.stat(d + "/door/g").size)
`, dir))
	require.NoError(t, err)
	assert.Equal(t, "via alias via alias\n[\"alias\", \"real\"] False\n9\n", got)
}

// TestRenameAcrossGrants: a rename between two allowed directories goes
// through both roots (renameat on their folders).
func TestRenameAcrossGrants(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.Mkdir(a, 0o755))
	require.NoError(t, os.Mkdir(b, 0o755))
	require.NoError(t, os.Symlink("..", filepath.Join(b, "up")))
	got, err := run(t, loop.Permissions{Read: []string{a, b}, Write: []string{a, b}}, fmt.Sprintf(`
a, b = %q, %q
fs.write(a + "/f", "x")
fs.rename(a + "/f", b + "/f")
print(fs.exists(a + "/f"), fs.read(b + "/f"))
print(catch(fs.rename, b + "/f", b + "/up/f").error.kind)
`, a, b))
	require.NoError(t, err)
	assert.Equal(t, "False x\npermission\n", got)
	_, err = os.Stat(filepath.Join(dir, "f"))
	assert.True(t, os.IsNotExist(err))
}

// TestFileGrant: a grant of one file allows that file and nothing beside it.
func TestFileGrant(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "conf.json")
	require.NoError(t, os.WriteFile(f, []byte("{}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other"), []byte("no"), 0o644))
	got, err := run(t, loop.Permissions{Read: []string{f}, Write: []string{filepath.Join(dir, "new.txt")}}, fmt.Sprintf(`
d = %q
print(fs.read(d + "/conf.json"))
print(catch(fs.read, d + "/other").error.kind, catch(fs.read, d + "/conf.json/../other").error.kind)
fs.write(d + "/new.txt", "made")
print(catch(fs.write, d + "/new2.txt", "x").error.kind)
`, dir))
	require.NoError(t, err)
	assert.Equal(t, "{}\npermission permission\npermission\n", got)
	d, err := os.ReadFile(filepath.Join(dir, "new.txt"))
	require.NoError(t, err)
	assert.Equal(t, "made", string(d))
}

// TestRenameNamesEscapingSide: a rename within one grant whose
// destination leads outside it through a link is refused naming the
// destination, not the source (Root.Rename's error does not say which
// side escaped); one whose source does names the source.
func TestRenameNamesEscapingSide(t *testing.T) {
	dir := t.TempDir()
	box, out := filepath.Join(dir, "box"), filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(box, 0o755))
	require.NoError(t, os.Mkdir(out, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(box, "f"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "g"), []byte("y"), 0o644))
	require.NoError(t, os.Symlink("../out", filepath.Join(box, "link")))
	got, err := run(t, loop.Permissions{Read: []string{box}, Write: []string{box}}, fmt.Sprintf(`
b = %q
print(catch(fs.rename, b + "/f", b + "/link/planted").error)
print(catch(fs.rename, b + "/link/g", b + "/g").error)
print(catch(fs.rename, b + "/link/g", b + "/link/h").error)
`, box))
	require.NoError(t, err)
	assert.Equal(t, `permission: fs.rename: writing BOX/link/planted denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
permission: fs.rename: writing BOX/link/g denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
permission: fs.rename: writing BOX/link/g denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
`, strings.ReplaceAll(got, box, "BOX"))
	_, err = os.Lstat(filepath.Join(out, "planted"))
	assert.True(t, os.IsNotExist(err), "the rename escaped: %v", err)
	_, err = os.Lstat(filepath.Join(box, "f"))
	assert.NoError(t, err)
}

// TestReadWriteOpenAcrossGrants: fs.open for reading and writing ("r+",
// "w+", "a+") went through one of its two grants, the one whose path was
// longer, and found the other by following the links outside it: a link
// in a read grant into a disjoint write grant read a write-only file, one
// in a write grant into a read grant wrote a read-only one. Every other
// operation refuses a link leaving its grant. Now both permissions must
// come from one path: the same grant, or one grant inside the other, the
// open going through the inner one.
func TestReadWriteOpenAcrossGrants(t *testing.T) {
	dir := t.TempDir()
	r, w, ro := filepath.Join(dir, "r"), filepath.Join(dir, "w"), filepath.Join(dir, "readonly")
	for _, d := range []string{r, w, ro, filepath.Join(w, "in")} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(w, "w.txt"), []byte("WRITE-ONLY"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ro, "ro.txt"), []byte("READ-ONLY"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(w, "in", "both.txt"), []byte("both"), 0o644))
	require.NoError(t, os.Symlink("../w", filepath.Join(r, "lw")))
	require.NoError(t, os.Symlink("../readonly", filepath.Join(w, "lro")))
	require.NoError(t, os.Symlink("in", filepath.Join(w, "alias")))
	got, err := run(t, loop.Permissions{Read: []string{r, ro, filepath.Join(w, "in")}, Write: []string{w}}, fmt.Sprintf(`
d = %q
for p in ["/r/lw/w.txt", "/w/lro/ro.txt", "/w/lro/new.txt"]:
    for mode in ["r+", "w+", "a+"]:
        print(p, mode, catch(fs.open, d + p, mode).error)
f = fs.open(d + "/w/alias/both.txt", "r+")
print(f.read())
f.write("!")
f.close()
print(fs.read(d + "/w/in/both.txt"))
`, dir))
	require.NoError(t, err)
	want := ""
	for _, p := range []string{"/r/lw/w.txt", "/w/lro/ro.txt", "/w/lro/new.txt"} {
		for _, mode := range []string{"r+", "w+", "a+"} {
			want += p + " " + mode + " permission: fs.open: reading and writing DIR" + p + " denied: it is not under one path allowed for both (allow with --allow-read=PATH and --allow-write=PATH, or Permissions.Read and Permissions.Write)\n"
		}
	}
	assert.Equal(t, want+"both\nboth!\n", strings.ReplaceAll(got, dir, "DIR"))
	for f, want := range map[string]string{filepath.Join(w, "w.txt"): "WRITE-ONLY", filepath.Join(ro, "ro.txt"): "READ-ONLY"} {
		d, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Equal(t, want, string(d))
	}
	_, err = os.Lstat(filepath.Join(ro, "new.txt"))
	assert.True(t, os.IsNotExist(err), "created through a link into a read-only grant: %v", err)
}

// TestLongPath: the sandbox resolved each part of a path by resolving all
// of the path up to it again, on the loop: a path of 20,000 "/tmp"s held
// every task for seconds, and a path longer than the kernel takes
// ("/proc/self/root" 200,000 times) was resolved at length and then
// opened. A path of PATH_MAX (4096) bytes or more is refused at once, as
// the kernel refuses it, sandboxed or not; a shorter one is resolved one
// system call a part.
func TestLongPath(t *testing.T) {
	dir := t.TempDir()
	box := filepath.Join(dir, "box")
	require.NoError(t, os.Mkdir(box, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(box, "f"), []byte("x"), 0o644))
	src := fmt.Sprintf(`
d = %q
for p in ["/proc/self/root" * 300 + d + "/box/f", d + "/box/" + "./" * 2100 + "f", d + "/" * 4096 + "box/f"]:
    e = catch(fs.read, p).error
    print(e.kind, e.message.endswith(" (%%d bytes): file name too long (the limit is 4095 bytes)" %% len(p)))
print(catch(fs.read, "/proc/self/root" * 300).error.message)
print(fs.read("/proc/self/root" * 10 + d + "/box/" + "./" * 100 + "f"))
`, dir)
	for _, perms := range []loop.Permissions{{Read: []string{box}}, all()} {
		got, err := run(t, perms, src)
		require.NoError(t, err)
		assert.Equal(t, `value True
value True
value True
value: fs.read: path "`+strings.Repeat("/proc/self/root", 13)+`/proc"... (4500 bytes): file name too long (the limit is 4095 bytes)
x
`, got)
	}
}

// TestWalkToGrant: the part of a path outside every grant is resolved as
// the kernel resolves it (TestLongPath's walk, one readlink a part): a
// chain of links, an absolute one, ".." taken after a link from where it
// led, and a loop of links, which reaches no grant.
func TestWalkToGrant(t *testing.T) {
	dir := t.TempDir()
	box := filepath.Join(dir, "o", "box")
	require.NoError(t, os.MkdirAll(box, 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "p"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(box, "f"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink("b", filepath.Join(dir, "a")))
	require.NoError(t, os.Symlink("o/box", filepath.Join(dir, "b")))
	require.NoError(t, os.Symlink(box, filepath.Join(dir, "abs")))
	require.NoError(t, os.Symlink("../o/box/f", filepath.Join(dir, "p", "up")))
	require.NoError(t, os.Symlink("loop2", filepath.Join(dir, "loop1")))
	require.NoError(t, os.Symlink("loop1", filepath.Join(dir, "loop2")))
	got, err := run(t, loop.Permissions{Read: []string{box}}, fmt.Sprintf(`
d = %q
for p in ["/a/f", "/abs/f", "/p/up", "/abs/../box/f", "/p/../a/./f", "/loop1/f", "/a/../box/f"]:
    r = catch(fs.read, d + p)
    print(p, r.value or r.error.kind)
`, dir))
	require.NoError(t, err)
	assert.Equal(t, "/a/f x\n/abs/f x\n/p/up x\n/abs/../box/f x\n/p/../a/./f x\n/loop1/f permission\n/a/../box/f x\n", got)
}

// TestGrantMadeBeforeItsDirectory: a grant of a path that did not exist
// yet was a grant of one file, fixed when the engine was made, so a
// script given --allow-write=build could create build but nothing in it.
// It is a grant of a directory to come: the path itself may be made (a
// directory, with its missing parents, or a file), and once it is a
// directory everything below it is granted. A link put in its place
// leads elsewhere, not to the grant.
func TestGrantMadeBeforeItsDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "secret"), 0o755))
	g := []string{filepath.Join(dir, "build"), filepath.Join(dir, "deep", "er"), filepath.Join(dir, "plain"), filepath.Join(dir, "planted")}
	plant := starlark.NewBuiltin("plant", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.None, os.Symlink("secret", filepath.Join(dir, "planted"))
	})
	got, err := moduletest.RunWith(t, loop.Options{Permissions: loop.Permissions{Read: g, Write: g}}, starlark.StringDict{"fs": Module(), "plant": plant}, fmt.Sprintf(`
d = %q
fs.mkdir(d + "/build", parents=True)
fs.write(d + "/build/out.txt", "x")
fs.mkdir(d + "/build/sub")
print(fs.listdir(d + "/build"), fs.read(d + "/build/out.txt"))
print(catch(fs.write, d + "/deep/er/f", "x").error.kind, catch(fs.mkdir, d + "/deep/er").error.kind)
fs.mkdir(d + "/deep/er/a/b", parents=True)
print(fs.listdir(d + "/deep/er/a"), catch(fs.write, d + "/deep/f", "x").error.kind)
fs.write(d + "/plain", "a file")
print(fs.read(d + "/plain"), catch(fs.write, d + "/plain/f", "x").error.kind)
plant()
print(catch(fs.write, d + "/planted/f", "x").error.kind, catch(fs.listdir, d + "/planted/").error.kind)
`, dir))
	require.NoError(t, err)
	assert.Equal(t, "[\"out.txt\", \"sub\"] x\nnot_found not_found\n[\"b\"] permission\na file permission\npermission permission\n", got)
	entries, err := os.ReadDir(filepath.Join(dir, "secret"))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// An allowed folder itself cannot be removed, renamed or replaced, only
// what is in it: the grant holds it open as its root. Each said only
// "io: ... invalid argument".
func TestGrantFolderItselfStays(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.Mkdir(a, 0o755))
	require.NoError(t, os.Mkdir(b, 0o755))
	got, err := run(t, loop.Permissions{Read: []string{a, b}, Write: []string{a, b}}, fmt.Sprintf(`
a, b = %q, %q
fs.write(b + "/f", "x")
for f, args in [(fs.remove, [a]), (fs.remove, [a + "/."]), (fs.rename, [a, b + "/x"]), (fs.rename, [b + "/f", a])]:
    print(catch(f, *args).error)
fs.rename(b + "/f", a + "/f")
fs.remove(a + "/f")
print(fs.listdir(a), fs.listdir(b))
`, a, b))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf(`permission: fs.remove: removing %[1]s denied: it is an allowed path itself (what is in it may be removed)
permission: fs.remove: removing %[1]s/. denied: it is an allowed path itself (what is in it may be removed)
permission: fs.rename: renaming %[1]s denied: it is an allowed path itself (what is in it may be renamed)
permission: fs.rename: replacing %[1]s denied: it is an allowed path itself (what is in it may be replaced)
[] []
`, a), got)
}
