package http

// WebSockets (SPEC 12) on github.com/coder/websocket: http.websocket
// dials one, req.websocket() accepts one in a handler; both give a
// WebSocket. Every wait is a task's wait on the loop: the blocking calls
// of the library run off it (loop.Engine.Go, loop.Exec.Offload).
//
// Reading: one message is read ahead, on a goroutine, as soon as the
// socket opens and again each time recv takes it. The library answers
// pings and the peer's close only while a read is in progress, so with a
// message read ahead a read goes on (pull): the library's Reader, which
// waits for the next message's first frame, answering pings and the
// close meanwhile, and stops there, its payload unread until recv makes
// room. A peer that sends faster than the script receives is so held
// back by TCP, and memory stays bounded by one message of at most
// wsReadLimit bytes; only a ping that comes after a further message
// waits for the script. (Reading every message as it came answered
// pings no longer once one was read ahead: a handler busy for a few
// seconds before its recv left its client's pings unanswered.)

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/coder/websocket"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/handle"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
	netmod "github.com/corolang/coro/stdlib/net"
)

// wsReadLimit bounds a message received: a larger one closes the socket
// with 1009 (message too big) and fails recv.
const wsReadLimit = 1 << 20

// wsCloseWait is how long close() waits for the peer's reply.
const wsCloseWait = time.Second

// A WebSocket is an open (or closed) WebSocket connection. Loop only but
// for the library's calls, made off the loop.
type WebSocket struct {
	bound starutil.Bound // its methods, bound once
	eng   *loop.Engine
	c     *websocket.Conn
	raw   *rawConn // the TCP connection under it, to cut a close short
	label string
	// sendTimeout bounds each step of a write (sendConn), for its error.
	sendTimeout time.Duration
	// h closes the connection with the engine, or once nothing refers
	// to the socket (handle.Handle): the read always in flight (pull)
	// refers to it only weakly.
	h *handle.Handle

	msg     starlark.Value // the message read ahead, not yet received
	next    io.Reader      // the start of the message after msg, its payload unread
	nextTyp websocket.MessageType
	busy    bool           // a read is in flight
	end     error          // what ended reading
	tooBig  bool           // a message past the limit ended it, not yet reported
	closing bool           // close() was called (or the handler's task ended)
	waiters loop.WakerList // tasks waiting in recv (or close) for a read
	// The send queue: send returns once its message is queued, and one
	// write at a time runs off the loop, in order, so a task that sends
	// does not wait a round trip to a goroutine per message. A full queue
	// makes send wait (back-pressure); close and the end of the
	// handler's task send the close frame once it is written out.
	outq     []wsOut
	writing  bool           // outq[0] is being written
	werr     error          // the first write failure: later sends fail with it
	room     loop.WakerList // tasks waiting in send for room, or in close for the queue to drain
	shutCode int            // a close to send once the queue is written (0: none)
	// The peer's close code, and the one sent (0: none).
	peerCode, sentCode int
}

// rawConn records the connection a WebSocket runs on.
type rawConn struct {
	mu sync.Mutex
	c  net.Conn
}

func (r *rawConn) set(c net.Conn) {
	r.mu.Lock()
	r.c = c
	r.mu.Unlock()
}

func (r *rawConn) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		r.c.Close()
	}
}

// A sendConn is the connection under a WebSocket, whose writes are
// bounded as a response's are (sendTimeout): each writeStep bytes must be
// taken within timeout, so a peer that stops reading fails the write in
// progress with errSendStalled, where it held the write, the send queue
// and the connection for ever once the socket buffers were full. Pings,
// pongs and closes the library writes go through it too.
type sendConn struct {
	net.Conn
	timeout time.Duration
}

// errSendStalled fails a WebSocket's write that made no progress for
// sendTimeout.
var errSendStalled = errors.New("the peer took nothing")

func (c *sendConn) Write(p []byte) (int, error) {
	n, err := writeSteps(c.Conn, func() { c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)) }, p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: %w", errSendStalled, err)
	}
	return n, err
}

type wsReason string

func (r wsReason) WaitingOn() string { return string(r) }

