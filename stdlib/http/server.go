package http

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/coder/websocket"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
	netmod "github.com/corolang/coro/stdlib/net"
)

// maxBody is the default bound of a request body read whole (req.body,
// req.json()): past it the server answers 413. Streaming reads
// (req.read) are not bounded by it.
const maxBody = 64 << 20

// netError maps a client failure: a failed TLS handshake or verification
// to `io` in plain words (netmod.TLSError), anything else as net does.
func netError(fn string, err error) *loop.Error { return netmod.TLSError(fn, err) }

// A Server is a running http.serve. A plain server's loop accepts, and
// serves the common HTTP/1 request itself (h1.go); net/http serves the
// rest, and every TLS server, on its goroutines: each request is posted
// to the loop, where the script's handler runs as a task of its own, and
// its outcome is sent back to the goroutine that writes the response.
type Server struct {
	eng     *loop.Engine
	srv     *http.Server
	ln      net.Listener
	addr    string
	port    int
	handler starlark.Callable
	where   string     // the serve() call site, for the handler tasks
	parent  *loop.Task // the task that called serve()
	closed  bool
	stopped *loop.Waiter // completes the serving task once shut down
	// stopClose ends the registration that closes the server with the
	// engine: a run that ends before the serving task first runs (a
	// failure, os.exit) must not leave the listener and its goroutine.
	stopClose func() bool
	// fresh holds the connections that have not sent a request yet
	// (http.StateNew), which shutdown closes at once: net/http's
	// Shutdown leaves them for 5 s.
	connMu sync.Mutex
	fresh  map[net.Conn]struct{}
	// maxBody bounds a request body (max_body, 413 past it).
	maxBody int64
	// The bounds on slow clients (limits.go), read when it started.
	sendTimeout, bodyTimeout, grace time.Duration
	// cut is closed once the grace after shutdown ran out: the
	// exchanges still in flight give up.
	cut chan struct{}
	// upgrades holds the exchanges upgraded to a WebSocket until their
	// handler ends (loop only): net/http's Shutdown no longer sees their
	// connections, which it gave up when they were hijacked, so shutdown
	// says going away to their sockets and waits for their handlers
	// itself. upgradesGone, once shutdown's goroutine asks for it, is
	// closed when upgrades is empty.
	upgrades     map[*exchange]struct{}
	upgradesGone chan struct{}
	// h1 is the loop's own HTTP/1 path (h1.go), nil when net/http
	// accepts.
	h1 *h1Server
}

