package http

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// The server's defences against slow or greedy clients, as net/http
// recommends: a request's header must arrive within readHeaderTimeout
// and weigh at most maxHeaderBytes (a larger one gets 431); a kept-alive
// connection idle for idleTimeout is closed; a body larger than the
// server's max_body (by default maxBody) gets 413.
//
// HTTP/2 has no header timeout of its own: its server reads a header
// block (a HEADERS frame, then CONTINUATION frames up to END_HEADERS) as
// one frame, with no deadline, so a client that began one and sent
// nothing more kept its connection until idleTimeout (120 s). Its
// health check does the work instead: a connection that sends no frame
// for h2PingAfter is pinged, and closed unless the answer comes within
// h2PingTimeout. A client in the middle of a header block cannot answer
// (a PING there is a protocol error, which closes the connection too),
// so it is cut within readHeaderTimeout of its last whole frame, as an
// HTTP/1 client is; a live client answers, and keeps its connection
// however long it waits for a response.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	h2PingAfter       = readHeaderTimeout / 2
	h2PingTimeout     = readHeaderTimeout - h2PingAfter
)

// The server's bounds on a client that stalls once its request is read,
// as nginx's send_timeout and client_body_timeout: each is a bound on the
// time between two steps of progress, not on the whole transfer, so a
// large response or body on a slow but live link still goes through.
// They are variables only so that tests can shorten them.
var (
	// sendTimeout bounds each writeStep bytes of a response (and the
	// flush of its head and end), and of what a WebSocket writes, either
	// side's: a peer that takes none of them for that long has its
	// connection closed, and the write fails.
	sendTimeout = 30 * time.Second
	// bodyTimeout bounds each read of a request body: a client that
	// sends nothing for that long fails the read with timeout, and its
	// connection is closed after the reply.
	bodyTimeout = 30 * time.Second
	// shutdownGrace is how long a closed server (Server.close, the end
	// of the run) waits for the exchanges in flight before it closes
	// their connections and cancels their handlers.
	shutdownGrace = 5 * time.Second
)

// writeStep is the most of a response written under one sendTimeout:
// net/http writes a piece whole before it returns, so the deadline of a
// larger piece would bound the time of more than one step of progress.
const writeStep = 16 << 10

// writeSteps writes data to w in pieces of at most writeStep bytes,
// calling deadline before each (and once for empty data), which gives
// the write that follows sendTimeout. It returns how much was written.
func writeSteps(w io.Writer, deadline func(), data []byte) (int, error) {
	n := 0
	for {
		deadline()
		k := min(len(data)-n, writeStep)
		if k == 0 {
			return n, nil
		}
		m, err := w.Write(data[n : n+k])
		n += m
		if err != nil {
			return n, err
		}
	}
}

// harden sets srv's timeouts and header limit, and its log: lines go to
// the engine's stderr (written on the loop), but for what clients cause
// (quietLines).
func harden(srv *http.Server, e *loop.Engine) {
	srv.ReadHeaderTimeout = readHeaderTimeout
	srv.IdleTimeout = idleTimeout
	srv.MaxHeaderBytes = maxHeaderBytes
	srv.HTTP2 = &http.HTTP2Config{SendPingTimeout: h2PingAfter, PingTimeout: h2PingTimeout}
	srv.ErrorLog = log.New(serverLog{e}, "coro: warning: ", 0)
}

// quietLines are the lines of net/http's log that a client causes, and
// which so are not logged: any client may fail a TLS handshake (a port
// scan, a client that does not trust the certificate), and send HTTP/2
// that is bogus (no preface, a protocol error), late (no SETTINGS, no
// answer to a PING) or that ends its connection with an error. The
// server can do nothing about them, and a client must not decide how
// much the server logs. What the server itself causes (a handler's
// panic, a bad header it sends) is still logged.
var quietLines = [][]byte{
	[]byte("http: TLS handshake error"),
	[]byte("http2: server: error reading preface"),
	[]byte("http2: server connection error"),
	[]byte("http2: server closing client connection"),
	[]byte("http2: received GOAWAY"),
	[]byte("timeout waiting for SETTINGS frames"),
	[]byte("timeout waiting for PING response"),
}

// serverLog is the writer of a server's log.
type serverLog struct{ e *loop.Engine }

func (l serverLog) Write(p []byte) (int, error) {
	for _, q := range quietLines {
		if bytes.Contains(p, q) {
			return len(p), nil
		}
	}
	line := bytes.Clone(p)
	l.e.Post(func() { l.e.Stderr().Write(line) })
	return len(p), nil
}

// maxBodyArg checks http.serve's max_body: a byte count, 0 or more.
func maxBodyArg(fn string, v starlark.Value) (int64, error) {
	if v == nil || v == starlark.None {
		return maxBody, nil
	}
	if i, ok := v.(starlark.Int); ok {
		if n, exact := i.Int64(); exact && n >= 0 {
			return n, nil
		}
	}
	return 0, loop.Errorf(loop.KindValue, "%s: max_body: got %s, want a byte count (an int, 0 or more)", fn, v.String())
}

// replyHeaders unpacks the headers a handler returned: a dict whose
// values are strings, or lists (or tuples) of strings for a header sent
// several times (two set-cookie, say).
func replyHeaders(fn string, v starlark.Value) (http.Header, error) {
	h := http.Header{}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, loop.Errorf(loop.KindValue, "%s: headers: got %s, want dict", fn, v.Type())
	}
	for _, it := range d.Items() {
		name, ok := starlark.AsString(it[0])
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: headers: got a key of type %s, want string", fn, it[0].Type())
		}
		k := http.CanonicalHeaderKey(name)
		switch val := it[1].(type) {
		case starlark.String:
			h[k] = append(h[k], string(val))
		case starlark.Indexable:
			for i := range val.Len() {
				s, ok := starlark.AsString(val.Index(i))
				if !ok {
					return nil, loop.Errorf(loop.KindValue, "%s: headers[%s][%d]: got %s, want string", fn, loop.QuoteArg(name), i, val.Index(i).Type())
				}
				h[k] = append(h[k], s)
			}
		default:
			return nil, loop.Errorf(loop.KindValue, "%s: headers[%s]: got %s, want a string or a list of strings", fn, loop.QuoteArg(name), it[1].Type())
		}
	}
	return h, nil
}
