package netmod

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"unsafe"

	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/starlark"
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
// (waitReadable, write) and posts the wake-up back; while it holds the
// descriptor's read (or write) lock, the loop must not touch that side:
// rwaiting and wbusy guard it.
type Conn struct {
	handle
	c      net.Conn
	rc     syscall.RawConn
	local  string
	remote string

	// rbuf[roff:] holds received bytes not yet handed to the script
	// (what read_line and read_exactly read beyond what they return).
	rbuf []byte
	roff int
	eof  bool        // the peer ended its side; rbuf may still hold data
	rerr *core.Error // a failed read (reset): every later read fails so too

	rwaiting bool // without a reactor: a goroutine waits for readability
	// With the engine's reactor: readable is false from a read that
	// found nothing until the reactor's next event for the socket.
	watch    *core.FDWatch
	readable bool
	// drains: a short read proves the socket empty (a TCP read takes
	// all the data queued), so the next read can wait for the poller at
	// once instead of first making a read that would find nothing. Not
	// once the peer has ended its side: the end of stream may still be
	// queued behind a short read, and no further event would announce it.
	drains  bool
	readers core.WakerList
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
	writers core.WakerList
	closed  bool

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

	readWhy, writeWhy connReason
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
	_ starlark.Iterable = (*Listener)(nil)
)

// newConn wraps an established connection; loop only.
func newConn(e *core.Engine, c net.Conn) (*Conn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		c.Close()
		return nil, core.Errorf(core.KindIO, "net: %T has no file descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		c.Close()
		return nil, ioError("net", err)
	}
	cn := &Conn{c: c, rc: rc, local: formatAddr(c.LocalAddr()), remote: formatAddr(c.RemoteAddr())}
	cn.handle.init(e, c)
	cn.rdFn = cn.sysRead
	cn.wrFn = cn.sysWrite
	cn.readWhy = connReason{cn, "read"}
	cn.writeWhy = connReason{cn, "write"}
	cn.readable = true
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	if w, err := e.WatchFD(fd, cn.ioReady); err == nil {
		cn.watch = w
		_, cn.drains = c.(*net.TCPConn)
	}
	return cn, nil
}

// ioReady runs on the loop when the reactor reports the socket ready:
// readers retry, and what a write left over is sent.
func (c *Conn) ioReady(ev core.IOEvents) {
	if ev&core.IOHangup != 0 {
		// The peer ended its side (or failed): a short read no longer
		// proves the socket empty, since the end of stream is still to
		// be read, and no event will follow.
		c.drains = false
	}
	if ev&core.IORead != 0 {
		c.readable = true
		c.readers.Broadcast(nil, nil)
	}
	if ev&(core.IOWrite|core.IOHangup) != 0 && c.wrest != "" {
		c.flush()
	}
}

func (c *Conn) sysRead(fd uintptr) bool {
	for {
		c.rdN, c.rdErr = syscall.Read(int(fd), c.rdBuf)
		if c.rdErr != syscall.EINTR {
			return true // never wait here: the loop must not block
		}
	}
}