// connState is the server's http.Server.ConnState hook: it keeps fresh.
func (s *Server) connState(c net.Conn, st http.ConnState) {
	if pc, ok := c.(*prefixConn); ok && st == http.StateNew && pc.ex.Load() != nil {
		return // a request already served by its handler: not fresh (h1.go)
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if st == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
}

func (s *Server) WaitingOn() string { return "http.serve on " + s.addr }

func serve(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var addr string
	var handler starlark.Callable
	var cert, key, maxBodyV starlark.Value = starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "address", &addr, "handler", &handler,
		"cert?", &cert, "key?", &key, "max_body?", &maxBodyV); err != nil {
		return nil, loop.ValueError(err)
	}
	limit, err := maxBodyArg(b.Name(), maxBodyV)
	if err != nil {
		return nil, err
	}
	x, ln, err := netmod.Listen(th, b.Name(), addr)
	if err != nil {
		return nil, err
	}
	cfg, err := netmod.ServerTLS(x, b.Name(), cert, key)
	if err != nil {
		ln.Close()
		return nil, err
	}
	e := x.Task.Engine()
	s := &Server{eng: e, handler: handler, maxBody: limit, where: loop.Callers(th), parent: x.Task, fresh: map[net.Conn]struct{}{},
		sendTimeout: sendTimeout, bodyTimeout: bodyTimeout, grace: shutdownGrace, cut: make(chan struct{}), upgrades: map[*exchange]struct{}{}}
	s.addr, s.port = netmod.AddrPort(ln.Addr())
	s.srv = &http.Server{Handler: s, ConnState: s.connState, TLSConfig: cfg, ConnContext: connContext}
	harden(s.srv, e)
	s.ln = ln
	switch {
	case cfg != nil:
		// A temporary failure to accept (out of descriptors) is retried
		// and said once, as net.listen's: net/http logged every retry.
		go s.srv.ServeTLS(netmod.Retrying(e, ln, s.addr), "", "") // HTTPS, and HTTP/2 by ALPN
	case s.startH1(ln):
		go s.srv.Serve(s.h1.handoff) // what the loop's path hands on (h1.go)
	default:
		go s.srv.Serve(netmod.Retrying(e, ln, s.addr))
	}
	attach := s.attachServer()
	s.stopClose = context.AfterFunc(e.Context(), func() {
		s.srv.Close()
		ln.Close()
		if attach != nil {
			attach.Close()
		}
	})
	// SPEC 1: the server has a task of its own that waits until it is
	// closed, so a script that starts a server and returns keeps serving
	// (and the wait counts as one on the outside world, not a deadlock).
	serving := starlark.NewBuiltin("http.serve", func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, "http.serve")
		if err != nil {
			return nil, err
		}
		w := loop.NewWaiter(x.Task)
		s.stopped = w
		if s.closed { // closed before this task first ran
			return starlark.None, nil
		}
		e.Hold()
		x.Park(w, s, loop.NoTimeout, "http.serve")
		e.Release()
		if w.Err != nil {
			// Cancelled (the run is ending): stop serving too.
			s.shutdown()
			return nil, w.Err
		}
		return starlark.None, nil
	})
	e.Spawn(serving, nil, nil, "http.serve "+s.addr, x.Task, s.where)
	return s, nil
}

// shutdown stops serving before it returns: no connection is accepted
// and no request read from now on is served, and connections without a
// request in flight are closed. Each WebSocket the server accepted is
// closed with 1001 (going away), which ends its handler's reading as a
// peer's close does. On a goroutine, requests in flight and the
// WebSockets' handlers then finish (http.Server.Shutdown,
// upgradesEnded), for at most the grace period: past it their
// connections are closed and their handlers cancelled (cut), so that a
// client that stalls, or a handler that goes on, cannot keep the run
// going. The serving task ends when they have.
func (s *Server) shutdown() {
	if s.closed {
		return
	}
	s.closed = true
	// Stop accepting now, so a connection attempted after close() is
	// refused.
	s.stopH1()
	s.ln.Close()
	// Shutdown with a context already done: it marks the server as
	// shutting down (a request read after this is not served: a client
	// reusing a kept-alive connection gets it closed, and retries into
	// the closed listener), waits for the accepting goroutine to end,
	// closes the idle connections once and returns. When it ran on a
	// goroutine of its own, close() could return before the server knew,
	// and a request sent next on a pooled connection was served.
	now, cancel := context.WithCancel(context.Background())
	cancel()
	s.srv.Shutdown(now)
	// Every accepted connection has been through connState by now (the
	// accepting goroutine ended): close those that never sent a request.
	s.connMu.Lock()
	for c := range s.fresh {
		c.Close()
	}
	clear(s.fresh)
	s.connMu.Unlock()
	for ex := range s.upgrades {
		if ex.ws != nil {
			ex.ws.closeAfterQueue(int(websocket.StatusGoingAway))
		}
	}
	// The serving task, parked with a hold, keeps the run alive meanwhile.
	cut := false
	attach := s.attachServer()
	s.eng.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.grace)
		defer cancel()
		// Every upgrade began before its connection was hijacked, so
		// before Shutdown returns: upgradesEnded sees them all.
		err := s.srv.Shutdown(ctx)
		if err == nil {
			err = s.upgradesEnded(ctx)
		}
		if err == nil && attach != nil {
			err = attach.Shutdown(ctx)
		}
		if err != nil {
			cut = true
			close(s.cut)
			s.srv.Close()
			if attach != nil {
				attach.Close()
			}
		}
		s.stopClose()
	}, func() {
		if cut {
			s.cutH1()
			for ex := range s.upgrades {
				ex.task.Cancel(serverGoneWhy)
				if ex.ws != nil {
					ex.ws.raw.close()
				}
			}
		}
		if s.stopped != nil {
			s.stopped.Complete(0, nil, nil)
		}
	})
}

