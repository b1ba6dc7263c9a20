package net_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startFile runs the script at path in-process (network allowed).
func startFile(t *testing.T, path string, args ...string) *scripttest.Run {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	return startScript(t, path, string(src), args...)
}

// startScript runs src in-process on its own engine (network allowed).
func startScript(t *testing.T, name, src string, args ...string) *scripttest.Run {
	t.Helper()
	return scripttest.Start(t, name, src, 60*time.Second, args...)
}

// TestUnixPort: a unix socket has no port, even where its path looks as
// if it ended in one.
// A unix socket is a file: it needs the write grant of its folder.
func TestUnixPort(t *testing.T) {
	dir := t.TempDir()
	out, err := moduletest.Run(t, loop.Permissions{Net: true, Write: []string{dir}}, "net", netmod.Module(), `
ln = net.listen("unix:`+dir+`/s:80")
print(ln.port)
ln.close()
`)
	require.NoError(t, err)
	require.Equal(t, "0\n", out)
}

// TestUnixUnnamedPeer: the dialing end of a unix socket has no name, and
// its address is "" (Go writes "@", an abstract socket's prefix); the
// listening end's is its path.
func TestUnixUnnamedPeer(t *testing.T) {
	dir := t.TempDir()
	out, err := moduletest.Run(t, loop.Permissions{Net: true, Write: []string{dir}}, "net", netmod.Module(), `
ln = net.listen("unix:`+dir+`/u.sock")
c = net.dial(ln.addr)
s = ln.accept()
print(repr(c.local_addr), repr(s.remote_addr), c.remote_addr == ln.addr, s.local_addr == ln.addr)
c.close()
s.close()
ln.close()
`)
	require.NoError(t, err)
	require.Equal(t, "\"\" \"\" True True\n", out)
}

// TestCancelledTaskDoesNotSend: a cancelled task fails send_to, recv_from
// and dial as it fails every wait, without sending the datagram (or
// making the connection) first.
func TestCancelledTaskDoesNotSend(t *testing.T) {
	r := startScript(t, "cancelled.star", `
a = net.udp("127.0.0.1:0")
b = net.udp("127.0.0.1:0")
ln = net.listen("127.0.0.1:0")
a.send_to("queued", b.addr)
def late():
    catch(sleep, 10)
    print(catch(a.send_to, "late", b.addr).error)
    print(catch(b.recv_from).error)
    print(catch(net.dial, ln.addr).error)
t = spawn(late)
sleep(0.01)
t.cancel()
print(catch(t.wait).error)
print(b.recv_from()[0])
print(catch(timeout, 0.1, b.recv_from).error)
print(str(catch(ln.accept, timeout=0.1).error).replace(ln.addr, "LN"))
`)
	for _, want := range []string{"cancelled: cancelled", "cancelled: cancelled", "cancelled: cancelled", "None",
		"queued", "timeout: deadline of 0.1s exceeded", "timeout: Listener.accept on LN exceeded 0.1s"} {
		require.Equal(t, want, r.Stdout.Next(t))
	}
	require.NoError(t, r.Wait(t))
}

// TestBadPort: a port that is no number in range nor a known service
// name is a bad address, `value`, naming the address, whichever call it
// is given to (Go found it only when dialing or binding, as an io
// error: "lookup tcp/abc: unknown port"); a service name still works.
// So is an empty port (listen picked a random one, dial dialled port 0;
// port 0 is the one that picks a free port), a sign, a blank.
func TestBadPort(t *testing.T) {
	out, err := moduletest.Run(t, loop.Permissions{Net: true}, "net", netmod.Module(), `
print(catch(net.listen, "127.0.0.1:abc").error)
print(catch(net.dial, "127.0.0.1:99999").error)
print(catch(net.dial, "127.0.0.1:-1").error)
print(catch(net.udp, "127.0.0.1:abc").error)
s = net.udp("127.0.0.1:0")
print(catch(s.send_to, "x", "127.0.0.1:70000").error)
for a in ["127.0.0.1:", "127.0.0.1: 80", "127.0.0.1:\t22", "127.0.0.1:+80", "127.0.0.1:-0", "127.0.0.1:80 ", "127.0.0.1:8.0"]:
    print(catch(net.listen, a).error)
    print(catch(net.dial, a).error)
    print(catch(net.udp, a).error)
    print(catch(s.send_to, "x", a).error)
s.close()
r = catch(net.dial, "127.0.0.1:http", timeout=5)
print(r.ok or r.error.kind != "value")
for a in [":0", "127.0.0.1:0", "127.0.0.1:00"]:
    ln = net.listen(a)
    print(ln.port > 0)
    ln.close()
`)
	require.NoError(t, err)
	want := `value: net.listen: bad address "127.0.0.1:abc": unknown port
value: net.dial: bad address "127.0.0.1:99999": invalid port
value: net.dial: bad address "127.0.0.1:-1": invalid port
value: net.udp: bad address "127.0.0.1:abc": unknown port
value: Socket.send_to: bad address "127.0.0.1:70000": invalid port
`
	for _, c := range []struct{ addr, why string }{
		{`127.0.0.1:`, "no port"}, {`127.0.0.1: 80`, "invalid port"}, {`127.0.0.1:\t22`, "invalid port"},
		{`127.0.0.1:+80`, "invalid port"}, {`127.0.0.1:-0`, "invalid port"}, {`127.0.0.1:80 `, "invalid port"},
		{`127.0.0.1:8.0`, "invalid port"},
	} {
		for _, fn := range []string{"net.listen", "net.dial", "net.udp", "Socket.send_to"} {
			want += fmt.Sprintf("value: %s: bad address \"%s\": %s\n", fn, c.addr, c.why)
		}
	}
	require.Equal(t, want+"True\nTrue\nTrue\nTrue\n", out)
}

