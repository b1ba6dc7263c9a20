package http

// Streaming (SPEC 12): request bodies read as they arrive, responses
// sent as a handler's generator emits them, and client responses read as
// they come (stream=True). Every body is read by package stream (a Pump
// over the body, off the loop, one chunk at a time), so memory stays
// bounded however large the body is.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/handle"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// doneSource is the Source of a body that has arrived whole (a response
// read without stream=True, an empty request body): nothing to wait for.
type doneSource struct{ s string }

func (d *doneSource) TryRead(_ string, p []byte) (int, error) {
	if d.s == "" {
		return 0, io.EOF
	}
	n := copy(p, d.s)
	d.s = d.s[n:]
	return n, nil
}

func (d *doneSource) Wait(*loop.Exec, string) error { return nil }

// bodyFail maps what ended a request body's stream, other than its end,
// to the error of a read, naming the client (bodyFailure).
func (ex *exchange) bodyFail(fn string, err error) error {
	what := "the request body from " + ex.r.RemoteAddr
	if errors.Is(err, errBodyStalled) {
		return loop.Errorf(loop.KindTimeout, "%s: %s: nothing came for %gs", fn, what, ex.s.bodyTimeout.Seconds())
	}
	return bodyFailure(fn, what, err)
}

// ---- the server side ----

// errRequestOver fails a read of a request body once its exchange ended.
var errRequestOver = errors.New("the request is over")

// errBodyStalled fails a read of a request body that got nothing for
// the server's bodyTimeout.
var errBodyStalled = errors.New("the request body stalled")

// bodyReader is a request body as its Pump reads it, off the loop. It
// lets ServeHTTP return only once no read is in flight: net/http forbids
// reading a body after the handler returned.
//
// Each read is given the server's bodyTimeout (nginx's
// client_body_timeout): a client that sends nothing for that long fails
// it with errBodyStalled, and every read after it. The deadline is
// cleared once a read returns: a handler that pauses between its reads
// is no slow client, and over HTTP/2 a deadline is a timer that ends the
// body when it fires, whether a read is waiting or not.
type bodyReader struct {
	body    io.Reader
	w       http.ResponseWriter // for its read deadline
	timeout time.Duration
	mu      sync.Mutex
	idle    *sync.Cond
	busy    bool
	done    bool
	read    bool  // the handler asked for some of it
	got     int64 // bytes read
	eof     bool  // a read reached the end
	err     error // a read failed before the end: where the body ends is unknown
	settled bool  // finish ran
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.done || b.err != nil {
		err := b.err
		b.mu.Unlock()
		if err == nil {
			err = errRequestOver
		}
		return 0, err
	}
	b.busy, b.read = true, true
	// Under the lock: finish's deadline in the past is not overwritten.
	http.NewResponseController(b.w).SetReadDeadline(time.Now().Add(b.timeout))
	b.mu.Unlock()
	n, err := b.body.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.busy = false
	b.got += int64(n)
	b.idle.Broadcast()
	if b.done {
		return n, err // finish owns the deadline now
	}
	http.NewResponseController(b.w).SetReadDeadline(time.Time{})
	switch {
	case err == io.EOF:
		b.eof = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("%w: %w", errBodyStalled, err)
		fallthrough
	case err != nil:
		b.err = err
	}
	return n, err
}

// stalled reports whether a read failed because the client sent nothing
// for bodyTimeout, once the read in flight, if any, has returned.
func (b *bodyReader) stalled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.busy {
		b.idle.Wait()
	}
	return errors.Is(b.err, errBodyStalled)
}