func newWebSocket(e *loop.Engine, c *websocket.Conn, raw *rawConn, label string, timeout time.Duration) *WebSocket {
	c.SetReadLimit(wsReadLimit)
	ws := &WebSocket{eng: e, c: c, raw: raw, label: label, sendTimeout: timeout}
	ws.h = handle.New(ws, e, wsCloser{c})
	ws.pull()
	return ws
}

// wsCloser closes a WebSocket's connection at once, for its handle: off
// the loop, as the library waits there for its goroutines to end.
type wsCloser struct{ c *websocket.Conn }

func (w wsCloser) Close() error {
	go w.c.CloseNow()
	return nil
}

// pull starts the next read unless one is in flight, reading has ended
// or there is no room: with no message read ahead, a whole message (the
// rest of next, if its start came); with one, the start of the next
// (next), unless it came already.
func (ws *WebSocket) pull() {
	if ws.busy || ws.end != nil || (ws.msg != nil && ws.next != nil) {
		return
	}
	ws.busy = true
	whole := ws.msg == nil
	typ, rd := ws.nextTyp, ws.next
	ws.next = nil
	var data []byte
	var err error
	// Not ws: the read waits for the peer as long as the socket is open,
	// and a socket the script dropped is to be collected, and closed,
	// meanwhile (h), which ends the read.
	c := ws.c
	ws.eng.Go(func() {
		if rd == nil {
			typ, rd, err = c.Reader(context.Background())
		}
		if err == nil && whole {
			data, err = io.ReadAll(rd)
			rd = nil
		}
		if err == nil && whole && typ == websocket.MessageText && !utf8.Valid(data) {
			// RFC 6455 8.1: a text message that is not UTF-8 fails
			// the connection, with 1007.
			data, err = nil, errNotUTF8
			c.Close(websocket.StatusInvalidFramePayloadData, "text message is not UTF-8")
		}
	}, handle.Weakly(ws, func(ws *WebSocket) { ws.land(typ, rd, data, err) }))
}

// errNotUTF8 ends reading at a text message that is not UTF-8.
var errNotUTF8 = errors.New("text message is not UTF-8")

// land takes a read's outcome on the loop: a message (data), or the start
// of one (rd), or what ended reading.
func (ws *WebSocket) land(typ websocket.MessageType, rd io.Reader, data []byte, err error) {
	ws.busy = false
	switch {
	case err == nil && ws.closing:
		// Closed meanwhile: nobody will receive it.
	case err == nil && rd != nil:
		ws.next, ws.nextTyp = rd, typ
	case err == nil && typ == websocket.MessageText:
		ws.msg = starlark.String(unsafe.String(unsafe.SliceData(data), len(data)))
	case err == nil:
		ws.msg = starlark.Bytes(unsafe.String(unsafe.SliceData(data), len(data)))
	default:
		ws.end = err
		if code := websocket.CloseStatus(err); code != -1 {
			ws.peerCode = int(code)
		} else if err == errNotUTF8 {
			if ws.sentCode == 0 {
				ws.sentCode = int(websocket.StatusInvalidFramePayloadData)
			}
		} else if errors.Is(err, websocket.ErrMessageTooBig) {
			ws.tooBig = true
			if ws.sentCode == 0 {
				ws.sentCode = int(websocket.StatusMessageTooBig)
			}
		}
		// The library closes the connection after a close frame, but
		// not after any other failure (the peer's FIN without a close,
		// a frame cut short, a protocol error, a message past the
		// limit, each of which it answered with its close code if it
		// could): nothing will read or write it again, and it stayed
		// open, a descriptor in CLOSE-WAIT for the life of the run.
		ws.h.CloseFD()
	}
	if !ws.closing {
		ws.pull() // a message landed while closing is dropped: read on
	}
	ws.waiters.Broadcast(nil, nil)
}

// closed reports whether the socket is closed: by close(), or because
// reading ended (the peer closed, the connection broke).
func (ws *WebSocket) closed() bool { return ws.closing || ws.end != nil }

