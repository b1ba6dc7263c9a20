package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/corolang/coro/stdlib/internal/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes src on a fresh engine whose scripts see the core builtins
// and fs, with perms, and returns what it printed.
func run(t *testing.T, perms loop.Permissions, src string) (string, error) {
	t.Helper()
	return moduletest.Run(t, perms, "fs", Module(), src)
}

func all() loop.Permissions { return loop.AllPermissions() }

func TestReadWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
p = %q + "/a.txt"
fs.write(p, "hello\n")
fs.append(p, b"world\n")
print(repr(fs.read(p)))
print(repr(fs.read_bytes(p)))
st = fs.stat(p)
print(st.size, st.is_dir, fs.stat(%q).is_dir)
print(fs.exists(p), fs.exists(p + ".missing"), fs.exists(p + "/below"))
fs.mkdir(%q + "/sub")
fs.rename(p, %q + "/sub/b.txt")
print(fs.listdir(%q), fs.listdir(%q + "/sub"))
fs.remove(%q + "/sub/b.txt")
print(fs.listdir(%q + "/sub"))
`, dir, dir, dir, dir, dir, dir, dir, dir))
	require.NoError(t, err)
	assert.Equal(t, `"hello\nworld\n"`+"\n"+`b"hello\nworld\n"`+"\n12 False True\nTrue False False\n[\"sub\"] [\"b.txt\"]\n[]\n", out)
}

func TestErrorKinds(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "full"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "full", "g"), nil, 0o644))
	out, err := run(t, all(), fmt.Sprintf(`
d = %q
for f, args in [
    (fs.read, [d + "/missing"]),
    (fs.mkdir, [d + "/f"]),
    (fs.remove, [d + "/full"]),
    (fs.open, [d + "/f", "x"]),
    (fs.listdir, [d + "/f"]),
    (fs.open, [d + "/f", "rb"]),
    (fs.write, [d + "/f", 3]),
]:
    r = catch(f, *args)
    print(r.error.message.replace(d, "D"))
`, dir))
	require.NoError(t, err)
	assert.Equal(t, `not_found: fs.read: D/missing: no such file or directory
exists: fs.mkdir: D/f: file exists
exists: fs.remove: D/full: directory not empty
exists: fs.open: D/f: file exists
io: fs.listdir: D/f: not a directory
value: fs.open: mode "rb": want r, w, a or x, optionally followed by +
value: fs.write: for parameter data: got int, want string or bytes
`, out)
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
p = %q + "/f.txt"
f = fs.open(p, "w")
f.write("one\ntwo\n")
f.write(b"three")
f.close()
f.close()  # twice is fine
print(catch(f.write, "x").error)
f = fs.open(p)
print(repr(f.read(2)), repr(f.read_line()), repr(f.read_line()))
print([l for l in f.lines()])
print(repr(f.read_line()), repr(f.read(5)), repr(f.read()))
f.close()
f = fs.open(p, "r+")
print(repr(f.read_line()))
f.write("TWO")  # lands after the line read, not after the read-ahead
f.close()
print(repr(fs.read(p)))
f = fs.open(p, "a")
f.write("!")
f.close()
print(repr(fs.read(p)))
print(list(fs.open(p).lines()))
`, dir))
	require.NoError(t, err)
	assert.Equal(t, `closed: File.write: `+dir+`/f.txt is closed
"on" "e\n" "two\n"
["three"]
"" "" ""
"one\n"
"one\nTWO\nthree"
"one\nTWO\nthree!"
["one\n", "TWO\n", "three!"]
`, out)
}

