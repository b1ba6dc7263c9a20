package http_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileServer listens on loopback and answers each request by handing
// it and its raw connection to serve, which writes whatever it likes;
// the connection is closed when serve returns. It returns the server's
// base URL, "http://127.0.0.1:PORT".
func hostileServer(t *testing.T, serve func(req *http.Request, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				serve(req, c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// endless writes x's to c until the client goes away.
func endless(c net.Conn) {
	chunk := strings.Repeat("x", 64<<10)
	for {
		if _, err := io.WriteString(c, chunk); err != nil {
			return
		}
	}
}

// TestClientBodyLimit: a body read whole by the client is bounded by
// max_body (64 MiB by default): a server that streams forever, a 101
// reply whose body is the connection, a gzip body that decompresses past
// the limit, or a streamed response's rest read by .body or .text()
// fails with value naming the URL and the limit, where the client read
// on until the heap ran out; a body whose announced length is past the
// limit fails before a byte is read. A body of exactly max_body bytes
// is read, and a gzip body comes decompressed, without its
// content-encoding and content-length.
func TestClientBodyLimit(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(make([]byte, 1<<20))
	w.Close()
	base := hostileServer(t, func(req *http.Request, c net.Conn) {
		switch req.URL.Path {
		case "/forever":
			io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
			endless(c)
		case "/switch":
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
			endless(c)
		case "/announced":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n")
			io.Copy(io.Discard, c) // nothing until the client gives up
		case "/exact":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n%s", strings.Repeat("y", 1000))
		case "/gzip":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", gz.Len())
			c.Write(gz.Bytes())
		}
	})
	stdout, stderr, done := runScriptArgs(t, `
base = os.args[0]
print(catch(http.get, base + "/forever", max_body=1000).error)
print(catch(http.request, "GET", base + "/switch", max_body=1000).error)
print(catch(http.get, base + "/announced").error)
print(catch(http.get, base + "/gzip", max_body=1000).error)
print(len(http.get(base + "/exact", max_body=1000).body))
r = http.get(base + "/gzip", max_body=1 << 20)
print(len(r.body), "content-encoding" in r.headers, "content-length" in r.headers)
r = http.get(base + "/forever", stream=True, max_body=1000)
print(len(r.read(10)), catch(lambda: r.body).error)
print(catch(r.read).error)
r = http.get(base + "/gzip", stream=True, max_body=1000)
print(catch(r.text).error)
print(catch(http.get, base + "/exact", max_body=-1).error)
`, base)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, strings.ReplaceAll(`value: http.get: the body of BASE/forever is larger than the limit of 1000 bytes (max_body)
value: http.request: the body of BASE/switch is larger than the limit of 1000 bytes (max_body)
value: http.get: the body of BASE/announced is larger than the limit of 67108864 bytes (max_body)
value: http.get: the body of BASE/gzip is larger than the limit of 1000 bytes (max_body) once decompressed (gzip)
1000
1048576 False False
10 value: Response.body: the body of BASE/forever is larger than the limit of 1000 bytes (max_body)
closed: Response.read: response body is closed
value: Response.text: the body of BASE/gzip is larger than the limit of 1000 bytes (max_body) once decompressed (gzip)
value: http.get: max_body: got -1, want a byte count (an int, 0 or more)
`, "BASE", base), stdout.String())
}

// bigHeaders writes a response whose headers weigh more than the
// client's limit of 1 MiB: 100,000 of 12 bytes or so.
func bigHeaders(c net.Conn) {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n")
	for i := range 100000 {
		fmt.Fprintf(&b, "A%d: b\r\n", i)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	io.WriteString(c, b.String())
}

// TestClientHeaderLimit: a response's headers are at most 1 MiB, over
// HTTP/1 (the shared client, and the WebSocket dial's) and HTTP/2 (the
// client of a call with ca=): past that the request fails with io naming
// the URL and the limit, where net/http's default let 10 MB of tiny
// headers through, which the loop then spent seconds turning into a
// dict. Headers within the limit arrive. Over HTTP/2, net/http closes
// a connection whose headers go on past the limit with a bare protocol
// error, which cannot tell it from others: the failure names the limit
// as one cause, and the URL, where it said only "connection error:
// PROTOCOL_ERROR".
func TestClientHeaderLimit(t *testing.T) {
	base := hostileServer(t, func(req *http.Request, c net.Conn) {
		if req.URL.Path == "/big" {
			bigHeaders(c)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-A: "+strings.Repeat("a", 500<<10)+"\r\nContent-Length: 0\r\n\r\n")
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 100000 {
			w.Header().Set(fmt.Sprintf("A%d", i), "b")
		}
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	ws := strings.Replace(base, "http:", "ws:", 1)

	stdout, stderr, done := runScriptArgs(t, `
base, ws, tls, ca = os.args
print(len(http.get(base + "/ok").headers["x-a"]))
print(catch(http.get, base + "/big").error)
print(catch(http.get, base + "/big", stream=True).error)
print(catch(http.websocket, ws + "/big").error)
print(catch(http.get, tls + "/", ca=ca).error)
`, base, ws, srv.URL, ca)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, strings.NewReplacer("BASE", base, "WS", ws, "TLS", srv.URL).Replace(`512000
io: http.get: BASE/big: the response's headers are larger than the limit of 1048576 bytes
io: http.get: BASE/big: the response's headers are larger than the limit of 1048576 bytes
io: http.websocket: WS/big: the response's headers are larger than the limit of 1048576 bytes
io: http.get: TLS/: HTTP/2 protocol error: the response's headers are larger than the limit of 1048576 bytes, or the server broke the protocol
`), stdout.String())
}

// TestClientRedirectReferer: a redirected request carries no Referer but
// the script's own, and that one only while the redirects stay on the
// first URL's host. net/http sent the URL redirected from, query (and
// its secrets) included, to wherever the redirect led, and the script's
// own Referer to another host.
func TestClientRedirectReferer(t *testing.T) {
	var base string
	base = hostileServer(t, func(req *http.Request, c net.Conn) {
		switch req.URL.Path {
		case "/same":
			io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: /echo\r\nContent-Length: 0\r\n\r\n")
		case "/other":
			other := strings.Replace(base, "127.0.0.1", "localhost", 1)
			io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: "+other+"/echo\r\nContent-Length: 0\r\n\r\n")
		case "/echo":
			ref := fmt.Sprintf("%q", req.Header.Values("Referer"))
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(ref), ref)
		}
	})
	stdout, stderr, done := runScriptArgs(t, `
base = os.args[0]
for path in ["/same", "/other"]:
    for hdr in [None, {"referer": "https://mine.example/"}]:
        print(path, http.get(base + path + "?token=secret", headers=hdr).body)
`, base)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, `/same []
/same ["https://mine.example/"]
/other []
/other []
`, stdout.String())
}

// TestWebSocketTimeoutNamesURL: an http.websocket handshake past its
// timeout says which URL it was, as http.get does, where it said
// "timeout: http.websocket exceeded 0.05s".
func TestWebSocketTimeoutNamesURL(t *testing.T) {
	base := hostileServer(t, func(req *http.Request, c net.Conn) {
		io.Copy(io.Discard, c) // no answer until the client gives up
	})
	ws := strings.Replace(base, "http:", "ws:", 1)
	stdout, stderr, done := runScriptArgs(t, `print(catch(http.websocket, os.args[0] + "/never", timeout=0.05).error)`, ws)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, "timeout: http.websocket of "+ws+"/never exceeded 0.05s\n", stdout.String())
}

// TestClientRedirectErrorsNameBothURLs: a request that fails after a
// redirect names the URL requested and the one redirected to, where a
// refused or reset connection named only the address redirected to
// ("refused: http.get: 127.0.0.2:18081: connection refused"), and a
// redirect to another scheme than http or https says so, where it gave
// net/http's `Get "file:///etc/passwd": unsupported protocol scheme
// "file"`, naming not the URL requested. A handshake of http.websocket
// fails in the same words, and one the server closes without a response
// is io, no longer "eof: http.websocket: end of stream".
func TestClientRedirectErrorsNameBothURLs(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()
	reset, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer reset.Close()
	go func() {
		for {
			c, err := reset.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n') // the request has begun
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	resetAddr := reset.Addr().String()
	base := hostileServer(t, func(req *http.Request, c net.Conn) {
		to := map[string]string{
			"/to-dead":    "http://" + deadAddr + "/x",
			"/to-reset":   "http://" + resetAddr + "/x",
			"/to-file":    "file:///etc/passwd",
			"/to-nothing": "/nothing",
		}[req.URL.Path]
		if to != "" {
			io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: "+to+"\r\nContent-Length: 0\r\n\r\n")
		} // anything else: closed without a response
	})
	ws := strings.Replace(base, "http:", "ws:", 1)
	stdout, stderr, done := runScriptArgs(t, `
base, ws = os.args
for p in ["/to-dead", "/to-reset", "/to-file", "/to-nothing"]:
    print(catch(http.get, base + p + "?q=1").error)
print(catch(http.get, "file:///etc/passwd").error)
print(catch(http.websocket, ws + "/to-dead").error)
print(catch(http.websocket, ws + "/nothing").error)
`, base, ws)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, strings.NewReplacer("BASE", base, "WS", ws, "DEAD", deadAddr, "RESET", resetAddr).Replace(
		`refused: http.get: BASE/to-dead?q=1 (redirected to http://DEAD/x): DEAD: connection refused
reset: http.get: BASE/to-reset?q=1 (redirected to http://RESET/x): RESET: connection reset by peer
io: http.get: BASE/to-file?q=1: redirected to file:///etc/passwd, a scheme other than http or https
io: http.get: BASE/to-nothing?q=1 (redirected to BASE/nothing): the server closed the connection without a response
io: http.get: file:///etc/passwd: unsupported protocol scheme "file"
refused: http.websocket: WS/to-dead (redirected to http://DEAD/x): DEAD: connection refused
io: http.websocket: WS/nothing: the server closed the connection without a response
`), stdout.String())
}