// attachServer is the http.Server that answers for the exchanges the
// loop's path hands on after their handler ran (h1.go), nil without that
// path.
func (s *Server) attachServer() *http.Server {
	if s.h1 == nil {
		return nil
	}
	return s.h1.attach
}

// upgradesEnded waits, off the loop, until the handler of every
// exchange upgraded to a WebSocket has ended, and every connection the
// loop serves itself (h1.go) is closed, or ctx is done. Once the
// run is ending it does not wait: the handlers are cancelled, and the
// sockets closed, with the engine (the loop may have stopped already).
func (s *Server) upgradesEnded(ctx context.Context) error {
	gone := make(chan struct{})
	s.eng.Post(func() {
		s.upgradesGone = gone
		s.loopEnded()
	})
	select {
	case <-gone:
	case <-s.eng.Context().Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// upgradeEnded forgets ex, whose handler ended. Loop only.
func (s *Server) upgradeEnded(ex *exchange) {
	delete(s.upgrades, ex)
	s.loopEnded()
}

// loopEnded closes upgradesGone once no upgraded exchange is left, nor
// any connection the loop serves. Loop only.
func (s *Server) loopEnded() {
	if s.upgradesGone != nil && len(s.upgrades) == 0 && (s.h1 == nil || len(s.h1.conns) == 0 && s.h1.attaching == 0) {
		close(s.upgradesGone)
		s.upgradesGone = nil
	}
}

// reply is a handler's outcome, sent from the loop to the goroutine.
type reply struct {
	status  int
	headers http.Header
	body    []byte
	ctype   string
}

// ServeHTTP runs on net/http's goroutine: post the request to the loop as
// a new task, and write what the task sends back (exchange.serve). The
// body is not read here: the handler reads it, whole (req.body) or as it
// comes (req.read).
//
// A request whose handler the loop ran already (attached: the loop
// handed its connection on, h1.go) is answered, not run again.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ex := attached(r); ex != nil {
		ex.attach(w, r)
		return
	}
	ex := newExchange(s, w, r)
	defer ex.body.finish(w, r)
	s.eng.Post(func() { s.start(ex, r) })
	ex.serve()
}

// start runs the handler of ex's request r as a task of its own. Loop
// only.
func (s *Server) start(ex *exchange, r *http.Request) {
	req := newRequest(r, ex)
	name := "http " + req.route()
	// The handler is the task's function, with no Go frame below it, so
	// that its waits unwind; a streamed response is the task's second
	// phase (respond).
	ex.task = s.eng.Spawn(s.handler, starlark.Tuple{req}, nil, name, s.parent, s.where)
	ex.task.Then(req.respond)
	ex.task.Enqueue(&replier{s: s, req: req, ex: ex}, 0)
}

// A replier is the Waker the handler task completes: it turns the
// handler's return value (or failure) into a reply. Because it waits on
// the task, a failing handler is not reported as an unobserved task
// failure; the replier logs it instead and answers 500 (413 when it
// failed reading a body past the limit). A streamed response or a
// WebSocket has been answered already: it ends the exchange, and logs a
// failure all the same (the WebSocket's peer sees only 1011).
type replier struct {
	s    *Server
	req  *Request
	ex   *exchange
	sent bool
}

func (rp *replier) Accepts(int) bool { return !rp.sent }

