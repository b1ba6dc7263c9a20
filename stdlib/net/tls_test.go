package net_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// runToEnd runs src to its end and returns its stdout. The network is
// allowed, and reading the temporary folders (certificate files).
func runToEnd(t *testing.T, src string, args ...string) string {
	t.Helper()
	r := startReading(t, src, args...)
	require.NoError(t, r.Wait(t), r.Stderr.String())
	return r.Stdout.String()
}

// startReading starts src as startScript does, with the temporary
// folders readable too.
func startReading(t *testing.T, src string, args ...string) *scripttest.Run {
	t.Helper()
	return scripttest.StartWith(t, engine.Options{Permissions: engine.Permissions{Net: true, Read: []string{os.TempDir()}}}, "tls.star", src, 60*time.Second, args...)
}

// need skips the test when a tool is missing (.ci/run installs them).
func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed (.ci/run installs it)", tool)
	}
}

// writeFiles writes name → content files into a new temporary folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

// echoServer is a script fragment: serve(ln) answers each connection's
// lines with "echo: " + line until its end, and sends a connection's
// failure to the channel failures (the listener keeps accepting).
const echoServer = `
failures = channel(100)
def serve(ln):
    def one(conn):
        r = catch(lambda: [conn.write("echo: " + line) for line in conn.lines()])
        if r.error:
            failures.send(r.error)
        conn.close()
    for conn in ln:
        spawn(one, conn)
`

// TestTLSDialAndListen: SPEC 12 end to end between two scripts'
// sockets, with a certificate of net.self_signed: verified by ca, by
// name (the default is the address's host; server_name overrides it);
// insecure skips verification; every failure is io and says why; a
// TLS Conn has the plain Conn's methods.
func TestTLSDialAndListen(t *testing.T) {
	out := runToEnd(t, echoServer+`
cert, key = net.self_signed()
ln = net.listen("127.0.0.1:0", cert=cert, key=key)
port = ln.port
spawn(serve, ln)

c = net.dial(ln.addr, tls=True, ca=cert)
print(type(c), str(c).endswith(" tls>"), c.remote_addr == ln.addr, c.local_addr != "")
c.write("one\n")
c.write(b"two\nthree")
c.close_write()
print([l for l in c.lines()])
print(repr(c.read()))
c.close()
print(catch(c.read).error)

c = net.dial("localhost:%d" % port, tls=True, ca=cert, timeout=10)
c.write("by name\n")
print(c.read_line().strip())
c.close()

c = net.dial(ln.addr, tls=True, insecure=True)
c.write("insecure\n")
print(c.read_exactly(8))
c.close()

print(catch(net.dial, ln.addr, tls=True).error)
print(catch(net.dial, ln.addr, tls=True, ca=cert, server_name="example.com").error)
c = net.dial(ln.addr, tls=True, ca=cert, server_name="localhost")
c.close()
for _ in range(2):
    print("server:", failures.recv())
ln.close()
`)
	assert.Equal(t, `Conn True True True
["echo: one\n", "echo: two\n", "echo: three"]
""
closed: Conn.read: connection is closed
echo: by name
echo: in
io: net.dial: TLS handshake with 127.0.0.1:PORT failed: certificate signed by an unknown authority (give its CA with ca=, or skip verification with insecure=True)
io: net.dial: TLS handshake with 127.0.0.1:PORT failed: name mismatch: certificate is valid for localhost, not example.com
server: io: Conn.lines: TLS handshake with 127.0.0.1:PEER failed: the peer refused it: bad certificate
server: io: Conn.lines: TLS handshake with 127.0.0.1:PEER failed: the peer refused it: bad certificate
`, ports(out))
}

// ports replaces the port numbers of 127.0.0.1 addresses in messages:
// the listener's by PORT, the peers' (after "with" on server lines) by
// PEER.
func ports(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		word := "PORT"
		if strings.HasPrefix(line, "server:") {
			word = "PEER"
		}
		if i := strings.Index(line, "127.0.0.1:"); i >= 0 {
			j := i + len("127.0.0.1:")
			k := j
			for k < len(line) && line[k] >= '0' && line[k] <= '9' {
				k++
			}
			line = line[:j] + word + line[k:]
		}
		b.WriteString(line)
	}
	return b.String()
}

