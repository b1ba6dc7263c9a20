package http_test

import (
	"bufio"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startReading starts src with the network allowed and the temporary
// folders readable (certificate files).
func startReading(t *testing.T, src string, args ...string) *scripttest.Run {
	t.Helper()
	return scripttest.StartWith(t, engine.Options{Permissions: engine.Permissions{Net: true, Read: []string{os.TempDir()}}}, "tls.star", src, 60*time.Second, args...)
}

// selfSigned writes a certificate of net.self_signed for 127.0.0.1 and
// localhost, and its key, into a temporary folder and returns the paths
// and the certificate's PEM text.
func selfSigned(t *testing.T) (certPath, keyPath, certPEM string) {
	t.Helper()
	cert, key, err := netmod.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Now(), time.Hour)
	require.NoError(t, err)
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certPath, []byte(cert), 0o600))
	require.NoError(t, os.WriteFile(keyPath, []byte(key), 0o600))
	return certPath, keyPath, cert
}

const httpsServer = `
def handler(req):
    return "hello " + req.path
srv = http.serve("127.0.0.1:0", handler, cert=os.args[0], key=os.args[1])
print(srv.port)
`

// TestHTTPSServeWithCurl: SPEC 12, http.serve with cert and key serves
// HTTPS, and HTTP/2 to a client that asks for it (curl --http2), with a
// certificate of net.self_signed and one of openssl; the certificate
// verifies with curl --cacert.
func TestHTTPSServeWithCurl(t *testing.T) {
	crt, key, _ := selfSigned(t)
	r := startReading(t, httpsServer, crt, key)
	base := "https://127.0.0.1:" + r.Stdout.Next(t)
	assert.Equal(t, "hello /a|200", curl(t, "--cacert", crt, base+"/a"))
	assert.Equal(t, "hello /h2|2", curl(t, "-k", "--http2", "-o", "-", "-w", "|%{http_version}", base+"/h2"))
	assert.Equal(t, "hello /h1|1.1", curl(t, "--cacert", crt, "--http1.1", "-w", "|%{http_version}", base+"/h1"))
	localhost := strings.Replace(base, "127.0.0.1", "localhost", 1)
	assert.Equal(t, "hello /name|200", curl(t, "--cacert", crt, localhost+"/name"))

	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	ocrt, okey := filepath.Join(dir, "crt.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
		"-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
		"-keyout", okey, "-out", ocrt).CombinedOutput()
	require.NoError(t, err, string(out))
	r = startReading(t, httpsServer, ocrt, okey)
	base = "https://127.0.0.1:" + r.Stdout.Next(t)
	assert.Equal(t, "hello /openssl|200", curl(t, "--cacert", ocrt, base+"/openssl"))
	assert.Equal(t, "hello /openssl|2", curl(t, "--cacert", ocrt, "--http2", "-o", "-", "-w", "|%{http_version}", base+"/openssl"))
}

// TestHTTPSClient: http.get and http.request against Go's HTTPS server
// (HTTP/2 enabled): verified with ca= (HTTP/2 negotiated), refused
// without it (unknown authority) or for another name (name mismatch),
// insecure=True accepted; calls with the same ca share one kept-alive
// connection.
func TestHTTPSClient(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	r := startReading(t, `
url, ca, localhost = os.args
for _ in range(3):
    print(http.get(url + "/", ca=ca).body)
print(http.request("POST", url + "/", body="x", ca=ca).body)
print(catch(http.get, url + "/").error)
print(catch(http.get, localhost + "/", ca=ca).error)
print(http.get(url + "/", insecure=True).status)
`, srv.URL, ca, localhost)
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, `HTTP/2.0
HTTP/2.0
HTTP/2.0
HTTP/2.0
io: http.get: `+srv.URL+`/: TLS handshake failed: certificate signed by an unknown authority (give its CA with ca=, or skip verification with insecure=True)
io: http.get: `+localhost+`/: TLS handshake failed: name mismatch: certificate is valid for example.com, *.example.com, not localhost
200
`, r.Stdout.String())
	// One connection for the four calls with ca, one each for the three
	// others (none kept: a failed handshake, another transport).
	assert.Equal(t, int32(4), conns.Load())
}

// TestHTTPSScriptToScript: a script's HTTPS server and client; the ca
// given as a path.
func TestHTTPSScriptToScript(t *testing.T) {
	crt, key, _ := selfSigned(t)
	r := startReading(t, `
def handler(req):
    return {"you": req.remote_addr.split(":")[0], "got": req.json()}
srv = http.serve("127.0.0.1:0", handler, cert=os.args[0], key=os.args[1])
r = http.request("PUT", "https://localhost:%d/x" % srv.port, body='{"a": 1}', ca=os.args[0])
print(r.status, r.json())
srv.close()
`, crt, key)
	require.NoError(t, r.Wait(t), r.Stderr.String())
	assert.Equal(t, "200 {\"got\": {\"a\": 1}, \"you\": \"127.0.0.1\"}\n", r.Stdout.String())
}

