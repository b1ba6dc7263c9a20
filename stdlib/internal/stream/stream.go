// Package stream is the one buffered byte stream under the script modules
// (SPEC 7): the read side (Reader: read, read_line, read_exactly, lines)
// and the write side (write, close_write) of sockets, child processes'
// pipes and files, and of what comes later over the same interfaces (TLS
// connections, HTTP bodies).
//
// A Reader owns the buffer and the semantics every stream shares (what
// read(n) returns, lines with their newline and their bound, eof from
// read_exactly, the closed error, bounded allocation); where the bytes
// come from is a
// Source, which knows only how to take what has arrived without waiting
// (TryRead) and how to park a task until more may have (Wait). Two kinds
// of source exist:
//
//   - A descriptor the loop reads itself with non-blocking system calls,
//     waiting for the engine's reactor between reads (netmod's Conn). A
//     TLS connection fits the same shape: crypto/tls.Conn over an adapter
//     whose Read makes one non-blocking read and reports "would block" as
//     a temporary net.Error, which tls.Conn does not keep as a failure;
//     TryRead is then tls.Conn.Read (ErrWouldBlock on that error) and
//     Wait the reactor's next event for the socket.
//   - An io.Reader whose reads block (a pipe, a file, an HTTP body): a
//     Pump reads it off the loop, one chunk at a time, through the
//     offload primitive (loop.Exec.Offload, loop.Engine.Go).
//
// Everything here runs on the loop: a Reader and its Source are touched
// by one goroutine only, so they need no locks.
package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// copiedOnLoop, when set (by tests), is told the size of each copy of
// stream bytes made on the loop: into the Reader's buffer, within it as
// it grows, and out of it into strings. No one copy may be large: the
// loop is held while it runs.
var copiedOnLoop func(n int)

func onLoopCopy(n int) {
	if copiedOnLoop != nil {
		copiedOnLoop(n)
	}
}

// ErrWouldBlock is what TryRead returns when nothing has arrived yet.
var ErrWouldBlock = errors.New("stream: nothing to read yet")

// A Source is where a Reader's bytes come from. Both methods run on the
// loop; fn names the script method the bytes are read for, in errors.
type Source interface {
	// TryRead reads into p (never empty) what has arrived, without
	// waiting. It returns n > 0 and a nil error; or 0 and ErrWouldBlock
	// when nothing has; or 0 and io.EOF at the end of the stream; or 0
	// and the failure that ended the stream (a *loop.Error of the right
	// kind), which it returns again to every later call.
	TryRead(fn string, p []byte) (int, error)
	// Wait parks the task of x until TryRead may find something (data,
	// the end, a failure) or the Reader is closed. It may return early
	// (the Reader just tries again); it fails only with the task's own
	// interruption (cancelled, an expired timeout() scope).
	Wait(x *loop.Exec, fn string) error
}

// Options describe a Reader's stream.
type Options struct {
	// Name is the stream in messages: "connection" reads as
	// "Conn.read: connection is closed", a path as "File.read: a.txt
	// is closed".
	Name string
	// Label names the stream in the name of the generator lines()
	// returns ("lines of " + Label), which diagnostics show; Name if
	// empty.
	Label string
	// From says where the bytes come from in the error of a line past
	// its bound ("... bytes from 127.0.0.1:5555"): the peer, the URL;
	// Label if empty.
	From string
	// Whole makes read(n) a file's: it returns n bytes, fewer only at
	// the end, and with no n (or n < 0) all that is left. Otherwise
	// read(n=65536) is a socket's or a pipe's: at most n bytes, as soon
	// as any are there.
	Whole bool
}

// A Reader is a buffered stream's read side. Loop only.
type Reader struct {
	src  Source
	opts Options
	// buf[off:] holds bytes received and not yet handed out (what
	// read_line and read_exactly read beyond what they return).
	buf    []byte
	off    int
	eof    bool // the source ended; buf may still hold data
	closed bool
	// lines are the generators lines() made, held weakly (a dropped one
	// is still closed by the collector), for Close to stop; prune is the
	// length at which the dead ones are next dropped from the list;
	// linesFn names lines() in the error of their next step.
	lines   []weak.Pointer[generator.Generator]
	prune   int
	linesFn string
}

// NewReader returns a Reader over src.
func NewReader(src Source, opts Options) *Reader {
	if opts.Label == "" {
		opts.Label = opts.Name
	}
	return &Reader{src: src, opts: opts}
}

