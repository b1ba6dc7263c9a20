package http

// The loop's own HTTP/1 path. A plain (not TLS) server whose engine has
// a reactor accepts on the loop, and the loop reads, parses and answers
// the common request itself: HTTP/1.x, no body or a small one that came
// with its head, no upgrade, a whole reply. net/http does all of that on
// a goroutine per connection, and each request then went to the loop
// and its reply came back: two hand-offs between threads per request,
// which cost more than net/http itself (23 µs of CPU per hello-world
// request against Go's 14.5 µs).
//
// Parsing is net/http's own (http.ReadRequest), checked as net/http's
// server checks a request. Whatever this path does not serve goes to
// net/http whole: the connection, with the bytes read so far, is handed
// to the server's http.Server (Handoff), which reads the request again
// and serves it and the rest of the connection as usual. That is a
// request with a chunked or large body, or one still to come, an
// upgrade (a WebSocket), HEAD, a head too large or malformed, and a
// reply that is not whole or not plain (a streamed response, a status
// without a body, connection headers): the handler has run then, and its
// exchange goes with the connection (prefixConn), for ServeHTTP to
// attach to rather than to run the handler again.
//
// The defences are net/http's as the server sets them (limits.go): a
// request's head must come within readHeaderTimeout, a kept-alive
// connection idle for idleTimeout is closed, and a reply the client does
// not take within sendTimeout of the last progress closes it. A client
// that hangs up while its handler runs has the handler cancelled.

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/corolang/coro/loop"
	netmod "github.com/corolang/coro/stdlib/net"
)

const (
	// h1ReadSize is what a connection's buffer starts with and reads at
	// a time.
	h1ReadSize = 4 << 10
	// h1HeadMax is the most of a head the loop's path reads: net/http's
	// own bound (MaxHeaderBytes and its 4 KB of slack). A head not
	// complete within it goes to net/http, which answers 431.
	h1HeadMax = maxHeaderBytes + 4<<10
	// h1BodyMax is the largest request body the loop's path reads
	// whole, with its head; a larger one goes to net/http.
	h1BodyMax = 64 << 10
)

// The loop's path's timeouts, net/http's as harden sets them; variables
// only so that tests can shorten them. h1Sweep is how often deadlines
// are checked: a timeout fires up to that much late.
var (
	h1On          = true // tests compare the path with net/http's
	h1HeadTimeout = readHeaderTimeout
	h1IdleTimeout = idleTimeout
	h1Sweep       = time.Second
)

// h1Served counts the requests the loop's path served, for tests.
var h1Served atomic.Int64

// h1Server is the loop's side of a plain server. Loop only, but for
// handoff, which goroutines read.
type h1Server struct {
	rc       syscall.RawConn // the listener's
	watch    *loop.FDWatch
	readable bool
	pause    netmod.AcceptPause // after a temporary accept failure
	warned   bool               // one was said (once per server)
	conns    map[*h1Conn]struct{}
	// attaching counts the exchanges handed on that ServeHTTP has not
	// taken yet: shutdown waits for them as for conns.
	attaching int
	sweep     func() // stops the deadline sweep, nil when none runs
	// The timeouts, as they were when the server started.
	headTimeout, idleTimeout, sweepEvery time.Duration
	// handoff is what the server's http.Server accepts: connections
	// handed on with a request to read. attach serves those handed on
	// with an exchange whose handler ran (attachLn): apart, because
	// net/http drops a request it reads once its server is shutting
	// down, and such a request was read before.
	handoff  *handoffListener
	attach   *http.Server
	attachLn *handoffListener
	// One reader for every head parsed: http.ReadRequest copies what it
	// keeps, and the loop parses one head at a time.
	head bytes.Reader
	br   *bufio.Reader
	// The Date header, made once a second.
	date    []byte
	dateSec int64
}

