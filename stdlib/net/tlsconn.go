package net

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// A TLSConn is a connection over TLS (SPEC 12): a script's Conn, with the
// same methods, whose bytes crypto/tls encrypts.
//
// Why this shape. crypto/tls.Conn runs over any net.Conn; here it runs
// over tlsAdapter, which, once the handshake is done, reads and writes
// the socket the way a plain Conn does: on the loop, with non-blocking
// system calls, waiting for the engine's reactor in between. A read that
// finds nothing reports a temporary net.Error, which tls.Conn hands back
// without keeping it as the connection's failure (what it has of a
// record stays buffered for the next read); a write sends what the
// socket takes and keeps the rest, sent as room appears by the plain
// Conn's own machinery (sendRest). So a TLS connection costs no goroutine
// per read or write, keeps the plain Conn's back-pressure, ordering and
// cancellation, and leaves the plain path (Conn) untouched: the other
// way, tls.Conn over the blocking socket with reads through a
// stream.Pump and writes offloaded, would cost a goroutine hand-off per
// read and per write.
//
// The handshake cannot be made of non-blocking steps (tls.Conn keeps a
// failed handshake's error for good) and costs public-key operations, so
// it runs off the loop, over the socket as a blocking net.Conn: in
// net.dial's offloaded work (dial returns once it is done), and for an
// accepted connection on the first read or write (SPEC 12: a client that
// fails it fails that call, never accept). Until it is done the loop
// leaves the socket alone.
type TLSConn struct {
	bound starutil.Bound // its methods, bound once
	sock  *Conn          // the socket: non-blocking reads and writes, reactor wake-ups
	tc    *tls.Conn
	ad    *tlsAdapter
	r     *stream.Reader
	rerr  readFailure // a failed read: every later read fails so too

	// The handshake of an accepted connection: shaking while it runs
	// on its goroutine, shaken once over (hsErr: how it failed).
	shaking, shaken bool
	hsErr           error
	hsWait          loop.WakerList
}

var (
	_ starlark.HasAttrs = (*TLSConn)(nil)
	_ stream.Source     = (*TLSConn)(nil)
	_ stream.HalfCloser = (*TLSConn)(nil)
	_ stream.Readable   = (*TLSConn)(nil)
)

// newTLSConn wraps the socket of sock in TLS; shaken when the handshake
// was made already (net.dial). Loop only.
func newTLSConn(sock *Conn, tc *tls.Conn, ad *tlsAdapter, shaken bool) *TLSConn {
	t := &TLSConn{sock: sock, tc: tc, ad: ad, shaken: shaken}
	if shaken {
		ad.c = sock
	}
	t.r = stream.NewReader(t, stream.Options{Name: "connection", Label: sock.remote})
	return t
}

// handshake makes sure the handshake is over, starting it if need be and
// waiting for it; it returns how it failed.
func (t *TLSConn) handshake(x *loop.Exec, fn string) error {
	for !t.shaken {
		t.startHandshake()
		if err := stream.WaitOn(x, &t.hsWait, &t.sock.readWhy, loop.NoTimeout, fn); err != nil {
			return err
		}
	}
	if t.hsErr != nil {
		return handshakeError(fn, t.sock.remote, t.hsErr)
	}
	return nil
}

// startHandshake runs the handshake on a goroutine unless it runs or ran.
func (t *TLSConn) startHandshake() {
	if t.shaking || t.shaken {
		return
	}
	t.shaking = true
	var err error
	t.sock.Eng.Go(func() { err = t.tc.Handshake() }, func() {
		t.shaking, t.shaken, t.hsErr = false, true, err
		if t.sock.closed && err == nil {
			t.hsErr = net.ErrClosed
		}
		if t.hsErr == nil {
			t.ad.c = t.sock // from now on the loop reads and writes
		}
		t.hsWait.Broadcast(nil, nil)
	})
}