// SetLabel renames the stream in the name of the generators lines()
// makes from now on (a connection whose peer address is known late).
func (r *Reader) SetLabel(label string) { r.opts.Label = label }

// Buffered returns how many bytes the Reader holds unread.
func (r *Reader) Buffered() int { return len(r.buf) - r.off }

// DropBuffered forgets the bytes the Reader holds unread, and an end of
// stream seen, and returns how many bytes there were: what was read
// ahead of the script, which a file's write seeks back over so that it
// writes where the script's reads stopped (and after which there may be
// more to read).
func (r *Reader) DropBuffered() int {
	n := r.Buffered()
	r.buf, r.off = r.buf[:0], 0
	r.eof = false
	return n
}

// Close makes every later read (and the one waiting now, once its Source
// wakes it) fail with closed; what was buffered is dropped, and so are
// the Source's buffers (Releaser). A lines() generator parked between
// lines ends now (generator.Stop), its next step failing with closed:
// one left by a loop's break otherwise held the buffers and its body
// until the collector closed it a cycle later, and a task opening,
// breaking out of and closing files in a loop grew its heap without
// bound (64 KiB a file, and the collector's goal growing with it).
// Closing twice is allowed.
func (r *Reader) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.buf, r.off = nil, 0
	if rel, ok := r.src.(Releaser); ok {
		rel.Release()
	}
	lines := r.lines
	r.lines = nil
	for _, w := range lines {
		if g := w.Value(); g != nil {
			g.Stop(r.closedError(r.linesFn))
		}
	}
}

// A Releaser is a Source holding buffers of its own (a Pump), which it
// lets go of when its Reader is closed: no read follows.
type Releaser interface {
	Release()
}

// addLines records a generator lines() (fn) made, for Close to stop.
func (r *Reader) addLines(g *generator.Generator, fn string) {
	r.linesFn = fn
	if len(r.lines) >= r.prune {
		r.lines = slices.DeleteFunc(r.lines, func(w weak.Pointer[generator.Generator]) bool {
			g := w.Value()
			return g == nil || g.Done()
		})
		r.prune = max(8, 2*len(r.lines))
	}
	r.lines = append(r.lines, weak.Make(g))
}

// Closed reports whether Close was called.
func (r *Reader) Closed() bool { return r.closed }

func (r *Reader) closedError(fn string) error {
	return loop.Errorf(loop.KindClosed, "%s: %s is closed", fn, r.opts.Name)
}

// scratch holds buffers for Read: with nothing buffered, a read lands in
// one and only the bytes received are copied into the resulting string,
// so read(n) never allocates n bytes up front (read(1 << 40) would end
// the process) and a task parked in read holds no buffer.
var scratch = sync.Pool{New: func() any { b := make([]byte, DefaultRead); return &b }}

// DefaultRead is read()'s n on a socket or a pipe, and the most one read
// takes from its source at a time.
const DefaultRead = 64 << 10

// Read returns at most n (> 0) bytes as soon as any are there; "" at the
// end of the stream.
func (r *Reader) Read(x *loop.Exec, fn string, n int) (starlark.String, error) {
	for {
		if r.closed {
			return "", r.closedError(fn)
		}
		if k := r.Buffered(); k > 0 {
			return r.take(min(n, k)), nil // not off+n: n may be near MaxInt
		}
		if r.eof {
			return "", nil
		}
		bp := scratch.Get().(*[]byte)
		buf := *bp
		k, err := r.src.TryRead(fn, buf[:min(n, len(buf))])
		s := starlark.String(buf[:k])
		onLoopCopy(k)
		scratch.Put(bp)
		if k > 0 {
			return s, nil
		}
		if err := r.settle(x, fn, err); err != nil {
			return "", err
		}
	}
}

// MaxWhole is the most bytes one read returns (read() of all that is
// left, read(n), read_exactly(n), fs.read): past it the read fails
// (value) instead of growing the heap until the process dies, as Node's
// readFile refuses a file of 2 GiB. An endless source (/dev/zero, a
// peer that never stops sending) reached tens of gigabytes; a bigger
// file is read in pieces (read(n), lines()).
func MaxWhole() int { return int(maxWhole.Load()) }

// maxWhole is atomic because a read its task abandoned (a timeout, a
// cancel) goes on off the loop, checking it, after its run has ended,
// while the next test sets it (SetMaxWhole).
var maxWhole atomic.Int64

func init() { maxWhole.Store(1 << 30) }