// startH1 makes s's loop accept and serve from ln, which must be plain
// TCP or unix; it reports false when the engine has no reactor.
func (s *Server) startH1(ln net.Listener) bool {
	sc, ok := ln.(syscall.Conn)
	if !ok || !h1On {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	h := &h1Server{rc: rc, readable: true, conns: map[*h1Conn]struct{}{}, handoff: newHandoffListener(ln.Addr()),
		headTimeout: h1HeadTimeout, idleTimeout: h1IdleTimeout, sweepEvery: h1Sweep}
	w, err := s.eng.WatchFD(fd, func(ev loop.IOEvents) {
		if ev&loop.IORead != 0 {
			h.readable = true
			s.acceptH1()
		}
	})
	if err != nil {
		return false
	}
	h.watch = w
	h.br = bufio.NewReaderSize(&h.head, h1HeadMax)
	h.attach = &http.Server{Handler: s, ConnContext: connContext}
	harden(h.attach, s.eng)
	h.attachLn = newHandoffListener(ln.Addr())
	go h.attach.Serve(h.attachLn)
	s.h1 = h
	s.eng.Post(s.acceptH1) // a connection may be waiting already
	return true
}

// acceptH1 accepts every connection waiting. Loop only.
func (s *Server) acceptH1() {
	h := s.h1
	for h.readable && !h.pause.Paused() && !s.closed {
		c, err := netmod.TryAccept(h.rc)
		switch {
		case err == nil:
			h.pause.Reset()
			s.newH1Conn(c)
		case err == syscall.EAGAIN:
			h.readable = false
		case netmod.TemporaryAccept(err):
			if !h.warned {
				h.warned = true
				netmod.WarnAccept(s.eng, s.addr, err)
			}
			h.pause.Start(s.eng, s.acceptH1)
		default:
			// The listener failed for good (closed under it): net/http's
			// Serve would have returned. Stop accepting.
			h.readable = false
		}
	}
}

// stopH1 stops accepting and closes the connections with nothing in
// flight; the others close once their reply is written. Loop only.
func (s *Server) stopH1() {
	h := s.h1
	if h == nil {
		return
	}
	h.watch.Stop()
	h.pause.Stop()
	for c := range h.conns {
		if c.ex == nil && c.sent == len(c.out) {
			c.close()
		} else {
			c.closeAfter = true // once its reply is written
		}
	}
	// Exchanges handed on are served by attach, which keeps serving
	// until shutdown has seen them all taken (loopEnded): closing the
	// connection after each reply from now on.
	h.attach.SetKeepAlivesEnabled(false)
}

// cutH1 closes every connection still open once the grace after
// shutdown ran out, cancelling the handlers still running. Loop only.
func (s *Server) cutH1() {
	if s.h1 == nil {
		return
	}
	for c := range s.h1.conns {
		if c.ex != nil {
			c.ex.task.Cancel(serverGoneWhy)
		}
		c.close()
	}
}

// An h1Conn is a connection the loop serves.
type h1Conn struct {
	s     *Server
	conn  net.Conn // netmod.TryAccept's
	rc    syscall.RawConn
	watch *loop.FDWatch
	raddr string
	// in[start:] is read and not yet answered (while a handler runs,
	// its head is the first head bytes of it); out[sent:] is still to
	// write.
	in          []byte
	start       int
	head        int
	out         []byte
	sent        int
	ex          *exchange // the request whose handler runs
	readable    bool      // no read has said EAGAIN since the last event
	hup         bool      // the reactor said IOHangup: a short read proves nothing
	writable    bool
	eof         bool // the client ended its side (or the connection failed)
	closeAfter  bool // close once out is written
	lastPOST    bool // the last request was a POST (leading CRLF, as net/http)
	served      int  // requests served
	closed      bool
	deadline    time.Duration // on the engine's clock; 0 for none
	idle        bool          // between requests: the deadline is idleTimeout's
	stopClosing func() bool   // ends the engine's closing of conn
	// The system call in progress (sys): made once, as a Conn's, so
	// that a read or write allocates nothing.
	ioBuf           []byte
	ioN             int
	ioErr           error
	readFn, writeFn func(uintptr) bool
}

// newH1Conn starts serving c. Loop only.
func (s *Server) newH1Conn(nc net.Conn) {
	h := s.h1
	c := &h1Conn{s: s, conn: nc, readable: true, writable: true}
	c.readFn, c.writeFn = c.sysRead, c.sysWrite
	if ra := nc.RemoteAddr(); ra != nil {
		c.raddr = ra.String()
	}
	c.rc, _ = nc.(syscall.Conn).SyscallConn()
	fd := -1
	c.rc.Control(func(f uintptr) { fd = int(f) })
	w, err := s.eng.WatchFD(fd, c.ready)
	if err != nil {
		nc.Close()
		return
	}
	c.watch = w
	c.stopClosing = context.AfterFunc(s.eng.Context(), func() { nc.Close() })
	c.deadline = s.eng.Now() + h.headTimeout
	h.conns[c] = struct{}{}
	if h.sweep == nil {
		s.sweepH1()
	}
	// The watch reports what the connection is ready for now.
}

// sweepH1 closes the connections past their deadline, and runs again in
// h1Sweep while any connection is open. Loop only.
func (s *Server) sweepH1() {
	h := s.h1
	h.sweep = nil
	now := s.eng.Now()
	for c := range h.conns {
		if c.deadline != 0 && now >= c.deadline {
			c.close()
		}
	}
	if len(h.conns) > 0 {
		h.sweep = s.eng.Schedule(h.sweepEvery, s.sweepH1)
	}
}

// ready runs on the loop when the reactor reports c ready.
func (c *h1Conn) ready(ev loop.IOEvents) {
	if ev&(loop.IORead|loop.IOHangup) != 0 {
		c.readable = true
		c.hup = c.hup || ev&loop.IOHangup != 0
	}
	if ev&(loop.IOWrite|loop.IOHangup) != 0 {
		c.writable = true
	}
	c.pump()
}

// pump does what c can do now: write what is pending, read, and serve
// the next request once the last one is answered. Loop only.
func (c *h1Conn) pump() {
	for !c.closed {
		if c.sent < len(c.out) {
			if !c.flush() {
				return
			}
			continue
		}
		if c.closeAfter && c.ex == nil {
			c.close()
			return
		}
		if c.ex == nil && c.serveNext() {
			continue
		}
		if c.eof && c.ex == nil {
			c.ended()
			return
		}
		if !c.readable || c.eof {
			return
		}
		if c.ex != nil && len(c.in) >= h1HeadMax {
			return // pipelined requests wait for the one in flight
		}
		// After a read that found nothing new (EAGAIN, the end), one
		// more look: serveNext decides on a body that stopped coming.
		c.read()
	}
}

// ended ends c, whose client ended its side, once nothing is in flight:
// closed, or handed on with a head cut short, which net/http answers.
func (c *h1Conn) ended() {
	if rest := len(c.in) - c.start; rest == 0 || c.served > 0 && rest < 4 {
		// On a connection it served before, net/http waits for 4 bytes
		// of a next request (idle), and says nothing of fewer.
		c.close()
		return
	}
	c.handoff(nil)
}

// read reads what has come. At the end, a request in flight has its
// handler cancelled, as net/http does when its client goes away.
func (c *h1Conn) read() {
	if c.start > 0 && c.start == len(c.in) {
		c.in, c.start = c.in[:0], 0
	}
	if cap(c.in)-len(c.in) < h1ReadSize {
		if c.start > 0 {
			c.in = append(c.in[:0], c.in[c.start:]...)
			c.start = 0
		}
		if cap(c.in)-len(c.in) < h1ReadSize {
			c.in = slices.Grow(c.in, h1ReadSize)
		}
	}
	space := c.in[len(c.in):cap(c.in)]
	n, err := c.sys(c.readFn, space)
	switch {
	case err == syscall.EAGAIN:
		c.readable = false
		return
	case err == syscall.EINTR:
		return
	case err != nil || n == 0:
		c.eof = true
		if ex := c.ex; ex != nil && (ex.r.ContentLength == 0 || ex.bodyRead) {
			c.gone(clientGoneWhy)
		}
		// With no request in flight, pump ends c (ended). With one whose
		// body its handler has not read to the end, nothing yet: net/http
		// watches for its client's end only from there (its background
		// read), and the reply goes out (body.hitEOF).
		return
	}
	c.in = c.in[:len(c.in)+n]
	if n < len(space) && !c.hup {
		// Edge-triggered: less than asked for means the socket is empty
		// until the next event, which saves the read that says EAGAIN.
		c.readable = false
	}
	if c.idle && len(c.in)-c.start >= 4 {
		// The head's timeout runs from its first 4 bytes, as net/http's
		// (which waits for them under the idle timeout).
		c.idle = false
		c.deadline = c.s.eng.Now() + c.s.h1.headTimeout
	}
}

// sys reads or writes p (fn: readFn or writeFn) without waiting, through
// the connection's RawConn: the descriptor is not closed meanwhile.
func (c *h1Conn) sys(fn func(uintptr) bool, p []byte) (int, error) {
	c.ioBuf = p
	err := c.rc.Read(fn) // fdConn's Read and Write both run fn once
	c.ioBuf = nil
	if err != nil {
		return 0, err
	}
	return c.ioN, c.ioErr
}

func (c *h1Conn) sysRead(fd uintptr) bool {
	c.ioN, c.ioErr = netmod.RawRead(fd, c.ioBuf)
	return true
}

func (c *h1Conn) sysWrite(fd uintptr) bool {
	c.ioN, c.ioErr = netmod.RawWrite(fd, c.ioBuf)
	return true
}

// headEnd is the length of the head that begins buf, or -1 when it has
// not all come: it ends with an empty line, CRLF or LF.
func headEnd(buf []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i < len(buf) && buf[i] == '\n' {
			return i + 1
		}
		if i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n' {
			return i + 2
		}
	}
}

