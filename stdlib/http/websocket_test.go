package http_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corolang/coro/engine"
	corohttp "github.com/corolang/coro/stdlib/http"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawWS is a minimal RFC 6455 client on a plain TCP connection: no
// library between the test and the wire.
type rawWS struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

const (
	opText   = 1
	opBinary = 2
	opClose  = 8
	opPing   = 9
	opPong   = 10
)

func dialRaw(t *testing.T, addr, path string) *rawWS {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	k := make([]byte, 16)
	rand.Read(k)
	key := base64.StdEncoding.EncodeToString(k)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, 101, resp.StatusCode)
	require.Equal(t, wsAccept(key), resp.Header.Get("Sec-WebSocket-Accept"))
	return &rawWS{t: t, c: c, br: br}
}

// send writes one masked frame.
func (w *rawWS) send(op byte, payload []byte) {
	hdr := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := w.c.Write(append(hdr, masked...))
	require.NoError(w.t, err)
}

// recv reads one frame (the server's are never masked).
func (w *rawWS) recv() (op byte, payload []byte) {
	var h [2]byte
	_, err := io.ReadFull(w.br, h[:])
	require.NoError(w.t, err)
	require.Zero(w.t, h[1]&0x80, "a server frame is masked")
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(w.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(w.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.br, payload)
	require.NoError(w.t, err)
	return h[0] & 0x0f, payload
}

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

func parseClose(p []byte) (int, string) {
	if len(p) < 2 {
		return 0, ""
	}
	return int(binary.BigEndian.Uint16(p)), string(p[2:])
}

const wsServerScript = `
go = sync.event()

def handler(req):
    if req.path == "/go":
        go.set()
        return "ok"
    if req.path == "/limit":
        ws = req.websocket()
        print("limit got", len(ws.recv()))
        print(catch(ws.recv).error, ws.close_code)
        print(ws.recv())
        return
    if req.path == "/bye":
        ws = req.websocket()
        ws.send("bye")
        return "ignored"
    if req.path == "/plain":
        return catch(req.websocket).error
    ws = req.websocket()
    print("accepted", ws.close_code)
    go.wait()   # not reading: pings are answered all the same
    for m in ws:
        print("got", type(m), repr(m))
        if m == "close please":
            ws.close(4002, "as you wish")
            print("closed", ws.close_code)
            break
        ws.send(m)
    print("end", ws.close_code, ws.recv())
    print(catch(ws.send, "late").error)

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`

func TestWebSocketServerWithRawClient(t *testing.T) {
	stdout, stderr, _ := runScript(t, wsServerScript)
	addr := "127.0.0.1:" + stdout.Next(t)

	w := dialRaw(t, addr, "/echo")
	assert.Equal(t, "accepted None", stdout.Next(t))
	// The handler waits on an event, not on the socket: the ping is
	// answered without it.
	w.send(opPing, []byte("p1"))
	op, p := w.recv()
	assert.Equal(t, byte(opPong), op)
	assert.Equal(t, "p1", string(p))
	assert.Equal(t, "ok|200", curl(t, "http://"+addr+"/go"))

	w.send(opText, []byte("hello"))
	op, p = w.recv()
	assert.Equal(t, byte(opText), op)
	assert.Equal(t, "hello", string(p))
	assert.Equal(t, `got string "hello"`, stdout.Next(t))
	w.send(opBinary, []byte{0, 1, 2})
	op, p = w.recv()
	assert.Equal(t, byte(opBinary), op)
	assert.Equal(t, []byte{0, 1, 2}, p)
	assert.Equal(t, `got bytes b"\x00\x01\x02"`, stdout.Next(t))
	big := strings.Repeat("x", 70000) // a 64-bit length
	w.send(opText, []byte(big))
	op, p = w.recv()
	assert.Equal(t, byte(opText), op)
	assert.Equal(t, big, string(p))
	stdout.Next(t)

	// The peer closes: the same code is answered, then recv is None.
	w.send(opClose, closePayload(4001, "bye"))
	op, p = w.recv()
	assert.Equal(t, byte(opClose), op)
	code, _ := parseClose(p)
	assert.Equal(t, 4001, code)
	assert.Equal(t, "end 4001 None", stdout.Next(t))
	assert.Equal(t, "closed: WebSocket.send: the socket is closed", stdout.Next(t))

	// The script closes: its code reaches the peer, whose reply ends it.
	w = dialRaw(t, addr, "/echo")
	assert.Equal(t, "accepted None", stdout.Next(t))
	w.send(opText, []byte("close please"))
	assert.Equal(t, `got string "close please"`, stdout.Next(t))
	op, p = w.recv()
	assert.Equal(t, byte(opClose), op)
	code, reason := parseClose(p)
	assert.Equal(t, 4002, code)
	assert.Equal(t, "as you wish", reason)
	w.send(opClose, p)
	assert.Equal(t, "closed 4002", stdout.Next(t))
	assert.Equal(t, "end 4002 None", stdout.Next(t))
	stdout.Next(t)

	// Messages are bounded: 1 MiB passes, more closes with 1009.
	w = dialRaw(t, addr, "/limit")
	w.send(opBinary, make([]byte, 1<<20))
	assert.Equal(t, "limit got 1048576", stdout.Next(t))
	w.send(opBinary, make([]byte, 1<<20+1))
	op, p = w.recv()
	assert.Equal(t, byte(opClose), op)
	code, _ = parseClose(p)
	assert.Equal(t, 1009, code)
	assert.Equal(t, "value: WebSocket.recv: a message was larger than 1048576 bytes: the socket is closed (1009) 1009", stdout.Next(t))
	assert.Equal(t, "None", stdout.Next(t))

	// The socket closes (1000) when the handler's task ends; what it
	// returned is ignored.
	w = dialRaw(t, addr, "/bye")
	op, p = w.recv()
	assert.Equal(t, "bye", string(p))
	op, p = w.recv()
	assert.Equal(t, byte(opClose), op)
	code, _ = parseClose(p)
	assert.Equal(t, 1000, code)

	// A request that is no handshake: req.websocket() fails, the client
	// gets the library's answer.
	out := curl(t, "http://"+addr+"/plain")
	assert.True(t, strings.HasSuffix(out, "|426"), out)
	assert.NotContains(t, stderr.String(), "handler for")
}

// goEchoServer is a plain coder/websocket echo server.
func goEchoServer(t *testing.T, tls bool) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if string(data) == "close" {
				c.Close(4003, "asked")
				return
			}
			if err := c.Write(context.Background(), typ, data); err != nil {
				return
			}
		}
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes the test fails
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestWebSocketClient(t *testing.T) {
	noLeaks(t)
	plain := goEchoServer(t, false)
	secure := goEchoServer(t, true)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}))
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()
	stdout, stderr, done := runScript(t, fmt.Sprintf(`
def echo(url, **kw):
    ws = http.websocket(url, **kw)
    ws.send("text")
    ws.send(b"\x00bin")
    print(repr(ws.recv()), repr(ws.recv(timeout=5)), ws.close_code)
    print(catch(ws.recv, timeout=0.05).error)
    ws.close()
    print(ws.close_code, ws.recv(), [m for m in ws])
    print(catch(ws.send, "x").error)
    ws.close()  # again: nothing

plain = %q
echo(plain)
echo(%q, ca=%q)
echo(%q, insecure=True)
print(catch(http.websocket, %q).error.kind)

ws = http.websocket(plain, headers={"X-A": "b"})
ws.send("close")
print(ws.recv(), ws.close_code)

# coro's client against coro's server
def handler(req):
    ws = req.websocket()
    for m in ws:
        ws.send(m * 2)
srv = http.serve("127.0.0.1:0", handler)
ws = http.websocket("ws://127.0.0.1:%%d/" %% srv.port, timeout=5)
for m in ["a", b"b"]:
    ws.send(m)
    print(repr(ws.recv()))
ws.close(3000, "done")
print(ws.close_code)
srv.close()

for bad in ["http://x/", "ws://", "nonsense"]:
    print(catch(http.websocket, bad).error)
print(catch(http.websocket, "ws://%s/").error.kind)
print(catch(http.websocket, plain.replace("ws://", "wss://")).error.kind)
print(catch(ws.close, 1005).error)
print(catch(ws.close, 1000, "x" * 124).error)
print(catch(ws.send, 1).error)
`, "ws"+strings.TrimPrefix(plain.URL, "http"),
		"wss"+strings.TrimPrefix(secure.URL, "https"), ca,
		"wss"+strings.TrimPrefix(secure.URL, "https"),
		"wss"+strings.TrimPrefix(secure.URL, "https"), deadAddr))
	for range 3 {
		assert.Equal(t, `"text" b"\x00bin" None`, stdout.Next(t))
		assert.Equal(t, "timeout: WebSocket.recv exceeded 0.05s", stdout.Next(t))
		assert.Equal(t, "1000 None []", stdout.Next(t))
		assert.Equal(t, "closed: WebSocket.send: the socket is closed", stdout.Next(t))
	}
	assert.Equal(t, "io", stdout.Next(t)) // unknown authority
	assert.Equal(t, "None 4003", stdout.Next(t))
	assert.Equal(t, `"aa"`, stdout.Next(t))
	assert.Equal(t, `b"bb"`, stdout.Next(t))
	assert.Equal(t, "3000", stdout.Next(t))
	assert.Equal(t, `value: http.websocket: "http://x/" is not a ws:// or wss:// URL`, stdout.Next(t))
	assert.Equal(t, `value: http.websocket: "ws://" is not a ws:// or wss:// URL`, stdout.Next(t))
	assert.Equal(t, `value: http.websocket: "nonsense" is not a ws:// or wss:// URL`, stdout.Next(t))
	assert.Equal(t, "refused", stdout.Next(t))
	assert.Equal(t, "io", stdout.Next(t)) // TLS to a plain server
	assert.Equal(t, "value: WebSocket.close: code 1005: want 1000-1003, 1007-1014 or 3000-4999", stdout.Next(t))
	assert.Equal(t, "value: WebSocket.close: reason is 124 bytes, at most 123 fit in a close frame", stdout.Next(t))
	assert.Equal(t, "value: WebSocket.send: for parameter data: got int, want string or bytes", stdout.Next(t))
	require.NoError(t, waitFor(t, done), stderr.String())
}

