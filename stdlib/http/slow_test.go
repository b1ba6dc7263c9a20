package http_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	corohttp "github.com/corolang/coro/stdlib/http"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bounds the tests do not exercise: long enough never to be reached.
const never = time.Hour

// slowScript serves a whole reply too large for the socket buffers
// (/big), a response streamed without end (/stream), a handler that
// waits (/sleep), and closes the server on /close.
const slowScript = `
def handler(req):
    print(req.path)
    if req.path == "/big":
        return "x" * (16 << 20)
    if req.path == "/stream":
        def chunks():
            defer(print, "stream cut")
            for _ in range(1 << 20):
                emit("x" * 65536)
        return generator(chunks)
    if req.path == "/sleep":
        print("sleep:", catch(sleep, 60).error)
    if req.path == "/close":
        srv.close()
    return "ok"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

// slowReader sends a GET for path and then reads nothing, with a small
// receive buffer, so that the server's writes soon wait for it.
func slowReader(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	require.NoError(t, err)
	return c
}

// cutShort reads the response on c to where the server closed the
// connection, and reports whether that was before the end of its body.
func cutShort(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the connection: %v", err)
	return err != nil
}

// A client that stops reading a response is cut off once a write makes
// no progress for the send timeout: a streamed response's handler is
// cancelled, and a whole reply is abandoned, so that the server's close
// ends the run. Both were held for as long as the client held on.
func TestSlowReaderIsCut(t *testing.T) {
	corohttp.SetSlowClientBounds(t, 250*time.Millisecond, never, never)
	run := scripttest.Start(t, "slow.star", slowScript, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)

	c := slowReader(t, addr, "/stream")
	assert.Equal(t, "/stream", run.Stdout.Next(t))
	assert.Equal(t, "stream cut", run.Stdout.Next(t))
	assert.True(t, cutShort(t, c))

	c = slowReader(t, addr, "/big")
	assert.Equal(t, "/big", run.Stdout.Next(t))
	resp, err := http.Get("http://" + addr + "/close")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/close", run.Stdout.Next(t))
	// The run ends once the exchange in flight does: the send timeout
	// ended it (the grace is an hour).
	require.NoError(t, run.Wait(t))
	assert.True(t, cutShort(t, c))
}

// A closed server waits for the exchanges in flight for its grace
// period only: then their connections are closed and their handlers
// cancelled, and the run ends. It waited for as long as a client held on
// to a response, or a handler took.
func TestShutdownGraceIsBounded(t *testing.T) {
	corohttp.SetSlowClientBounds(t, never, never, 100*time.Millisecond)
	run := scripttest.Start(t, "slow.star", slowScript, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	c := slowReader(t, addr, "/big")
	assert.Equal(t, "/big", run.Stdout.Next(t))
	sleeper, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer sleeper.Close()
	fmt.Fprintf(sleeper, "GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.Equal(t, "/sleep", run.Stdout.Next(t))

	resp, err := http.Get("http://" + addr + "/close")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/close", run.Stdout.Next(t))
	assert.Equal(t, "sleep: cancelled: http server closed", run.Stdout.Next(t))
	require.NoError(t, run.Wait(t))
	assert.True(t, cutShort(t, c))
	sleeper.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(sleeper)
	assert.NoError(t, err)
	assert.Empty(t, string(got), "a cancelled handler sends nothing")
}

// A request body that stalls fails the handler's read with timeout once
// nothing came for the body timeout, and the connection closes after
// the reply. It waited for as long as the client kept the connection.
func TestStalledBodyTimesOut(t *testing.T) {
	corohttp.SetSlowClientBounds(t, never, 100*time.Millisecond, never)
	stdout, _, _ := runScript(t, `
def handler(req):
    e = catch(lambda: req.body).error
    print(e.kind, e.message.replace(req.remote_addr, "CLIENT"))
    return "ok"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	c, err := net.Dial("tcp", "127.0.0.1:"+stdout.Next(t))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx"))
	require.NoError(t, err)
	assert.Equal(t, "timeout timeout: Request.body: the request body from CLIENT: nothing came for 0.1s", stdout.Next(t))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	require.NoError(t, err, "the server kept the connection")
	assert.True(t, strings.HasPrefix(string(got), "HTTP/1.1 200 OK\r\n"), "%q", got)
	assert.Contains(t, string(got), "Connection: close")
}

// The bounds are on the client, not the handler: a handler that pauses
// longer than them between its chunks, or between its reads of the
// body, is served in full, over HTTP/1 and HTTP/2 (whose deadlines are
// timers that end the stream when they fire, whether a write or read
// waits or not).
func TestSlowHandlerIsNoSlowClient(t *testing.T) {
	corohttp.SetSlowClientBounds(t, 500*time.Millisecond, 500*time.Millisecond, never)
	crt, key, cert := selfSigned(t)
	r := startReading(t, `
def handler(req):
    if req.path == "/chunks":
        def chunks():
            emit("a")
            sleep(0.6)
            emit("b")
            sleep(0.6)
        return generator(chunks)
    first = req.read_line()
    sleep(0.6)
    print("paused")
    return first + req.read_line()
srv = http.serve("127.0.0.1:0", handler, cert=os.args[0], key=os.args[1])
print(srv.port)
`, crt, key)
	base := "https://127.0.0.1:" + r.Stdout.Next(t)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(cert)))
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		c := &http.Client{Transport: tr}
		resp, err := c.Get(base + "/chunks")
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NoError(t, err, resp.Proto)
		assert.Equal(t, "ab", string(b), resp.Proto)
		assert.Equal(t, h2, resp.ProtoMajor == 2)

		// The body's second line is sent once the handler has paused
		// after reading the first.
		pr, pw := io.Pipe()
		got := make(chan string, 1)
		go func() {
			resp, err := c.Post(base+"/lines", "text/plain", pr)
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- string(b)
		}()
		pw.Write([]byte("x\n"))
		assert.Equal(t, "paused", r.Stdout.Next(t))
		pw.Write([]byte("y\n"))
		pw.Close()
		assert.Equal(t, "x\ny\n", waitFor(t, got), "HTTP/2: %v", h2)
		tr.CloseIdleConnections()
	}
	assert.Empty(t, r.Stderr.String())
}
