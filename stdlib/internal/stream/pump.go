package stream

import (
	"context"
	"errors"
	"io"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// How says where a Pump's reads run.
type How int

const (
	// Detached reads on a goroutine of their own that no task waits on
	// (loop.Engine.Go): for a child's pipe, which the child writes or
	// closes on its own. Only the tasks waiting for the chunk keep the
	// run alive (and the virtual clock still); a read nobody waits for
	// any more keeps nothing going.
	Detached How = iota
	// Pool reads on the engine's bounded blocking pool, through the
	// waiting task's Offload: for files, whose reads do not wait for the
	// outside world.
	Pool
	// Own reads on a goroutine of its own through the waiting task's
	// Offload: for what waits on the network (an HTTP body), which must
	// not take a slot of the pool for as long.
	Own
)

// PumpOptions configure a Pump.
type PumpOptions struct {
	How How
	// Why is what a task waiting for the next chunk waits on
	// (waiting_on): "read stdout of pid 12".
	Why loop.Reason
	// Turn, if set, is held by each read from its start until its chunk
	// has landed, so that other operations of the stream (a file's
	// writes) take turns with the reads.
	Turn *Turn
	// Fail turns what ended the stream, other than io.EOF, into the
	// error of a read for method fn: a *loop.Error of the right kind, or
	// io.EOF when that failure is just the end (a pipe closed under the
	// read). Called for every read that finds it.
	Fail func(fn string, err error) error
	// Closer, if set, is closed when the stream ends (end or failure).
	Closer io.Closer
	// Rest, if set, reads all that is left of the stream after head, in
	// one buffer of its own (a regular file: its size says how large),
	// stopping once ctx is done; it returns what it read (head first)
	// with its error. A Reader's read of the whole rest (a file's
	// read()) then runs as one read off the loop (ReadRest), and builds
	// no large buffer on the loop.
	Rest func(ctx context.Context, head []byte) ([]byte, error)
}

// A Pump is a Source over an io.Reader whose reads block. One read at a
// time runs off the loop into a chunk of the Pump's own; the chunk lands
// on the loop, where TryRead hands it out. A task that stops waiting
// meanwhile (cancelled, timed out) loses nothing: the chunk stays for the
// next read. Loop only (but for the reads it starts).
type Pump struct {
	r     io.Reader
	opts  PumpOptions
	chunk []byte // landed, not yet handed out
	array []byte // the whole of chunk's array
	spare []byte // an array whose chunk was handed out, to read into again
	end   error  // what ended the stream (io.EOF or a failure), once landed
	busy  bool   // a read is in flight
	// released: the Reader was closed (Release); no read follows, and
	// a read in flight drops its buffer as it lands.
	released bool
	waiters  loop.WakerList
}

var (
	_ Source   = (*Pump)(nil)
	_ Releaser = (*Pump)(nil)
)

// Release lets go of the Pump's buffers once its Reader is closed: what
// still holds the Pump (a lines() generator or a task not yet collected)
// then holds next to nothing, not a 64 KiB read buffer each.
func (p *Pump) Release() {
	p.released = true
	p.chunk, p.array, p.spare = nil, nil, nil
}

// NewPump returns a Pump over r.
func NewPump(r io.Reader, opts PumpOptions) *Pump {
	return &Pump{r: r, opts: opts}
}

// TryRead hands out what has landed.
func (p *Pump) TryRead(fn string, b []byte) (int, error) {
	if len(p.chunk) > 0 {
		n := copy(b, p.chunk)
		onLoopCopy(n)
		p.chunk = p.chunk[n:]
		if len(p.chunk) == 0 {
			p.recycle()
		}
		return n, nil
	}
	switch {
	case p.end == nil:
		return 0, ErrWouldBlock
	case p.end == io.EOF || p.opts.Fail == nil:
		return 0, io.EOF
	}
	return 0, p.opts.Fail(fn, p.end)
}

// recycle keeps the array of a chunk handed out for the next read: its
// bytes were copied out, so it may be read into again; not once the
// stream has ended, when no read follows (but after a file's write,
// DropPending, which makes a new one).
func (p *Pump) recycle() {
	p.spare, p.array, p.chunk = p.array, nil, nil
	if p.end != nil {
		p.spare = nil
	}
}

// DropPending forgets what has landed and not been handed out, and an
// end of stream seen (a file's write changes what is left to read), and
// returns how many bytes were forgotten (see Reader.DropBuffered).
func (p *Pump) DropPending() int {
	n := len(p.chunk)
	if n > 0 {
		p.recycle()
	}
	if p.end == io.EOF {
		p.end = nil
	}
	return n
}

func (p *Pump) ready() bool { return len(p.chunk) > 0 || p.end != nil }

// Wait starts a read unless one is in flight, and waits for it to land.
func (p *Pump) Wait(x *loop.Exec, fn string) error {
	if p.ready() {
		return nil
	}
	if p.busy {
		return WaitOn(x, &p.waiters, p.opts.Why, loop.NoTimeout, fn)
	}
	if t := p.opts.Turn; t != nil {
		if err := t.Take(x, p.opts.Why, fn); err != nil {
			return err
		}
		if p.ready() || p.busy {
			// What we waited behind was a read, or brought one about.
			t.Give()
			return nil
		}
	}
	if err := x.Checkpoint(); err != nil {
		// Neither Go nor Offload is reached, so nothing would land.
		if t := p.opts.Turn; t != nil {
			t.Give()
		}
		return err
	}
	p.busy = true
	buf := p.spare
	p.spare = nil
	if cap(buf) == 0 {
		buf = make([]byte, DefaultRead)
	}
	buf = buf[:cap(buf)]
	var n int
	var rerr error
	read := func() { n, rerr = p.r.Read(buf) }
	land := func() { p.land(buf, n, rerr) }
	if p.opts.How == Detached {
		x.Task.Engine().Go(read, land)
		return WaitOn(x, &p.waiters, p.opts.Why, loop.NoTimeout, fn)
	}
	o := loop.Offload{Why: p.opts.Why, Op: fn, Timeout: loop.NoTimeout, Own: p.opts.How == Own,
		Work: func(context.Context) (starlark.Value, error) {
			read()
			return nil, nil
		},
		// Delivered or dropped, the chunk lands (a read that never
		// started lands nothing).
		Done: func(starlark.Value, error) (starlark.Value, error) {
			land()
			return nil, nil
		},
		Drop: func(starlark.Value, error) { land() },
	}
	var err error
	if t := p.opts.Turn; t != nil {
		_, err = t.Offload(x, o)
	} else {
		_, err = x.Offload(o)
	}
	return err
}

// ReadRest is the rest of the stream read in one operation off the loop
// (PumpOptions.Rest), for a Reader reading all that is left: it starts
// that read, or waits for it, and once it has landed returns it whole,
// a buffer no one else holds. buffered is how many bytes the Reader
// holds; give hands them over, to go first: it is called when the read
// starts, if it does. ok is false where the Pump cannot (no Rest; a
// failure; the end already in, with bytes the Reader holds before it):
// the Reader reads as it does otherwise. err is a wait's (the task's
// interruption, a wait to run again: loop.Retrying), or errTryAgain.
func (p *Pump) ReadRest(x *loop.Exec, fn string, buffered int, give func() []byte) (rest []byte, ok bool, err error) {
	switch {
	case p.opts.Rest == nil, p.end != nil && p.end != io.EOF:
		return nil, false, nil
	case p.busy:
		return nil, false, WaitOn(x, &p.waiters, p.opts.Why, loop.NoTimeout, fn)
	case p.end == io.EOF:
		// All is in: what landed (the rest read, or a last chunk) is
		// handed out whole, not copied, unless the Reader holds bytes
		// before it.
		if buffered > 0 {
			return nil, false, nil
		}
		rest = p.chunk
		p.chunk, p.array = nil, nil
		return rest, true, nil
	}
	if t := p.opts.Turn; t != nil {
		if err := t.Take(x, p.opts.Why, fn); err != nil {
			return nil, false, err
		}
		if p.busy || p.end != nil {
			t.Give() // what we waited behind changed the stream: look again
			return nil, false, errTryAgain
		}
	}
	if err := x.Checkpoint(); err != nil {
		if t := p.opts.Turn; t != nil {
			t.Give()
		}
		return nil, false, err
	}
	// The chunk landed and not handed out goes after the Reader's
	// bytes; the read takes both arrays over (not recycled: it reads
	// them off the loop).
	head, landed := give(), p.chunk
	p.chunk, p.array = nil, nil
	p.busy = true
	var buf []byte
	var rerr error
	land := func() {
		p.busy = false
		// The rest lands as one chunk whose array is no one's to read
		// into again (array nil): ReadRest hands it out as it is. A
		// read stopped as its task stopped waiting (ctx) is not the
		// end: later reads go on from where it stopped.
		if !p.released {
			p.chunk = buf
		}
		switch {
		case p.end != nil:
		case rerr == nil:
			p.end = io.EOF
		case !errors.Is(rerr, context.Canceled) && !errors.Is(rerr, context.DeadlineExceeded):
			p.end = rerr
			if p.opts.Closer != nil {
				p.opts.Closer.Close()
			}
		}
		p.waiters.Broadcast(nil, nil)
	}
	o := loop.Offload{Why: p.opts.Why, Op: fn, Timeout: loop.NoTimeout, Own: p.opts.How == Own,
		Work: func(ctx context.Context) (starlark.Value, error) {
			if len(landed) > 0 {
				head = append(head[:len(head):len(head)], landed...)
			}
			buf, rerr = p.opts.Rest(ctx, head)
			return nil, nil
		},
		Done: func(starlark.Value, error) (starlark.Value, error) {
			land()
			return nil, nil
		},
		Drop: func(starlark.Value, error) { land() },
	}
	if t := p.opts.Turn; t != nil {
		_, err = t.Offload(x, o)
	} else {
		_, err = x.Offload(o)
	}
	if err == nil {
		err = errTryAgain // landed: the next call hands it out
	}
	return nil, false, err
}

// errTryAgain is ReadRest's word that it should be called again: the
// read it waited for has landed, or the stream changed under its wait.
var errTryAgain = errors.New("stream: try again")

// land runs on the loop with a read's outcome.
func (p *Pump) land(buf []byte, n int, err error) {
	p.busy = false
	switch {
	case p.released:
	case n > 0:
		p.chunk, p.array = buf[:n], buf
	case err == nil && p.end == nil:
		p.spare = buf
	}
	if err != nil && p.end == nil {
		p.end = err
		if p.opts.Closer != nil {
			p.opts.Closer.Close()
		}
	}
	p.waiters.Broadcast(nil, nil)
}