// recv returns the next message, None once the socket is closed.
func (ws *WebSocket) recv(x *loop.Exec, fn string, timeout time.Duration) (starlark.Value, error) {
	e := ws.eng
	deadline, first := e.Now()+timeout, true
	for {
		if ws.msg != nil {
			v := ws.msg
			ws.msg = nil
			ws.pull()
			return v, nil
		}
		if ws.tooBig {
			ws.tooBig = false
			return nil, loop.Errorf(loop.KindValue, "%s: a message was larger than %d bytes: the socket is closed (1009)", fn, wsReadLimit)
		}
		if ws.closed() {
			return starlark.None, nil
		}
		left := timeout
		if timeout >= 0 && !first {
			left = max(deadline-e.Now(), 0)
		}
		first = false
		if err := stream.WaitOn(x, &ws.waiters, wsReason("recv on "+ws.label), left, fn); err != nil {
			return nil, err
		}
	}
}

// wsSendQueue is how many messages send queues before it waits.
const wsSendQueue = 64

// A wsOut is a queued message.
type wsOut struct {
	typ  websocket.MessageType
	data []byte
}

// send queues one message, a string as text, bytes as binary, waiting
// while the queue is full.
func (ws *WebSocket) send(x *loop.Exec, fn string, data starlark.Value) error {
	typ := websocket.MessageText
	var payload string
	switch v := data.(type) {
	case starlark.String:
		payload = string(v)
		if !utf8.ValidString(payload) {
			// A text message is UTF-8 (RFC 6455 5.6): a peer fails
			// the connection at one that is not.
			return loop.Errorf(loop.KindValue, "%s: a text message must be UTF-8, got %s (send bytes for a binary message)", fn, loop.QuoteArg(payload))
		}
	case starlark.Bytes:
		typ, payload = websocket.MessageBinary, string(v)
	default:
		return loop.Errorf(loop.KindValue, "%s: for parameter data: got %s, want string or bytes", fn, data.Type())
	}
	for {
		// A stalled write closed the connection, which ended reading:
		// it is said as the timeout it was.
		switch {
		case ws.closing || (ws.end != nil && !errors.Is(ws.werr, errSendStalled)):
			return loop.Errorf(loop.KindClosed, "%s: the socket is closed", fn)
		case ws.werr != nil:
			return ws.writeError(fn)
		case len(ws.outq) < wsSendQueue:
			ws.outq = append(ws.outq, wsOut{typ, unsafe.Slice(unsafe.StringData(payload), len(payload))})
			ws.writeNext()
			return nil
		}
		if err := stream.WaitOn(x, &ws.room, wsReason("send on "+ws.label), loop.NoTimeout, fn); err != nil {
			return err
		}
	}
}

// writeError is the error of a send after a write failed: timeout for a
// peer that took nothing for sendTimeout, as a stalled request body's
// read says, else as net says.
func (ws *WebSocket) writeError(fn string) error {
	if errors.Is(ws.werr, errSendStalled) {
		return loop.Errorf(loop.KindTimeout, "%s: websocket %s: the peer took nothing for %gs; the socket is closed", fn, ws.label, ws.sendTimeout.Seconds())
	}
	return netError(fn, ws.werr)
}

// writeNext starts writing the queue's first message unless a write is
// in flight; with the queue written out, it sends a pending close. While
// the queue holds messages the engine is held: what was sent is written
// before the run ends.
func (ws *WebSocket) writeNext() {
	if ws.writing {
		return
	}
	if len(ws.outq) == 0 || ws.werr != nil {
		ws.outq = nil
		if code := ws.shutCode; code != 0 {
			ws.shutCode = 0
			ws.eng.Go(func() { ws.shut(code, "") }, nil)
		}
		ws.room.Broadcast(nil, nil)
		return
	}
	ws.writing = true
	ws.eng.Hold()
	m := ws.outq[0]
	var err error
	ws.eng.Go(func() { err = ws.c.Write(context.Background(), m.typ, m.data) }, func() {
		ws.eng.Release()
		ws.writing = false
		ws.outq[0] = wsOut{}
		ws.outq = ws.outq[1:]
		if err != nil && ws.werr == nil {
			// Nothing can be written after a failed write (the
			// library does not close the connection): the connection
			// is closed, which ends reading too. A peer that stopped
			// reading would keep it for ever.
			ws.werr = err
			ws.h.CloseFD()
		}
		ws.room.Broadcast(nil, nil)
		ws.writeNext()
	})
}

