package proc

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/corolang/coro/stdlib/internal/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runScript executes src on a fresh engine whose scripts see the core builtins
// and proc, with perms, and returns what it printed.
func runScript(t *testing.T, perms loop.Permissions, src string) (string, error) {
	t.Helper()
	return moduletest.Run(t, perms, "proc", Module(), src)
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out, err := runScript(t, loop.AllPermissions(), fmt.Sprintf(`
r = proc.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
print(r.code, repr(r.stdout), repr(r.stderr))
r = proc.run(["cat"], stdin="piped\n")
print(r.code, repr(r.stdout))
r = proc.run(["sh", "-c", "echo $FOO; pwd"], env={"FOO": "bar"}, cwd=%q)
print(r.stdout.split("\n")[:2] == ["bar", %q])
r = proc.run(["sh", "-c", "kill -TERM $$"])
print(r.code)
for args in [["no-such-command-xyz"], [], [""], ["", "x"]]:
    print(catch(proc.run, args).error)
print(catch(proc.run, "echo hi").error)
`, dir, dir))
	require.NoError(t, err)
	assert.Equal(t, `3 "out\n" "err\n"
0 "piped\n"
True
-15
not_found: proc.run: no-such-command-xyz: executable file not found in $PATH
value: proc.run: argv is empty
value: proc.run: argv[0], the program, is empty
value: proc.run: argv[0], the program, is empty
value: proc.run: for parameter argv: got string, want a list of strings
`, out)
}

// TestRunTimeoutKills: past its timeout the child is killed and run fails
// with timeout; meanwhile other tasks run.
func TestRunTimeoutKills(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
def ticker():
    for i in range(3):
        sleep(0.01)
    return "ticked"
tk = spawn(ticker)
r = catch(proc.run, ["sleep", "30"], timeout=0.3)
print(r.error)
print(tk.wait())
`)
	require.NoError(t, err)
	assert.Equal(t, "timeout: proc.run exceeded 0.3s\nticked\n", out)
}

// TestStartStreams: lines arrive as the child prints them (the child
// waits for our reply before printing the next), stdin is a writer, and
// wait returns the exit code.
func TestStartStreams(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["sh", "-c", "echo ready; read x; echo got $x; echo oops >&2; exit 7"])
print(repr(p.stdout.read_line()))
p.stdin.write("ping\n")
print([l for l in p.stdout.lines()])
print(repr(p.stderr.read()), repr(p.stderr.read()))
p.stdin.close()
print(p.wait(), p.code, p.done)
p.kill()  # after exit: nothing
print(catch(p.stdin.write, "x").error)
`)
	require.NoError(t, err)
	assert.Equal(t, `"ready\n"
["got ping\n"]
"oops\n" ""
7 7 True
closed: Writer.write: stdin of pid PID is closed
`, replacePID(out))
}

func replacePID(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if bytes.HasPrefix([]byte(s[i:]), []byte("pid ")) {
			b.WriteString("pid PID")
			i += 4
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			i--
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestKillAndCancelledRead: a task blocked reading a silent child can be
// cancelled; kill ends the child and wait reports the signal.
func TestKillAndCancelledRead(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["sleep", "30"])
reader = spawn(p.stdout.read)
sleep(0.05)
reader.cancel()
print(catch(reader.wait).error.kind)
p.kill("KILL")
print(p.wait())
print(repr(p.stdout.read()))
print(catch(p.kill, "BOGUS").error)
`)
	require.NoError(t, err)
	assert.Equal(t, "cancelled\n-9\n\"\"\nvalue: Process.kill: unknown signal \"BOGUS\" (want TERM, KILL, INT, HUP, QUIT, USR1, USR2, STOP or CONT)\n", out)
}

// TestPipelineBackpressure: a large output is read in full across many
// chunks, and a large stdin write completes while the child drains it.
func TestLargeTransfer(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["cat"])
data = "x" * 1000000
def feed():
    p.stdin.write(data)
    p.stdin.close()
spawn(feed)
n = 0
while True:
    s = p.stdout.read()
    if s == "":
        break
    n += len(s)
print(n, p.wait())
`)
	require.NoError(t, err)
	assert.Equal(t, "1000000 0\n", out)
}