// finish fails every later read and waits for the one in flight, which a
// read deadline in the past ends at once (a handler cancelled while
// reading a slow client's body). Then it drains what the handler left
// unread of an HTTP/1 body (unreadBody). It runs before a whole reply's
// head is written, and again (doing nothing) when ServeHTTP returns.
//
// An HTTP/1 body whose reading failed before its end (a malformed chunk,
// a chunk line or trailer too long, a client too slow, a read cut short
// above) leaves the server not knowing where the next request starts:
// what follows on the connection may be the rest of the body, or a
// request smuggled behind a bad chunk. Such a connection is closed after
// the reply (closeAfterReply), as net/http does when not in full-duplex
// mode; in full-duplex mode (newExchange) it kept the connection, and
// served what followed a bad chunk as a request of its own.
func (b *bodyReader) finish(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	if b.settled {
		b.mu.Unlock()
		return
	}
	b.settled, b.done = true, true
	if b.busy {
		http.NewResponseController(w).SetReadDeadline(time.Now())
		for b.busy {
			b.idle.Wait()
		}
	}
	eof, broken, read, got := b.eof, b.err != nil, b.read, b.got
	b.mu.Unlock()
	if eof || r.ContentLength == 0 || r.ProtoMajor != 1 {
		return
	}
	// A body whose announced rest is past drainLimit is not drained
	// (the drain could not reach its end), nor one whose client waits
	// for a 100 Continue the handler never asked for by reading: the
	// drain's first read would send it, and the reply (a 413 for a body
	// announced too large) would wait for the drain to give up. The
	// connection closes instead, as net/http's own rules say when not in
	// full-duplex mode. An Expect the handler sees is 100-continue:
	// net/http answers any other with 417.
	skip := r.ContentLength-got > drainLimit || (!read && r.Header.Get("Expect") != "")
	if broken || skip || unreadBody(w, r) != nil {
		// Nothing more is read of the connection: net/http's close of
		// the body then fails at once, where it would wait for the
		// rest of a body that stalled.
		http.NewResponseController(w).SetReadDeadline(time.Now())
		closeAfterReply(w)
	}
}

// unreadBody reads and drops what a handler left unread of an HTTP/1
// request body, while ServeHTTP is still running, and returns what ended
// the read: nil at the body's end.
//
// net/http in full-duplex mode (EnableFullDuplex, newExchange) leaves
// the body alone until the handler has returned; then it stops its
// background read of the connection and closes the body, which reads it
// to its end, and reaching the end starts a new background read. The
// connection's next request then read beside it and net/http panicked
// ("invalid concurrent Body.Read call") and dropped the connection: a
// handler that ignored a POST's body lost requests on keep-alive
// connections. Reaching the end here, before the handler has returned,
// is what net/http does itself when not in full-duplex mode.
//
// It reads at most drainLimit bytes, for at most a second.
func unreadBody(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(time.Second))
	_, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, drainLimit))
	if err == nil {
		rc.SetReadDeadline(time.Time{})
	}
	return err
}

// closeAfterReply makes net/http close w's HTTP/1 connection once the
// reply is written, whether or not its head went out already: with a
// "Connection: close" header when it has not. A header set once the head
// is written changes nothing, and net/http's own flag for it is
// unexported; http.MaxBytesReader documents that it "tells the
// ResponseWriter to close the connection after the limit has been
// reached", which is what a read past a limit of 0 does.
func closeAfterReply(w http.ResponseWriter) {
	http.MaxBytesReader(w, io.NopCloser(strings.NewReader(" ")), 0).Read(make([]byte, 1))
}

type pieceKind int

const (
	pieceReply  pieceKind = iota // a whole reply: the exchange ends
	pieceHead                    // a streamed response's status and headers
	pieceChunk                   // a streamed response's next chunk
	pieceEnd                     // the end of a streamed response (or of an upgrade)
	pieceAbort                   // a streamed response cut short (its generator failed)
	pieceAccept                  // upgrade to a WebSocket
)

// A piece is what the handler's task sends ServeHTTP's goroutine to write.
// It goes by pointer: a channel of pieces would hold four of them in
// every exchange's buffer, for the one most requests send.
type piece struct {
	kind pieceKind
	rep  reply  // pieceReply, pieceHead (status, headers, ctype)
	data string // pieceChunk
}

