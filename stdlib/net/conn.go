package net

import (
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"unsafe"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/handle"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
	"golang.org/x/sys/unix"
)

// A Conn is a stream connection (TCP or unix socket) as a script value.
//
// All fields are touched on the loop only. Reads and writes are system
// calls made on the loop through the socket's syscall.RawConn with a
// callback that never waits: when the socket has data (or room), the
// operation completes inline. Otherwise the task parks until the engine's
// reactor says the socket is ready (ioReady, on the loop: no goroutine is
// involved), and tries again. Where the engine has no reactor (not
// Linux), one goroutine at a time waits in Go's netpoller instead
// (Wait, WriteData) and posts the wake-up back; while it holds the
// descriptor's read (or write) lock, the loop must not touch that side:
// rwaiting and wbusy guard it.
type Conn struct {
	bound starutil.Bound // its methods, bound once
	*handle.Handle
	c      net.Conn
	rc     syscall.RawConn
	local  string
	remote string

	// r buffers what is read (package stream); the Conn is its Source.
	r    *stream.Reader
	rerr readFailure // a failed read (reset): every later read fails so too

	rwaiting bool // without a reactor: a goroutine waits for readability
	// With the engine's reactor (handle.Handle.Watch): readable is false from
	// a read that found nothing until the reactor's next event for the
	// socket.
	readable bool
	// drains: a short read proves the socket empty (a TCP read takes
	// all the data queued), so the next read can wait for the poller at
	// once instead of first making a read that would find nothing. Not
	// once the peer has ended its side: the end of stream may still be
	// queued behind a short read, and no further event would announce it.
	drains  bool
	readers loop.WakerList
	// wbusy: what a write could not send at once is still being sent:
	// by the loop as the reactor reports room (wrest), or by a goroutine
	// without one. Later writes wait their turn, so writes keep their
	// order. wseq numbers such writes, wdone is the last one finished;
	// werr is the failure of one, which every later write repeats.
	wbusy   bool
	wrest   string
	wseq    uint64
	wdone   uint64
	werr    error
	writers loop.WakerList
	closed  bool
	// wclosed: the script ended the write side (close_write), so a
	// write fails with closed before it is tried: the peer did nothing,
	// though a plain socket's write(2) would say EPIPE (reset) and
	// tls.Conn "protocol is shutdown".
	wclosed bool

	// Inline system calls: the callbacks are made once per connection so
	// a read or write allocates nothing.
	rdBuf  []byte
	rdN    int
	rdErr  error
	rdFn   func(uintptr) bool
	wrData []byte
	wrN    int
	wrErr  error
	wrFn   func(uintptr) bool

	readWhy, writeWhy connReason // passed by address: a Reason made of a value is an allocation per wait
}

type connReason struct {
	c  *Conn
	op string
}

func (r connReason) WaitingOn() string {
	return fmt.Sprintf("%s on connection %s -> %s", r.op, r.c.local, r.c.remote)
}

var (
	_ starlark.HasAttrs = (*Conn)(nil)
	_ stream.Source     = (*Conn)(nil)
	_ stream.HalfCloser = (*Conn)(nil)
	_ stream.Readable   = (*Conn)(nil)
	_ starlark.Iterable = (*Listener)(nil)
)

// newConn wraps an established connection; loop only.
func newConn(e *loop.Engine, c net.Conn) (*Conn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		c.Close()
		return nil, loop.Errorf(loop.KindIO, "net: %T has no file descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		c.Close()
		return nil, ioError("net", err)
	}
	cn := &Conn{c: c, rc: rc, local: formatAddr(c.LocalAddr()), remote: formatAddr(c.RemoteAddr())}
	cn.Handle = handle.New(cn, e, c)
	cn.rdFn = cn.sysRead
	cn.wrFn = cn.sysWrite
	cn.readWhy = connReason{cn, "read"}
	cn.writeWhy = connReason{cn, "write"}
	cn.readable = true
	cn.r = stream.NewReader(cn, stream.Options{Name: "connection", Label: cn.remote})
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	if w, err := handle.WatchWeakly(e, fd, cn, (*Conn).ioReady); err == nil {
		cn.Watch = w
		cn.drains = isTCP(c)
	} else if _, ok := c.(*fdConn); ok {
		// Nothing else would wake a reader of it (fdConn).
		cn.close()
		return nil, ioError("net", err)
	}
	return cn, nil
}