// TestStartWithStdin: stdin given to start is fed, then closed.
func TestStartWithStdin(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["wc", "-l"], stdin="a\nb\nc\n")
print(p.stdout.read().strip(), p.wait(), p.stdin.closed)
print(catch(p.stdin.write, "more").error.kind)
`)
	require.NoError(t, err)
	assert.Equal(t, "3 0 True\nclosed\n", out)
}

// stderr="discard" and stderr="stdout" (asyncio's DEVNULL and STDOUT):
// a child that writes a megabyte to stderr while the script reads only
// stdout finishes, where with a pipe nobody reads it stalls once the pipe
// is full; the Process's stderr is then at its end.
func TestStartStderrOption(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["sh", "-c", "head -c 1000000 /dev/zero >&2; echo out; echo err >&2"], stderr="discard")
print([l for l in p.stdout.lines()], repr(p.stderr.read()), p.wait())
def drain(s):
    n = 0
    while True:
        d = s.read()
        if d == "":
            return n
        n += len(d)
p = proc.start(["sh", "-c", "head -c 1000000 /dev/zero >&2; echo out"], stderr="stdout")
print(drain(p.stdout), repr(p.stderr.read()), p.wait())
p = proc.start(["sh", "-c", "echo err >&2"], stderr="pipe")
print(repr(p.stderr.read()), p.wait())
print(catch(proc.start, ["true"], stderr="null").error)
`)
	require.NoError(t, err)
	assert.Equal(t, `["out\n"] "" 0
1000004 "" 0
"err\n" 0
value: proc.start: stderr="null": want "pipe", "stdout" or "discard"
`, out)
}

func TestPermission(t *testing.T) {
	out, err := runScript(t, loop.Permissions{}, `
print(catch(proc.run, ["true"]).error)
print(catch(proc.start, ["true"]).error)
`)
	require.NoError(t, err)
	assert.Equal(t, `permission: proc.run: running processes denied (allow with --allow-run, or Permissions.Run)
permission: proc.start: running processes denied (allow with --allow-run, or Permissions.Run)
`, out)
}

// TestWaitingProcessIsNotDeadlock: a task waiting on a child that exits
// by itself is not a deadlock, whether it waits with .wait(), the wait and
// join builtins, or reads its output.
func TestWaitingProcessIsNotDeadlock(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["sh", "-c", "sleep 0.1; echo done"])
print(p.wait(), p.stdout.read())
p = proc.start(["sh", "-c", "sleep 0.1; exit 2"])
print(wait(p))
p = proc.start(["sh", "-c", "sleep 0.1; exit 3"])
print(join(p, timeout=30))
p = proc.start(["sh", "-c", "sleep 0.1; echo out"])
print(p.stdout.read_line())
`)
	require.NoError(t, err)
	assert.Equal(t, "0 done\n\n2\n[3]\nout\n\n", out)
}

// Cancelling one of two tasks writing to a child's stdin abandons only its
// own write: the other used to fail with an i/o timeout, as the deadline
// that unblocks the cancelled write applied to every write in flight.
func TestCancelledWriteSparesOtherWriter(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
p = proc.start(["sh", "-c", "sleep 0.5; cat > /dev/null"])
big = "x" * 300000
a = spawn(p.stdin.write, big)
b = spawn(p.stdin.write, big)
sleep(0.1)
a.cancel()
ra = catch(a.wait)
rb = catch(b.wait)
print(ra.error.kind, rb.ok, rb.error)
p.stdin.close()
print(p.wait())
`)
	require.NoError(t, err)
	assert.Equal(t, "cancelled True None\n0\n", out)
}