// Modes behave as Python's: "a+" starts at the end (reads give what is
// written after the open, not the file so far), and reading a file not
// opened for reading, or writing one not opened for writing, says so
// (Python's "not readable"), where the system call said "bad file
// descriptor".
func TestOpenModes(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
p = %q + "/f.txt"
fs.write(p, "hello")
f = fs.open(p, "a+")
print(repr(f.read()))
f.write("!")
f.close()
print(repr(fs.read(p)))
for mode, op, arg in [("w", "read", None), ("a", "read_line", None), ("x", "read", None), ("r", "write", "x")]:
    if mode == "x":
        fs.remove(p)
    f = fs.open(p, mode)
    m = getattr(f, op)
    print(catch(m, arg).error if arg else catch(m).error)
    print(catch(m, arg).error if arg else catch(m).error)
    f.close()
    print(catch(m, arg).error if arg else catch(m).error)
`, dir))
	require.NoError(t, err)
	out = strings.ReplaceAll(out, dir, "D")
	assert.Equal(t, `""
"hello!"
io: File.read: D/f.txt: not open for reading (mode "w")
io: File.read: D/f.txt: not open for reading (mode "w")
closed: File.read: D/f.txt is closed
io: File.read_line: D/f.txt: not open for reading (mode "a")
io: File.read_line: D/f.txt: not open for reading (mode "a")
closed: File.read_line: D/f.txt is closed
io: File.read: D/f.txt: not open for reading (mode "x")
io: File.read: D/f.txt: not open for reading (mode "x")
closed: File.read: D/f.txt is closed
io: File.write: D/f.txt: not open for writing (mode "r")
io: File.write: D/f.txt: not open for writing (mode "r")
closed: File.write: D/f.txt is closed
`, out)
}

// A write after reads of a large file lands where the script's reads
// stopped, past none of what was read ahead (buffered, or read from the
// file and not yet buffered), and the reads go on after it.
func TestWriteAfterReadAhead(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
p = %q + "/big.txt"
fs.write(p, "".join(["line%%d\n" %% i for i in range(20000)]))
f = fs.open(p, "r+")
print(repr(f.read_line()), repr(f.read(3)))
f.write("XXX")
print(repr(f.read_line()), repr(f.read_line()))
print(len(f.read()))
f.close()
print(fs.read(p)[:24].split("\n"))
`, dir))
	require.NoError(t, err)
	assert.Equal(t, `"line0\n" "lin"
"line2\n" "line3\n"
188866
["line0", "linXXXline2", "line3", ""]
`, out)
}

// TestPermissions: an embedder's engine allows no file access unless its
// Options grant it, and the refusal names the option.
func TestPermissions(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	rw := filepath.Join(dir, "rw")
	require.NoError(t, os.Mkdir(ro, 0o755))
	require.NoError(t, os.Mkdir(rw, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ro, "f"), []byte("data"), 0o644))
	src := fmt.Sprintf(`
ro, rw = %q, %q
print(fs.read(ro + "/f"))
fs.write(rw + "/g", "x")
for f, args in [(fs.write, [ro + "/f", "y"]), (fs.read, [ro + "/../other"]), (fs.open, [ro + "/f", "r+"]), (fs.rename, [rw + "/g", ro + "/g"]), (fs.watch, [rw + "/../x"])]:
    print(catch(f, *args).error.message.replace(ro, "RO").replace(rw, "RW"))
`, ro, rw)
	out, err := run(t, loop.Permissions{Read: []string{ro, rw}, Write: []string{rw}}, src)
	require.NoError(t, err)
	assert.Equal(t, `data
permission: fs.write: writing RO/f denied (allow with --allow-write=PATH, or Permissions.Write)
permission: fs.read: reading RO/../other denied (allow with --allow-read=PATH, or Permissions.Read)
permission: fs.open: writing RO/f denied (allow with --allow-write=PATH, or Permissions.Write)
permission: fs.rename: writing RO/g denied (allow with --allow-write=PATH, or Permissions.Write)
permission: fs.watch: reading RW/../x denied (allow with --allow-read=PATH, or Permissions.Read)
`, out)

	_, err = run(t, loop.Permissions{}, fmt.Sprintf("fs.exists(%q)", ro))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "permission: fs.exists: reading "+ro+" denied")
}