// TestTLSArguments: what net.dial, net.listen and net.self_signed refuse,
// as value errors.
func TestTLSArguments(t *testing.T) {
	out := runToEnd(t, `
cert, key = net.self_signed(["localhost"])
ln = net.listen("127.0.0.1:0")
for f in [
    lambda: net.dial(ln.addr, ca=cert),
    lambda: net.dial(ln.addr, insecure=True),
    lambda: net.dial(ln.addr, tls=True, ca="-----BEGIN nothing"),
    lambda: net.dial(ln.addr, tls=True, ca=1),
    lambda: net.dial(ln.addr, tls=True, server_name=""),
    lambda: net.dial("unix:/tmp/none.sock", tls=True),
    lambda: net.listen("127.0.0.1:0", cert=cert),
    lambda: net.listen("127.0.0.1:0", cert=cert, key=cert),
    lambda: net.self_signed([]),
    lambda: net.self_signed("localhost"),
    lambda: net.self_signed([""]),
    lambda: net.lookup(""),
]:
    print(catch(f).error)
ln.close()
`)
	assert.Equal(t, `value: net.dial: server_name, ca and insecure need tls=True
value: net.dial: server_name, ca and insecure need tls=True
value: net.dial: ca: no PEM certificate in it
value: net.dial: ca: got int, want string or bytes
value: net.dial: server_name "" is empty
value: net.dial: a TLS connection over a unix socket needs server_name (or insecure=True)
value: net.listen: cert and key go together: give both or neither
value: net.listen: cert and key: found a certificate rather than a key in the PEM for the private key
value: net.self_signed: hosts: empty list
value: net.self_signed: hosts: got string, want a list of strings
value: net.self_signed: hosts[0] "" is empty
value: net.lookup: host "" is empty
`, out)
}

// TestTLSPlainClientFailsFirstRead: SPEC 12, a client that does not
// speak TLS is accepted; the accepted connection's first read fails with
// io, and so does every later one, naming itself (read_line's said
// Conn.read, the first read's name).
func TestTLSPlainClientFailsFirstRead(t *testing.T) {
	out := runToEnd(t, `
cert, key = net.self_signed()
ln = net.listen("127.0.0.1:0", cert=cert, key=key)
c = net.dial(ln.addr)
c.write("GET / HTTP/1.0\r\n\r\n")
s = ln.accept()
print(type(s))
print(catch(s.read).error.kind, catch(s.read_line).error)
print(catch(s.write, "x").error.kind)
s.close()
print(repr(c.read()))
c.close()
ln.close()
`)
	assert.Equal(t, "Conn\nio io: Conn.read_line: TLS handshake with PEER failed: the peer does not speak TLS\nio\n\"\"\n",
		strings.Replace(out, strings.Fields(strings.Split(out, "with ")[1])[0], "PEER", 1))
}

// TestTLSWithPython: python3's ssl module as the peer both ways. As a
// client of a listener whose certificate openssl made (cert and key
// given as paths), verified with that certificate; as a server, with a
// certificate of net.self_signed given to net.dial as a ca path.
func TestTLSWithPython(t *testing.T) {
	need(t, "python3")
	need(t, "openssl")
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "crt.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
		"-keyout", key, "-out", crt).CombinedOutput()
	require.NoError(t, err, string(out))

	t.Run("client", func(t *testing.T) {
		r := startReading(t, echoServer+`
ln = net.listen("127.0.0.1:0", cert=os.args[0], key=os.args[1])
print(ln.port)
c = ln.accept()
for line in c.lines():
    c.write("echo: " + line)
c.close()
ln.close()
`, crt, key)
		port := r.Stdout.Next(t)
		py := exec.Command("python3", "-c", `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"from python\n")
        f = s.makefile("rb")
        print(f.readline().decode().strip(), s.version().startswith("TLS"))
`, crt, port)
		out, err := py.CombinedOutput()
		require.NoError(t, err, string(out))
		assert.Equal(t, "echo: from python True\n", string(out))
		require.NoError(t, r.Wait(t), r.Stderr.String())
	})

	t.Run("server", func(t *testing.T) {
		cert, pkey, err := netmod.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Now(), time.Hour)
		require.NoError(t, err)
		files := writeFiles(t, map[string]string{"cert.pem": cert, "key.pem": pkey})
		py := exec.Command("python3", "-u", "-c", `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
with socket.create_server(("127.0.0.1", 0)) as ln:
    print(ln.getsockname()[1], flush=True)
    raw, _ = ln.accept()
    with ctx.wrap_socket(raw, server_side=True) as s:
        f = s.makefile("rb")
        s.sendall(b"python says " + f.readline())
`, filepath.Join(files, "cert.pem"), filepath.Join(files, "key.pem"))
		stdout, err := py.StdoutPipe()
		require.NoError(t, err)
		py.Stderr = os.Stderr
		require.NoError(t, py.Start())
		defer func() {
			py.Process.Kill()
			py.Wait()
		}()
		line := make([]byte, 16)
		n, err := stdout.Read(line)
		require.NoError(t, err)
		port := strings.TrimSpace(string(line[:n]))
		out := runToEnd(t, `
c = net.dial("127.0.0.1:" + os.args[0], tls=True, ca=os.args[1])
c.write("hello\n")
print(c.read_line().strip())
c.close()
`, port, filepath.Join(files, "cert.pem"))
		assert.Equal(t, "python says hello\n", out)
	})
}

