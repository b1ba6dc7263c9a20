package http_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// goServer serves h on loopback until the test ends.
func goServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// noLeaks checks, once the test's engine is closed (the cleanups run
// last first), that no goroutine the test started is left; the client's
// pooled connections are no leak.
func noLeaks(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop")}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

func TestStreamedResponse(t *testing.T) {
	noLeaks(t)
	release, gate := make(chan struct{}), make(chan struct{})
	gone := make(chan string, 4)
	base := goServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "first line\nsecond ")
		w.(http.Flusher).Flush()
		switch r.URL.Path {
		case "/chunks":
			<-release
			fmt.Fprint(w, "line\nthird\nrest of it")
		case "/forever":
			<-r.Context().Done() // until the client goes away
			gone <- r.URL.RawQuery
		case "/gate":
			<-gate
		}
	}))
	stdout, stderr, done := runScript(t, fmt.Sprintf(`
base = %q
r = http.get(base + "/chunks", stream=True)
print(r.status, r, r.headers["content-type"])
print(repr(r.read_line()))  # before the rest was sent
print("waiting")
print(repr(r.read_line()))
print(repr(r.read(3)))
print(repr(r.body))         # the rest
print(repr(r.body), repr(r.read()), r)

def abandon():
    r = http.request("GET", base + "/forever?abandoned", stream=True)
    print(repr(r.read_line()))
t = spawn(abandon)
t.wait()
print("task ended")
http.get(base + "/gate")  # until the test saw the abandoned response closed

r = http.get(base + "/forever?closed", stream=True)
print(repr(r.read_line()))
r.close()
print(catch(r.read).error)
print(catch(lambda: r.body).error)
print(catch(http.get, base, stream=1).error)
`, base))
	assert.Equal(t, "200 <response 200, streaming> text/plain; charset=utf-8", stdout.Next(t))
	assert.Equal(t, `"first line\n"`, stdout.Next(t))
	assert.Equal(t, "waiting", stdout.Next(t))
	close(release)
	assert.Equal(t, `"second line\n"`, stdout.Next(t))
	assert.Equal(t, `"thi"`, stdout.Next(t))
	assert.Equal(t, `"rd\nrest of it"`, stdout.Next(t))
	assert.Equal(t, `"rd\nrest of it" "" <response 200, 13 bytes>`, stdout.Next(t))
	assert.Equal(t, `"first line\n"`, stdout.Next(t))
	assert.Equal(t, "task ended", stdout.Next(t))
	// The response the task stopped reading was closed when it ended
	// (the script waits at the gate meanwhile: both closes reach the
	// server asynchronously, and under load their order could swap).
	assert.Equal(t, "abandoned", waitFor(t, gone))
	close(gate)
	assert.Equal(t, `"first line\n"`, stdout.Next(t))
	assert.Equal(t, "closed", waitFor(t, gone))
	assert.Equal(t, "closed: Response.read: response body is closed", stdout.Next(t))
	assert.Equal(t, "closed: Response.body: response body is closed", stdout.Next(t))
	assert.Equal(t, "value: http.get: for parameter stream: got int, want bool", stdout.Next(t))
	require.NoError(t, <-done, stderr.String())
}