// isTCP reports whether c is a TCP connection, whose short reads prove
// the socket drained (Conn.drains).
func isTCP(c net.Conn) bool {
	switch c := c.(type) {
	case *net.TCPConn:
		return true
	case *fdConn:
		return c.tcp
	}
	return false
}

// own makes a watched plain connection the loop's alone, as an accepted
// one is (fdConn): net.Dialer leaves it in Go's netpoller too, so a copy
// of its descriptor takes its place in the reactor and the original is
// closed. Where any step fails the connection stays as it was. Loop only.
func (c *Conn) own() {
	if c.Watch == nil {
		return
	}
	if _, ok := c.c.(*fdConn); ok {
		return
	}
	nfd := -1
	c.rc.Control(func(fd uintptr) { nfd, _ = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
	if nfd < 0 {
		return
	}
	fc, err := newFDConn(nfd)
	if err != nil {
		return
	}
	w, err := handle.WatchWeakly(c.Eng, nfd, c, (*Conn).ioReady)
	if err != nil {
		fc.Close()
		return
	}
	c.Watch.Stop()
	c.c.Close()
	c.c, c.Watch, c.drains = fc, w, isTCP(fc)
	c.rc, _ = fc.SyscallConn()
	c.SetCloser(fc)
}

// ioReady runs on the loop when the reactor reports the socket ready:
// readers retry, and what a write left over is sent.
func (c *Conn) ioReady(ev loop.IOEvents) {
	if ev&loop.IOHangup != 0 {
		// The peer ended its side (or failed): a short read no longer
		// proves the socket empty, since the end of stream is still to
		// be read, and no event will follow.
		c.drains = false
	}
	if ev&loop.IORead != 0 {
		c.readable = true
		c.readers.Broadcast(nil, nil)
	}
	if ev&(loop.IOWrite|loop.IOHangup) != 0 && c.wrest != "" {
		c.flush()
	}
}

func (c *Conn) sysRead(fd uintptr) bool {
	for {
		c.rdN, c.rdErr = RawRead(fd, c.rdBuf)
		if c.rdErr != syscall.EINTR {
			return true // never wait here: the loop must not block
		}
	}
}

func (c *Conn) sysWrite(fd uintptr) bool {
	for len(c.wrData) > c.wrN {
		n, err := RawWrite(fd, c.wrData[c.wrN:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			c.wrErr = err
			break
		}
		c.wrN += n
	}
	return true
}

// errWouldBlock marks a read that found no data.
var errWouldBlock = syscall.EAGAIN

// tryRead reads what is there into buf without waiting. It returns
// errWouldBlock when nothing is, io.EOF at end of stream.
func (c *Conn) tryRead(buf []byte) (int, error) {
	c.rdBuf = buf
	err := c.rc.Read(c.rdFn)
	c.rdBuf = nil
	if err != nil {
		return 0, err
	}
	switch {
	case c.rdErr == syscall.EAGAIN:
		c.readable = false
		return 0, errWouldBlock
	case c.rdErr != nil:
		return 0, c.rdErr
	case c.rdN == 0:
		return 0, io.EOF
	}
	if c.drains && c.rdN < len(buf) {
		c.readable = false
	}
	return c.rdN, nil
}

// TryRead reads into p what the socket has, without waiting (Source).
// A failure (reset) is kept: every later read fails so too.
func (c *Conn) TryRead(fn string, p []byte) (int, error) {
	if c.rerr.err != nil {
		return 0, c.rerr.again(fn)
	}
	if !c.mayRead() {
		return 0, stream.ErrWouldBlock
	}
	n, err := c.tryRead(p)
	switch {
	case n > 0:
		return n, nil
	case err == errWouldBlock:
		return 0, stream.ErrWouldBlock
	case err == io.EOF:
		return 0, io.EOF
	}
	return 0, c.rerr.keep(fn, ioError(fn, err))
}

// A readFailure is what ended a connection's reads (a reset, a failed
// TLS handshake): every later read fails so too (stream.Source), each
// under its own name. Repeating the first error as it was made a read
// report another method's failure: after read_line met a reset, read
// said "reset: Conn.read_line: connection reset by peer".
type readFailure struct {
	err *loop.Error // nil until a read fails
	fn  string      // the method err was made for: its message starts "fn: "
}

// keep records err, the failure of a read made for method fn, and
// returns it.
func (f *readFailure) keep(fn string, err *loop.Error) *loop.Error {
	f.err, f.fn = err, fn
	return err
}

// again is the failure kept, as an error of method fn: a new one, whose
// script frames are the new call's.
func (f *readFailure) again(fn string) *loop.Error {
	msg := f.err.Msg
	if rest, ok := strings.CutPrefix(msg, f.fn+": "); ok {
		msg = fn + ": " + rest
	}
	return loop.Errorf(f.err.Kind, "%s", msg)
}

// mayRead reports whether the loop may try a read now: not while a
// goroutine holds the descriptor's read lock, not while the reactor says
// there is nothing to read.
func (c *Conn) mayRead() bool {
	if c.Watch != nil {
		return c.readable
	}
	return !c.rwaiting
}

// Wait parks the task until the socket may have data (Source). With the
// engine's reactor, its next event for this connection wakes it
// (ioReady); without, one goroutine per connection waits in Go's
// netpoller. Every reader waiting then retries. The goroutine first peeks
// (MSG_PEEK) after RawConn.Read has armed the netpoller: data that
// arrived between the loop's last read and the arming would otherwise
// not wake it.
func (c *Conn) Wait(x *loop.Exec, fn string) error {
	if c.Watch == nil && !c.rwaiting {
		c.rwaiting = true
		rc := c.rc // not c: a connection dropped meanwhile is collected (handle.Handle)
		c.Eng.Go(func() {
			first := true
			rc.Read(func(fd uintptr) bool {
				if first {
					first = false
					return peekReady(fd)
				}
				return true
			})
		}, handle.Weakly(c, (*Conn).readableNow))
	}
	return stream.WaitOn(x, &c.readers, &c.readWhy, loop.NoTimeout, fn)
}

// readableNow runs on the loop when the readiness goroutine returns.
func (c *Conn) readableNow() {
	c.rwaiting = false
	c.readable = true
	c.readers.Broadcast(nil, nil)
}

// peekReady reports whether a read on fd would not block (data, end of
// stream or an error are all "ready").
func peekReady(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		return err != syscall.EAGAIN
	}
}

// WriteData sends all of data (stream.Writable): inline when the socket takes it; otherwise
// the rest is sent as room appears (by the loop on the reactor's word, or
// by a goroutine without a reactor) and the task waits until it is out.
// Writes are kept in order: one that finds an earlier one still going
// waits its turn. A writer interrupted while it waits (cancelled, timed
// out) leaves its data to be sent all the same, as asyncio's transports do.
func (c *Conn) WriteData(x *loop.Exec, fn string, data string) error {
	if err := c.writeTurn(x, fn); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	n, err := c.writeNow(data)
	if err != nil {
		return ioError(fn, err)
	}
	if n == len(data) {
		return nil
	}
	return c.sendRest(x, fn, data[n:])
}

// sendRest sends what a write could not send at once, as room appears
// (by the loop on the reactor's word, or by a goroutine without one), and
// waits until it is out. A writer interrupted while it waits leaves rest
// to be sent all the same.
func (c *Conn) sendRest(x *loop.Exec, fn string, rest string) error {
	c.wbusy = true
	c.wseq++
	mine := c.wseq
	if c.Watch != nil {
		c.wrest = rest // sent by flush once the reactor reports room
		c.Keep = c     // even if the script drops the connection meanwhile
	} else {
		var werr error
		c.Eng.Go(func() {
			_, werr = c.c.Write(unsafe.Slice(unsafe.StringData(rest), len(rest)))
		}, func() { c.writeDone(werr) })
	}
	for c.wdone < mine {
		if err := stream.WaitOn(x, &c.writers, &c.writeWhy, loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	switch {
	case c.closed:
		// close() ended the write (net.ErrClosed, which ioError words
		// "use of closed connection"): as a read it interrupts, or a
		// write after it, the write fails with "connection is closed".
		return connClosed(fn)
	case c.werr != nil:
		return ioError(fn, c.werr)
	}
	return nil
}

// connClosed is the error of a read or write of a connection the
// script closed, whether the call came after close() or close()
// interrupted it: the stream package's reads say so too.
func connClosed(fn string) *loop.Error {
	return loop.Errorf(loop.KindClosed, "%s: connection is closed", fn)
}

// writeNow writes as much of data as the socket takes now, without
// waiting; a full socket is not an error.
func (c *Conn) writeNow(data string) (int, error) {
	// The string's bytes are only read (by write(2)), never kept or changed.
	c.wrData, c.wrN, c.wrErr = unsafe.Slice(unsafe.StringData(data), len(data)), 0, nil
	err := c.rc.Write(c.wrFn)
	n, werr := c.wrN, c.wrErr
	c.wrData, c.wrErr = nil, nil
	if err == nil && werr != nil && werr != syscall.EAGAIN {
		err = werr
	}
	return n, err
}

// flush sends what a write left over, as far as the socket takes it now
// (ioReady, when the reactor reports room).
func (c *Conn) flush() {
	n, err := c.writeNow(c.wrest)
	c.wrest = c.wrest[n:]
	if err != nil || c.wrest == "" {
		c.writeDone(err)
	}
}

// writeDone ends the write in progress, failed if err is set, and lets
// its writer and the next ones go on.
func (c *Conn) writeDone(err error) {
	if err != nil && c.werr == nil {
		c.werr = err
	}
	c.wrest = ""
	c.Keep = nil
	c.wbusy = false
	c.wdone = c.wseq
	c.writers.Broadcast(nil, nil)
}

// writeTurn waits until no earlier write is still going (writes are kept
// in order), then fails with closed if the connection is, or its write
// side is (close_write), or as an earlier write failed. Every write of
// every kind of Conn (plain, unix, TLS) goes through it before anything
// is written.
func (c *Conn) writeTurn(x *loop.Exec, fn string) error { return c.turn(x, fn, true) }

// closeTurn is writeTurn for close_write, which may come again once the
// write side is closed: the second does nothing new.
func (c *Conn) closeTurn(x *loop.Exec, fn string) error { return c.turn(x, fn, false) }

func (c *Conn) turn(x *loop.Exec, fn string, write bool) error {
	for c.wbusy {
		if err := stream.WaitOn(x, &c.writers, &c.writeWhy, loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	switch {
	case c.closed:
		return connClosed(fn)
	case write && c.wclosed:
		return writeClosed(fn)
	case c.werr != nil:
		return ioError(fn, c.werr)
	}
	return nil
}

// writeClosed is the error of a write after the script's own
// close_write: the peer did nothing.
func writeClosed(fn string) *loop.Error {
	return loop.Errorf(loop.KindClosed, "%s: the write side is closed (close_write)", fn)
}

// CloseWrite sends end of stream after any write still going
// (stream.HalfCloser).
func (c *Conn) CloseWrite(x *loop.Exec, fn string) error {
	if err := c.closeTurn(x, fn); err != nil {
		return err
	}
	cw, ok := c.c.(interface{ CloseWrite() error })
	if !ok {
		return loop.Errorf(loop.KindValue, "%s: not supported on this connection", fn)
	}
	if err := cw.CloseWrite(); err != nil {
		return ioError(fn, err)
	}
	c.wclosed = true
	return nil
}

// close closes the connection; tasks waiting on it fail with closed.
// Closing twice is allowed.
func (c *Conn) close() {
	if c.closed {
		return
	}
	c.closed = true
	c.r.Close()
	c.CloseFD()
	if c.wbusy {
		// What a write left over is lost: its writer fails with closed.
		c.writeDone(net.ErrClosed)
	}
	c.readers.Broadcast(nil, nil)
	c.writers.Broadcast(nil, nil)
}

// ---- Starlark value ----

func (c *Conn) String() string {
	state := ""
	if c.closed {
		state = " closed"
	}
	return fmt.Sprintf("<conn %s -> %s%s>", c.local, c.remote, state)
}
func (c *Conn) Type() string          { return "Conn" }
func (c *Conn) Freeze()               {}
func (c *Conn) OwnedByLoop()          {}
func (c *Conn) Truth() starlark.Bool  { return true }
func (c *Conn) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(c)) >> 4), nil }

// StreamReader is the connection's read side (stream.Readable).
func (c *Conn) StreamReader() *stream.Reader { return c.r }

var connMethods = starutil.NewMethods("Conn", stream.AllMethods(), map[string]starutil.Func{"close": connClose}).BorrowsArgs("write")

func (c *Conn) AttrNames() []string { return connMethods.Names("local_addr", "remote_addr") }

func (c *Conn) Attr(name string) (starlark.Value, error) {
	switch name {
	case "local_addr":
		return starlark.String(c.local), nil
	case "remote_addr":
		return starlark.String(c.remote), nil
	}
	return connMethods.BindOnce(name, c, &c.bound), nil
}

func connClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	b.Receiver().(interface{ close() }).close() // a Conn or a TLSConn
	return starlark.None, nil
}
