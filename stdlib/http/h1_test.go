package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
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
    if p == "/cl-space":
        return (200, {"Content-Length": " 2"}, "ok")
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

// bothPaths runs script twice, limited to limit, as a server with the
// loop's own path and as one without, and returns their addresses.
func bothPaths(t *testing.T, script string, limit time.Duration) (loopAddr, goAddr string) {
	t.Helper()
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	loopRun := scripttest.Start(t, "loop.star", script, limit)
	loopAddr = "127.0.0.1:" + loopRun.Stdout.Next(t) // started: the path is chosen
	corohttp.SetLoopPath(t, false, time.Hour, time.Hour, time.Second)
	goRun := scripttest.Start(t, "nethttp.star", script, limit)
	return loopAddr, "127.0.0.1:" + goRun.Stdout.Next(t)
}

// The loop's own HTTP/1 path answers every request as net/http's server
// does, byte for byte (but for the date): the requests it serves itself
// and those it hands on to net/http, before or after the handler ran.
func TestLoopPathAnswersAsNetHTTP(t *testing.T) {
	loopAddr, goAddr := bothPaths(t, loopPathScript, 30*time.Second)

	paths := []string{"/text", "/bytes", "/json?x=1&y=%20", "/none", "/status", "/headers", "/crlf", "/odd", "/date", "/cl", "/cl-space", "/fail", "/nc", "/conn", "/headers-in", "/stream"}
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
		// Found by TestLoopPathDifferential: net/http finds a
		// connection token as its hasToken does, in the first
		// Connection line only (but for r.Close).
		"GET /text HTTP/1.1\r\nHost: x\r\nConnection: foo close\r\n\r\n",
		"GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n X-A: 1\r\n\r\n", // folded
		"GET /text HTTP/1.0\r\nConnection: keep-alive x\r\n\r\n",
		"GET /text HTTP/1.0\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n",
		"GET /text HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
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

// readToEnd reads what the server sends on c until it closes c, with
// the Date header's value blanked; it fails the test if the server
// keeps c for 10 s.
func readToEnd(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	require.NoError(t, err, "the server kept the connection")
	return dateLine.ReplaceAllString(string(got), "Date: D\r\n")
}

// closeRaceScript closes its server from another task while the
// handler answers.
const closeRaceScript = `
def handler(req):
    spawn(srv.close)
    if req.path == "/stream":
        def gen():
            emit("a")
        return generator(gen)
    if req.path == "/text":
        return "t"
    return (204, None)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

// A reply the loop hands on to net/http (a streamed one, a 204) as the
// server closes still reaches its client: the connection waiting to be
// accepted went to a server that was shutting down, which closed it.
func TestLoopPathCloseRace(t *testing.T) {
	for _, path := range []string{"/nc", "/stream", "/text"} {
		var outs []string
		for _, on := range []bool{false, true} {
			corohttp.SetLoopPath(t, on, time.Hour, time.Hour, time.Second)
			run := scripttest.Start(t, "race.star", closeRaceScript, 30*time.Second)
			c, err := net.Dial("tcp", "127.0.0.1:"+run.Stdout.Next(t))
			require.NoError(t, err)
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			outs = append(outs, readToEnd(t, c))
			c.Close()
			require.NoError(t, run.Wait(t))
		}
		// Either says Connection: close, or not, as the server closed
		// before the reply went out or after.
		assert.Equal(t, strings.Replace(outs[0], "Connection: close\r\n", "", 1), strings.Replace(outs[1], "Connection: close\r\n", "", 1), path)
		assert.Contains(t, outs[1], "HTTP/1.1 2", path)
	}
}

// A connection whose reply is still being written when the server
// closes is closed once the reply is out, and the run ends then: it was
// kept, idle, until the grace ran out (an hour here).
func TestLoopPathClosesAfterReplyOnClose(t *testing.T) {
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	corohttp.SetSlowClientBounds(t, never, never, never)
	run := scripttest.Start(t, "slow.star", slowScript, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	c := slowReader(t, addr, "/big")
	assert.Equal(t, "/big", run.Stdout.Next(t))
	resp, err := http.Get("http://" + addr + "/close")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/close", run.Stdout.Next(t))
	assert.False(t, cutShort(t, c), "the whole reply")
	require.NoError(t, run.Wait(t))
}

// Fewer than 4 bytes and the end, on a connection that was served
// before, get no reply, as from net/http (which waits for 4 bytes of a
// next request); on a new connection they get its 400.
func TestLoopPathStrayBytesAtEnd(t *testing.T) {
	loopAddr, goAddr := bothPaths(t, loopPathScript, 30*time.Second)
	exchange := func(addr string, served bool, stray string) string {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		var out strings.Builder
		if served {
			io.WriteString(c, "GET /text HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			out.Write(body)
			require.Zero(t, br.Buffered())
		}
		io.WriteString(c, stray)
		c.(*net.TCPConn).CloseWrite()
		out.WriteString(readToEnd(t, c))
		return out.String()
	}
	for _, served := range []bool{true, false} {
		for _, stray := range []string{"\r\n", "GE", "abc", "GET /te"} {
			assert.Equal(t, exchange(goAddr, served, stray), exchange(loopAddr, served, stray), "served %v, %q", served, stray)
		}
	}
}

// An idle connection keeps no large buffer of the reply or head before:
// 1000 clients idle after a 60 KB reply each held 60 MB.
func TestLoopPathIdleConnectionsHoldLittle(t *testing.T) {
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	run := scripttest.Start(t, "idle.star", `
def handler(req):
    return "x" * 60000
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 60*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	before := liveHeap()
	const n = 1000
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
	}
	perConn := (liveHeap() - before) / n
	assert.Less(t, perConn, int64(20<<10), "bytes of heap per idle connection")
}