// TestServeLimits: a body over max_body gets 413 (by its Content-Length
// or as it is read), a header over 64 KiB gets 431; a list of values
// sends a header several times; req.remote_addr is the client's address.
func TestServeLimits(t *testing.T) {
	stdout, stderr, done := runScript(t, `
def handler(req):
    if req.path == "/cookies":
        return (200, {"Set-Cookie": ["a=1", "b=2"], "x-one": "1"}, "")
    if req.path == "/addr":
        return req.remote_addr
    return "got %d bytes" % len(req.body)
print(catch(http.serve, "127.0.0.1:0", handler, max_body=-1).error)
print(catch(http.serve, "127.0.0.1:0", handler, max_body="1").error)
print(catch(http.serve, "127.0.0.1:0", handler, cert="x").error)
srv = http.serve("127.0.0.1:0", handler, max_body=16)
print(srv.port)
`)
	assert.Equal(t, "value: http.serve: max_body: got -1, want a byte count (an int, 0 or more)", stdout.Next(t))
	assert.Equal(t, `value: http.serve: max_body: got "1", want a byte count (an int, 0 or more)`, stdout.Next(t))
	assert.Equal(t, "value: http.serve: cert and key go together: give both or neither", stdout.Next(t))
	base := "http://127.0.0.1:" + stdout.Next(t)

	post := func(body io.Reader) (int, string) {
		resp, err := http.Post(base+"/", "text/plain", body)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := post(strings.NewReader(strings.Repeat("x", 16)))
	assert.Equal(t, 200, st)
	assert.Equal(t, "got 16 bytes", body)
	st, _ = post(strings.NewReader(strings.Repeat("x", 17)))
	assert.Equal(t, 413, st)
	// No Content-Length (chunked): refused as it is read.
	st, _ = post(io.MultiReader(strings.NewReader(strings.Repeat("x", 10)), strings.NewReader(strings.Repeat("x", 10))))
	assert.Equal(t, 413, st)

	req, err := http.NewRequest("GET", base+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("h", 100<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 431, resp.StatusCode)

	resp, err = http.Get(base + "/cookies")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"a=1", "b=2"}, resp.Header["Set-Cookie"])
	assert.Equal(t, "1", resp.Header.Get("X-One"))

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprint(c, "GET /addr HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, c.LocalAddr().String(), string(b))

	_ = stderr
	_ = done
}

// TestHTTPSPlainClient: a client that does not speak TLS to an HTTPS
// server gets Go's 400 answer; nothing is logged (anyone may knock).
func TestHTTPSPlainClient(t *testing.T) {
	crt, key, _ := selfSigned(t)
	r := startReading(t, httpsServer, crt, key)
	port := r.Stdout.Next(t)
	resp, err := http.Get("http://127.0.0.1:" + port + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
	// And a TLS client that refuses the certificate.
	_, err = tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{})
	require.Error(t, err)
	// A request after both shows the server still serves, and its log
	// got nothing meanwhile.
	assert.Equal(t, "hello /after|200", curl(t, "--cacert", crt, "https://127.0.0.1:"+port+"/after"))
	assert.Empty(t, r.Stderr.String())
}

// h2Conn opens a TLS connection that negotiates HTTP/2 and sends the
// client's preface and an empty SETTINGS frame: what a client sends
// before its first request. Frames are written by hand (h2Frame): the
// test needs what no client library sends.
func h2Conn(t *testing.T, addr string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.Equal(t, "h2", c.ConnectionState().NegotiatedProtocol)
	_, err = io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	require.NoError(t, err)
	h2Frame(t, c, 4, 0, 0, nil) // SETTINGS
	return c
}

// h2Frame writes one HTTP/2 frame.
func h2Frame(t *testing.T, c net.Conn, typ, flags byte, stream uint32, payload []byte) {
	t.Helper()
	n := len(payload)
	hdr := []byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}
	_, err := c.Write(append(hdr, payload...))
	require.NoError(t, err)
}

// h2Closed reads (and drops) what the server sends on c until it closes
// the connection, and returns how long that took from start (limit if it
// did not).
func h2Closed(c net.Conn, start time.Time, limit time.Duration) time.Duration {
	c.SetReadDeadline(start.Add(limit))
	io.Copy(io.Discard, c)
	return min(time.Since(start), limit)
}

