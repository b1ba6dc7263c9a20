package http_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFetchExample runs scripts/http_fetch.star with a limit of 3 against
// a Go server that records how many requests it serves at once: never
// more than the limit, every result reported in order, failures as lines.
func TestFetchExample(t *testing.T) {
	var mu sync.Mutex
	cur, most := 0, 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur++
		most = max(most, cur)
		mu.Unlock()
		defer func() { mu.Lock(); cur--; mu.Unlock() }()
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, strings.Repeat("x", len(r.URL.Path)))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()

	base := "http://" + ln.Addr().String()
	args := []string{"3"}
	var want []string
	for i := range 10 {
		p := "/" + strings.Repeat("p", i+1)
		args = append(args, base+p)
		want = append(want, fmt.Sprintf("%s%s 200 %d bytes", base, p, len(p)))
	}
	args = append(args, base+"/missing", "http://"+deadAddr+"/")
	want = append(want, base+"/missing 404 19 bytes",
		"http://"+deadAddr+"/ failed: refused: http.get: "+deadAddr+": connection refused",
		"at most 3 in flight")

	src, err := os.ReadFile("../../scripts/http_fetch.star")
	require.NoError(t, err)
	stdout, stderr, done := runScriptArgs(t, string(src), args...)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, strings.Join(want, "\n")+"\n", stdout.String())
	assert.LessOrEqual(t, most, 3)
}

// TestClientErrorsNameURL: a server that closes the connection without
// a response, in its headers, or before the end of the body it
// announced, or that does not answer within the timeout, fails the
// request with io naming the URL and what went wrong (both were a bare
// "eof: http.get: end of stream"), whether the body is read whole or
// streamed.
func TestClientErrorsNameURL(t *testing.T) {
	base := hostileServer(t, func(req *http.Request, c net.Conn) {
		switch req.URL.Path {
		case "/short":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this")
		case "/head":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-A: b\r\n")
		case "/chunk":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n")
		case "/slow":
			io.Copy(io.Discard, c) // no response until the client gives up
		} // anything else: closed without a response
	})
	stdout, stderr, done := runScriptArgs(t, `
base = os.args[0]
for p in ["/short", "/nothing", "/head", "/chunk"]:
    print(catch(http.get, base + p).error)
print(catch(http.request, "POST", base + "/nothing", body="x").error)
r = http.get(base + "/short", stream=True)
print(r.read(4), "|", catch(r.text).error)
print(catch(http.get, base + "/slow", timeout=0.05).error)
print(catch(http.get, base + "/slow", timeout=0.05, stream=True).error)
`, base)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, strings.ReplaceAll(`io: http.get: body of BASE/short ended early (unexpected EOF)
io: http.get: BASE/nothing: the server closed the connection without a response
io: http.get: BASE/head: the server closed the connection in the middle of its response
io: http.get: body of BASE/chunk: invalid byte in chunk length
io: http.request: BASE/nothing: the server closed the connection without a response
only | io: Response.text: body of BASE/short ended early (unexpected EOF)
timeout: http.get of BASE/slow exceeded 0.05s
timeout: http.get of BASE/slow exceeded 0.05s
`, "BASE", base), stdout.String())
}