func (c *Conn) sysWrite(fd uintptr) bool {
	for len(c.wrData) > c.wrN {
		n, err := syscall.Write(int(fd), c.wrData[c.wrN:])
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

// readBufs holds scratch buffers for read(n): a read lands in one and only
// the bytes received are copied into the resulting string.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 65536); return &b }}

// readFailed records a read's failure: end of stream is a state (reads
// return ""), anything else an error every later read repeats.
func (c *Conn) readFailed(fn string, err error) {
	if err == io.EOF {
		c.eof = true
		return
	}
	c.rerr = ioError(fn, err)
}

// check returns the error every read on the connection fails with now:
// closed on this side, or an earlier failure (reset).
func (c *Conn) check(fn string) error {
	if c.closed {
		return core.Errorf(core.KindClosed, "%s: connection is closed", fn)
	}
	if c.rerr != nil {
		return c.rerr
	}
	return nil
}

// read returns at most n bytes as soon as any are there; "" at end of stream.
func (c *Conn) read(x *core.Exec, fn string, n int) (starlark.Value, error) {
	for {
		if len(c.rbuf) > c.roff {
			k := min(n, len(c.rbuf)-c.roff) // not roff+n: n may be near MaxInt
			s := starlark.String(c.rbuf[c.roff : c.roff+k])
			c.consume(k)
			return s, nil
		}
		if err := c.check(fn); err != nil {
			return nil, err
		}
		if c.eof {
			return starlark.String(""), nil
		}
		if c.mayRead() {
			// n only bounds the result (SPEC 7): a read lands in a
			// pooled 64 KiB buffer whatever n is, never in one of n
			// bytes (read(1 << 40) would end the process).
			bp := readBufs.Get().(*[]byte)
			buf := *bp
			k, err := c.tryRead(buf[:min(n, len(buf))])
			var s starlark.String
			if k > 0 {
				s = starlark.String(buf[:k])
			}
			readBufs.Put(bp)
			if k > 0 {
				return s, nil
			}
			if err != errWouldBlock {
				c.readFailed(fn, err)
				continue
			}
		}
		if err := c.waitReadable(x, fn); err != nil {
			return nil, err
		}
	}
}

// fill reads more into rbuf, waiting if need be. It returns false at end
// of stream.
func (c *Conn) fill(x *core.Exec, fn string) (bool, error) {
	for {
		if err := c.check(fn); err != nil {
			return false, err
		}
		if c.eof {
			return false, nil
		}
		if c.mayRead() {
			if c.roff > 0 && c.roff == len(c.rbuf) {
				c.rbuf, c.roff = c.rbuf[:0], 0
			}
			if cap(c.rbuf)-len(c.rbuf) < 4096 {
				nb := make([]byte, len(c.rbuf)-c.roff, max(2*cap(c.rbuf), 16384))
				copy(nb, c.rbuf[c.roff:])
				c.rbuf, c.roff = nb, 0
			}
			k, err := c.tryRead(c.rbuf[len(c.rbuf):cap(c.rbuf)])
			if k > 0 {
				c.rbuf = c.rbuf[:len(c.rbuf)+k]
				return true, nil
			}
			if err != errWouldBlock {
				c.readFailed(fn, err)
				continue
			}
		}
		if err := c.waitReadable(x, fn); err != nil {
			return false, err
		}
	}
}

func (c *Conn) consume(k int) {
	c.roff += k
	if c.roff == len(c.rbuf) {
		c.roff = 0
		if cap(c.rbuf) > 1<<20 {
			c.rbuf = nil // do not pin a large buffer after one long line
		} else {
			c.rbuf = c.rbuf[:0]
		}
	}
}

// readExactly returns exactly n bytes, or fails with eof if the stream
// ends first (the bytes received stay buffered for a later read).
func (c *Conn) readExactly(x *core.Exec, fn string, n int) (starlark.Value, error) {
	for len(c.rbuf)-c.roff < n {
		more, err := c.fill(x, fn)
		if err != nil {
			return nil, err
		}
		if !more {
			return nil, core.Errorf(core.KindEOF, "%s: stream ended after %d of %d bytes", fn, len(c.rbuf)-c.roff, n)
		}
	}
	s := starlark.String(c.rbuf[c.roff : c.roff+n])
	c.consume(n)
	return s, nil
}

// readLine returns the next line with its newline; at end of stream what
// is left (possibly ""), without one.
func (c *Conn) readLine(x *core.Exec, fn string) (starlark.String, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(c.rbuf[c.roff+scanned:], '\n'); i >= 0 {
			k := scanned + i + 1
			s := starlark.String(c.rbuf[c.roff : c.roff+k])
			c.consume(k)
			return s, nil
		}
		scanned = len(c.rbuf) - c.roff
		more, err := c.fill(x, fn)
		if err != nil {
			return "", err
		}
		if !more {
			s := starlark.String(c.rbuf[c.roff:])
			c.consume(len(c.rbuf) - c.roff)
			return s, nil
		}
	}
}

// mayRead reports whether the loop may try a read now: not while a
// goroutine holds the descriptor's read lock, not while the reactor says
// there is nothing to read.
func (c *Conn) mayRead() bool {
	if c.watch != nil {
		return c.readable
	}
	return !c.rwaiting
}

// waitReadable parks the task until the socket may have data. With the
// engine's reactor, its next event for this connection wakes it
// (ioReady); without, one goroutine per connection waits in Go's
// netpoller. Every reader waiting then retries. The goroutine first peeks
// (MSG_PEEK) after RawConn.Read has armed the netpoller: data that
// arrived between the loop's last read and the arming would otherwise
// not wake it.
func (c *Conn) waitReadable(x *core.Exec, fn string) error {
	if c.watch == nil && !c.rwaiting {
		c.rwaiting = true
		c.eng.Go(func() {
			first := true
			c.rc.Read(func(fd uintptr) bool {
				if first {
					first = false
					return peekReady(fd)
				}
				return true
			})
		}, c.readableNow)
	}
	return parkOn(x, &c.readers, c.readWhy, core.NoTimeout, fn)
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

// write sends all of data: inline when the socket takes it; otherwise
// the rest is sent as room appears (by the loop on the reactor's word, or
// by a goroutine without a reactor) and the task waits until it is out.
// Writes are kept in order: one that finds an earlier one still going
// waits its turn. A writer interrupted while it waits (cancelled, timed
// out) leaves its data to be sent all the same, as asyncio's transports do.
func (c *Conn) write(x *core.Exec, fn string, data string) error {
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
	rest := data[n:]
	c.wbusy = true
	c.wseq++
	mine := c.wseq
	if c.watch != nil {
		c.wrest = rest // sent by flush once the reactor reports room
	} else {
		var werr error
		c.eng.Go(func() {
			_, werr = c.c.Write(unsafe.Slice(unsafe.StringData(rest), len(rest)))
		}, func() { c.writeDone(werr) })
	}
	for c.wdone < mine {
		if err := parkOn(x, &c.writers, c.writeWhy, core.NoTimeout, fn); err != nil {
			return err
		}
	}
	if c.werr != nil {
		return ioError(fn, c.werr)
	}
	return nil
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
	c.wbusy = false
	c.wdone = c.wseq
	c.writers.Broadcast(nil, nil)
}

// writeTurn waits until no earlier write is still going (writes are kept
// in order), then fails with closed if the connection is, or as an earlier
// write failed.
func (c *Conn) writeTurn(x *core.Exec, fn string) error {
	for c.wbusy {
		if err := parkOn(x, &c.writers, c.writeWhy, core.NoTimeout, fn); err != nil {
			return err
		}
	}
	if c.closed {
		return core.Errorf(core.KindClosed, "%s: connection is closed", fn)
	}
	if c.werr != nil {
		return ioError(fn, c.werr)
	}
	return nil
}

// closeWrite sends end of stream after any write still going.
func (c *Conn) closeWrite(x *core.Exec, fn string) error {
	if err := c.writeTurn(x, fn); err != nil {
		return err
	}
	cw, ok := c.c.(interface{ CloseWrite() error })
	if !ok {
		return core.Errorf(core.KindValue, "%s: not supported on this connection", fn)
	}
	if err := cw.CloseWrite(); err != nil {
		return ioError(fn, err)
	}
	return nil
}

// close closes the connection; tasks waiting on it fail with closed.
// Closing twice is allowed.
func (c *Conn) close() {
	if c.closed {
		return
	}
	c.closed = true
	if c.watch != nil {
		c.watch.Stop()
	}
	c.c.Close()
	c.release()
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
func (c *Conn) Truth() starlark.Bool  { return true }
func (c *Conn) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(c)) >> 4), nil }