// TestTLSExpired: a certificate past its NotAfter fails verification
// with io, saying it expired; insecure=True still connects.
func TestTLSExpired(t *testing.T) {
	cert, key, err := netmod.SelfSigned([]string{"127.0.0.1"}, time.Now().Add(-72*time.Hour), 24*time.Hour)
	require.NoError(t, err)
	block, _ := pem.Decode([]byte(cert))
	parsed, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	out := runToEnd(t, echoServer+`
ln = net.listen("127.0.0.1:0", cert=os.args[0], key=os.args[1])
spawn(serve, ln)
err = catch(net.dial, ln.addr, tls=True, ca=os.args[0]).error
print(err.kind, err.message.split(" failed: ")[1])
c = net.dial(ln.addr, tls=True, insecure=True)
c.write("still\n")
print(c.read_line().strip())
c.close()
ln.close()
`, cert, key)
	assert.Equal(t, "io certificate has expired (on "+parsed.NotAfter.UTC().Format(time.RFC3339)+")\necho: still\n", out)
}

// TestTLSLargeWrites: writes larger than the socket takes at once
// arrive whole and in order through TLS (the adapter keeps
// what the socket did not take, the Conn sends it as room appears).
func TestTLSLargeWrites(t *testing.T) {
	out := runToEnd(t, `
cert, key = net.self_signed()
ln = net.listen("127.0.0.1:0", cert=cert, key=key)
big = "a" * 4000000
def send():
    s = ln.accept() # the dial below returns once s has made the handshake
    s.write(big)
    s.write("b" * 1000000)
    s.close_write()
t = spawn(send)
c = net.dial(ln.addr, tls=True, ca=cert)
got = c.read_exactly(4000000)
print(got == big)
rest = []
for _ in range(1000000):
    chunk = c.read()
    if not chunk:
        break
    rest.append(chunk)
print("".join(rest) == "b" * 1000000)
t.wait()
c.close()
ln.close()
`)
	assert.Equal(t, "True\nTrue\n", out)
}

// TestTLSGoPeer: Go's crypto/tls talks to a script's listener (TLS 1.3
// and 1.2) and a script's dial; the handshake of the accepted connection
// waits for its first read.
func TestTLSGoPeer(t *testing.T) {
	cert, key, err := netmod.SelfSigned([]string{"127.0.0.1"}, time.Now(), time.Hour)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(cert)))
	r := startScript(t, "server.star", echoServer+`
ln = net.listen("127.0.0.1:0", cert=os.args[0], key=os.args[1])
print(ln.addr)
serve(ln)
`, cert, key)
	addr := r.Stdout.Next(t)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MaxVersion: v})
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		_, err = c.Write([]byte("go\n"))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "echo: go\n", string(buf[:n]))
		assert.Equal(t, v, c.ConnectionState().Version)
		c.Close()
	}

	pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
	require.NoError(t, err)
	gl, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	require.NoError(t, err)
	defer gl.Close()
	go func() {
		c, err := gl.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("hello from go\n"))
	}()
	out := runToEnd(t, `
c = net.dial(os.args[0], tls=True, ca=os.args[1])
print(c.read_line().strip())
print(repr(c.read()))
`, gl.Addr().String(), cert)
	assert.Equal(t, "hello from go\n\"\"\n", out)
}