// waitFor returns the next value from c, failing the test after 10 s.
func waitFor[T any](t *testing.T, c chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// curlUpload runs curl -T - (a chunked upload of n zero bytes from its
// stdin) against url and returns its output.
func curlUpload(t *testing.T, url string, n int64) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	cmd := exec.Command("curl", "-sS", "-w", "|%{http_code}", "-T", "-", url)
	cmd.Stdin = io.LimitReader(zeros{}, n)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

const bodyScript = `
def handler(req):
    if req.path == "/count":
        n = 0
        while True:
            chunk = req.read(n = 100000)
            if chunk == "":
                break
            n += len(chunk)
        return "%d bytes" % n
    if req.path == "/lines":
        return "".join([l.upper() for l in req.lines()])
    if req.path == "/mixed":
        first = req.read_line()
        return "%r %r %r %r" % (first, req.body, req.body, req.read())
    if req.path == "/whole":
        return "%d bytes" % len(req.body)
    if req.path == "/json":
        return req.json()
    if req.path == "/errors":
        return "\n".join([str(catch(f).error) for f in [lambda: req.read(0), lambda: req.read_line(0)]])
    if req.path == "/line":
        r = catch(req.read_line)
        return str(r.error) if not r.ok else "a line of %d bytes" % len(r.value)
    return "?"

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

func TestRequestBodyStreaming(t *testing.T) {
	stdout, stderr, _ := runScript(t, bodyScript)
	base := "http://127.0.0.1:" + stdout.Next(t)
	// A large upload read as it comes: far more than the limit of a
	// body read whole.
	assert.Equal(t, "100000000 bytes|200", curlUpload(t, base+"/count", 100_000_000))
	assert.Equal(t, "0 bytes|200", curl(t, base+"/count"))
	assert.Equal(t, "A\nB\nC|200", curl(t, "--data-binary", "a\nb\nc", base+"/lines"))
	assert.Equal(t, `"one\n" "two\nthree" "two\nthree" ""|200`, curl(t, "--data-binary", "one\ntwo\nthree", base+"/mixed"))
	assert.Equal(t, `{"a":[1,2]}|200`, curl(t, "-d", `{"a": [1, 2]}`, base+"/json"))
	assert.Equal(t, "value: Request.read: n must be > 0, got 0\nvalue: Request.read_line: limit must be > 0, got 0|200", curl(t, base+"/errors"))
	assert.Empty(t, stderr.String())
}

// A request body with no newline fails req.read_line once 1 MiB of it
// has come, naming the client; the server reads about that much of it,
// not all the client sends (a client sending 1.5 GB with no newline
// made a server's read_line hold 500 MB and more).
func TestRequestLineLimit(t *testing.T) {
	stdout, stderr, _ := runScript(t, bodyScript)
	addr := "127.0.0.1:" + stdout.Next(t)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	const size = 256 << 20
	fmt.Fprintf(c, "POST /line HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	sent := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(c, io.LimitReader(zeros{}, size)) // until the server closes
		sent <- n
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "value: Request.read_line: line longer than 1048576 bytes from "+c.LocalAddr().String(), string(body))
	assert.True(t, resp.Close, "the rest of the body is not read: the connection closes")
	c.Close()
	// What the kernel's buffers took, and what the server read and
	// dropped (drainLimit), besides the line's 1 MiB.
	assert.Less(t, waitFor(t, sent), int64(64<<20))
	assert.NotContains(t, stderr.String(), "http: handler for")
}

// TestRequestBodyLimit: a body read whole past the server's limit is
// answered 413, whether its length was announced or not; the handler's
// failure is the client's, not logged.
func TestRequestBodyLimit(t *testing.T) {
	const limit = 64 << 20
	stdout, stderr, _ := runScript(t, bodyScript)
	addr := "127.0.0.1:" + stdout.Next(t)
	assert.Equal(t, fmt.Sprintf("%d bytes|200", limit), curlUpload(t, "http://"+addr+"/whole", limit))
	assert.Equal(t, "request body too large\n|413", curlUpload(t, "http://"+addr+"/whole", limit+1))
	// Announced: refused before a byte is read.
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /whole HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", limit+1)
	status, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 413 Request Entity Too Large\r\n", status)
	// (Reading 64 MB whole may hold the loop long enough for a warning.)
	assert.NotContains(t, stderr.String(), "http: handler for")
}

const generatorScript = `
def ticks():
    defer(print, "sse cleanup")
    i = 0
    while True:
        emit("data: %d\n\n" % i)
        i += 1
        sleep(0.02)

def parts():
    for p in ["a", b"b", "", "c"]:
        emit(p)

def bad():
    emit("ok\n")
    emit(1)

def closing():
    for i in range(3):
        sleep(0.02)
        emit("part %d\n" % i)

def handler(req):
    if req.path == "/sse":
        return (200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, generator(ticks))
    if req.path == "/parts":
        return generator(parts)
    if req.path == "/status":
        return (201, generator(parts))
    if req.path == "/bad":
        return generator(bad)
    if req.path == "/slow":
        defer(print, "slow cleanup")
        print("slow started")
        sleep(60)
        return "never"
    if req.path == "/close":
        srv.close()
        return generator(closing)
    return "?"

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

func TestGeneratorResponses(t *testing.T) {
	stdout, stderr, done := runScript(t, generatorScript)
	base := "http://127.0.0.1:" + stdout.Next(t)

	out := curl(t, "-i", base+"/parts")
	assert.Contains(t, out, "Content-Type: text/plain; charset=utf-8\r\n")
	assert.Contains(t, out, "Transfer-Encoding: chunked\r\n")
	assert.True(t, strings.HasSuffix(out, "\r\n\r\nabc|200"), out)
	assert.True(t, strings.HasSuffix(curl(t, base+"/status"), "abc|201"))

	// A generator that fails half-way cuts the response short.
	resp, err := http.Get(base + "/bad")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ok\n", string(body))
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, stderr.String(), "http.serve: the handler's generator emitted int, want string or bytes")

	// Server-sent events to curl -N: each event arrives as it is emitted;
	// when curl goes away, the generator is stopped and its cleanup runs.
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	cmd := exec.Command("curl", "-sS", "-N", base+"/sse")
	pipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewReader(pipe)
	for _, want := range []string{"data: 0\n", "\n", "data: 1\n", "\n", "data: 2\n"} {
		got, err := lines.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	assert.Equal(t, "sse cleanup", stdout.Next(t))

	// A plain handler is cancelled too when its client goes away.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/slow", nil)
	failed := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		failed <- err
	}()
	assert.Equal(t, "slow started", stdout.Next(t))
	cancel()
	assert.Error(t, waitFor(t, failed))
	assert.Equal(t, "slow cleanup", stdout.Next(t))

	// close() from a handler: its own streamed response still finishes,
	// then the run ends.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err = c.Get(base + "/close")
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "part 0\npart 1\npart 2\n", string(body))
	assert.NoError(t, waitFor(t, done))
}