// A handler that fails after accepting a WebSocket is logged as any
// failing handler is: its peer sees only the close code 1011, and the
// failure went nowhere else.
func TestWebSocketHandlerFailureIsLogged(t *testing.T) {
	stdout, stderr, _ := runScript(t, `
def handler(req):
    ws = req.websocket()
    ws.recv()
    x = 1 // 0

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	addr := "127.0.0.1:" + stdout.Next(t)
	w := dialRaw(t, addr, "/ws")
	w.send(opText, []byte("hi"))
	op, p := w.recv()
	require.Equal(t, byte(opClose), op)
	code, _ := parseClose(p)
	assert.Equal(t, 1011, code)
	assert.Eventually(t, func() bool { return strings.Contains(stderr.String(), "division by zero") }, 10*time.Second, 10*time.Millisecond)
	log := stderr.String()
	assert.Contains(t, log, "http: handler for GET /ws failed:\n")
	assert.Contains(t, log, "server.star:5:11: in handler")
}

// Pings are answered while the handler is busy, also once a message is
// read ahead of its recv (they went unanswered then: a handler that
// slept before its first recv left its client's pings without a pong).
// At most one message is read ahead: a ping after a further one waits
// for the handler's recv, and a peer that sends more is held back.
func TestWebSocketPingsWhileBusy(t *testing.T) {
	stdout, _, _ := runScript(t, `
go = sync.event()
def handler(req):
    if req.path == "/go":
        go.set()
        return "ok"
    ws = req.websocket()
    print("accepted")
    go.wait()
    for m in ws:
        print("got", len(m))
        if len(m) < 100:
            ws.send(m)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	addr := "127.0.0.1:" + stdout.Next(t)
	w := dialRaw(t, addr, "/busy")
	assert.Equal(t, "accepted", stdout.Next(t))
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	w.send(opText, []byte("first"))
	w.send(opPing, []byte("p1"))
	op, p := w.recv()
	assert.Equal(t, byte(opPong), op)
	assert.Equal(t, "p1", string(p))
	w.send(opText, []byte("second"))
	w.send(opPing, []byte("p2"))

	// The handler does not receive: of 64 messages of 1 MiB, what the
	// kernel's buffers hold gets through, and no more.
	big := dialRaw(t, addr, "/big")
	assert.Equal(t, "accepted", stdout.Next(t))
	sent := make(chan int, 1)
	go func() {
		n := 0
		big.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		for ; n < 64; n++ {
			if _, err := big.c.Write(maskedFrame(opBinary, make([]byte, 1<<20))); err != nil {
				break
			}
		}
		sent <- n
	}()
	assert.Less(t, waitFor(t, sent), 32)
	big.c.Close()

	assert.Equal(t, "ok|200", curl(t, "http://"+addr+"/go"))
	got := map[string]byte{}
	for range 3 {
		op, p := w.recv()
		got[string(p)] = op
	}
	assert.Equal(t, map[string]byte{"p2": opPong, "first": opText, "second": opText}, got)
}

// maskedFrame is one masked client frame of payload (a zero mask).
func maskedFrame(op byte, payload []byte) []byte {
	hdr := []byte{0x80 | op, 0x80 | 127}
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(payload)))
	return append(append(hdr, 0, 0, 0, 0), payload...)
}