func (rp *replier) Complete(_ int, v starlark.Value, err error) {
	rp.sent = true
	ex := rp.ex
	if ex.upgraded {
		if err != nil {
			rp.logFailure(err)
		}
		ex.send(&piece{kind: pieceEnd})
		rp.s.upgradeEnded(ex)
		return
	}
	if err != nil {
		if ex.tooLarge && !ex.started {
			ex.reply(reply{status: http.StatusRequestEntityTooLarge, body: []byte("request body too large\n"), ctype: "text/plain; charset=utf-8"})
			return
		}
		rp.logFailure(err)
		if ex.started { // a streamed response: cut it short
			ex.send(&piece{kind: pieceAbort})
			return
		}
		if loop.ToError(err).Kind == loop.KindCancelled {
			// No failure of the handler's: its client went away
			// (serve ended the exchange: this goes nowhere), or the
			// server is stopping, the run ending with it.
			ex.reply(stoppedReply)
			return
		}
		ex.reply(internalError)
		return
	}
	if ex.started {
		ex.send(&piece{kind: pieceEnd})
		return
	}
	rep, err := makeReply(v)
	if err != nil {
		fmt.Fprintf(rp.s.eng.Stderr(), "http: handler for %s: %v\n", rp.req.route(), err)
		rep = internalError
	} else {
		rp.fixLength(&rep)
	}
	ex.reply(rep)
}

// fixLength makes the content-length a handler returned with a whole
// body the body's own, and says so on stderr when it was not: net/http
// sends the header as it is, and then writes none of a body longer than
// it (the client got 0 bytes of "hello world" under a content-length of
// 2) or closes the connection after a shorter one (the client failed
// after 5 bytes of 100). A whole body's length is known, so the response
// is sent right, and the warning names the route whose handler is wrong.
// The right length written otherwise (" 2") is sent as the number, with
// no warning: net/http dropped it, and then chunked the body.
// A HEAD request's, and a 204's or a 304's, is the length of a body not
// sent: it is left alone.
func (rp *replier) fixLength(rep *reply) {
	vs, ok := rep.headers["Content-Length"]
	if !ok || rp.req.method == http.MethodHead || !bodyAllowed(rep.status) {
		return
	}
	want := strconv.Itoa(len(rep.body))
	if n, ok := contentLength(vs); ok && n == int64(len(rep.body)) {
		if vs[0] != want {
			rep.headers["Content-Length"] = []string{want}
		}
		return
	}
	fmt.Fprintf(rp.s.eng.Stderr(), "coro: warning: http: handler for %s returned content-length %s with a body of %d bytes; sent content-length %s\n",
		rp.req.route(), loop.QuoteArg(strings.Join(vs, ", ")), len(rep.body), want)
	rep.headers["Content-Length"] = []string{want}
}

// contentLength reads a content-length header as net/http does: one
// value, a byte count.
func contentLength(vs []string) (int64, bool) {
	if len(vs) != 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
	return n, err == nil && n >= 0
}

// bodyAllowed reports whether a response of status has a body (RFC 9110
// 6.4.1; net/http's bodyAllowedForStatus).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// logFailure reports a handler's failure on the engine's stderr, with
// its traceback; a cancelled handler (its client went away, the run is
// ending) is no failure.
func (rp *replier) logFailure(err error) {
	ce := loop.ToError(err)
	if ce.Kind == loop.KindCancelled {
		return
	}
	fmt.Fprintf(rp.s.eng.Stderr(), "http: handler for %s failed:\n%s", rp.req.route(), ce.Report(rp.s.eng.Options().GoTrace))
}

var internalError = reply{status: 500, body: []byte("internal server error\n"), ctype: "text/plain; charset=utf-8"}

// stoppedReply answers a request whose handler was cancelled, or that
// was in flight when the run ended.
var stoppedReply = reply{status: http.StatusServiceUnavailable, body: []byte("server stopped\n"), ctype: "text/plain; charset=utf-8"}