// TryRead reads into p what has arrived and been decrypted, without
// waiting (stream.Source). It calls tls.Conn.Read even when the socket
// has nothing new: records read ahead wait in tls.Conn's buffer.
func (t *TLSConn) TryRead(fn string, p []byte) (int, error) {
	if t.rerr.err != nil {
		return 0, t.rerr.again(fn)
	}
	if !t.shaken {
		return 0, stream.ErrWouldBlock // Wait runs the handshake
	}
	if t.hsErr != nil {
		return 0, t.rerr.keep(fn, handshakeError(fn, t.sock.remote, t.hsErr))
	}
	n, err := t.tc.Read(p)
	switch {
	case n > 0:
		return n, nil
	case err == nil:
		return 0, stream.ErrWouldBlock // an empty record, or a post-handshake message
	case err == errAgain:
		return 0, stream.ErrWouldBlock
	case err == io.EOF:
		return 0, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return 0, t.rerr.keep(fn, cutOff(fn, t.sock.remote))
	}
	return 0, t.rerr.keep(fn, TLSError(fn, err))
}

// cutOff is the error of a TLS stream that ended inside a record: the
// peer sent part of one, then the end of the stream (tls.Conn's
// io.ErrUnexpectedEOF). It is no end of stream a read may return as ""
// (what came of the record cannot be decrypted, let alone checked), nor
// eof, which is read_exactly's: the stream was truncated, a protocol
// failure, io. A stream that ends at a record's boundary without TLS's
// close_notify (a "ragged" close, which many servers make) is an end of
// stream as over a plain socket, as tls.Conn, Python's ssl and browsers
// take it.
func cutOff(fn, peer string) *loop.Error {
	return loop.Errorf(loop.KindIO, "%s: the TLS stream from %s was cut off mid-record", fn, peer)
}

// Wait parks the task until the socket may have data (stream.Source),
// after the handshake.
func (t *TLSConn) Wait(x *loop.Exec, fn string) error {
	if !t.shaken {
		// A failed handshake is TryRead's to report.
		t.startHandshake()
		return stream.WaitOn(x, &t.hsWait, &t.sock.readWhy, loop.NoTimeout, fn)
	}
	return t.sock.Wait(x, fn)
}

// WriteData encrypts data and sends it all (stream.Writable): what the
// socket does not take at once is sent as room appears, as a plain
// Conn's write.
func (t *TLSConn) WriteData(x *loop.Exec, fn string, data string) error {
	if err := t.handshake(x, fn); err != nil {
		return err
	}
	if err := t.sock.writeTurn(x, fn); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := t.tc.Write(unsafe.Slice(unsafe.StringData(data), len(data))); err != nil {
		return t.writeError(fn, err)
	}
	return t.sendOut(x, fn)
}

// sendOut sends what the adapter kept of the records written.
func (t *TLSConn) sendOut(x *loop.Exec, fn string) error {
	if len(t.ad.out) == 0 {
		return nil
	}
	rest := unsafe.String(unsafe.SliceData(t.ad.out), len(t.ad.out))
	t.ad.out = nil // rest owns the array now
	return t.sock.sendRest(x, fn, rest)
}

// writeError is the error of a failed tls.Conn.Write or CloseWrite.
// Both run once the handshake is over (its failure is handshake's to
// report), so none is a failed handshake: TLSError's wording made
// tls.Conn's "protocol is shutdown" after close_write read "TLS
// handshake failed". A write side closed by close() or close_write is
// closed (writeTurn refuses a write after close_write before tls.Conn
// sees it; what is left here is close_write again after its
// close_notify failed), anything else ioError's.
func (t *TLSConn) writeError(fn string, err error) error {
	switch {
	case t.sock.closed:
		return connClosed(fn)
	case t.sock.wclosed: // close_write again, after close_notify failed
		return writeClosed(fn)
	}
	return ioError(fn, err)
}

// CloseWrite sends TLS's close_notify, then ends the socket's sending
// side (stream.HalfCloser): the peer reads the end of the stream.
func (t *TLSConn) CloseWrite(x *loop.Exec, fn string) error {
	if err := t.handshake(x, fn); err != nil {
		return err
	}
	if err := t.sock.closeTurn(x, fn); err != nil {
		return err
	}
	if err := t.tc.CloseWrite(); err != nil {
		err := t.writeError(fn, err)
		t.sock.wclosed = true // sent or not, tls.Conn writes no more
		return err
	}
	t.sock.wclosed = true
	if err := t.sendOut(x, fn); err != nil {
		return err
	}
	return t.sock.CloseWrite(x, fn)
}