// A WebSocket whose reading ended with an error releases its connection:
// the server's socket was left open (CLOSE-WAIT for the life of the
// process) when the client sent FIN without a close frame, broke off in
// the middle of a frame, sent an unmasked frame or a message past the
// limit. The client sees the server close its end.
func TestWebSocketReadErrorReleasesConnection(t *testing.T) {
	stdout, _, _ := runScript(t, `
def handler(req):
    ws = req.websocket()
    print("open", req.path)
    catch(lambda: [ws.send(m) for m in ws])
    print("end", req.path, ws.close_code)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`)
	addr := "127.0.0.1:" + stdout.Next(t)
	for _, tc := range []struct {
		name string
		do   func(w *rawWS)
		code string // the close code the handler sees
	}{
		{"fin", func(w *rawWS) { w.c.(*net.TCPConn).CloseWrite() }, "1006"},
		{"partial", func(w *rawWS) {
			w.c.Write([]byte{0x81, 0x85, 0, 0}) // a masked text frame's header cut short
			w.c.(*net.TCPConn).CloseWrite()
		}, "1006"},
		{"unmasked", func(w *rawWS) { w.c.Write([]byte{0x81, 0x02, 'h', 'i'}) }, "1006"},
		{"toobig", func(w *rawWS) { w.send(opBinary, make([]byte, 1<<20+1)) }, "1009"},
	} {
		w := dialRaw(t, addr, "/"+tc.name)
		assert.Equal(t, "open /"+tc.name, stdout.Next(t))
		tc.do(w)
		assert.Equal(t, "end /"+tc.name+" "+tc.code, stdout.Next(t))
		// What the server still sends (a close frame) and then EOF.
		w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, w.br)
		assert.NoError(t, err, "%s: the server kept its end open", tc.name)
	}
}