// TestWriteAfterCloseWrite: a write (even of nothing) after the script's
// own close_write fails with closed, saying so, on a TCP, a unix and a
// TLS connection, and the connection still reads what the peer sends
// back; close_write again does nothing. A plain or unix socket said
// "reset: Conn.write: broken pipe", as if the peer had done something;
// TLS "io: Conn.write: TLS handshake failed: protocol is shutdown".
func TestWriteAfterCloseWrite(t *testing.T) {
	r := startScript(t, "closewrite.star", `
def check(ln, dial):
    def serve():
        s = ln.accept()
        data = ""
        for _ in range(100):
            d = s.read()
            if d == "":
                break
            data += d
        s.write("echo: " + data)
        s.close()
    t = spawn(serve)
    c = dial(ln.addr)
    c.write("abc")
    c.close_write()
    print(catch(c.close_write).ok, catch(c.write, "x").error, catch(c.write, "").error)
    print(repr(c.read()), repr(c.read()))
    c.close()
    t.wait()
    ln.close()

check(net.listen("127.0.0.1:0"), net.dial)
check(net.listen("unix:" + os.args[0] + "/s.sock"), net.dial)
cert, key = net.self_signed()
check(net.listen("127.0.0.1:0", cert=cert, key=key), lambda a: net.dial(a, tls=True, ca=cert))
`, t.TempDir())
	for range 3 {
		require.Equal(t, `True closed: Conn.write: the write side is closed (close_write) closed: Conn.write: the write side is closed (close_write)`, r.Stdout.Next(t))
		require.Equal(t, `"echo: abc" ""`, r.Stdout.Next(t))
	}
	require.NoError(t, r.Wait(t), r.Stderr.String())
}

// TestReadFailureNamesEachRead: once a read fails (the peer reset the
// connection), every later read fails so too, each naming itself: read
// after read_line said "reset: Conn.read_line: connection reset by
// peer".
func TestReadFailureNamesEachRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.Write([]byte("hello\n"))
		bufio.NewReader(c).ReadString('\n') // the script read hello
		c.(*net.TCPConn).SetLinger(0)       // close sends RST
		c.Close()
	}()
	r := startScript(t, "reset.star", `
c = net.dial(os.args[0])
print(repr(c.read_line()))
c.write("ok\n")
print(catch(c.read_line).error)
print(catch(c.read).error)
print(catch(c.read_exactly, 3).error)
print(catch(lambda: list(c.lines())).error)
print(catch(c.read_line).error)
`, ln.Addr().String())
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, `"hello\n"
reset: Conn.read_line: connection reset by peer
reset: Conn.read: connection reset by peer
reset: Conn.read_exactly: connection reset by peer
reset: Conn.lines: connection reset by peer
reset: Conn.read_line: connection reset by peer
`, r.Stdout.String())
}

// TestWriteToGonePeerRaisesNoSignal: a write to a peer that has closed
// its connection fails with a broken pipe and raises no SIGPIPE (the
// loop sends with MSG_NOSIGNAL, rawio.go): a host that listens for
// SIGPIPE hears nothing. Written with write(2), each such write raised
// one.
func TestWriteToGonePeerRaisesNoSignal(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector the loop writes with write(2) (rawio_race.go)")
	}
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGPIPE)
	defer signal.Stop(sig)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	r := startScript(t, "gone.star", `
c = net.dial(os.args[0])
print(repr(c.read()))  # the peer closed
# The first write reaches the closed socket, which answers with a
# reset; a write after that fails.
err = None
for _ in range(500):
    r = catch(c.write, "x")
    if not r.ok:
        err = r.error
        break
    sleep(0.01)
print(err)
`, ln.Addr().String())
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, "\"\"\nreset: Conn.write: broken pipe\n", r.Stdout.String())
	// A signal raised reaches the channel a moment later, through the
	// runtime's signal goroutine.
	select {
	case s := <-sig:
		t.Fatalf("a write to the gone peer raised %v", s)
	case <-time.After(200 * time.Millisecond):
	}
}