// A small body that comes with its head is read whole with it and its
// request served on the loop; a large one goes to net/http, whose
// handler reads it as it comes. Both reach the handler whole.
func TestLoopPathServesSmallBodies(t *testing.T) {
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	run := scripttest.Start(t, "loop.star", loopPathScript, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	post := func(body string) string {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(got)
	}
	before := corohttp.LoopPathRequests()
	assert.Equal(t, "hello", post("hello"))
	assert.Equal(t, int64(1), corohttp.LoopPathRequests()-before, "served on the loop")
	big := strings.Repeat("b", 70<<10)
	assert.Equal(t, big, post(big))
	assert.Equal(t, int64(1), corohttp.LoopPathRequests()-before, "handed on")
}

// halfCloseScript answers without reading the body, or after reading it
// whole (/read), after a pause in which its client ends its side.
const halfCloseScript = `
def handler(req):
    if req.path == "/read":
        n = len(req.body)
        print("read", catch(sleep, 0.5).error)
        return "read %d" % n
    sleep(0.2)
    return "ok"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

// A client that half-closes after a POST gets the reply of a handler that
// did not read the body to its end, as from net/http (which watches for
// its client's end only once the body was read); once the handler has
// read it, the end cancels the handler.
func TestLoopPathHalfCloseAfterBody(t *testing.T) {
	var outs []string
	for _, on := range []bool{false, true} {
		corohttp.SetLoopPath(t, on, time.Hour, time.Hour, time.Second)
		run := scripttest.Start(t, "half.star", halfCloseScript, 30*time.Second)
		addr := "127.0.0.1:" + run.Stdout.Next(t)
		for _, path := range []string{"/x", "/read"} {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
			c.(*net.TCPConn).CloseWrite()
			outs = append(outs, readToEnd(t, c))
			c.Close()
		}
		assert.Equal(t, "read cancelled: http client disconnected", run.Stdout.Next(t), "loop path %v", on)
	}
	assert.Equal(t, outs[:2], outs[2:])
	assert.Contains(t, outs[2], "\r\n\r\nok")
	assert.Empty(t, outs[3])
}

// A body whose first part filled the loop's read exactly, and whose rest
// comes later, goes to net/http once nothing more has come: it waited
// for the rest under the head's timeout, and was cut.
func TestLoopPathBodyStallsAfterExactRead(t *testing.T) {
	corohttp.SetLoopPath(t, true, 200*time.Millisecond, time.Hour, 20*time.Millisecond)
	run := scripttest.Start(t, "loop.star", loopPathScript, 30*time.Second)
	c, err := net.Dial("tcp", "127.0.0.1:"+run.Stdout.Next(t))
	require.NoError(t, err)
	defer c.Close()
	head := "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n"
	body := strings.Repeat("b", 10000)
	first := 4096 - len(head) // the loop's first read takes 4 KiB
	_, err = io.WriteString(c, head+body[:first])
	require.NoError(t, err)
	time.Sleep(500 * time.Millisecond) // past the head's timeout
	_, err = io.WriteString(c, body[first:])
	require.NoError(t, err)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got))
}

// A body read whole with its head is held once, in its exchange, and the
// buffer grown to read it is not kept while the handler runs: 400
// clients each with a 64 KiB body held 139 KB of heap each.
func TestLoopPathBodyHeldOnce(t *testing.T) {
	corohttp.SetLoopPath(t, true, time.Hour, time.Hour, time.Second)
	run := scripttest.Start(t, "held.star", `
ch = channel()
def handler(req):
    print("in")
    ch.recv()
    return "ok"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 60*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	before := liveHeap()
	const n = 400
	body := strings.Repeat("b", 64<<10)
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n"+body)
		require.NoError(t, err)
	}
	for range n {
		run.Stdout.Next(t) // every handler waits, its body read
	}
	perConn := (liveHeap() - before) / n
	assert.Less(t, perConn, int64(100<<10), "bytes of heap per connection")
}

// liveHeap is the bytes of the heap's live objects, after a collection.
func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