// The client side likewise: a server that drops the WebSocket without a
// close frame (here by a half-close, so that it sees the client's end)
// leaves the script's WebSocket closed and its connection released, not
// kept until the run ends, also when the script calls close().
func TestWebSocketClientReleasesDroppedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	released := make(chan error, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br, err := acceptWebSocket(c)
				if err != nil {
					released <- err
					return
				}
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(8 * time.Second)) // within waitFor's 10 s
				_, err = io.Copy(io.Discard, br)
				released <- err
			}()
		}
	}()
	for _, src := range []string{
		"print(ws.recv(), ws.close_code)",
		"print(ws.recv(), ws.close_code)\nws.close()",
	} {
		stdout, _, _ := runScript(t, fmt.Sprintf(`
ws = http.websocket("ws://%s/")
%s
print("done")
sleep(60)  # the run goes on: its end would release the socket
`, ln.Addr(), src))
		assert.Equal(t, "None 1006", stdout.Next(t))
		assert.Equal(t, "done", stdout.Next(t))
		assert.NoError(t, waitFor(t, released), "the client kept its end open: %s", src)
	}
}

// Closing the server says "going away" (1001) to each WebSocket it
// accepted, which ends its handler's reading as a peer's close does;
// a handler still running when the grace runs out is cancelled and its
// connection closed, as an HTTP exchange's is, and the run ends. The
// upgraded connections were outside the server's shutdown: a handler
// receiving in a loop kept the run going for ever.
func TestWebSocketGoesAwayWhenServerCloses(t *testing.T) {
	noLeaks(t)
	corohttp.SetSlowClientBounds(t, never, never, 200*time.Millisecond)
	run := scripttest.Start(t, "server.star", `
def handler(req):
    if req.path == "/close":
        srv.close()
        return "closing"
    ws = req.websocket()
    print("open", req.path)
    for m in ws:
        ws.send(m)
    print("end", req.path, ws.close_code, ws.recv())
    if req.path == "/linger":
        print("linger:", catch(sleep, 60).error)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 30*time.Second)
	addr := "127.0.0.1:" + run.Stdout.Next(t)

	// A library client, which answers the close, and a raw one, which
	// does not.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, "open /echo", run.Stdout.Next(t))
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("hi")))
	_, p, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(p))
	w := dialRaw(t, addr, "/linger")
	assert.Equal(t, "open /linger", run.Stdout.Next(t))

	resp, err := http.Get("http://" + addr + "/close")
	require.NoError(t, err)
	resp.Body.Close()
	_, _, err = c.Read(ctx)
	assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "%v", err)
	op, p := w.recv()
	assert.Equal(t, byte(opClose), op)
	code, _ := parseClose(p)
	assert.Equal(t, 1001, code)
	got := []string{run.Stdout.Next(t), run.Stdout.Next(t), run.Stdout.Next(t)}
	assert.ElementsMatch(t, []string{"end /echo 1001 None", "end /linger 1001 None", "linger: cancelled: http server closed"}, got)
	require.NoError(t, run.Wait(t))
	// The raw client never answered the close: its connection is closed.
	w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, w.br)
	assert.NoError(t, err, "the server kept the connection")
}

// stallScript sends 1 MiB messages until send fails, and says why.
const stallScript = `
big = "x" * (1 << 20)
def flood(ws, who):
    err = catch(lambda: [ws.send(big) for _ in range(1000)]).error
    print(err.kind, err.message.replace(who, "PEER"))
    print(catch(ws.send, "x").error.kind)
    ws.close()
    print("closed")
`

// A WebSocket peer that stops reading fails the server's send with
// timeout once a write makes no progress for the send timeout, as an
// HTTP response's does, and its connection is closed. The send waited
// for ever once the socket buffers and the send queue were full,
// holding the handler and the connection.
func TestWebSocketSendToStalledClientTimesOut(t *testing.T) {
	noLeaks(t)
	corohttp.SetSlowClientBounds(t, 200*time.Millisecond, never, never)
	run := scripttest.Start(t, "server.star", stallScript+`
def handler(req):
    flood(req.websocket(), req.remote_addr)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 30*time.Second)
	w := dialRaw(t, "127.0.0.1:"+run.Stdout.Next(t), "/")
	assert.Equal(t, "timeout timeout: WebSocket.send: websocket PEER: the peer took nothing for 0.2s; the socket is closed", run.Stdout.Next(t))
	assert.Equal(t, "timeout", run.Stdout.Next(t))
	assert.Equal(t, "closed", run.Stdout.Next(t))
	// What the server wrote, then the end: it closed the connection.
	w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, w.br)
	assert.NoError(t, err, "the server kept the connection")
}