// TestBadWorkingDirectory: a cwd that is missing or not a directory is
// named as the fault, not the program (the child's chdir and its exec
// fail alike, and exec's error names the program); a missing program in
// a good cwd is still the program's fault.
func TestBadWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/file"
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	out, err := runScript(t, loop.AllPermissions(), fmt.Sprintf(`
dir, file = %q, %q
for f in [proc.run, proc.start]:
    for d in [dir + "/nope", file, file + "/sub"]:
        print(catch(f, ["pwd"], cwd=d).error)
    print(catch(f, ["./nope"], cwd=dir).error)
`, dir, file))
	require.NoError(t, err)
	assert.Equal(t, strings.ReplaceAll(strings.ReplaceAll(`not_found: proc.run: cwd DIR/nope: no such file or directory
io: proc.run: cwd FILE: not a directory
io: proc.run: cwd FILE/sub: not a directory
not_found: proc.run: ./nope: no such file or directory
not_found: proc.start: cwd DIR/nope: no such file or directory
io: proc.start: cwd FILE: not a directory
io: proc.start: cwd FILE/sub: not a directory
not_found: proc.start: ./nope: no such file or directory
`, "FILE", file), "DIR", dir), out)
}

// A NUL byte in what goes to the system (argv, env, cwd), or an env name
// that is empty or has a '=', is a value error naming which argument,
// the NUL escaped; it was the start's io error ("echo: invalid
// argument").
func TestNULAndBadEnvNamesAreValueErrors(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
for f, args, kw in [
    (proc.run, (["echo", "a\x00b"],), {}),
    (proc.start, (["ec\x00ho"],), {}),
    (proc.run, (["echo"],), {"env": {"A": "a\x00"}}),
    (proc.run, (["echo"],), {"env": {"A\x00": "a"}}),
    (proc.run, (["echo"],), {"env": {"A=B": "1"}}),
    (proc.start, (["echo"],), {"env": {"": "1"}}),
    (proc.run, (["echo"],), {"cwd": "/tmp\x00"}),
    (proc.run, (["echo", "x" * 50 + "\x00"],), {}),
]:
    print(catch(f, *args, **kw).error)
print(proc.run(["sh", "-c", "echo $A"], env={"A": "b=c"}).stdout)
`)
	require.NoError(t, err)
	assert.Equal(t, `value: proc.run: argv[1] has a NUL byte at byte 1: "a\x00b"
value: proc.start: argv[0] has a NUL byte at byte 2: "ec\x00ho"
value: proc.run: env["A"] has a NUL byte at byte 1: "a\x00"
value: proc.run: env name has a NUL byte at byte 1: "A\x00"
value: proc.run: env name "A=B" has a '=' (the system splits NAME=VALUE at the first)
value: proc.start: env name is empty
value: proc.run: cwd has a NUL byte at byte 4: "/tmp\x00"
value: proc.run: argv[1] has a NUL byte at byte 50: ..."xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\x00"
b=c

`, out)
}

// proc.run collects at most stream.MaxWhole bytes (1 GiB; 1 MiB here) of
// each stream: past it the child is killed and the run fails with value,
// where "yes" grew the heap until the process died. Up to it is fine.
func TestRunOutputIsBounded(t *testing.T) {
	defer stream.SetMaxWhole(1 << 20)()
	out, err := runScript(t, loop.AllPermissions(), `
print(catch(proc.run, ["yes"]).error)
print(catch(proc.run, ["sh", "-c", "head -c 3000000 /dev/zero >&2"]).error)
print(len(proc.run(["head", "-c", "1048576", "/dev/zero"]).stdout))
`)
	require.NoError(t, err)
	assert.Equal(t, `value: proc.run: "yes" wrote more than 1048576 bytes to its stdout (the most proc.run collects): read it as it comes with proc.start
value: proc.run: "sh" wrote more than 1048576 bytes to its stderr (the most proc.run collects): read it as it comes with proc.start
1048576
`, out)
}

// A long argv is clipped where it is shown (str(Process), waiting_on),
// as every script string in a message is: a megabyte of argv was all of
// each.
func TestLongArgvIsClipped(t *testing.T) {
	out, err := runScript(t, loop.AllPermissions(), `
args = ["sh", "-c", "sleep 0.2", "x"] + ["a" * 100000] * 10
t = spawn(proc.run, args)
sleep(0.05)
w = [i.waiting_on for i in tasks() if i.name != "main"][0]
print(len(w) < 300, "... (1000027 bytes) (pid " in w)
p = proc.start(args)
print(len(str(p)) < 300, "... (1000027 bytes)" in str(p))
p.wait()
t.wait()
`)
	require.NoError(t, err)
	assert.Equal(t, "True True\nTrue True\n", out)
}