// serveNext starts the handler of the next request, if its head has
// come, and reports whether it did anything (serve, or hand c on).
func (c *h1Conn) serveNext() bool {
	buf := c.in[c.start:]
	if c.lastPOST {
		// After a POST net/http drops up to 4 CR or LF (RFC 7230
		// section 3's tolerance for old clients).
		k := 0
		for k < len(buf) && k < 4 && (buf[k] == '\r' || buf[k] == '\n') {
			k++
		}
		if k == len(buf) && k < 4 {
			return false
		}
		c.start += k
		buf = buf[k:]
		c.lastPOST = false
	}
	if len(buf) == 0 {
		return false
	}
	if c.s.closed {
		c.close() // a request read after close() is not served
		return true
	}
	n := headEnd(buf)
	if n < 0 && len(buf) < h1HeadMax {
		return false
	}
	if n < 0 || n > h1HeadMax {
		c.handoff(nil) // net/http answers 431
		return true
	}
	h := c.s.h1
	h.head.Reset(buf[:n])
	h.br.Reset(&h.head)
	r, err := http.ReadRequest(h.br)
	if err != nil || !plainRequest(r, hostLines(buf[:n])) || r.ContentLength > c.s.maxBody {
		c.handoff(nil)
		return true
	}
	// A body is served here when it came with its head: read whole, as
	// what came of the connection so far is. One still to come goes to
	// net/http, whose handler reads it as it comes.
	if int64(len(buf)-n) < r.ContentLength {
		if c.readable && !c.eof {
			return false // more has come: read it first
		}
		c.handoff(nil)
		return true
	}
	// The head stays in c.in until the reply is written (a handoff with
	// the exchange gives net/http the request again); the body, kept
	// once, in the exchange (whole), is cut out of it, and a buffer
	// grown for it is not kept.
	c.head = n
	whole := ""
	if cl := int(r.ContentLength); cl > 0 {
		whole = string(buf[n : n+cl])
		rest := buf[n+cl:]
		if cap(c.in) > 2*h1ReadSize {
			in := make([]byte, 0, max(h1ReadSize, n+len(rest)))
			c.in, c.start = append(append(in, buf[:n]...), rest...), 0
		} else {
			c.in = append(c.in[:c.start+n], rest...) // a move: append copies as memmove
		}
	}
	c.lastPOST = r.Method == http.MethodPost
	r.RemoteAddr = c.raddr
	c.deadline, c.idle = 0, false
	c.served++
	h1Served.Add(1)
	ex := &exchange{s: c.s, r: r, h1: c, whole: whole}
	c.ex = ex
	c.s.start(ex, r)
	if c.eof && r.ContentLength == 0 {
		// A request read after its client's end (sent behind one whose
		// body was left unread): net/http's background read, which
		// starts at once for a request without a body, sees the end.
		c.gone(clientGoneWhy)
	}
	return true
}