// The client side likewise: a server that stops reading fails
// http.websocket's send with timeout, and the connection is closed.
func TestWebSocketSendToStalledServerTimesOut(t *testing.T) {
	noLeaks(t)
	corohttp.SetSlowClientBounds(t, 200*time.Millisecond, never, never)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	released := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			released <- err
			return
		}
		defer c.Close()
		br, err := acceptWebSocket(c)
		if err != nil {
			released <- err
			return
		}
		<-released // read nothing until the script has failed
		c.SetReadDeadline(time.Now().Add(8 * time.Second))
		_, err = io.Copy(io.Discard, br)
		released <- err
	}()
	url := fmt.Sprintf("ws://%s/", ln.Addr())
	run := scripttest.Start(t, "client.star", stallScript+fmt.Sprintf("flood(http.websocket(%q), %q)\n", url, url), 30*time.Second)
	assert.Equal(t, "timeout timeout: WebSocket.send: websocket PEER: the peer took nothing for 0.2s; the socket is closed", run.Stdout.Next(t))
	assert.Equal(t, "timeout", run.Stdout.Next(t))
	assert.Equal(t, "closed", run.Stdout.Next(t))
	require.NoError(t, run.Wait(t))
	released <- nil
	assert.NoError(t, waitFor(t, released), "the client kept the connection")
}

// acceptWebSocket reads a WebSocket upgrade request from c and accepts
// it by hand (a server that then misbehaves, as no library would), and
// returns the reader of what follows.
func acceptWebSocket(c net.Conn) (*bufio.Reader, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		wsAccept(req.Header.Get("Sec-WebSocket-Key")))
	return br, err
}