// close sends close_notify if it can at once, then closes the socket.
func (t *TLSConn) close() {
	if t.sock.closed {
		return
	}
	if t.shaken && t.hsErr == nil && !t.sock.wbusy && t.sock.werr == nil {
		t.tc.CloseWrite() // best effort: what the socket does not take is lost
	}
	t.r.Close()
	t.sock.close()
	t.hsWait.Broadcast(nil, nil)
}

// ---- Starlark value ----

func (t *TLSConn) String() string {
	state := ""
	if t.sock.closed {
		state = " closed"
	}
	return fmt.Sprintf("<conn %s -> %s tls%s>", t.sock.local, t.sock.remote, state)
}
func (t *TLSConn) Type() string          { return "Conn" }
func (t *TLSConn) Freeze()               {}
func (t *TLSConn) OwnedByLoop()          {}
func (t *TLSConn) Truth() starlark.Bool  { return true }
func (t *TLSConn) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(t)) >> 4), nil }

// StreamReader is the connection's read side (stream.Readable).
func (t *TLSConn) StreamReader() *stream.Reader { return t.r }

func (t *TLSConn) AttrNames() []string { return t.sock.AttrNames() }

func (t *TLSConn) Attr(name string) (starlark.Value, error) {
	switch name {
	case "local_addr", "remote_addr":
		return t.sock.Attr(name)
	}
	return connMethods.BindOnce(name, t, &t.bound), nil
}

// ---- the adapter ----

// tlsAdapter is the net.Conn under a TLSConn's tls.Conn. Until the
// handshake is done (c nil) it is the socket as a blocking net.Conn, used
// by the handshake's goroutine only. Then c is set and every call comes
// from the loop: Read makes one non-blocking read (errAgain when there is
// nothing), Write sends what the socket takes now and keeps the rest in
// out, for the TLSConn to send (sendOut) once tls.Conn.Write returns.
type tlsAdapter struct {
	net.Conn
	c   *Conn
	out []byte
}

// errAgain is the adapter's "nothing to read now": temporary, so
// tls.Conn does not keep it as the connection's failure.
var errAgain error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "read would block" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

func (a *tlsAdapter) Read(p []byte) (int, error) {
	c := a.c
	if c == nil {
		return a.Conn.Read(p)
	}
	if !c.mayRead() {
		return 0, errAgain
	}
	n, err := c.tryRead(p)
	if err == errWouldBlock {
		return 0, errAgain
	}
	return n, err
}

// Write never fails for want of room: tls.Conn keeps any write error as
// the connection's failure. Records written while an earlier write is
// still being sent go after it: with the reactor onto that write's rest
// (a record tls.Conn.Read answers with, say); without, into out, sent
// with the next write.
func (a *tlsAdapter) Write(p []byte) (int, error) {
	c := a.c
	if c == nil {
		return a.Conn.Write(p)
	}
	if c.wbusy {
		if c.Watch != nil {
			c.wrest += string(p)
		} else {
			a.out = append(a.out, p...)
		}
		return len(p), nil
	}
	if len(a.out) > 0 {
		a.out = append(a.out, p...)
		return len(p), nil
	}
	n, err := c.writeNow(unsafe.String(unsafe.SliceData(p), len(p)))
	if err != nil {
		return n, err
	}
	a.out = append(a.out, p[n:]...) // tls.Conn reuses p
	return len(p), nil
}

// Deadlines are tls.Conn's for close_notify: the loop's writes never
// wait, so they are ignored once the loop has the socket.
func (a *tlsAdapter) SetDeadline(t time.Time) error {
	if a.c == nil {
		return a.Conn.SetDeadline(t)
	}
	return nil
}

func (a *tlsAdapter) SetWriteDeadline(t time.Time) error {
	if a.c == nil {
		return a.Conn.SetWriteDeadline(t)
	}
	return nil
}
