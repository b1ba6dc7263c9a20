package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	corohttp "github.com/corolang/coro/stdlib/http"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopPathScript answers in every way a handler can.
const loopPathScript = `
def handler(req):
    p = req.path
    if p == "/text":
        return "hello " + req.method
    if p == "/bytes":
        return b"\x00\x01"
    if p == "/json":
        return {"a": [1, 2], "q": req.query}
    if p == "/none":
        return None
    if p == "/status":
        return (404, "nope")
    if p == "/headers":
        return (201, {"X-B": ["1", "2"], "x-a": " va ", "Content-Type": "text/html", "Bad Name": "x"}, "<p>")
    if p == "/crlf":
        return (200, {"X-Evil": "a\r\nSet-Cookie: x"}, "ok")
    if p == "/odd":
        return (299, "odd status")
    if p == "/date":
        return (200, {"Date": "yesterday"}, "d")
    if p == "/cl":
        return (200, {"Content-Length": "2"}, "ok")
    if p == "/fail":
        fail("broke")
    if p == "/nc":
        return (204, None)
    if p == "/conn":
        return (200, {"Connection": "close"}, "c")
    if p == "/echo":
        return req.body
    if p == "/headers-in":
        return req.headers
    if p == "/stream":
        def gen():
            emit("a")
            emit("b")
        return generator(gen)
    return (500, "unknown path " + p)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

// exchangeRaw sends raw on a new connection to addr and returns the
// bytes of the one response to it, with its Date header's value
// blanked.
func exchangeRaw(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	req, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(raw))) // nil for a bad one
	resp, err := http.ReadResponse(br, req)
	require.NoError(t, err, "%q", got.String())
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	return dateLine.ReplaceAllString(got.String(), "Date: D\r\n")
}

var dateLine = regexp.MustCompile(`Date: [^\r]*\r\n`)

// The loop's own HTTP/1 path answers every request as net/http's server
// does, byte for byte (but for the date): the requests it serves itself
// and those it hands on to net/http, before or after the handler ran.
func TestLoopPathAnswersAsNetHTTP(t *testing.T) {
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	loopRun := scripttest.Start(t, "loop.star", loopPathScript, 30*time.Second)
	loopAddr := "127.0.0.1:" + loopRun.Stdout.Next(t)
	corohttp.SetLoopPath(t, false, time.Hour, time.Hour, time.Second)
	goRun := scripttest.Start(t, "nethttp.star", loopPathScript, 30*time.Second)
	goAddr := "127.0.0.1:" + goRun.Stdout.Next(t)

	paths := []string{"/text", "/bytes", "/json?x=1&y=%20", "/none", "/status", "/headers", "/crlf", "/odd", "/date", "/cl", "/fail", "/nc", "/conn", "/headers-in", "/stream"}
	forms := []string{
		"GET %s HTTP/1.1\r\nHost: x\r\nX-In: a\r\nX-In: b\r\n\r\n",
		"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET %s HTTP/1.0\r\n\r\n",
		"GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"DELETE %s HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET %s HTTP/1.1\n" + "Host: x\n\n",
	}
	before := corohttp.LoopPathRequests()
	n := 0
	for _, form := range forms {
		for _, path := range paths {
			raw := fmt.Sprintf(form, path)
			want := exchangeRaw(t, goAddr, raw)
			got := exchangeRaw(t, loopAddr, raw)
			assert.Equal(t, want, got, "%q", raw)
			n++
		}
	}
	// Most of them were the loop's own (not HEAD, not with a body).
	assert.GreaterOrEqual(t, corohttp.LoopPathRequests()-before, int64(n/2))
	for _, raw := range []string{
		"GET /text HTTP/1.1\r\n\r\n",                                                        // no Host
		"GET /text HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",                                  // two
		"GET /text HTTP/1.1\r\nHost: a b\r\n\r\n",                                           // malformed
		"GET http://x/text HTTP/1.1\r\nHost: x\r\n\r\n",                                     // absolute target
		"GET /text HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",                              // control byte
		"GET /text HTTP/1.1\r\nHost: x\r\nX-" + strings.Repeat("a", 70<<10) + ": 1\r\n\r\n", // 431
		"GET /text HTTP/3.0\r\nHost: x\r\n\r\n",
		"BLAH\r\n\r\n",
		"GET /text HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"GET /text HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		assert.Equal(t, exchangeRaw(t, goAddr, raw), exchangeRaw(t, loopAddr, raw), "%q", raw)
	}
}

// Requests sent together on one connection are answered in order, also
// when one of them has a body, which hands the connection with the rest
// of what was read to net/http.
func TestLoopPathPipelining(t *testing.T) {
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	run := scripttest.Start(t, "loop.star", loopPathScript, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var all strings.Builder
	for range 3 {
		all.WriteString("GET /text HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	all.WriteString("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	all.WriteString("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	all.WriteString("GET /text HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err = io.WriteString(c, all.String())
	require.NoError(t, err)
	br := bufio.NewReader(c)
	for i, want := range []string{"hello GET", "hello GET", "hello GET", "ab", "hello", "hello GET"} {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "response %d", i)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, want, string(body), "response %d", i)
	}
}

// A client that sends part of a head and stalls, or nothing at all, is
// closed once the header timeout passes, and a kept-alive connection
// once it is idle for the idle timeout: net/http's defences on the
// loop's path too.
func TestLoopPathTimeouts(t *testing.T) {
	corohttp.SetLoopPath(t, true, 200*time.Millisecond, 300*time.Millisecond, 20*time.Millisecond)
	run := scripttest.Start(t, "loop.star", loopPathScript, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	closedByServer := func(c net.Conn) string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		require.NoError(t, err, "the server kept the connection")
		return string(got)
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	assert.Empty(t, closedByServer(dial()), "silent client")

	c := dial()
	io.WriteString(c, "GET /text HTTP/1.1\r\nHo")
	assert.Empty(t, closedByServer(c), "stalled head")

	c = dial()
	io.WriteString(c, "GET /text HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.Contains(t, closedByServer(c), "hello GET", "idle after a reply")
}