// TestManyConcurrentReadsFewThreads: 5,000 tasks reading files at once
// share the bounded pool instead of each holding an OS thread.
func TestManyConcurrentReadsFewThreads(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(fmt.Sprint(i)), 0o644))
	}
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	out, err := run(t, all(), fmt.Sprintf(`
def reader(i):
    return int(fs.read(%q + "/" + str(i %% 50)))
tasks = [spawn(reader, i) for i in range(5000)]
vals = join(*tasks)
total = 0
for v in vals:
    total += v
print(len(vals), total)
`, dir))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("5000 %d\n", 100*(49*50/2)), out)
	made := threads.Count() - before
	t.Logf("threads created during 5,000 concurrent reads: %d", made)
	assert.Less(t, made, 2*loop.PoolSize+16, "threads created")
}

// TestCancelledRead: a task cancelled while its read waits in the pool
// queue fails with cancelled, and the others are unaffected.
func TestCancelledRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(p, []byte("ok"), 0o644))
	out, err := run(t, all(), fmt.Sprintf(`
tasks = [spawn(fs.read, %q) for i in range(100)]
tasks[50].cancel()
rs = join(*tasks, **{"settle": True})
print(rs[50].error.kind, len([r for r in rs if r.ok and r.value == "ok"]))
`, p))
	require.NoError(t, err)
	assert.Equal(t, "cancelled 99\n", out)
}

// TestWatch: a watch on a file reports writes, a replacement by rename,
// a rename away, and removal, and ignores its siblings; closing the channel ends it.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "conf.json")
	require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
	out, err := run(t, all(), fmt.Sprintf(`
p = %q
ch = fs.watch(p)
def events(n):
    got = []
    for _ in range(n):
        ev = ch.recv()
        got.append(ev.op)
        if ev.path != p:
            fail("path", ev.path)
    return got
fs.write(p + ".other", "ignored")
fs.append(p, "x")
print(events(1))
fs.write(p + ".tmp", "{}")
fs.rename(p + ".tmp", p)
print(events(1))
fs.rename(p, p + ".old")
print(events(1))
fs.rename(p + ".old", p)
print(events(1))
fs.remove(p)
print(events(1))
ch.close()
print(ch.recv())
`, p))
	require.NoError(t, err)
	assert.Equal(t, "[\"write\"]\n[\"create\"]\n[\"rename\"]\n[\"create\"]\n[\"remove\"]\nNone\n", out)
}

// TestWatchWaitKeepsRunAlive: a task waiting on a watch is not a deadlock;
// one waiting on a channel nobody feeds, with the watch merely open, is.
func TestWatchWaitKeepsRunAlive(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
ch = fs.watch(%q)
def writer():
    sleep(0.05)
    fs.write(%q + "/new", "")
spawn(writer)
ev = ch.recv()
print(ev.op, ev.path.endswith("/new"))
`, dir, dir))
	require.NoError(t, err)
	assert.Equal(t, "create True\n", out)

	_, err = run(t, all(), fmt.Sprintf(`
w = fs.watch(%q)
future().wait()
`, dir))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadlock")
}

// TestWatchesShareOneInstance: an engine's watches share one inotify
// instance, so there may be more than the kernel's 128 instances a user
// has (each watch had its own: the 129th failed, "too many open files",
// and a watch closed gave its instance back only later, so even one at a
// time failed). Each watch still gets its own events only, spelled from
// its own path; and closing one watch of a directory leaves another's of
// the same directory (the same kernel watch) in place.
func TestWatchesShareOneInstance(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
d = %q
fs.mkdir(d + "/a")
fs.mkdir(d + "/b")
fs.write(d + "/a/f", "")
for i in range(300):
    fs.watch(d + "/a").close()
wa = [fs.watch(d + "/a") for i in range(150)]
wb = [fs.watch(d + "/b") for i in range(150)]
wf = fs.watch(d + "/a/f")
def first(w):
    ev = timeout(5, w.recv)
    return ev.op + " " + ev.path[len(d):]
fs.write(d + "/a/x", "")
fs.write(d + "/b/y", "")
fs.append(d + "/a/f", "1")
print(set([first(w) for w in wa]), set([first(w) for w in wb]), first(wf))
for w in wa[:-1] + wb:
    w.close()
sleep(0.1)
while len(wa[-1]):
    wa[-1].recv()
fs.append(d + "/a/f", "2")
print(first(wa[-1]), first(wf))
wa[-1].close()
fs.append(d + "/a/f", "3")
print(first(wf))
wf.close()
`, dir))
	require.NoError(t, err)
	assert.Equal(t, `set(["create /a/x"]) set(["create /b/y"]) write /a/f
write /a/f write /a/f
write /a/f
`, out)
}