// SetMaxWhole sets MaxWhole to n and returns what restores it: for
// tests, which bound reads at a size they can reach.
func SetMaxWhole(n int) (restore func()) {
	old := maxWhole.Swap(int64(n))
	return func() { maxWhole.Store(old) }
}

// tooLarge is the failure of a read of more than MaxWhole bytes.
func (r *Reader) tooLarge(fn string) error {
	return loop.Errorf(loop.KindValue, "%s: more than %s to read at once from %s: read it in pieces (read(n), lines())", fn, MaxWholeText(), r.from())
}

// from says where the bytes come from, in errors: Options.From, else
// the Label.
func (r *Reader) from() string {
	if r.opts.From != "" {
		return r.opts.From
	}
	return r.opts.Label
}

// MaxWholeText is MaxWhole in words: "1 GiB".
func MaxWholeText() string {
	n := MaxWhole()
	if n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadUpTo returns n bytes, fewer only at the end of the stream; all that
// is left when n < 0 (a file's read).
func (r *Reader) ReadUpTo(x *loop.Exec, fn string, n int) (starlark.String, error) {
	if r.closed {
		return "", r.closedError(fn)
	}
	if n < 0 {
		if s, ok, err := r.readRest(x, fn); ok || err != nil {
			return s, err
		}
	}
	pace := starutil.PacerOf(x)
	for n < 0 || r.Buffered() < n {
		if r.Buffered() > MaxWhole() {
			return "", r.tooLarge(fn)
		}
		if more, err := r.paceFill(x, fn, &pace); err != nil {
			return "", err
		} else if !more {
			break
		}
	}
	if most := MaxWhole(); r.Buffered() > most && (n < 0 || n > most) {
		return "", r.tooLarge(fn)
	}
	if n < 0 {
		n = r.Buffered()
	}
	return r.take(min(n, r.Buffered())), nil
}

// readRest reads all that is left in one operation off the loop, where
// the source can (a Pump with PumpOptions.Rest): gathered on the loop, a
// file of 400 MB held it a quarter of a second at a time, copying the
// buffer each time it doubled and then into the string. The string is
// made over the buffer read, which no one else holds. ok is false where
// the source cannot: ReadUpTo reads as usual.
func (r *Reader) readRest(x *loop.Exec, fn string) (s starlark.String, ok bool, err error) {
	p, _ := r.src.(*Pump)
	if p == nil || r.eof {
		return "", false, nil
	}
	for {
		if r.closed {
			return "", true, r.closedError(fn)
		}
		rest, ok, err := p.ReadRest(x, fn, r.Buffered(), r.give)
		switch {
		case err == errTryAgain:
			continue
		case err != nil:
			return "", true, err
		case !ok:
			return "", false, nil
		}
		r.eof = true
		return starlark.String(unsafe.String(unsafe.SliceData(rest), len(rest))), true, nil
	}
}

// give hands the bytes buffered over to the Pump's read of the rest
// (Pump.ReadRest), which reads them off the loop: the Reader drops its
// buffer, never to write into it again.
func (r *Reader) give() []byte {
	b := r.buf[r.off:]
	r.buf, r.off = nil, 0
	return b
}

// ReadExactly returns exactly n bytes, or fails with eof if the stream
// ends first (the bytes received stay buffered for a later read).
func (r *Reader) ReadExactly(x *loop.Exec, fn string, n int) (starlark.String, error) {
	if r.closed {
		return "", r.closedError(fn)
	}
	if n > MaxWhole() {
		return "", r.tooLarge(fn)
	}
	pace := starutil.PacerOf(x)
	for r.Buffered() < n {
		if more, err := r.paceFill(x, fn, &pace); err != nil {
			return "", err
		} else if !more {
			return "", loop.Errorf(loop.KindEOF, "%s: stream ended after %d of %d bytes", fn, r.Buffered(), n)
		}
	}
	return r.take(n), nil
}

// paceFill is fill for a read that gathers much (read_exactly of a
// gigabyte, a whole body): from a peer that sends as fast as it is read
// no fill ever waits, and the loop was held until the end (0.7 s and
// more), deaf to timeout() and cancellation. pace counts what came and
// lets the other tasks run now and then, as a wait would; other readers
// of the stream may then take their turn, as at a wait.
func (r *Reader) paceFill(x *loop.Exec, fn string, pace *starutil.Pacer) (bool, error) {
	before := r.Buffered()
	more, err := r.fill(x, fn, math.MaxInt)
	if more && err == nil {
		err = pace.Step(max(r.Buffered()-before, 0))
	}
	return more, err
}

// DefaultLineLimit is the longest line read_line and lines() return
// unless told otherwise (limit=): 1 MiB.
const DefaultLineLimit = 1 << 20

// ReadLine returns the next line with its newline; at the end of the
// stream what is left (possibly ""), without one.
//
// A line is at most limit (> 0) bytes, its newline included: once limit
// bytes have come without one, ReadLine fails with value and reads no
// more. Without the bound a peer that never sends "\n" made the reader
// buffer all it sent (1.5 GB to a server's req.read_line() took 500 MB
// and more), as asyncio's StreamReader bounds readline (limit=, 64 KiB)
// for the same reason. The bytes of the long line stay buffered, at
// most limit of them, for read() to take; a read_line again fails
// again, rather than starting a line half-way through one.
func (r *Reader) ReadLine(x *loop.Exec, fn string, limit int) (starlark.String, error) {
	if r.closed {
		return "", r.closedError(fn)
	}
	scanned := 0
	for {
		live := r.Buffered()
		if i := bytes.IndexByte(r.buf[r.off+scanned:r.off+min(live, limit)], '\n'); i >= 0 {
			return r.take(scanned + i + 1), nil
		}
		if live >= limit {
			return "", loop.Errorf(loop.KindValue, "%s: line longer than %d bytes from %s", fn, limit, r.from())
		}
		scanned = live
		// Never more than the line may still hold: what is buffered
		// stays within the limit.
		more, err := r.fill(x, fn, limit-live)
		if err != nil {
			return "", err
		}
		if !more {
			return r.take(r.Buffered()), nil
		}
	}
}

// settle deals with a TryRead that brought nothing: it waits for more,
// or records the end of the stream, or returns the failure.
func (r *Reader) settle(x *loop.Exec, fn string, err error) error {
	switch err {
	case ErrWouldBlock:
		return r.src.Wait(x, fn)
	case io.EOF:
		r.eof = true
		if r.Buffered() == 0 {
			r.buf, r.off = nil, 0 // nothing more comes into it
		}
		return nil
	}
	return err
}

// fill reads more into buf, at most most (> 0) bytes, waiting if need
// be. It returns false at the end of the stream.
func (r *Reader) fill(x *loop.Exec, fn string, most int) (bool, error) {
	for {
		if r.closed {
			return false, r.closedError(fn)
		}
		if r.eof {
			return false, nil
		}
		r.reserve(most)
		end := cap(r.buf)
		if most < end-len(r.buf) {
			end = len(r.buf) + most
		}
		k, err := r.src.TryRead(fn, r.buf[len(r.buf):end])
		if k > 0 {
			r.buf = r.buf[:len(r.buf)+k]
			return true, nil
		}
		if err := r.settle(x, fn, err); err != nil {
			return false, err
		}
	}
}

// Buffer sizes: a read into buf has room for at least minRoom bytes, and
// a new buf holds at least minBuf.
const (
	minRoom = 4 << 10
	minBuf  = 16 << 10
)

// reserve makes room at the end of buf for a read of at most most bytes:
// by moving what is unread to the front when that frees enough, else by
// a buffer twice as large, but no larger than what is unread and most
// (a line's bound) need. buf grows only as data arrives, whatever a
// caller asked for.
func (r *Reader) reserve(most int) {
	room := min(minRoom, most)
	if cap(r.buf)-len(r.buf) >= room {
		return
	}
	live := r.Buffered()
	if r.off > 0 && cap(r.buf)-live >= max(room, cap(r.buf)/2) {
		onLoopCopy(copy(r.buf, r.buf[r.off:]))
		r.buf, r.off = r.buf[:live], 0
		return
	}
	size := max(2*cap(r.buf), minBuf)
	if most < size-live {
		size = max(live+most, minBuf)
	}
	nb := make([]byte, live, size)
	onLoopCopy(copy(nb, r.buf[r.off:]))
	r.buf, r.off = nb, 0
}

// take hands out the next k buffered bytes.
func (r *Reader) take(k int) starlark.String {
	s := starlark.String(r.buf[r.off : r.off+k])
	onLoopCopy(k)
	r.off += k
	if r.off == len(r.buf) {
		r.off = 0
		if cap(r.buf) > 1<<20 || r.eof {
			// Do not pin a large buffer after one long line, nor any
			// once the stream has ended.
			r.buf = nil
		} else {
			r.buf = r.buf[:0]
		}
	}
	return s
}