// splitReply takes a handler's (status, body) or (status, headers, body)
// apart; any other value is a body with status 200.
func splitReply(v starlark.Value) (status int, headers http.Header, body starlark.Value, err error) {
	t, ok := v.(starlark.Tuple)
	if !ok {
		return 200, nil, v, nil
	}
	if len(t) != 2 && len(t) != 3 {
		return 0, nil, nil, loop.Errorf(loop.KindValue, "handler returned a tuple of %d, want (status, body) or (status, headers, body)", len(t))
	}
	// A 1xx status is informational, never a reply's last: net/http sent
	// 103 and then 200 with the body, and 101 without an Upgrade, the
	// connection then going on in HTTP.
	st, err := starlark.AsInt32(t[0])
	if err != nil || st < 200 || st > 999 {
		return 0, nil, nil, loop.Errorf(loop.KindValue, "handler returned status %s, want an int from 200 to 999 (1xx statuses are informational)", t[0])
	}
	if len(t) == 3 {
		if headers, err = replyHeaders("handler", t[1]); err != nil {
			return 0, nil, nil, err
		}
	}
	return st, headers, t[len(t)-1], nil
}

// makeReply converts what a handler returned (SPEC 7): a body (string or
// bytes, status 200), a dict or list (JSON), (status, body) or (status,
// headers, body). None is an empty 200.
func makeReply(v starlark.Value) (reply, error) {
	status, headers, body, err := splitReply(v)
	if err != nil {
		return reply{}, err
	}
	rep := reply{status: status, headers: headers}
	switch b := body.(type) {
	case starlark.NoneType:
	case starlark.String:
		rep.body, rep.ctype = []byte(b), "text/plain; charset=utf-8"
	case starlark.Bytes:
		rep.body, rep.ctype = []byte(b), "application/octet-stream"
	case *starlark.Dict, *starlark.List:
		th := &starlark.Thread{Name: "http reply"}
		s, err := starlark.Call(th, json.Module.Members["encode"], starlark.Tuple{b}, nil)
		if err != nil {
			return rep, loop.Errorf(loop.KindValue, "handler result: %v", err)
		}
		str := string(s.(starlark.String))
		rep.body, rep.ctype = unsafe.Slice(unsafe.StringData(str), len(str)), "application/json"
	default:
		return rep, loop.Errorf(loop.KindValue, "handler returned %s, want string, bytes, dict, list, a Generator or a (status, [headers,] body) tuple", body.Type())
	}
	return rep, nil
}

// ---- Server value ----

func (s *Server) String() string        { return fmt.Sprintf("<http server %s>", s.addr) }
func (s *Server) Type() string          { return "Server" }
func (s *Server) Freeze()               {}
func (s *Server) OwnedByLoop()          {}
func (s *Server) Truth() starlark.Bool  { return true }
func (s *Server) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(s)) >> 4), nil }
func (s *Server) AttrNames() []string   { return serverMethods.Names("addr", "port") }

var serverMethods = starutil.NewMethods("Server", map[string]starutil.Func{"close": serverClose})

func (s *Server) Attr(name string) (starlark.Value, error) {
	switch name {
	case "addr":
		return starlark.String(s.addr), nil
	case "port":
		return starlark.MakeInt(s.port), nil
	}
	return serverMethods.Bind(name, s), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (s *Server) Method(name string) *starlark.Builtin { return serverMethods.Method(name) }

// close stops accepting at once and returns; requests in flight finish
// (close() does not wait for them: a handler may be the one closing).
func serverClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	b.Receiver().(*Server).shutdown()
	return starlark.None, nil
}

// ---- Request value ----