// wsAccept is the Sec-WebSocket-Accept answering key (RFC 6455 4.2.2).
func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// closeBlockedScript has one task flood ws until send waits for room
// (the peer reads nothing), another wait in recv, and then closes ws.
const closeBlockedScript = `
big = "x" * (1 << 20)

def flood(ws):
    err = catch(lambda: [ws.send(big) for _ in range(1000)]).error
    print("send:", err)

def receive(ws):
    print("recv:", ws.recv())

def blocked():
    w = {i.name: i.waiting_on or "" for i in tasks()}
    return w.get("flood", "").startswith("send on") and w.get("receive", "").startswith("recv on")

def close_blocked(ws):
    spawn(flood, ws, name="flood")
    spawn(receive, ws, name="receive")
    for _ in range(1000):
        if blocked():
            break
        sleep(0.01)
    if not blocked():
        fail("send and recv never waited")
    ws.close()
    print("closed", ws.close_code)
`

// readAll reads c's messages until it closes, as a peer that reads again.
func readAll(c *websocket.Conn) error {
	c.SetReadLimit(-1)
	for {
		if _, _, err := c.Read(context.Background()); err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil
			}
			return err
		}
	}
}

// A send waiting for room in the queue (the peer reads nothing), and a
// recv, in other tasks, fail with closed and return None at once when
// close() is called, as a Conn's pending write does on close(); close
// itself sends the close after what was queued. The send waited until a
// queued message was written: for ever, or the send timeout, with a
// peer that stopped reading.
func TestWebSocketCloseWakesBlockedSendOnServer(t *testing.T) {
	noLeaks(t)
	corohttp.SetSlowClientBounds(t, never, never, never)
	run := scripttest.Start(t, "server.star", closeBlockedScript+`
def handler(req):
    close_blocked(req.websocket())
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://127.0.0.1:"+run.Stdout.Next(t)+"/", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	// Read nothing until both have failed.
	got := []string{run.Stdout.Next(t), run.Stdout.Next(t)}
	assert.ElementsMatch(t, []string{"send: closed: WebSocket.send: the socket is closed", "recv: None"}, got)
	read := make(chan error, 1)
	go func() { read <- readAll(c) }()
	assert.Equal(t, "closed 1000", run.Stdout.Next(t))
	assert.NoError(t, waitFor(t, read))
}

// The client side likewise, for http.websocket's socket.
func TestWebSocketCloseWakesBlockedSendOnClient(t *testing.T) {
	noLeaks(t)
	corohttp.SetSlowClientBounds(t, never, never, never)
	start, read := make(chan struct{}), make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			read <- err
			return
		}
		defer c.CloseNow()
		<-start // read nothing until both have failed
		read <- readAll(c)
	}))
	defer srv.Close()
	startReading := sync.OnceFunc(func() { close(start) })
	defer startReading()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	run := scripttest.Start(t, "client.star", closeBlockedScript+fmt.Sprintf("close_blocked(http.websocket(%q))\n", url), 30*time.Second)
	got := []string{run.Stdout.Next(t), run.Stdout.Next(t)}
	assert.ElementsMatch(t, []string{"send: closed: WebSocket.send: the socket is closed", "recv: None"}, got)
	startReading()
	assert.Equal(t, "closed 1000", run.Stdout.Next(t))
	require.NoError(t, run.Wait(t))
	assert.NoError(t, waitFor(t, read))
}

// A text message is UTF-8 (RFC 6455): one that is not fails the
// connection with 1007, and send refuses to make one (bytes are binary).
// Both went through, and browsers drop such a connection.
func TestWebSocketTextIsUTF8(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bin")
	require.NoError(t, os.WriteFile(bin, []byte("\xff\xfe"), 0o644))
	run := scripttest.StartWith(t, engine.Options{Permissions: engine.Permissions{Net: true, Read: []string{bin}}}, "server.star", `
def handler(req):
    ws = req.websocket()
    print(catch(ws.send, fs.read(os.args[0])).error)  # a string, not UTF-8
    ws.send(b"\xff\xfe")
    ws.send("é")
    print("got", ws.recv(), ws.close_code)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 30*time.Second, bin)
	addr := "127.0.0.1:" + run.Stdout.Next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, `value: WebSocket.send: a text message must be UTF-8, got "\xff\xfe" (send bytes for a binary message)`, run.Stdout.Next(t))
	typ, p, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, websocket.MessageBinary, typ)
	assert.Equal(t, "\xff\xfe", string(p))
	typ, p, err = c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, websocket.MessageText, typ)
	assert.Equal(t, "é", string(p))
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("\xff\xfe")))
	_, _, err = c.Read(ctx)
	assert.Equal(t, websocket.StatusInvalidFramePayloadData, websocket.CloseStatus(err), "%v", err)
	assert.Equal(t, "got None 1007", run.Stdout.Next(t))
}