// unanswered returns the address of a TCP listener on loopback that
// answers no connection: its accept queue (backlog 0) is full of
// connections it never accepts, so the kernel drops the SYN of any
// other, which waits for an answer until it gives up.
func unanswered(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for {
		// Fill the queue until a connection is left unanswered.
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "dial: %v", err)
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
}

// TestTimeoutsNameTheAddress: a dial's timeout names the address dialled
// (a refusal did, the timeout said only "net.dial exceeded 0.3s"), an
// accept's the listener's.
func TestTimeoutsNameTheAddress(t *testing.T) {
	addr := unanswered(t)
	r := startScript(t, "timeouts.star", `
print(catch(net.dial, os.args[0], timeout=0.3).error)
print(catch(net.dial, os.args[0], timeout=0.2, tls=True, insecure=True).error)
ln = net.listen("127.0.0.1:0")
print(str(catch(ln.accept, timeout=0.2).error).replace(ln.addr, "LN"))
ln.close()
`, addr)
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, "timeout: net.dial to "+addr+" exceeded 0.3s\n"+
		"timeout: net.dial to "+addr+" exceeded 0.2s\n"+
		"timeout: Listener.accept on LN exceeded 0.2s\n", r.Stdout.String())
}

// TestCloseInterruptsWrite: close() ends a write still waiting for the
// peer to take its data with the error a read it interrupts gets,
// "connection is closed", over TCP and TLS (the write said "use of
// closed connection", Go's words).
func TestCloseInterruptsWrite(t *testing.T) {
	r := startScript(t, "closewrite.star", `
def check(ln, dial):
    def serve():
        s = ln.accept()
        s.write("") # makes the handshake of a TLS one; reads nothing
        return s
    t = spawn(serve)
    c = dial(ln.addr)
    s = t.wait() # never reads: the write below waits
    w = spawn(lambda: catch(c.write, "x" * (64 << 20)).error)
    rd = spawn(lambda: catch(c.read).error)
    sleep(0.2)
    c.close()
    print(w.wait())
    print(rd.wait())
    print(catch(c.write, "x").error)
    s.close()
    ln.close()

check(net.listen("127.0.0.1:0"), net.dial)
cert, key = net.self_signed()
check(net.listen("127.0.0.1:0", cert=cert, key=key), lambda a: net.dial(a, tls=True, ca=cert))
`)
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, strings.Repeat("closed: Conn.write: connection is closed\nclosed: Conn.read: connection is closed\nclosed: Conn.write: connection is closed\n", 2),
		r.Stdout.String())
}

// TestUnixPathTooLong: a unix socket path longer than a socket address
// holds (107 bytes, 108 for an abstract name) is a value error saying
// so, for listen and dial: it was "io: net.listen: unix:/...: invalid
// argument", bind(2)'s EINVAL. In a sandbox a listener is bound by its
// folder's descriptor: the limit is on the file's name, and a long path
// to a short name works, for dial too.
func TestUnixPathTooLong(t *testing.T) {
	dir := t.TempDir()
	path := func(n int) string { return dir + "/" + strings.Repeat("a", n-len(dir)-1) }
	out, err := moduletest.Run(t, loop.Permissions{Net: true, Write: []string{"/"}}, "net", netmod.Module(), fmt.Sprintf(`
def first(s):
    return s[:s.index(": unix:") + 7] + "..." + s[s.index(": path"):]
for p in [%q, %q]:
    r = catch(net.listen, "unix:" + p)
    print(len(p), r.error or r.value.close())
long = %q
print(first(str(catch(net.listen, "unix:" + long).error)))
print(first(str(catch(net.dial, "unix:" + long).error)))
for n in [108, 109]:
    r = catch(net.listen, "unix:@" + "x" * (n - 1))
    print(n, r.error and first(str(r.error)) or r.value.close())
`, path(100), path(107), path(108)))
	require.NoError(t, err)
	assert.Equal(t, `100 None
107 None
value: net.listen: unix:...: path too long for a unix socket (108 bytes; the limit is 107)
value: net.dial: unix:...: path too long for a unix socket (108 bytes; the limit is 107)
108 None
109 value: net.listen: unix:...: path too long for a unix socket (109 bytes; the limit is 108)
`, out)

	deep := filepath.Join(dir, strings.Repeat("d", 100))
	require.NoError(t, os.Mkdir(deep, 0o755))
	out, err = moduletest.Run(t, loop.Permissions{Net: true, Write: []string{dir}}, "net", netmod.Module(), fmt.Sprintf(`
deep = %q
ln = net.listen("unix:" + deep + "/s.sock")
spawn(lambda: ln.accept().write("hi\n"))
print(len(ln.addr), net.dial(ln.addr).read_line().strip())
ln.close()
e = str(catch(net.listen, "unix:" + deep + "/" + "b" * 120).error)
print(e[:e.index(": unix:")] + e[e.index(": file name"):e.index(" (")])
`, deep))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d hi\nvalue: net.listen: file name too long for a unix socket in a sandbox, which binds it by its folder\n", len("unix:"+deep+"/s.sock")), out)
}