// TestTLSPermissions: SPEC 12, everything needs the network permission;
// a ca, cert or key path also needs read permission, and the refusal
// says no more than other permission errors.
func TestTLSPermissions(t *testing.T) {
	cert, key, err := netmod.SelfSigned([]string{"127.0.0.1"}, time.Now(), time.Hour)
	require.NoError(t, err)
	dir := writeFiles(t, map[string]string{"cert.pem": cert, "key.pem": key})
	out, err := moduletest.Run(t, loop.Permissions{}, "net", netmod.Module(), `
for f in [lambda: net.self_signed(), lambda: net.lookup("localhost"), lambda: net.dial("127.0.0.1:1", tls=True)]:
    print(catch(f).error)
`)
	require.NoError(t, err)
	assert.Equal(t, `permission: net.self_signed: network access denied (allow with --allow-net, or Permissions.Net)
permission: net.lookup: network access denied (allow with --allow-net, or Permissions.Net)
permission: net.dial: network access denied (allow with --allow-net, or Permissions.Net)
`, out)

	other := t.TempDir()
	out, err = moduletest.Run(t, loop.Permissions{Net: true, Read: []string{other}}, "net", netmod.Module(), `
d = "`+dir+`"
print(catch(net.listen, "127.0.0.1:0", cert=d + "/cert.pem", key=d + "/key.pem").error)
print(catch(net.dial, "127.0.0.1:1", tls=True, ca=d + "/cert.pem").error)
print(catch(net.dial, "127.0.0.1:1", tls=True, ca="`+other+`/missing.pem").error)
`)
	require.NoError(t, err)
	assert.Equal(t, `permission: net.listen: reading `+dir+`/cert.pem denied (allow with --allow-read=PATH, or Permissions.Read)
permission: net.dial: reading `+dir+`/cert.pem denied (allow with --allow-read=PATH, or Permissions.Read)
not_found: net.dial: ca `+other+`/missing.pem: no such file or directory
`, out)

	out, err = moduletest.Run(t, loop.Permissions{Net: true, Read: []string{dir}}, "net", netmod.Module(), `
d = "`+dir+`"
ln = net.listen("127.0.0.1:0", cert=d + "/cert.pem", key=d + "/key.pem")
def serve():
    c = ln.accept()
    c.write("ok\n")
    c.close()
spawn(serve)
c = net.dial(ln.addr, tls=True, ca=d + "/cert.pem")
print(c.read_line().strip())
ln.close()
`)
	require.NoError(t, err)
	assert.Equal(t, "ok\n", out)
}

// TestLookup: net.lookup resolves without blocking the loop (localhost
// comes from the hosts file: no network needed); an IP address is its
// own answer.
func TestLookup(t *testing.T) {
	out := runToEnd(t, `
print("127.0.0.1" in net.lookup("localhost") or "::1" in net.lookup("localhost"))
print(net.lookup("10.1.2.3"))
err = catch(net.lookup, "nonexistent.invalid").error
print(err.kind if err else "resolved")
`)
	lines := strings.Split(out, "\n")
	assert.Equal(t, []string{"True", `["10.1.2.3"]`}, lines[:2])
	if lines[2] != "not_found" {
		t.Skipf("this machine's resolver does not answer for .invalid (%s)", lines[2])
	}
}

// TestTLSHandshakeReleasedOnClose: a run cancelled while a task waits
// for the handshake of an accepted connection (the client never speaks)
// leaves no goroutine once the engine is closed.
func TestTLSHandshakeReleasedOnClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := scripttest.NewOutput()
	e, err := engine.New(engine.Options{Stdout: out, Stderr: out, Permissions: engine.Permissions{Net: true}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Exec(ctx, "wait.star", `
cert, key = net.self_signed()
ln = net.listen("127.0.0.1:0", cert=cert, key=key)
print(ln.addr)
s = ln.accept()
print("accepted")
s.read()
`)
		done <- err
	}()
	c, err := net.Dial("tcp", out.Next(t))
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "accepted", out.Next(t))
	cancel()
	require.Error(t, <-done)
	require.NoError(t, e.Close())
}

