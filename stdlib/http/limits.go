package http

import (
	"bytes"
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
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// harden sets srv's timeouts and header limit, and its log: lines go to
// the engine's stderr (written on the loop), but for failed TLS
// handshakes: any client may fail one (a port scan, a client that does
// not trust the certificate), and the server can do nothing about it.
func harden(srv *http.Server, e *loop.Engine) {
	srv.ReadHeaderTimeout = readHeaderTimeout
	srv.IdleTimeout = idleTimeout
	srv.MaxHeaderBytes = maxHeaderBytes
	srv.ErrorLog = log.New(serverLog{e}, "coro: warning: ", 0)
}

// serverLog is the writer of a server's log.
type serverLog struct{ e *loop.Engine }

func (l serverLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
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
		k, ok := starlark.AsString(it[0])
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: headers: got a %s key, want string", fn, it[0].Type())
		}
		k = http.CanonicalHeaderKey(k)
		switch val := it[1].(type) {
		case starlark.String:
			h[k] = append(h[k], string(val))
		case starlark.Indexable:
			for i := range val.Len() {
				s, ok := starlark.AsString(val.Index(i))
				if !ok {
					return nil, loop.Errorf(loop.KindValue, "%s: headers: %s: got a %s in the list, want strings", fn, k, val.Index(i).Type())
				}
				h[k] = append(h[k], s)
			}
		default:
			return nil, loop.Errorf(loop.KindValue, "%s: headers: %s: got %s, want a string or a list of strings", fn, k, it[1].Type())
		}
	}
	return h, nil
}