// An exchange is one request being served. ServeHTTP's goroutine (serve)
// owns the ResponseWriter; the handler's task, on the loop, sends it what
// to write through out, and the outcome of each chunk comes back through
// Post. A task streaming a response waits for each chunk to be written
// (back-pressure from a slow client) without a goroutine per chunk.
type exchange struct {
	s *Server
	w http.ResponseWriter
	// r is the request as the loop knows it; hr, as ServeHTTP's
	// goroutine got it (the same but when the loop read it, h1.go).
	r, hr *http.Request
	// h1 is the connection the loop serves the request on itself, nil
	// when net/http does; whole is then the request's body.
	h1    *h1Conn
	whole string
	// bodyRead: the handler began reading that body (h1Body).
	bodyRead bool
	body     *bodyReader
	// out never holds more than a few pieces: one reply, or a head and
	// one chunk (the next waits for its write), then an end.
	out chan *piece

	// Loop side.
	task     *loop.Task
	started  bool  // a streamed response's head was sent: no other reply
	upgraded bool  // req.websocket() was called: the return value is ignored
	tooLarge bool  // a body read whole was past the limit: 413
	writing  bool  // a chunk is being written
	werr     error // a chunk's write failed
	gone     bool  // serve returned: nothing more is written
	waiters  loop.WakerList
	ws       *WebSocket // the upgrade's outcome
	wsErr    error
	wsDone   bool
}

func newExchange(s *Server, w http.ResponseWriter, r *http.Request) *exchange {
	ex := &exchange{s: s, w: w, r: r, hr: r}
	ex.goes(r.Body)
	ex.body.w = w
	// A handler may read the body while it streams its response.
	http.NewResponseController(w).EnableFullDuplex()
	return ex
}

// goes makes what serve's goroutine needs of ex, whose request body is
// body.
func (ex *exchange) goes(body io.Reader) {
	ex.out = make(chan *piece, 4)
	ex.body = &bodyReader{body: body, timeout: ex.s.bodyTimeout}
	ex.body.idle = sync.NewCond(&ex.body.mu)
}

// attach answers, on ServeHTTP's goroutine, for an exchange the loop
// handed on with its connection (h1Conn.handoff): r is its request as
// net/http read it again, and the handler has run.
func (ex *exchange) attach(w http.ResponseWriter, r *http.Request) {
	ex.w, ex.hr, ex.body.w = w, r, w
	defer ex.body.finish(w, r)
	http.NewResponseController(w).EnableFullDuplex() // as newExchange
	ex.serve()
}

// send hands p to serve. Loop only; never blocks (see out). On the
// loop's own path (h1) a whole reply is written there; anything else
// hands the connection on to net/http, with the exchange.
func (ex *exchange) send(p *piece) {
	if c := ex.h1; c != nil {
		if p.kind == pieceReply && c.reply(ex, p.rep) {
			return
		}
		ex.goes(http.NoBody)
		c.handoff(ex)
	}
	select {
	case ex.out <- p:
	default:
		panic("http: exchange queue full")
	}
}

// reply sends serve a whole reply, which ends the exchange. Loop only.
func (ex *exchange) reply(rep reply) {
	ex.send(&piece{kind: pieceReply, rep: rep})
	ex.end()
}

// end marks that nothing more is written, and wakes the tasks waiting
// for a write. Loop only.
func (ex *exchange) end() {
	ex.gone = true
	ex.waiters.Broadcast(nil, nil)
}

// post runs fn on the loop.
func (ex *exchange) post(fn func()) { ex.s.eng.Post(fn) }

// cancel cancels the handler's task: the client went away (or the
// server gave up on it).
func (ex *exchange) cancel(why string) {
	ex.post(func() {
		if ex.task != nil {
			ex.task.Cancel(why)
		}
	})
}

// Why a handler is cancelled before its reply is sent.
const (
	clientGoneWhy = "http client disconnected"
	serverGoneWhy = "http server closed" // its grace ran out (Server.shutdown)
)

// deadline gives the writes that follow sendTimeout, from now.
func (ex *exchange) deadline() {
	http.NewResponseController(ex.w).SetWriteDeadline(time.Now().Add(ex.s.sendTimeout))
}