// tlsCutPeer is a TLS client in Python (argv: port, mode) that sends two
// records, "hello\n" and 1000 bytes of x, over a socket it writes itself
// (ssl.MemoryBIO), so that it can send what no TLS library would: with
// mode "cut", the first record and half of the second. Then it ends its
// side without TLS's close_notify (a ragged close) and reads until the
// script closes the connection.
const tlsCutPeer = `
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        s.sendall(out.read())
        inc.write(s.recv(65536))
s.sendall(out.read())
obj.write(b"hello\n")
first = out.read()
obj.write(b"x" * 1000)
second = out.read()
if sys.argv[2] == "cut":
    second = second[:len(second) // 2]
s.sendall(first + second)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
`

// TestTLSCutOffMidRecord: a TLS stream that ends inside a record (the
// peer sent half of one, then its FIN) fails read and read_line with
// io saying so and naming the peer: it was eof, read_exactly's kind,
// "end of stream", which read and read_line never raise. One that ends
// at a record's boundary without close_notify reads as the end ("").
// A later read fails so too, naming itself.
func TestTLSCutOffMidRecord(t *testing.T) {
	need(t, "python3")
	r := startReading(t, `
cert, key = net.self_signed()
ln = net.listen("127.0.0.1:0", cert=cert, key=key)
print(ln.port)
c = ln.accept()
print(repr(c.read_line()))
print(catch(c.read).error)
print(catch(c.read).error)
c.close()
c = ln.accept()
print(repr(c.read_line()))
print(catch(c.read_line).error)
print(catch(c.read).error)
c.close()
c = ln.accept()
print(repr(c.read_line()), len(c.read_exactly(1000)), repr(c.read()), repr(c.read_line()))
c.close()
ln.close()
`)
	port := r.Stdout.Next(t)
	peer := func(mode string) string {
		t.Helper()
		py := exec.Command("python3", "-c", tlsCutPeer, port, mode)
		out, err := py.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	assert.Equal(t, "", peer("cut"))
	assert.Equal(t, "", peer("cut"))
	assert.Equal(t, "", peer("whole"))
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, `"hello\n"
io: Conn.read: the TLS stream from 127.0.0.1:PEER was cut off mid-record
io: Conn.read: the TLS stream from 127.0.0.1:PEER was cut off mid-record
"hello\n"
io: Conn.read_line: the TLS stream from 127.0.0.1:PEER was cut off mid-record
io: Conn.read: the TLS stream from 127.0.0.1:PEER was cut off mid-record
"hello\n" 1000 "" ""
`, strings.SplitN(peerPorts(r.Stdout.String()), "\n", 2)[1])
}

// peerPorts replaces the port of every 127.0.0.1 address by PEER.
func peerPorts(s string) string {
	return regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:PEER")
}

// TestTLSFilesMustBeRegular: a ca, cert or key path was read on the
// blocking pool with no look at what it named: a FIFO with no writer
// held one of the pool's 16 threads for ever (the file work of every
// task queued behind a few of them). Only a regular file of at most
// 1 MiB is read; a FIFO, a device or a directory is a value error,
// without being read.
func TestTLSFilesMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo.pem"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.pem"), make([]byte, 1<<20+1), 0o600))
	r := scripttest.StartWith(t, engine.Options{Permissions: engine.Permissions{Net: true, Read: []string{dir, "/dev/zero"}}}, "tls.star", `
d = "`+dir+`"
print(catch(net.dial, "127.0.0.1:1", tls=True, ca=d + "/fifo.pem").error)
print(catch(net.listen, "127.0.0.1:0", cert="/dev/zero", key=d + "/fifo.pem").error)
print(catch(net.listen, "127.0.0.1:0", cert=d, key=d).error)
print(catch(net.dial, "127.0.0.1:1", tls=True, ca=d + "/big.pem").error)
`, 60*time.Second)
	require.NoError(t, r.Wait(t))
	assert.Equal(t, `value: net.dial: ca `+dir+`/fifo.pem: is a FIFO, not a regular file
value: net.listen: cert /dev/zero: is a device, not a regular file
value: net.listen: cert `+dir+`: is a directory, not a regular file
value: net.dial: ca `+dir+`/big.pem: larger than 1 MiB, not a PEM file
`, r.Stdout.String())
}