// An HTTP/2 client that begins a request's header block (HEADERS
// without END_HEADERS) and sends nothing more is cut within the 10 s a
// request header has, as over HTTP/1 (its connection was kept 120 s);
// so is one that sends nothing at all after its preface. A client that
// answers the server's pings keeps its connection while it waits for a
// slow response. What clients do wrong is not logged: a bogus preface,
// a frame in the middle of a header block (protocol errors that
// http2's log wrote to stderr for every client), the pings left
// unanswered.
func TestHTTP2SlowHeaderIsCut(t *testing.T) {
	crt, key, _ := selfSigned(t)
	r := startReading(t, `
def handler(req):
    if req.path == "/slow":
        sleep(11)
    return "hello"
srv = http.serve("127.0.0.1:0", handler, cert=os.args[0], key=os.args[1])
print(srv.port)
`, crt, key)
	addr := "127.0.0.1:" + r.Stdout.Next(t)
	start := time.Now()

	// A live HTTP/2 client waiting for a slow response, then reusing
	// its connection.
	slow := make(chan error, 1)
	go func() {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr}
		for i, path := range []string{"/slow", "/again"} {
			resp, err := cl.Get("https://" + addr + path)
			if err != nil {
				slow <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || string(body) != "hello" {
				slow <- fmt.Errorf("request %d: %s %q", i, resp.Proto, body)
				return
			}
		}
		slow <- nil
	}()

	// HEADERS (:method GET, :scheme https, :path / from HPACK's static
	// table) with END_STREAM but not END_HEADERS, then nothing.
	header := h2Conn(t, addr)
	h2Frame(t, header, 1, 0x1, 1, []byte{0x82, 0x87, 0x84})
	quiet := h2Conn(t, addr)
	// A PING in the middle of a header block: a protocol error.
	bad := h2Conn(t, addr)
	h2Frame(t, bad, 1, 0x1, 1, []byte{0x82, 0x87, 0x84})
	h2Frame(t, bad, 6, 0, 0, make([]byte, 8))
	// No preface at all.
	bogus, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	defer bogus.Close()
	io.WriteString(bogus, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")

	assert.Less(t, h2Closed(bad, start, 5*time.Second), 5*time.Second, "a protocol error closes the connection")
	assert.Less(t, h2Closed(bogus, start, 5*time.Second), 5*time.Second, "a bogus preface closes the connection")
	for name, c := range map[string]net.Conn{"an unfinished header block": header, "a connection with no request": quiet} {
		took := h2Closed(c, start, 30*time.Second)
		assert.Less(t, took, 15*time.Second, "%s is cut (after %v)", name, took)
		assert.Greater(t, took, 4*time.Second, "%s is cut once it failed a ping (after %v)", name, took)
	}
	assert.NoError(t, waitFor(t, slow))
	assert.Empty(t, r.Stderr.String())
}

// The client's failures say which URL: a failed TLS handshake (here an
// expired certificate) of http.get and http.websocket, and too many
// redirects, which named the last Location as sent (`Get "/loop":
// stopped after 10 redirects`). http.websocket followed redirects
// without end (the library's redirect hook dropped net/http's bound).
func TestClientErrorsNameTheURL(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := netmod.SelfSigned([]string{"127.0.0.1"}, time.Now().Add(-48*time.Hour), 24*time.Hour)
	require.NoError(t, err)
	crt, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(crt, []byte(cert), 0o600))
	require.NoError(t, os.WriteFile(kp, []byte(key), 0o600))
	r := startReading(t, `
cert, key = os.args
def handler(req):
    return (302, {"location": "/loop"}, "")
tls = http.serve("127.0.0.1:0", handler, cert=cert, key=key)
plain = http.serve("127.0.0.1:0", handler)
for f, url, kw in [(http.get, "https://127.0.0.1:%d/a", {"ca": cert}),
                   (http.websocket, "wss://127.0.0.1:%d/a", {"ca": cert}),
                   (http.get, "http://127.0.0.1:%d/start", {}),
                   (http.get, "http://127.0.0.1:%d/start", {"stream": True}),
                   (http.websocket, "ws://127.0.0.1:%d/start", {"timeout": 10})]:
    srv = tls if url.startswith("https:") or url.startswith("wss:") else plain
    print(catch(f, url % srv.port, **kw).error)
print(tls.port, plain.port)
tls.close()
plain.close()
`, crt, kp)
	require.NoError(t, r.Wait(t), r.Stderr.String())
	lines := strings.Split(strings.TrimSpace(r.Stdout.String()), "\n")
	require.Len(t, lines, 6)
	var tlsPort, plainPort string
	fmt.Sscan(lines[5], &tlsPort, &plainPort)
	expired := "TLS handshake failed: certificate has expired (on "
	assert.Contains(t, lines[0], "io: http.get: https://127.0.0.1:"+tlsPort+"/a: "+expired)
	assert.Contains(t, lines[1], "io: http.websocket: wss://127.0.0.1:"+tlsPort+"/a: "+expired)
	loop := "stopped after 10 redirects, the last to http://127.0.0.1:" + plainPort + "/loop"
	assert.Equal(t, "io: http.get: http://127.0.0.1:"+plainPort+"/start: "+loop, lines[2])
	assert.Equal(t, "io: http.get: http://127.0.0.1:"+plainPort+"/start: "+loop, lines[3])
	assert.Equal(t, "io: http.websocket: ws://127.0.0.1:"+plainPort+"/start: "+loop, lines[4])
}
