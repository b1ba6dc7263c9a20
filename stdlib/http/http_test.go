package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

type output = scripttest.Output

// runScript starts src on an engine that allows network access and
// returns its output streams and a channel with the run's result.
func runScript(t *testing.T, src string) (stdout, stderr *output, done chan error) {
	t.Helper()
	return runScriptArgs(t, src)
}

func runScriptArgs(t *testing.T, src string, args ...string) (stdout, stderr *output, done chan error) {
	t.Helper()
	r := scripttest.Start(t, "server.star", src, 30*time.Second, args...)
	return r.Stdout, r.Stderr, r.Done
}

const serverScript = `
def handler(req):
    if req.path == "/json":
        return {"n": req.json()["n"] + 1, "query": req.query}
    if req.path == "/fail":
        fail("handler broke")
    if req.path == "/slow":
        print("slow started")
        sleep(0.2)
        return "slow done"
    if req.path == "/close":
        srv.close()
        return "closing"
    return (200, {"X-Path": req.path}, "hello " + req.method + " " + req.path)

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
# The main module ends here: the server's own task keeps the run going.
`

// curl runs the real curl client and returns its stdout, with the status
// code appended after a "|".
func curl(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	out, err := exec.Command("curl", append([]string{"-sS", "-w", "|%{http_code}"}, args...)...).CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

func TestServeWithCurlAndGoClient(t *testing.T) {
	stdout, stderr, done := runScript(t, serverScript)
	base := "http://127.0.0.1:" + stdout.Next(t)

	assert.Equal(t, "hello GET /a/b|200", curl(t, base+"/a/b"))
	assert.Contains(t, curl(t, "-i", base+"/x"), "X-Path: /x")
	assert.Equal(t, `{"n":42,"query":{"q":"v"}}|200`, curl(t, "-d", `{"n": 41}`, base+"/json?q=v"))
	assert.Equal(t, "internal server error\n|500", curl(t, base+"/fail"))
	assert.Contains(t, stderr.String(), "handler broke")
	assert.Contains(t, stderr.String(), "server.star:6:13: in handler")

	// Many concurrent requests from Go's client, each its own task.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"n": %d}`, i)
			resp, err := http.Post(base+"/json", "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var got struct{ N int }
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.N != i+1 {
				errs <- fmt.Errorf("request %d: got %+v, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	assert.Equal(t, "closing|200", curl(t, base+"/close"))
	select {
	case err := <-done:
		assert.NoError(t, err, "the run ends once the server is closed")
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end after server.close()")
	}
}

func TestCloseLetsInFlightRequestsFinish(t *testing.T) {
	stdout, _, done := runScript(t, serverScript)
	base := "http://127.0.0.1:" + stdout.Next(t)
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	require.Equal(t, "slow started", stdout.Next(t))
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(base + "/close")
	require.NoError(t, err)
	resp.Body.Close()
	// No new connections once closed...
	_, err = net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	assert.Error(t, err)
	// ...but the request in flight is answered.
	assert.Equal(t, "slow done", <-slow)
	assert.NoError(t, <-done)
}

func TestClientAgainstGoServer(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprintf(w, `{"method": %q, "body": %q, "auth": %q}`, r.Method, body, r.Header.Get("Authorization"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()
	stdout, _, done := runScript(t, fmt.Sprintf(`
r = http.request("PUT", "http://%s/p", headers={"Authorization": "Bearer x"}, body=b"payload")
print(r.status, r.json(), r.headers["x-multi"])
`, ln.Addr()))
	assert.Equal(t, `200 {"method": "PUT", "body": "payload", "auth": "Bearer x"} a, b`, stdout.Next(t))
	assert.NoError(t, <-done)
}

// TestServeClosedWithEngine: a run that ends before the server's own task
// first runs (a failure right after serve, os.exit) leaves no listener or
// goroutine behind once the engine is closed.
func TestServeClosedWithEngine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, end := range []string{`fail("boom")`, `os.exit(0)`} {
		out := scripttest.NewOutput()
		e, err := engine.New(engine.Options{Stdout: out, Stderr: out, Permissions: engine.Permissions{Net: true}})
		require.NoError(t, err)
		_, err = e.Exec(context.Background(), "early.star", "srv = http.serve(\"127.0.0.1:0\", lambda req: \"x\")\n"+end+"\n")
		require.Error(t, err)
		require.NoError(t, e.Close())
	}
}

// TestServeAddresses: http.serve takes addresses as net.listen does.
func TestServeAddresses(t *testing.T) {
	path := t.TempDir() + "/s:80"
	stdout, _, done := runScript(t, fmt.Sprintf(`
print(catch(http.serve, "unix:", lambda req: "").error)
print(catch(http.serve, "nonsense", lambda req: "").error)
srv = http.serve("unix:%s", lambda req: "")
print(srv.addr, srv.port)
srv.close()
`, path))
	assert.Equal(t, `value: http.serve: empty unix socket path in "unix:"`, stdout.Next(t))
	assert.Equal(t, `value: http.serve: bad address "nonsense": want "host:port" or "unix:/path"`, stdout.Next(t))
	assert.Equal(t, "unix:"+path+" 0", stdout.Next(t))
	assert.NoError(t, <-done)
}

// TestCancelledTaskSendsNoRequest: a cancelled task fails http.request as
// it fails every wait, and the request is not sent.
func TestCancelledTaskSendsNoRequest(t *testing.T) {
	var mu sync.Mutex
	got := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()
	stdout, _, done := runScript(t, fmt.Sprintf(`
def late():
    catch(sleep, 10)
    print(catch(http.request, "POST", "http://%s/p", body="x").error)
t = spawn(late)
sleep(0.01)
t.cancel()
t.wait()
sleep(0.2)
`, ln.Addr()))
	assert.Equal(t, "cancelled: cancelled", stdout.Next(t))
	assert.NoError(t, <-done)
	mu.Lock()
	defer mu.Unlock()
	assert.Zero(t, got)
}

// A request body cut short (the client closed the connection before the
// Content-Length it announced) or malformed (a bad chunk) is io naming
// the client, not a bare "eof: end of stream", the kind read_exactly
// keeps for itself.
func TestBadRequestBodiesNameTheClient(t *testing.T) {
	stdout, _, _ := runScript(t, `
def handler(req):
    r = catch(lambda: req.body)
    print(r.error.kind, r.error.message.replace(req.remote_addr, "CLIENT"))
    return "ok"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	addr := "127.0.0.1:" + stdout.Next(t)
	for _, tc := range []struct{ req, want string }{
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello",
			"io io: Request.body: the request body from CLIENT ended early (unexpected EOF)"},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
			"io io: Request.body: the request body from CLIENT: invalid byte in chunk length"},
	} {
		// The client's end of its stream is also what tells net/http it
		// went away: the handler's read may fail first with cancelled
		// (client disconnected), about one run in 40 under -race. That
		// order is tried again; the body's error must come in the end.
		got := ""
		for try := 0; try < 20; try++ {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = c.Write([]byte(tc.req))
			require.NoError(t, err)
			if strings.Contains(tc.req, "Content-Length") {
				c.(*net.TCPConn).CloseWrite() // the client has nothing more to say
			}
			got = stdout.Next(t)
			c.Close()
			if got != "cancelled cancelled: http client disconnected" {
				break
			}
		}
		assert.Equal(t, tc.want, got)
	}
}

// A client that closes its side (a full close, or a half-close: net/http
// reads EOF either way and ends the request's context) cancels the
// handler, and gets no reply: it used to get an empty 200 OK, a success
// the handler never gave.
func TestHandlerCancelledByClientSendsNoSuccess(t *testing.T) {
	stdout, _, _ := runScript(t, `
def handler(req):
    b = req.body
    print("handler:", catch(sleep, 5).error)
    return "processed %d bytes" % len(b)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	c, err := net.Dial("tcp", "127.0.0.1:"+stdout.Next(t))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	assert.Equal(t, "handler: cancelled: http client disconnected", stdout.Next(t))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Empty(t, string(got))
}

// A handler that leaves a request body unread: net/http in full-duplex
// mode read the rest of it after the handler had returned, beside the
// connection's next request, panicked ("invalid concurrent Body.Read
// call") and dropped the connection, so requests on keep-alive
// connections failed. The body is now drained before the handler's
// exchange ends; a body past the drain limit closes the connection
// after the reply.
func TestUnreadBodiesKeepConnectionsWorking(t *testing.T) {
	stdout, stderr, _ := runScript(t, `
srv = http.serve("127.0.0.1:0", lambda req: "ok " + req.method)
print(srv.port)
`)
	base := "http://127.0.0.1:" + stdout.Next(t)
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	var reused int
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			reused++
		}
	}}
	big := strings.Repeat("x", 300<<10) // past the drain limit
	for i := range 200 {
		body := "x"
		if i%50 == 49 {
			body = big
		}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", base, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err, "request %d", i)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err, "request %d", i)
		require.Equal(t, "ok POST", string(b), "request %d", i)
	}
	assert.GreaterOrEqual(t, reused, 190, "small bodies keep the connection")
	assert.NotContains(t, stderr.String(), "panic")
}

// A request body whose framing is broken (a bad chunk size, a chunk
// extension or a trailer too long) leaves the server not knowing where
// the next request starts: the connection is closed after the reply, so
// what follows the broken body is never served as a request of its own.
// In full-duplex mode net/http reused the connection, and a request
// smuggled after the bad chunk was served. It holds whether the handler
// reads the body, leaves it (the server drains it), or streams its
// response and reads the body after the head went out.
func TestBrokenRequestBodyClosesConnection(t *testing.T) {
	stdout, _, _ := runScript(t, `
def handler(req):
    print(req.path)
    mode = req.query.get("mode")
    if mode == "read":
        catch(lambda: req.body)
    if mode == "stream":
        def gen():
            emit("start ")
            catch(lambda: req.body)
            emit("end")
        return generator(gen)
    return "hi " + req.path
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	addr := "127.0.0.1:" + stdout.Next(t)
	long := strings.Repeat("a", 100<<10)
	bodies := map[string]string{
		"bad size":       "zz\r\n",
		"long extension": "5;" + long + "\r\nhello\r\n0\r\n\r\n",
		"long trailer":   "5\r\nhello\r\n0\r\nX-T: " + long + "\r\n\r\n",
	}
	n := 0
	for name, body := range bodies {
		for _, mode := range []string{"read", "ignore", "stream"} {
			n++
			path := fmt.Sprintf("/%d", n)
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = c.Write([]byte("POST " + path + "?mode=" + mode + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
				body + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
			require.NoError(t, err, "%s, %s", name, mode)
			assert.Equal(t, path, stdout.Next(t), "%s, %s", name, mode)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			c.Close()
			require.NoError(t, err, "%s, %s: the server kept the connection", name, mode)
			assert.Equal(t, 1, strings.Count(string(got), "HTTP/1.1 "), "%s, %s: %q", name, mode, got)
			if mode != "stream" {
				assert.Contains(t, string(got), "Connection: close", "%s, %s", name, mode)
			}
			// The next request the server sees is this one, not the
			// smuggled one.
			resp, err := http.Get("http://" + addr + "/next")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, "/next", stdout.Next(t), "%s, %s", name, mode)
		}
	}
}

// Expect: 100-continue. A body announced past max_body is refused at
// once, with no 100 Continue (the server read the body to drain it,
// which sent the 100, and answered 413 only once the drain gave up); a
// handler that ignores the body answers without asking for it; one that
// reads it gets it after the 100.
func TestExpectContinue(t *testing.T) {
	stdout, _, _ := runScript(t, `
def handler(req):
    if req.path == "/read":
        return "got " + req.body
    return "ignored"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	addr := "127.0.0.1:" + stdout.Next(t)
	ask := func(path string, length int64) (net.Conn, *bufio.Reader, *http.Response) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, length)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		return c, br, resp
	}
	for path, status := range map[string]int{"/read": 413, "/ignore": 200} {
		c, br, resp := ask(path, 999999999999)
		assert.Equal(t, status, resp.StatusCode, path)
		assert.True(t, resp.Close, "%s: the body the client holds back is no request", path)
		_, err := io.Copy(io.Discard, br)
		assert.NoError(t, err, path)
		c.Close()
	}

	_, br, resp := ask("/ignore", 5)
	assert.Equal(t, 200, resp.StatusCode)
	assert.True(t, resp.Close)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "ignored", string(b))
	_, err := io.Copy(io.Discard, br)
	assert.NoError(t, err)

	c, br, resp := ask("/read", 5)
	assert.Equal(t, 100, resp.StatusCode)
	io.WriteString(c, "hello")
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	assert.Equal(t, "got hello", string(b))
	assert.False(t, resp.Close)
}

// A run that ends (SIGINT, here its context cancelled) while a handler is
// in flight answers its request with 503 "server stopped", the answer of
// a stopped server: the cancelled handler's replier sent a 500, a
// failure the handler never had, whenever it came first (half the runs).
func TestRunEndingAnswers503(t *testing.T) {
	for i := range 10 {
		out, errs := scripttest.NewOutput(), scripttest.NewOutput()
		e, err := engine.New(engine.Options{Stdout: out, Stderr: errs, Permissions: engine.Permissions{Net: true}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := e.Exec(ctx, "sigint.star", `
def handler(req):
    print("handling")
    sleep(60)
    return "late"
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
			done <- err
		}()
		c, err := net.Dial("tcp", "127.0.0.1:"+out.Next(t))
		require.NoError(t, err)
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.Equal(t, "handling", out.Next(t))
		cancel()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "run %d", i)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "503 server stopped\n", fmt.Sprintf("%d %s", resp.StatusCode, b), "run %d", i)
		c.Close()
		waitFor(t, done)
		require.NoError(t, e.Close())
		assert.NotContains(t, errs.String(), "handler for", "a cancelled handler is no failure")
	}
}

// A failing handler's log line shows the path escaped as in a URL: a
// client's %0A made a line break in the server's log, and the text after
// it a line of its own (a forged log entry).
func TestHandlerLogLineEscapesPath(t *testing.T) {
	stdout, stderr, _ := runScript(t, `
srv = http.serve("127.0.0.1:0", lambda req: fail("broke"))
print(srv.port)
`)
	base := "http://127.0.0.1:" + stdout.Next(t)
	resp, err := http.Get(base + "/x%0Acoro:%20forged")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode)
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "broke") }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, stderr.String(), "http: handler for GET /x%0Acoro:%20forged failed:")
	assert.NotContains(t, stderr.String(), "\ncoro: forged")
}

// A password in a URL is never shown: not in what a task waits on, a
// stream's generator, a WebSocket's repr, nor in the value errors of URLs
// that parse (Redacted); each showed the URL as given.
func TestURLPasswordsAreRedacted(t *testing.T) {
	stdout, _, done := runScript(t, `
def h(req):
    if req.path == "/ws":
        ws = req.websocket()
        sleep(1)
        return
    def g():
        emit("a\n")
        sleep(1)
    return generator(g)
srv = http.serve("127.0.0.1:0", h)
r = http.get("http://alice:s3cret@127.0.0.1:%d/s" % srv.port, stream=True)
seen = [str(r.lines())]
ws = http.websocket("ws://bob:hunter2@127.0.0.1:%d/ws" % srv.port)
seen.append(repr(ws))
ts = [spawn(ws.recv), spawn(lambda: (r.read_line(), r.read_line())), spawn(http.get, "http://carol:pa55@127.0.0.1:%d/slow" % srv.port)]
sleep(0.2)
seen += [t.waiting_on for t in tasks() if t.waiting_on]
seen.append(str(catch(http.get, "http://carol:pw123@" + "a" * 300 + "/x").error))
seen.append(str(catch(http.websocket, "http://erin:opensesame@127.0.0.1/").error))
for s in seen:
    for pw in ["s3cret", "hunter2", "pa55", "pw123", "opensesame"]:
        if pw in s:
            print("leaked:", s)
print(len(seen) > 6, len([s for s in seen if "xxxxx" in s]) > 5)
for t in ts:
    t.cancel()
srv.close()
`)
	assert.Equal(t, "True True", stdout.Next(t))
	require.NoError(t, <-done)
}

// A handler's status is from 200 to 999: a 1xx is informational, and
// net/http sent 103 and then 200 with the body, or 101 with no Upgrade,
// the connection going on in HTTP. It is a failed handler (500).
func TestHandlerInformationalStatusFails(t *testing.T) {
	stdout, stderr, _ := runScript(t, `
srv = http.serve("127.0.0.1:0", lambda req: (int(req.query["s"]), "body"))
print(srv.port)
`)
	base := "http://127.0.0.1:" + stdout.Next(t)
	for s, want := range map[string]int{"101": 500, "103": 500, "199": 500, "99": 500, "204": 204, "299": 299} {
		resp, err := http.Get(base + "/?s=" + s)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "status %s", s)
	}
	assert.Contains(t, stderr.String(), "handler returned status 101, want an int from 200 to 999 (1xx statuses are informational)")
}

// A handler sees the request's host in req.headers (net/http moves the
// Host header into Request.Host, so no script saw it), and a client's
// host header is the host it sends.
func TestHostHeader(t *testing.T) {
	stdout, _, done := runScript(t, `
srv = http.serve("127.0.0.1:0", lambda req: req.headers["host"])
print(http.get("http://127.0.0.1:%d/" % srv.port).body == "127.0.0.1:%d" % srv.port)
print(http.get("http://127.0.0.1:%d/" % srv.port, headers={"Host": "example.test"}).body)
srv.close()
`)
	assert.Equal(t, "True", stdout.Next(t))
	assert.Equal(t, "example.test", stdout.Next(t))
	require.NoError(t, <-done)
}

// A request to a host that does not resolve names its URL (redacted), as
// every other failure of a request does: "lookup HOST: no such host"
// alone did not say which request it was.
func TestUnknownHostNamesTheURL(t *testing.T) {
	stdout, _, done := runScript(t, `
err = catch(http.get, "http://u:pw@nonexistent.invalid/page", timeout=5).error
print(err.kind, err.message)
`)
	line := stdout.Next(t)
	require.NoError(t, <-done)
	if !strings.Contains(line, "no such host") {
		t.Skipf("this machine's resolver does not answer for .invalid (%s)", line)
	}
	assert.True(t, strings.HasPrefix(line, "io io: http.get: http://u:xxxxx@nonexistent.invalid/page: "), line)
}

// A URL's port is from 1 to 65535: one past it is a bad URL (value), as
// a bad host is, where it was dialed and failed as io ("invalid port").
func TestURLPortIsChecked(t *testing.T) {
	stdout, _, done := runScript(t, `
print(catch(http.get, "http://127.0.0.1:99999/page").error)
print(catch(http.websocket, "ws://u:pw@127.0.0.1:0/").error)
`)
	assert.Equal(t, `value: http.get: bad URL "http://127.0.0.1:99999/page": port "99999" is not from 1 to 65535`, stdout.Next(t))
	assert.Equal(t, `value: http.websocket: bad URL "ws://u:xxxxx@127.0.0.1:0/": port "0" is not from 1 to 65535`, stdout.Next(t))
	require.NoError(t, <-done)
}