// plainRequest reports whether r, as http.ReadRequest read it from a
// head with hosts Host lines, is one the loop serves: one net/http's
// server would serve as read (the checks of its conn.readRequest), with
// nothing that needs the rest of net/http (a chunked body or one over
// h1BodyMax, an upgrade, an Expect, CONNECT, HEAD, a target other than
// a path).
func plainRequest(r *http.Request, hosts int) bool {
	if r.ProtoMajor != 1 || len(r.TransferEncoding) != 0 || r.ContentLength < 0 || r.ContentLength > h1BodyMax {
		return false
	}
	if r.ContentLength == 0 && r.Body != http.NoBody {
		return false
	}
	switch r.Method {
	case http.MethodConnect, http.MethodHead:
		return false
	}
	// ReadRequest took the Host header out, into r.Host (net/http's
	// server checks it first): with a path for target, r.Host is the
	// header's.
	if !strings.HasPrefix(r.RequestURI, "/") || hosts > 1 || hosts == 0 && r.ProtoAtLeast(1, 1) {
		return false
	}
	if hosts == 1 && !httpguts.ValidHostHeader(r.Host) {
		return false
	}
	for k, vs := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	_, upgrade := r.Header["Upgrade"]
	_, expect := r.Header["Expect"]
	return !upgrade && !expect
}