// drain waits until every queued message is written (or writing failed).
func (ws *WebSocket) drain(x *loop.Exec, fn string) error {
	for ws.writing || (len(ws.outq) > 0 && ws.werr == nil) {
		if err := stream.WaitOn(x, &ws.room, wsReason("close "+ws.label), loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	return nil
}

// shut runs the closing handshake off the loop: it sends code and waits
// for the peer's reply, at most wsCloseWait; then the handle lets go of
// the connection, closed.
func (ws *WebSocket) shut(code int, reason string) {
	t := time.AfterFunc(wsCloseWait, ws.raw.close)
	defer t.Stop()
	ws.c.Close(websocket.StatusCode(code), reason)
	ws.eng.Post(func() { ws.h.CloseFD() })
}

// validCloseCode: the codes a script may send (RFC 6455 7.4).
func validCloseCode(code int) bool {
	switch {
	case code == 1000, code >= 1001 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// close sends a close with code and reason and waits (up to 1 s) for the
// peer's reply; closing a closed socket does nothing.
func (ws *WebSocket) close(x *loop.Exec, fn string, code int, reason string) error {
	if !validCloseCode(code) {
		return loop.Errorf(loop.KindValue, "%s: code %d: want 1000-1003, 1007-1014 or 3000-4999", fn, code)
	}
	if len(reason) > 123 {
		return loop.Errorf(loop.KindValue, "%s: reason is %d bytes, at most 123 fit in a close frame", fn, len(reason))
	}
	if ws.closed() {
		return nil
	}
	ws.closing = true
	ws.sentCode = code
	ws.msg, ws.next = nil, nil
	ws.waiters.Broadcast(nil, nil)
	// A send waiting for room fails with closed now, as a Conn's write
	// does on close(): with a peer that reads nothing, room would come
	// only once a queued write failed, after the send timeout.
	ws.room.Broadcast(nil, nil)
	if err := ws.drain(x, fn); err != nil {
		return err
	}
	if _, err := x.Offload(loop.Offload{Why: wsReason("close " + ws.label), Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(context.Context) (starlark.Value, error) {
			ws.shut(code, reason)
			return nil, nil
		}}); err != nil {
		return err
	}
	// The read in flight ends with the connection: let it land, so that
	// close_code has the peer's reply.
	for ws.busy {
		if err := stream.WaitOn(x, &ws.waiters, wsReason("close "+ws.label), loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	return nil
}

// closeWhenDone closes the socket when task ends, unless the script did:
// 1000, or 1001 if the task was cancelled, 1011 if it failed.
func (ws *WebSocket) closeWhenDone(task *loop.Task) {
	task.OnEnd(func() {
		code := int(websocket.StatusNormalClosure)
		if err := task.Err(); err != nil && err.Kind == loop.KindCancelled {
			code = int(websocket.StatusGoingAway)
		} else if err != nil {
			code = int(websocket.StatusInternalError)
		}
		ws.closeAfterQueue(code)
	})
}

// closeAfterQueue closes the socket for the script at once (recv returns
// None, send fails with closed) and sends a close with code once what
// was sent is written; a closed socket is left alone. It does not wait:
// the end of a handler's task, and the server's close (1001).
func (ws *WebSocket) closeAfterQueue(code int) {
	if ws.closed() {
		return
	}
	ws.closing, ws.sentCode = true, code
	ws.waiters.Broadcast(nil, nil)
	ws.room.Broadcast(nil, nil) // a send waiting for room fails
	ws.shutCode = code
	ws.writeNext()
}

// ---- the script value ----

func (ws *WebSocket) String() string        { return fmt.Sprintf("<websocket %s>", ws.label) }
func (ws *WebSocket) Type() string          { return "WebSocket" }
func (ws *WebSocket) Freeze()               {}
func (ws *WebSocket) OwnedByLoop()          {}
func (ws *WebSocket) Truth() starlark.Bool  { return true }
func (ws *WebSocket) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(ws)) >> 4), nil }
func (ws *WebSocket) AttrNames() []string   { return wsMethods.Names("close_code") }

var wsMethods = starutil.NewMethods("WebSocket", map[string]starutil.Func{
	"send":  wsSend,
	"recv":  wsRecv,
	"close": wsClose,
})

func (ws *WebSocket) Attr(name string) (starlark.Value, error) {
	if name == "close_code" {
		switch {
		case !ws.closed():
			return starlark.None, nil
		case ws.peerCode != 0:
			return starlark.MakeInt(ws.peerCode), nil
		case ws.sentCode != 0:
			return starlark.MakeInt(ws.sentCode), nil
		}
		return starlark.MakeInt(int(websocket.StatusAbnormalClosure)), nil
	}
	return wsMethods.BindOnce(name, ws, &ws.bound), nil
}

func wsSend(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
		return nil, loop.ValueError(err)
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	if err := b.Receiver().(*WebSocket).send(x, b.Name(), data); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func wsRecv(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeout); err != nil {
		return nil, loop.ValueError(err)
	}
	d, err := loop.TimeoutArg(b.Name(), timeout)
	if err != nil {
		return nil, err
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	return b.Receiver().(*WebSocket).recv(x, b.Name(), d)
}

func wsClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	code, reason := 1000, ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "code?", &code, "reason?", &reason); err != nil {
		return nil, loop.ValueError(err)
	}
	x, err := loop.TaskOf(th, b.Name())
	if err != nil {
		return nil, err
	}
	if err := b.Receiver().(*WebSocket).close(x, b.Name(), code, reason); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// Iterate makes `for msg in ws` receive until the socket closes.
func (ws *WebSocket) Iterate() starlark.Iterator { return &wsIter{ws} }

type wsIter struct{ ws *WebSocket }

// Next receives for the task running the loop (an Iterator gets no
// thread); a failure is raised in its thread.
func (it *wsIter) Next(p *starlark.Value) bool {
	x := it.ws.eng.CurrentExec()
	if x == nil || x.Task == nil {
		return false
	}
	v, err := it.ws.recv(x, "WebSocket.recv", loop.NoTimeout)
	if err != nil {
		x.Raise(loop.ToError(err))
		return false
	}
	if v == starlark.None {
		return false
	}
	*p = v
	return true
}

func (it *wsIter) Done() {}

// ---- http.websocket ----

func dialWebSocket(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var url string
	var headers, timeout, ca starlark.Value = starlark.None, starlark.None, starlark.None
	var insecure bool
	if err := starlark.UnpackArgs(fn, args, kwargs, "url", &url, "headers?", &headers, "timeout?", &timeout, "ca?", &ca, "insecure?", &insecure); err != nil {
		return nil, loop.ValueError(err)
	}
	d, err := loop.TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	hdr, err := headersArg(fn, headers)
	if err != nil {
		return nil, err
	}
	u, err := neturl.Parse(url)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, loop.Errorf(loop.KindValue, "%s: %s is not a ws:// or wss:// URL", fn, loop.QuoteArg(redacted(url)))
	}
	if err := checkURLHost(fn, url, u); err != nil {
		return nil, err
	}
	x, err := netTask(th, fn)
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	raw := &rawConn{}
	dialer := &net.Dialer{}
	stall := sendTimeout
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			raw.set(c)
			return &sendConn{c, stall}, nil
		},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	if u.Scheme == "wss" {
		cfg, err := netmod.ClientTLS(x, fn, u.Hostname(), ca, insecure)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	}
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr, CheckRedirect: checkRedirect}, HTTPHeader: http.Header{}}
	for k, v := range hdr {
		opts.HTTPHeader.Set(k, v)
	}
	var conn *websocket.Conn
	return x.Offload(loop.Offload{Why: wsReason("websocket " + urlText(u)), Op: requestOp(fn, u), Timeout: d, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			var err error
			conn, _, err = websocket.Dial(ctx, url, opts)
			return nil, err
		},
		Done: func(_ starlark.Value, err error) (starlark.Value, error) {
			if err != nil {
				return nil, wsDialError(fn, u, err)
			}
			return newWebSocket(e, conn, raw, urlText(u), stall), nil
		},
		Drop: func(starlark.Value, error) {
			if conn != nil {
				e.Go(func() { conn.CloseNow() }, nil)
			}
		}})
}