var connMethods = map[string]*starlark.Builtin{
	"read":         starlark.NewBuiltin("read", connRead),
	"read_exactly": starlark.NewBuiltin("read_exactly", connReadExactly),
	"read_line":    starlark.NewBuiltin("read_line", connReadLine),
	"lines":        starlark.NewBuiltin("lines", connLines),
	"write":        starlark.NewBuiltin("write", connWrite),
	"close_write":  starlark.NewBuiltin("close_write", connCloseWrite),
	"close":        starlark.NewBuiltin("close", connClose),
}

func (c *Conn) AttrNames() []string {
	return []string{"close", "close_write", "lines", "local_addr", "read", "read_exactly", "read_line", "remote_addr", "write"}
}

func (c *Conn) Attr(name string) (starlark.Value, error) {
	switch name {
	case "local_addr":
		return starlark.String(c.local), nil
	case "remote_addr":
		return starlark.String(c.remote), nil
	}
	if m, ok := connMethods[name]; ok {
		return m.BindReceiver(c), nil
	}
	return nil, nil
}

// connCall unpacks the receiver and the calling task of a Conn method.
func connCall(th *starlark.Thread, b *starlark.Builtin) (*Conn, *core.Exec, string, error) {
	c := b.Receiver().(*Conn)
	fn := "conn." + b.Name()
	x, err := core.TaskOf(th, fn)
	if err == nil {
		// A cancelled task fails even a read or write that would not wait.
		err = x.Checkpoint()
	}
	return c, x, fn, err
}