// hostLines counts the Host header lines of head.
func hostLines(head []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			return n
		}
		head = head[i+1:]
		if len(head) >= 5 && bytes.EqualFold(head[:5], []byte("host:")) {
			n++
		}
	}
}

// An h1Body is a request body the loop read whole with its head
// (exchange.bodyStream). Once the handler has read it, the end of its
// client's side cancels the handler, as from then on in net/http, whose
// background read of the connection starts at the body's end.
type h1Body struct {
	doneSource
	ex *exchange
}

func (b *h1Body) TryRead(fn string, p []byte) (int, error) {
	// Any read counts: net/http's reader takes a body this small off
	// the connection whole, to its end, at the handler's first read.
	if !b.ex.bodyRead {
		b.ex.bodyRead = true
		if c := b.ex.h1; c != nil && c.eof && c.ex == b.ex && !c.closed {
			c.gone(clientGoneWhy)
		}
	}
	return b.doneSource.TryRead(fn, p)
}

// gone ends c while a handler runs: the client went away, or the server
// gave up on it. The handler is cancelled, and its reply goes nowhere.
func (c *h1Conn) gone(why string) {
	ex := c.ex
	c.close()
	// Posted, as net/http's goroutine posts it: a handler just started
	// takes its first steps (reads the body that came) before it learns.
	c.s.eng.Post(func() {
		ex.task.Cancel(why)
		ex.end()
	})
}

// flush writes what it can of out, and reports whether all of it went.
func (c *h1Conn) flush() bool {
	for c.sent < len(c.out) {
		if !c.writable {
			return false
		}
		n, err := c.sys(c.writeFn, c.out[c.sent:])
		switch {
		case err == syscall.EAGAIN:
			c.writable = false
			c.deadline = c.s.eng.Now() + c.s.sendTimeout
			return false
		case err == syscall.EINTR:
			continue
		case err != nil:
			c.close()
			return false
		}
		c.sent += n
		if c.deadline != 0 {
			c.deadline = c.s.eng.Now() + c.s.sendTimeout // progress
		}
	}
	c.out, c.sent = c.out[:0], 0
	if cap(c.out) > h1ReadSize {
		c.out = nil // a large reply's buffer is not kept for the next
	}
	if c.ex == nil {
		c.idle = c.start == len(c.in)
		if c.idle {
			if cap(c.in) > h1ReadSize {
				c.in, c.start = nil, 0 // nor a large head's
			}
			c.deadline = c.s.eng.Now() + c.s.h1.idleTimeout
		} else {
			c.deadline = c.s.eng.Now() + c.s.h1.headTimeout
		}
	}
	return true
}