// writeBody writes data (a whole reply's body, a streamed chunk) in
// pieces of at most writeStep bytes, each within sendTimeout of its
// start: a client that stops reading is cut off (nginx's send_timeout),
// a slow one that keeps reading is not, however long the whole takes.
// The last deadline stays for what net/http writes after it (the rest
// of its buffer, a flush); one is set for an empty body too.
func (ex *exchange) writeBody(data []byte) error {
	_, err := writeSteps(ex.w, ex.deadline, data)
	return err
}

// serve writes what the handler's task sends until the exchange ends.
// When the client goes away first, the task is cancelled.
func (ex *exchange) serve() {
	// A whole reply has told the loop already (exchange.reply), which
	// saves a hand-off per request; any other end is posted.
	replied := false
	defer func() {
		if !replied {
			ex.post(ex.end)
		}
	}()
	w, rc := ex.w, http.NewResponseController(ex.w)
	headed := false
	gone := ex.hr.Context().Done()
	for {
		select {
		case p := <-ex.out:
			switch p.kind {
			case pieceReply:
				// The handler's reads have ended: what is left of the
				// body is read before the head goes out (a client
				// still sending when the server closes would get a
				// reset instead of a 413), or the head says the
				// connection closes.
				ex.body.finish(w, ex.hr)
				writeHead(w, p.rep)
				ex.writeBody(p.rep.body)
				replied = true
				return
			case pieceHead:
				writeHead(w, p.rep)
				headed = true
				ex.deadline()
				if err := rc.Flush(); err != nil {
					ex.cancel(clientGoneWhy)
					return
				}
				// No deadline while the handler makes its next
				// chunk: over HTTP/2 it is a timer that resets the
				// stream when it fires, written or not.
				rc.SetWriteDeadline(time.Time{})
			case pieceChunk:
				err := ex.writeBody(unsafe.Slice(unsafe.StringData(p.data), len(p.data)))
				if err == nil {
					err = rc.Flush()
				}
				rc.SetWriteDeadline(time.Time{})
				ex.post(func() { ex.wrote(err) })
				if err != nil {
					ex.cancel(clientGoneWhy)
					return
				}
			case pieceEnd:
				ex.deadline() // for the end net/http writes
				return
			case pieceAbort:
				// The client sees the response cut short, not a clean end.
				panic(http.ErrAbortHandler)
			case pieceAccept:
				ex.accept()
				return
			}
		case <-gone:
			// The client went away, or half-closed its side: net/http
			// cannot tell them apart (the connection reads EOF) and ends
			// the context either way, as it does for Go's handlers.
			// It ends it too when a read of the body fails on the
			// connection's deadline: the client stalled, which the
			// handler's read says (timeout), and which leaves the
			// handler its reply.
			if ex.body.stalled() {
				gone = nil
				continue
			}
			why := clientGoneWhy
			select {
			case <-ex.s.cut: // which closed the connection
				why = serverGoneWhy
			default:
			}
			ex.cancel(why)
			if !headed {
				// Returning with nothing written made net/http send an
				// empty 200, a success the handler never gave: drop the
				// connection (an HTTP/2 stream is reset) instead.
				panic(http.ErrAbortHandler)
			}
			return
		case <-ex.s.cut:
			// The server was closed, and its grace ran out: the
			// connection is closed (Server.shutdown).
			ex.cancel(serverGoneWhy)
			if !headed {
				panic(http.ErrAbortHandler)
			}
			return
		case <-ex.s.eng.Context().Done():
			if !headed {
				writeHead(w, stoppedReply)
				ex.writeBody(stoppedReply.body)
			}
			return
		}
	}
}

func writeHead(w http.ResponseWriter, rep reply) {
	h := w.Header()
	if rep.ctype != "" {
		h.Set("Content-Type", rep.ctype)
	}
	for k, vs := range rep.headers {
		h[k] = vs // canonical keys; a list is sent as repeated headers
	}
	w.WriteHeader(rep.status)
}

// drainLimit bounds what unreadBody reads of a body its handler left,
// before a whole reply goes out or a streamed one ends.
const drainLimit = 256 << 10

// wrote lands the outcome of a chunk's write.
func (ex *exchange) wrote(err error) {
	ex.writing = false
	if err != nil && ex.werr == nil {
		ex.werr = err
	}
	ex.waiters.Broadcast(nil, nil)
}