// wsDialError maps a failed http.websocket to u. A failure of the
// handshake's request (a *url.Error: a TLS failure, a redirect's, a
// server that closed the connection without a response) is worded as
// http.get's (clientError), where it said "eof: http.websocket: end of
// stream" or only "io: http.websocket: TLS handshake failed: ...". A
// reply that is no handshake is io naming the URL; the library's
// "failed to WebSocket dial: " goes.
func wsDialError(fn string, u *neturl.URL, err error) *loop.Error {
	var ue *neturl.Error
	var re *redirectError
	if errors.As(err, &ue) || errors.As(err, &re) {
		return clientError(fn, u, err)
	}
	where := fn + ": " + urlText(u)
	if netmod.TLSFailed(err) {
		return netError(where, err)
	}
	le := netError(fn, err)
	if le.Kind != loop.KindIO {
		return le
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(le.Msg, fn+": "), "failed to WebSocket dial: ")
	return loop.Errorf(loop.KindIO, "%s: %s", where, msg)
}

// ---- req.websocket() ----

// requestWebSocket accepts the upgrade of a handler's request: ServeHTTP's
// goroutine runs the handshake (exchange.accept) while the task waits.
// The socket is closed when the handler's task ends, and what the
// handler returns is ignored.
func requestWebSocket(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	ex := b.Receiver().(*Request).ex
	switch {
	case ex.upgraded:
		return nil, loop.Errorf(loop.KindValue, "%s: the request was upgraded already", fn)
	case ex.started || ex.gone:
		return nil, loop.Errorf(loop.KindValue, "%s: the response was sent already", fn)
	}
	ex.upgraded = true
	ex.s.upgrades[ex] = struct{}{}
	ex.send(&piece{kind: pieceAccept})
	if err := ex.waitFor(x, fn, func() bool { return ex.wsDone }); err != nil {
		return nil, err
	}
	if ex.ws == nil {
		if ex.wsErr == nil {
			ex.wsErr = errors.New("the client went away")
		}
		return nil, loop.Errorf(loop.KindValue, "%s: %v", fn, ex.wsErr)
	}
	return ex.ws, nil
}