// A client that leaves a streamed response cancels the handler's task
// (SPEC 12): a write that failed reached the task before serve's
// cancellation did, and the handler failed with reset, logged as a
// handler failure. Now the emit fails with the cancellation, and nothing
// is logged.
func TestClientLeavingAStreamCancelsTheHandler(t *testing.T) {
	stdout, stderr, done := runScript(t, `
kinds = []
def handler(req):
    if req.path == "/done":
        while len(kinds) < 20:
            sleep(0.01)
        print(sorted(set(kinds)), len(kinds))
        srv.close()
        return "done"
    def body():
        r = catch(lambda: [emit("x" * 10000) for i in range(1000)])
        kinds.append(r.error.kind)
    return generator(body)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	base := "http://127.0.0.1:" + stdout.Next(t)
	for range 20 {
		resp, err := http.Get(base)
		require.NoError(t, err)
		buf := make([]byte, 10)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/done")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, `["cancelled"] 20`, stdout.Next(t))
	require.NoError(t, <-done)
	assert.NotContains(t, stderr.String(), "failed")
}

// A handler's content-length that does not match its body: a whole body
// is sent with its own length, and the route's handler named in a
// warning (the client got 0 bytes of "hello world" under a
// content-length of 2, and failed after 5 of 100); a streamed body that
// is longer or shorter than it fails the handler, logged, and is cut
// short.
func TestContentLengthMismatch(t *testing.T) {
	stdout, stderr, _ := runScript(t, `
def gen(*parts):
    def body():
        for p in parts:
            emit(p)
    return generator(body)

def handler(req):
    p = req.path
    if p == "/long":
        return (200, {"content-length": "2"}, "hello world")
    if p == "/short":
        return (200, {"Content-Length": "100"}, "hello")
    if p == "/bad":
        return (200, {"content-length": "lots"}, b"hello")
    if p == "/right":
        return (200, {"content-length": "5"}, "hello")
    if p == "/head":
        return (200, {"content-length": "1234"}, "")
    if p == "/gen-right":
        return (200, {"content-length": "11"}, gen("hello", " world"))
    if p == "/gen-long":
        return (200, {"content-length": "5"}, gen("hel", "lo world"))
    if p == "/gen-short":
        return (200, {"content-length": "100"}, gen("hello"))
    if p == "/gen-bad":
        return (200, {"content-length": ["1", "2"]}, gen("hello"))
    return "?"

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	base := "http://127.0.0.1:" + stdout.Next(t)
	get := func(method, path string) (*http.Response, string, error) {
		req, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, path)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body), err
	}
	for path, want := range map[string]string{"/long": "hello world", "/short": "hello", "/bad": "hello", "/right": "hello", "/gen-right": "hello world"} {
		resp, body, err := get("GET", path)
		require.NoError(t, err, path)
		assert.Equal(t, want, body, path)
		assert.Equal(t, int64(len(want)), resp.ContentLength, path)
	}
	resp, _, err := get("HEAD", "/head")
	require.NoError(t, err)
	assert.Equal(t, int64(1234), resp.ContentLength, "a HEAD's content-length is left alone")

	_, body, err := get("GET", "/gen-long")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "hel", body)
	_, body, err = get("GET", "/gen-short")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "hello", body)
	resp, _, err = get("GET", "/gen-bad")
	require.NoError(t, err)
	assert.Equal(t, 500, resp.StatusCode)

	assert.Eventually(t, func() bool { return strings.Count(stderr.String(), "failed:") == 3 }, 10*time.Second, 10*time.Millisecond, stderr.String())
	log := stderr.String()
	for _, want := range []string{
		`coro: warning: http: handler for GET /long returned content-length "2" with a body of 11 bytes; sent content-length 11` + "\n",
		`coro: warning: http: handler for GET /short returned content-length "100" with a body of 5 bytes; sent content-length 5` + "\n",
		`coro: warning: http: handler for GET /bad returned content-length "lots" with a body of 5 bytes; sent content-length 5` + "\n",
		"http: handler for GET /gen-long failed:\n",
		"value: http.serve: the handler's generator emitted more than its content-length of 5 bytes\n",
		"http: handler for GET /gen-short failed:\n",
		"value: http.serve: the handler's generator ended after 5 bytes, short of its content-length of 100\n",
		"http: handler for GET /gen-bad failed:\n",
		`value: http.serve: the handler's content-length "1, 2" is not a byte count` + "\n",
	} {
		assert.Contains(t, log, want)
	}
	assert.NotContains(t, log, "/right")
	assert.NotContains(t, log, "/head")
}