// close closes c for good. Loop only.
func (c *h1Conn) close() {
	if c.closed {
		return
	}
	c.closed = true
	c.watch.Stop()
	c.conn.Close()
	c.stopClosing()
	c.in, c.out = nil, nil
	c.forget()
}

// forget drops c from the server's connections.
func (c *h1Conn) forget() {
	s := c.s
	delete(s.h1.conns, c)
	if len(s.h1.conns) == 0 && s.h1.sweep != nil {
		s.h1.sweep()
		s.h1.sweep = nil
	}
	s.loopEnded()
}

// handoff gives c to net/http with what was read of it, and ex, when
// the request whose handler runs is to be answered there. Loop only.
func (c *h1Conn) handoff(ex *exchange) {
	if c.closed {
		return
	}
	prefix := bytes.Clone(c.in[c.start:])
	if ex != nil && ex.whole != "" {
		// The body goes back between the head and what followed it.
		prefix = slices.Concat(prefix[:c.head], []byte(ex.whole), prefix[c.head:])
	}
	c.closed = true
	c.watch.Stop()
	c.stopClosing()
	c.forget()
	nc, err := netmod.Handoff(c.conn)
	if err != nil {
		if ex != nil {
			ex.task.Cancel(clientGoneWhy)
			ex.end()
		}
		return
	}
	pc := &prefixConn{Conn: nc, prefix: prefix}
	if ex == nil {
		c.s.h1.handoff.give(pc)
		return
	}
	ex.h1 = nil
	pc.ex.Store(ex)
	c.s.h1.attaching++
	c.s.h1.attachLn.give(pc)
}

// took runs on the loop once ServeHTTP took an exchange handed on
// (attached), or its connection closed first.
func (s *Server) took() {
	s.h1.attaching--
	s.loopEnded()
}

// reply writes a whole reply to ex's request, and reports false if it
// is not plain (the headers that net/http's writer acts on, a status
// without a body): then net/http is to write it.
func (c *h1Conn) reply(ex *exchange, rep reply) bool {
	if c.closed {
		return true // the client went away: the reply goes nowhere
	}
	if !bodyAllowed(rep.status) {
		return false
	}
	for k := range rep.headers {
		switch k {
		case "Connection", "Transfer-Encoding", "Trailer", "Keep-Alive":
			return false
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return false
		}
	}
	r := ex.r
	c.ex = nil
	c.start += c.head
	// Whether the connection stays open, as net/http decides for a
	// reply whose length it knows (response.wants10KeepAlive and
	// wantsClose): from the first Connection line only, where r.Close
	// looked at them all, and its tokens are found as hasToken finds
	// them ("foo close" closes, and "close X-A: 1" folded from two
	// lines).
	conn := r.Header.Get("Connection")
	keep10 := r.ProtoMajor == 1 && r.ProtoMinor == 0 && hasToken(conn, "keep-alive")
	c.closeAfter = !keep10 && (!r.ProtoAtLeast(1, 1) || r.Close || hasToken(conn, "close")) || c.s.closed

	b := c.out
	if r.ProtoAtLeast(1, 1) {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
	if text := http.StatusText(rep.status); text != "" {
		b = strconv.AppendInt(b, int64(rep.status), 10)
		b = append(b, ' ')
		b = append(b, text...)
		b = append(b, "\r\n"...)
	} else {
		b = append(b, strconv.Itoa(rep.status)+" status code "+strconv.Itoa(rep.status)+"\r\n"...)
	}
	// The handler's headers in net/http's order (sorted), with the
	// Content-Type the body implies unless the handler gave one.
	_, haveType := rep.headers["Content-Type"]
	typed := rep.ctype == "" || haveType
	keys := make([]string, 0, len(rep.headers)+1)
	for k := range rep.headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !typed && k > "Content-Type" {
			b = appendHeader(b, "Content-Type", rep.ctype)
			typed = true
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue // net/http drops it
		}
		for _, v := range rep.headers[k] {
			b = appendHeader(b, k, v)
		}
	}
	if !typed {
		b = appendHeader(b, "Content-Type", rep.ctype)
	}
	if _, ok := rep.headers["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, c.s.h1.httpDate()...)
		b = append(b, "\r\n"...)
	}
	if _, ok := rep.headers["Content-Length"]; !ok {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(rep.body)), 10)
		b = append(b, "\r\n"...)
	}
	switch {
	case keep10:
		// Also when the server is closing the connection after it
		// (closed): so says net/http.
		b = append(b, "Connection: keep-alive\r\n"...)
	case c.closeAfter && r.ProtoAtLeast(1, 1):
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.out = append(b, rep.body...)
	c.deadline = c.s.eng.Now() + c.s.sendTimeout
	c.pump()
	return true
}