func connRead(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	n := 65536
	if len(args) > 0 || len(kwargs) > 0 {
		if err := starlark.UnpackArgs("conn.read", args, kwargs, "n?", &n); err != nil {
			return nil, core.ValueError(err)
		}
		if n <= 0 {
			return nil, core.Errorf(core.KindValue, "conn.read: n must be > 0, got %d", n)
		}
	}
	c, x, fn, err := connCall(th, b)
	if err != nil {
		return nil, err
	}
	return c.read(x, fn, n)
}

func connReadExactly(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	if err := starlark.UnpackArgs("conn.read_exactly", args, kwargs, "n", &n); err != nil {
		return nil, core.ValueError(err)
	}
	if n < 0 {
		return nil, core.Errorf(core.KindValue, "conn.read_exactly: n must be >= 0, got %d", n)
	}
	c, x, fn, err := connCall(th, b)
	if err != nil {
		return nil, err
	}
	return c.readExactly(x, fn, n)
}

func connReadLine(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("conn.read_line", args, kwargs); err != nil {
		return nil, core.ValueError(err)
	}
	c, x, fn, err := connCall(th, b)
	if err != nil {
		return nil, err
	}
	return c.readLine(x, fn)
}

func connWrite(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starlark.Value
	if err := starlark.UnpackArgs("conn.write", args, kwargs, "data", &data); err != nil {
		return nil, core.ValueError(err)
	}
	s, err := dataArg("conn.write", data)
	if err != nil {
		return nil, err
	}
	c, x, fn, err := connCall(th, b)
	if err != nil {
		return nil, err
	}
	if err := c.write(x, fn, s); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// dataArg accepts what writes take: a string or bytes.
func dataArg(fn string, v starlark.Value) (string, error) {
	switch v := v.(type) {
	case starlark.String:
		return string(v), nil
	case starlark.Bytes:
		return string(v), nil
	}
	return "", core.Errorf(core.KindValue, "%s: got %s, want string or bytes", fn, v.Type())
}

func connCloseWrite(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("conn.close_write", args, kwargs); err != nil {
		return nil, core.ValueError(err)
	}
	c, x, fn, err := connCall(th, b)
	if err != nil {
		return nil, err
	}
	if err := c.closeWrite(x, fn); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func connClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("conn.close", args, kwargs); err != nil {
		return nil, core.ValueError(err)
	}
	b.Receiver().(*Conn).close()
	return starlark.None, nil
}