// hijacker is the ResponseWriter Accept gets: it records the connection
// it hijacks, and gives the library that connection's writes bounded by
// timeout (sendConn).
type hijacker struct {
	http.ResponseWriter
	raw     *rawConn
	timeout time.Duration
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.raw.set(c)
	sc := &sendConn{c, h.timeout}
	// The library writes through brw's Writer, which net/http made
	// (empty) over the connection itself: it gets one over sc.
	return sc, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(sc)), nil
}

func (h *hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// accept runs the handshake on ServeHTTP's goroutine and lands the
// WebSocket for the task waiting in req.websocket(). A request that is
// no handshake gets the library's error reply.
func (ex *exchange) accept() {
	raw := &rawConn{}
	c, err := websocket.Accept(&hijacker{ex.w, raw, ex.s.sendTimeout}, ex.hr, &websocket.AcceptOptions{})
	ex.post(func() {
		ex.wsDone, ex.wsErr = true, err
		if err == nil {
			ex.ws = newWebSocket(ex.s.eng, c, raw, ex.r.RemoteAddr, ex.s.sendTimeout)
			if ex.task.Done() {
				ex.ws.closing = true
				ex.s.eng.Go(func() { ex.ws.shut(int(websocket.StatusGoingAway), "") }, nil)
			} else {
				ex.ws.closeWhenDone(ex.task)
				if ex.s.closed { // upgraded while the server closed
					ex.ws.closeAfterQueue(int(websocket.StatusGoingAway))
				}
			}
		}
		ex.waiters.Broadcast(nil, nil)
	})
}