// appendHeader appends one header line as net/http's Header.Write does:
// line breaks in the value become spaces, and its ends are trimmed.
func appendHeader(b []byte, k, v string) []byte {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, strings.Trim(v, " \t")...)
	return append(b, "\r\n"...)
}

// hasToken reports whether token is in v, in any case, between the
// start or end of v and spaces, tabs or commas: net/http's hasToken,
// which decides what its server does with a Connection header.
func hasToken(v, token string) bool {
	for sp := 0; sp+len(token) <= len(v); sp++ {
		if sp > 0 && !isTokenBoundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !isTokenBoundary(v[end]) {
			continue
		}
		if asciiEqualFold(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

// asciiEqualFold is strings.EqualFold for ASCII only, as net/http's:
// "\u212Aeep-alive" (a Kelvin sign) is not keep-alive.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range len(s) {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

// httpDate is the Date header's value now, made at most once a second.
func (h *h1Server) httpDate() []byte {
	now := time.Now()
	if sec := now.Unix(); sec != h.dateSec || h.date == nil {
		h.dateSec = sec
		h.date = now.UTC().AppendFormat(h.date[:0], http.TimeFormat)
	}
	return h.date
}

// A handoffListener is what the server's http.Server accepts from: the
// connections the loop hands on.
type handoffListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{conns: make(chan net.Conn, 16), done: make(chan struct{}), addr: addr}
}

// give passes c to Accept without waiting on the loop.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	default:
		go func() {
			select {
			case l.conns <- c:
			case <-l.done:
				c.Close()
			}
		}()
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		for {
			select {
			case c := <-l.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// A prefixConn is a connection the loop handed on: what the loop read of
// it comes first. ex, until ServeHTTP takes it, is the exchange whose
// request begins prefix: its handler has run, and ServeHTTP answers for
// it instead of running the handler again.
type prefixConn struct {
	net.Conn
	prefix []byte
	ex     atomic.Pointer[exchange]
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Close ends an exchange ServeHTTP never took (net/http gave up on the
// connection first): its client is as good as gone.
func (c *prefixConn) Close() error {
	if ex := c.ex.Swap(nil); ex != nil {
		ex.post(func() {
			ex.task.Cancel(clientGoneWhy)
			ex.end()
			ex.s.took()
		})
	}
	return c.Conn.Close()
}

// CloseWrite lets net/http end its side before it closes the connection
// (closeWriteAndWait), so that a client still sending gets its reply,
// not a reset.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// handoffKey is the context key under which ConnContext puts a
// prefixConn for ServeHTTP.
type handoffKey struct{}

// connContext is the server's http.Server.ConnContext hook.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*prefixConn); ok && pc.ex.Load() != nil {
		return context.WithValue(ctx, handoffKey{}, pc)
	}
	return ctx
}

// attached takes the exchange the loop handed on with r's connection,
// if r is its request.
func attached(r *http.Request) *exchange {
	pc, _ := r.Context().Value(handoffKey{}).(*prefixConn)
	if pc == nil {
		return nil
	}
	ex := pc.ex.Swap(nil)
	if ex != nil {
		ex.post(ex.s.took)
	}
	return ex
}