// A Request is what a handler receives. Its body arrives as the handler
// reads it: whole (.body, .json(), within the server's limit) or as it
// comes (.read, .read_line, .lines: stream.go). Its query and headers
// become dicts when first read: a handler that never looks at them (the
// common hello-world case) pays nothing for them. net/http does not
// change a request's header map or URL once it is read, also after
// ServeHTTP returns, so reading them later from the loop is safe.
type Request struct {
	method, path string
	rawQuery     string
	header       http.Header
	query        *starlark.Dict // made from rawQuery when first read
	headers      *starlark.Dict // made from header when first read
	frozen       bool
	ex           *exchange
	r            *stream.Reader
	body         string // the rest of the body, once .body read it
	whole        bool
	remoteAddr   string
	host         string // the Host header (:authority), which net/http takes out of the headers
}

// route names the request in its handler task's name and the server's
// log lines, "GET /path": the client's, so cut as loop.Clip cuts (a
// 50 KB path made a 50 KB line for each such request).
// route names the request in log lines and task names: its method and
// path, the path escaped as in a URL (a client's %0A is no line break in
// the server's log) and cut as long arguments are.
func (r *Request) route() string {
	return loop.Clip(r.method + " " + (&url.URL{Path: r.path}).EscapedPath())
}

func newRequest(r *http.Request, ex *exchange) *Request {
	return &Request{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header, ex: ex, r: ex.bodyStream(), remoteAddr: r.RemoteAddr, host: r.Host}
}

// queryDict is req.query: the first value of each query parameter.
func (r *Request) queryDict() *starlark.Dict {
	if r.query == nil {
		vs, _ := url.ParseQuery(r.rawQuery) // as URL.Query: malformed pairs are dropped
		r.query = starlark.NewDict(len(vs))
		for k, v := range vs {
			r.query.SetKey(starlark.String(k), starlark.String(v[0]))
		}
		if r.frozen {
			r.query.Freeze()
		}
	}
	return r.query
}

// headerDict is req.headers.
func (r *Request) headerDict() *starlark.Dict {
	if r.headers == nil {
		r.headers = headerDict(r.header)
		if r.host != "" {
			// net/http moves Host into Request.Host; scripts route by it.
			r.headers.SetKey(starlark.String("host"), starlark.String(r.host))
		}
		if r.frozen {
			r.headers.Freeze()
		}
	}
	return r.headers
}

func (r *Request) String() string { return fmt.Sprintf("<request %s %s>", r.method, r.path) }
func (r *Request) Type() string   { return "Request" }
func (r *Request) Freeze() {
	r.frozen = true
	if r.query != nil {
		r.query.Freeze()
	}
	if r.headers != nil {
		r.headers.Freeze()
	}
}
func (r *Request) OwnedByLoop()          {}
func (r *Request) Truth() starlark.Bool  { return true }
func (r *Request) Hash() (uint32, error) { return 0, errors.New("unhashable: Request") }
func (r *Request) AttrNames() []string {
	return requestMethods.Names("body", "headers", "method", "path", "query", "remote_addr")
}

var requestMethods = starutil.NewMethods("Request",
	stream.Methods("read", "read_line", "lines"),
	map[string]starutil.Func{"json": requestJSON, "websocket": requestWebSocket})

func (r *Request) Attr(name string) (starlark.Value, error) {
	switch name {
	case "method":
		return starlark.String(r.method), nil
	case "path":
		return starlark.String(r.path), nil
	case "query":
		return r.queryDict(), nil
	case "headers":
		return r.headerDict(), nil
	case "body":
		body, err := r.rest("Request.body")
		if err != nil {
			return nil, err
		}
		return starlark.String(body), nil
	case "remote_addr":
		return starlark.String(r.remoteAddr), nil
	}
	return requestMethods.Bind(name, r), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (r *Request) Method(name string) *starlark.Builtin { return requestMethods.Method(name) }

func requestJSON(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	body, err := b.Receiver().(*Request).rest(b.Name())
	if err != nil {
		return nil, err
	}
	return decodeJSON(th, b.Name(), body)
}