// TestFileReadRest: File.read() reads the rest in one read on the pool
// (stream.PumpOptions.Rest), after what was read ahead; a read() whose
// task stops waiting loses nothing; a write after it writes where the
// reads stopped, and the file reads on.
func TestFileReadRest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	body := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
	require.NoError(t, os.WriteFile(p, []byte("first\n"+body), 0o644))
	out, err := run(t, all(), fmt.Sprintf(`
p, n = %q, %d
f = fs.open(p)
rest = f.read(3) + f.read_line()
body = f.read()
print(rest, len(body), body[:16], f.read() == "")
g = fs.open(p)
t = spawn(g.read)
t.cancel()
r = catch(t.wait)
whole = r.value if r.ok else g.read()
print(len(whole) == n + 6, whole[:6])
h = fs.open(p, "r+")
h.read_line()
h.read()
h.write("tail")
print(repr(h.read()), len(fs.read(p)))
`, p, len(body)))
	require.NoError(t, err)
	assert.Equal(t, "first\n 4194304 0123456789abcdef True\nTrue first\n\n\"\" 4194314\n", out)
}

// TestPermissionsFollowLinks: a symbolic link inside an allowed directory
// does not open the way out of it, neither directly nor through "..".
func TestPermissionsFollowLinks(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.MkdirAll(filepath.Join(secret, "inner"), 0o755))
	require.NoError(t, os.Mkdir(allowed, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(secret, "key"), []byte("k"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(allowed, "ok"), []byte("fine"), 0o644))
	require.NoError(t, os.Symlink(secret, filepath.Join(allowed, "link")))
	require.NoError(t, os.Symlink(filepath.Join(secret, "inner"), filepath.Join(allowed, "inner")))
	out, err := run(t, loop.Permissions{Read: []string{allowed}, Write: []string{allowed}}, fmt.Sprintf(`
a = %q
print(fs.read(a + "/ok"))
for p in [a + "/link/key", a + "/inner/../key", a + "/link/new-file"]:
    print(catch(fs.read, p).error.kind)
print(catch(fs.write, a + "/link/new-file", "x").error.kind)
fs.write(a + "/new-file", "x")
print(fs.read(a + "/new-file"))
`, allowed))
	require.NoError(t, err)
	assert.Equal(t, "fine\npermission\npermission\npermission\npermission\nx\n", out)
}

// A read(n) with n far beyond the file's size returns what is there: it
// used to allocate n bytes first, which ended the process.
func TestFileReadHugeN(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, all(), fmt.Sprintf(`
p = %q + "/f.txt"
fs.write(p, "abc\ndef")
f = fs.open(p)
print(repr(f.read_line()), repr(f.read(1 << 50)), repr(f.read(1 << 50)))
f.close()
`, dir))
	require.NoError(t, err)
	assert.Equal(t, `"abc\n" "def" ""`+"\n", out)
}

// An fs.open whose task stopped waiting while the open(2) was under way
// closes the file it opened once that ends: it used to stay open until the
// garbage collector found it. The file is a FIFO, whose open for reading
// waits for a writer.
func TestAbandonedOpenClosesFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	mark := filepath.Join(dir, "cancelled")
	wrote := make(chan error, 1)
	go func() {
		// Open the writer's end once the task has given up.
		for {
			if _, err := os.Stat(mark); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			wrote <- err
			return
		}
		defer w.Close()
		// Once the reader's end is closed, a write fails with EPIPE.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := w.Write([]byte("x")); err != nil {
				wrote <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		wrote <- nil
	}()
	out, err := run(t, all(), fmt.Sprintf(`
t = spawn(fs.open, %q)
sleep(0.05)
t.cancel()
print(catch(t.wait).error.kind)
fs.write(%q, "")
sleep(0.5)  # the loop runs on while the open ends
`, fifo, mark))
	require.NoError(t, err)
	assert.Equal(t, "cancelled\n", out)
	assert.ErrorIs(t, <-wrote, syscall.EPIPE)
}