// waitFor parks x's task until cond holds or serve has returned.
func (ex *exchange) waitFor(x *loop.Exec, fn string, cond func() bool) error {
	for !cond() && !ex.gone {
		if err := stream.WaitOn(x, &ex.waiters, loop.ReasonString("http response to "+ex.r.RemoteAddr), loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	return nil
}

// write sends one chunk of a streamed response and waits until it is
// written and flushed to the client.
func (ex *exchange) write(x *loop.Exec, fn, data string) error {
	if ex.gone || ex.werr != nil {
		return clientGone(x, fn)
	}
	ex.writing = true
	ex.send(&piece{kind: pieceChunk, data: data})
	if err := ex.waitFor(x, fn, func() bool { return !ex.writing }); err != nil {
		return err
	}
	if ex.werr != nil || ex.writing {
		return clientGone(x, fn)
	}
	return nil
}

// clientGone cancels x's task, a handler whose client went away while it
// streamed its response (SPEC 12: the handler's task is cancelled; serve
// cancels it too, but a failed write reaches the task first), and
// returns the cancellation for fn to raise. A cancelled handler is not a
// failure: nothing is logged.
func clientGone(x *loop.Exec, fn string) error {
	x.Task.Cancel(clientGoneWhy)
	if err := x.Checkpoint(); err != nil {
		return err
	}
	return loop.Errorf(loop.KindCancelled, "%s: the client went away", fn)
}

// endMarker is the default a generator's next() returns when it is
// exhausted: no script value is one.
type endMarker struct{}

func (endMarker) String() string        { return "<end>" }
func (endMarker) Type() string          { return "end" }
func (endMarker) Freeze()               {}
func (endMarker) Truth() starlark.Bool  { return false }
func (endMarker) Hash() (uint32, error) { return 0, nil }

// respond runs in a request's task once its handler returned v (or
// failed: err), as the task's second phase (loop.Task.Then): it streams
// the response when the handler returned a Generator (or (status,
// headers, generator)), which so runs in the handler's task, the
// generator's creator. Anything else goes back to the replier as the
// handler returned it.
func (req *Request) respond(th *starlark.Thread, v starlark.Value, err error) (starlark.Value, error) {
	if err != nil || req.ex.upgraded {
		return v, err
	}
	status, headers, body, err := splitReply(v)
	g, ok := body.(*generator.Generator)
	if err != nil || !ok {
		return v, nil // the replier reports a bad reply
	}
	return starlark.None, req.ex.stream(th, status, headers, g)
}

// stream sends the head of a streamed response, then each string or
// bytes g emits as a chunk, flushed at once.
//
// With a content-length header the body is not chunked, and must be that
// long: net/http wrote none of a chunk past it and closed the connection
// after a body short of it, and nothing said why. A generator that emits
// more, or ends with less, fails the handler (logged, and the response
// cut short: the client sees it end early); one that is not a byte count
// fails it before anything is sent (a 500).
func (ex *exchange) stream(th *starlark.Thread, status int, headers http.Header, g *generator.Generator) error {
	const fn = "http.serve"
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return err
	}
	length := int64(-1) // the content-length the body must have, -1 for none
	if vs, ok := headers["Content-Length"]; ok && ex.r.Method != http.MethodHead && bodyAllowed(status) {
		n, ok := contentLength(vs)
		if !ok {
			return loop.Errorf(loop.KindValue, "%s: the handler's content-length %s is not a byte count", fn, loop.QuoteArg(strings.Join(vs, ", ")))
		}
		length = n
	}
	var sent int64
	head := reply{status: status, headers: headers, ctype: "text/plain; charset=utf-8"}
	for k := range headers {
		if strings.EqualFold(k, "Content-Type") {
			head.ctype = ""
		}
	}
	ex.started = true
	ex.send(&piece{kind: pieceHead, rep: head})
	next, err := g.Attr("next")
	if err != nil {
		return err
	}
	for {
		v, err := loop.CallFn(th, next.(starlark.Callable), starlark.Tuple{endMarker{}}, nil)
		if err != nil {
			return err
		}
		var data string
		switch v := v.(type) {
		case endMarker:
			if sent < length {
				return loop.Errorf(loop.KindValue, "%s: the handler's generator ended after %d bytes, short of its content-length of %d", fn, sent, length)
			}
			return nil
		case starlark.String:
			data = string(v)
		case starlark.Bytes:
			data = string(v)
		default:
			return loop.Errorf(loop.KindValue, "%s: the handler's generator emitted %s, want string or bytes", fn, v.Type())
		}
		if data == "" {
			continue
		}
		if length >= 0 && int64(len(data)) > length-sent {
			return loop.Errorf(loop.KindValue, "%s: the handler's generator emitted more than its content-length of %d bytes", fn, length)
		}
		sent += int64(len(data))
		if err := ex.write(x, fn, data); err != nil {
			return err
		}
	}
}

// bodyStream returns the reader of the request's body.
func (ex *exchange) bodyStream() *stream.Reader {
	opts := stream.Options{Name: "request body", Label: "request body of " + ex.r.RemoteAddr, From: ex.r.RemoteAddr}
	if ex.r.ContentLength == 0 {
		return stream.NewReader(&doneSource{}, opts)
	}
	if ex.h1 != nil {
		return stream.NewReader(&h1Body{doneSource{s: ex.whole}, ex}, opts) // the loop read it whole
	}
	p := stream.NewPump(ex.body, stream.PumpOptions{How: stream.Own, Why: loop.ReasonString("read request body from " + ex.r.RemoteAddr), Fail: ex.bodyFail})
	return stream.NewReader(p, opts)
}

// StreamReader is the request body (stream.Readable).
func (r *Request) StreamReader() *stream.Reader { return r.r }

// currentExec is the task running an attribute read (.body), which gets
// no thread.
func currentExec(e *loop.Engine, fn string) (*loop.Exec, error) {
	x := e.CurrentExec()
	if x == nil || x.Task == nil {
		return nil, loop.Errorf(loop.KindValue, "%s: cannot wait here (not inside a coro task)", fn)
	}
	return x, x.Checkpoint()
}

// rest reads the rest of the body (all of it unless read() took some),
// within the server's limit, and keeps it for later calls.
func (r *Request) rest(fn string) (string, error) {
	if r.whole {
		return r.body, nil
	}
	ex := r.ex
	limit := int(min(ex.s.maxBody, math.MaxInt-1))
	tooLarge := func() error {
		ex.tooLarge = true
		return loop.Errorf(loop.KindValue, "%s: the request body is larger than the server's limit of %d bytes", fn, limit)
	}
	if ex.r.ContentLength > int64(limit) {
		return "", tooLarge()
	}
	x, err := currentExec(ex.s.eng, fn)
	if err != nil {
		return "", err
	}
	s, err := r.r.ReadUpTo(x, fn, limit+1)
	if err != nil {
		return "", err
	}
	if len(s) > limit {
		return "", tooLarge()
	}
	r.body, r.whole = string(s), true
	return r.body, nil
}

// ---- the client side ----

// doStream sends req and returns a Response as soon as the headers have
// arrived; its body is read as the script asks (Response.read...). The
// exchange runs under a context of its own, which the Response's close
// cancels; timeout bounds the wait for the headers only, limit (max_body)
// a read of the whole rest of the body.
func doStream(x *loop.Exec, cl *http.Client, fn string, req *http.Request, d time.Duration, limit int) (starlark.Value, error) {
	e := x.Task.Engine()
	ctx, abort := context.WithCancel(e.Context())
	var resp *http.Response
	var hd *starlark.Dict
	return x.Offload(loop.Offload{Why: requestReason(req.Method + " " + urlText(req.URL)), Op: requestOp(fn, req.URL), Timeout: d, Own: true,
		Work: func(octx context.Context) (starlark.Value, error) {
			// The task stopped waiting for the headers: abort.
			stop := context.AfterFunc(octx, abort)
			defer stop()
			var err error
			resp, err = cl.Do(req.WithContext(ctx))
			if err == nil {
				hd = headerDict(resp.Header) // off the loop, as do's
			}
			return nil, err
		},
		Done: func(_ starlark.Value, err error) (starlark.Value, error) {
			if err != nil {
				abort()
				return nil, clientError(fn, req.URL, err)
			}
			return newStreamResponse(x.Task, resp, hd, abort, limit), nil
		},
		Drop: func(starlark.Value, error) {
			abort()
			if resp != nil {
				e.Go(func() { resp.Body.Close() }, nil)
			}
		},
	})
}

// newStreamResponse makes the Response of stream=True over resp, closed
// when task ends, or once nothing refers to it; a read of the whole rest
// of its body is bounded by limit. hd is its headers (headerDict).
//
// Neither the task's end hook nor anything else the engine holds refers
// to the response but weakly, and close() removes the hook: each
// response a long task streamed, closed or dropped, was kept with its
// read buffer (and, dropped, its connection) until the task ended.
func newStreamResponse(task *loop.Task, resp *http.Response, hd *starlark.Dict, abort func(), limit int) *Response {
	e := task.Engine()
	r := newResponse(resp, hd, "")
	r.whole = false
	r.tooLarge = &bodyTooLarge{resp.Request.URL, limit, resp.Uncompressed}
	fail := func(fn string, err error) error { return bodyReadError(fn, resp.Request.URL, err) }
	url := urlText(resp.Request.URL)
	p := stream.NewPump(resp.Body, stream.PumpOptions{How: stream.Own, Why: requestReason("read body of " + url), Fail: fail, Closer: resp.Body})
	r.r = stream.NewReader(p, stream.Options{Name: "response body", Label: "body of " + url, From: url})
	body := resp.Body
	r.stop = func() {
		abort()
		// Closing a body read half-way may wait for the transport.
		e.Go(func() { body.Close() }, nil)
	}
	r.eng = e
	r.end = task.OnEnd(handle.Weakly(r, (*Response).close))
	r.cleanup = handle.WhenDropped(e, r, droppedResponse, droppedBody{r.stop, r.end})
	return r
}

// droppedBody is what closes a streamed response's body once the
// response is collected: its stop and its task's end hook, which refers
// to the response weakly.
type droppedBody struct {
	stop func()
	end  *loop.EndHook
}

// droppedResponse runs on the loop once nothing refers to a streamed
// response (handle.WhenDropped). An engine closed meanwhile runs
// nothing posted, but its transport is gone with it.
func droppedResponse(d droppedBody) {
	d.end.Remove()
	d.stop()
}

// close ends the body: later reads fail with closed, and the connection
// is not reused.
func (r *Response) close() {
	r.r.Close()
	if r.stop != nil {
		r.stop()
		r.stop = nil
		r.end.Remove()
		r.cleanup.Stop()
	}
}

// StreamReader is the response body (stream.Readable).
func (r *Response) StreamReader() *stream.Reader { return r.r }

// rest returns the body: without stream=True all of it; with, the rest of
// it, read now, and kept for later calls. A rest past max_body fails
// with value (readBody says why) and closes the response: what was read
// of it is gone, so a later read could only go on from the middle.
func (r *Response) rest(fn string) (string, error) {
	if r.whole {
		return r.body, nil
	}
	x, err := currentExec(r.eng, fn)
	if err != nil {
		return "", err
	}
	limit := r.tooLarge.limit
	s, err := r.r.ReadUpTo(x, fn, limit+1)
	if err != nil {
		return "", err
	}
	if len(s) > limit {
		r.close()
		return "", loop.Errorf(loop.KindValue, "%s: %v", fn, r.tooLarge)
	}
	r.body, r.whole = string(s), true
	return r.body, nil
}

func responseClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	b.Receiver().(*Response).close()
	return starlark.None, nil
}

func (r *Response) describe() string {
	if !r.whole {
		return fmt.Sprintf("<response %d, streaming>", r.status)
	}
	return fmt.Sprintf("<response %d, %d bytes>", r.status, len(r.body))
}