// A task reading a file (read, read_line) waits unwound, without a
// goroutine, while the pool reads the next chunk: the read runs again
// once the chunk has landed, and what it returns is what it returned
// waiting in place, lines split across chunks included.
func TestFileReadsWaitUnwound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.txt")
	line := fmt.Sprintf("%070000d\n", 7) // longer than a chunk: read_line waits twice
	require.NoError(t, os.WriteFile(p, []byte(line+"second\nrest"), 0o644))
	out, err := moduletest.RunWith(t, loop.Options{Permissions: all()}, starlark.StringDict{"fs": Module(), "unwound": moduletest.Unwound}, fmt.Sprintf(`
f = fs.open(%q)
def first():
    return len(f.read_line())
t = spawn(first)
sleep(0)
print(unwound([t]))
print(t.wait(), repr(f.read_line()), repr(f.read()))
`, p))
	require.NoError(t, err)
	assert.Equal(t, "[True]\n70001 \"second\\n\" \"rest\"\n", out)
}

// Opening, reading and writing a FIFO waits for the outside world (a
// writer, a reader), for as long as it takes: those waits run on
// goroutines of their own, not on the bounded pool, where more than
// loop.PoolSize of them stalled every file operation of every task.
func TestFIFOsDoNotStallThePool(t *testing.T) {
	dir := t.TempDir()
	for i := range loop.PoolSize + 4 {
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, fmt.Sprintf("fifo%d", i)), 0o600))
	}
	out, err := run(t, all(), fmt.Sprintf(`
d = %q
def consume(i):
    for line in fs.open(d + "/fifo%%d" %% i).lines():
        pass
waiting = [spawn(consume, i) for i in range(%d)]
sleep(0.1)
print(catch(timeout, 10, fs.write, d + "/other.txt", "written").error)
print([catch(timeout, 0.01, fs.read, d + "/fifo0").error.kind for i in range(3)])
print(fs.read(d + "/other.txt"))
for t in waiting:
    t.cancel()
`, dir, loop.PoolSize+4))
	require.NoError(t, err)
	assert.Equal(t, "None\n[\"timeout\", \"timeout\", \"timeout\"]\nwritten\n", out)
}

// fs.read stops reading once its task stops waiting: an endless file (a
// FIFO a writer keeps feeding, /dev/zero) was read on for ever, its
// memory growing. The writer here sees the reader close its end.
func TestAbandonedReadStops(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	writerDone := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			writerDone <- err
			return
		}
		defer f.Close()
		chunk := make([]byte, 64<<10)
		for {
			if _, err := f.Write(chunk); err != nil {
				writerDone <- err
				return
			}
		}
	}()
	out, err := run(t, all(), fmt.Sprintf("print(catch(timeout, 0.2, fs.read, %q).error)\n", fifo))
	require.NoError(t, err)
	assert.Equal(t, "timeout: deadline of 0.2s exceeded\n", out)
	select {
	case err := <-writerDone:
		assert.ErrorIs(t, err, syscall.EPIPE)
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned fs.read is still reading")
	}
}

// A path with a NUL byte is a value error, checked where every path a
// script names is resolved (loop.Engine.PlaceRead, PlaceWrite), in or
// out of a sandbox; it was io ("invalid argument") with the NUL printed
// raw.
func TestNULInPathIsAValueError(t *testing.T) {
	dir := t.TempDir()
	src := fmt.Sprintf(`
p = "a\x00.txt"
for f, args in [(fs.read, (p,)), (fs.write, (p, "x")), (fs.exists, (p,)), (fs.open, (p,)),
                (fs.rename, (%q + "/f", "b\x00")), (fs.listdir, ("\x00",)), (fs.mkdir, (p,)),
                (fs.read, (%q + "/" + "d" * 50 + "/a\x00b" + "c" * 50,))]:
    print(catch(f, *args).error)
`, dir, dir)
	want := `value: fs.read: path has a NUL byte at byte 1: "a\x00.txt"
value: fs.write: path has a NUL byte at byte 1: "a\x00.txt"
value: fs.exists: path has a NUL byte at byte 1: "a\x00.txt"
value: fs.open: path has a NUL byte at byte 1: "a\x00.txt"
value: fs.rename: path has a NUL byte at byte 1: "b\x00"
value: fs.listdir: path has a NUL byte at byte 0: "\x00"
value: fs.mkdir: path has a NUL byte at byte 1: "a\x00.txt"
value: fs.read: path has a NUL byte at byte ` + fmt.Sprint(len(dir)+53) + `: ..."dddddddddddddddddddddddddddd/a\x00bcccccccc"...
`
	for _, perms := range []loop.Permissions{all(), {Read: []string{dir}, Write: []string{dir}}} {
		out, err := run(t, perms, src)
		require.NoError(t, err)
		assert.Equal(t, want, out)
	}
}

// A write to a file is never cut short or left going on behind its task
// (loop.Offload's Finish): a timeout() that expires meanwhile is
// delivered once the write has ended, and a run that ends (its main
// fails) while a task writes waits for the write. An abandoned write
// went on after timeout() returned, under the next write, and was cut
// short when the process exited after the run.
func TestWritesAreNeverCutShort(t *testing.T) {
	dir := t.TempDir()
	const size = 32 << 20
	out, err := run(t, all(), fmt.Sprintf(`
d = %q
data = "x" * %d
r = catch(timeout, 0.0001, fs.write, d + "/a", data)
print(r.error.kind, fs.stat(d + "/a").size == len(data))
f = fs.open(d + "/b", "w")
r = catch(timeout, 0.0001, f.write, data)
print(r.error.kind, fs.stat(d + "/b").size == len(data))
f.close()
spawn(fs.write, d + "/c", data)
sleep(0)
fail("the end")
`, dir, size))
	require.ErrorContains(t, err, "the end")
	assert.Equal(t, "timeout True\ntimeout True\n", out)
	fi, err := os.Stat(filepath.Join(dir, "c"))
	require.NoError(t, err)
	assert.EqualValues(t, size, fi.Size(), "the write the run's end cancelled")
}

// One read returns at most stream.MaxWhole bytes (1 GiB; 1 MiB here):
// past it a read fails with value, naming the file, where reading
// /dev/zero grew the heap until the process died. Smaller reads go on.
func TestReadsAreBounded(t *testing.T) {
	defer stream.SetMaxWhole(1 << 20)()
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, 2<<20), 0o644))
	out, err := run(t, all(), fmt.Sprintf(`
big = %q
print(catch(fs.read, big).error)
print(catch(fs.read_bytes, "/dev/zero").error)
f = fs.open(big)
print(len(f.read(1 << 20)), len(f.read()))
f.close()
f = fs.open(big)
print(catch(f.read).error)
f.close()
z = fs.open("/dev/zero")
print(catch(z.read).error)
print(catch(z.read, 3 << 20).error)
print(len(z.read(100)), len(z.read(1 << 20)))
z.close()
`, big))
	require.NoError(t, err)
	tail := "more than 1048576 bytes to read at once"
	assert.Equal(t, "value: fs.read: "+big+": "+tail+": read it in pieces (fs.open, File.read(n), File.lines())\n"+
		"value: fs.read_bytes: /dev/zero: "+tail+": read it in pieces (fs.open, File.read(n), File.lines())\n"+
		"1048576 1048576\n"+
		"value: File.read: "+big+": "+tail+": read it in pieces (fs.open, File.read(n), File.lines())\n"+
		"value: File.read: "+tail+" from /dev/zero: read it in pieces (read(n), lines())\n"+
		"value: File.read: "+tail+" from /dev/zero: read it in pieces (read(n), lines())\n"+
		"100 1048576\n", out)
}
