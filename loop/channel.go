package loop

import (
	"fmt"
	"time"

	"github.com/corolang/coro/starlark"
)

// objectState is an engine's bookkeeping for channels and sync objects:
// id counters per kind (so channel#3 is the same channel every run, and
// diagnostics and golden outputs are reproducible), and spare waiters that
// channel operations reuse instead of allocating one per wait.
type objectState struct {
	ids     map[string]int
	waiters []*Waiter
}

// NextID returns the next id for an object of kind ("channel", "lock",
// ...) on this engine: 1, 2, 3, ... Loop only.
func (e *Engine) NextID(kind string) int {
	if e.objects.ids == nil {
		e.objects.ids = map[string]int{}
	}
	e.objects.ids[kind]++
	return e.objects.ids[kind]
}

// getWaiter returns a fresh waiter for t, reusing a spare one. Only code
// that knows no registration of the waiter is left anywhere before
// putWaiter (channel send and receive: the one entry was taken) may use
// it: an entry left behind, even one removed (a waitList leaves it in
// place, dead), would complete some later, unrelated wait.
func (e *Engine) getWaiter(t *Task) *Waiter {
	if n := len(e.objects.waiters); n > 0 {
		w := e.objects.waiters[n-1]
		e.objects.waiters = e.objects.waiters[:n-1]
		w.task = t
		return w
	}
	return NewWaiter(t)
}

// maxSpareWaiters bounds the free list (one per concurrently parked task
// would do; this is plenty).
const maxSpareWaiters = 64

func (e *Engine) putWaiter(w *Waiter) {
	if len(e.objects.waiters) < maxSpareWaiters {
		*w = Waiter{Index: -1}
		e.objects.waiters = append(e.objects.waiters, w)
	}
}

// A sudog is one parked party on a channel (Go's name): the waker and its
// case index, the value a sender offers, and whether the waker is a plain
// receive or send of this package (a receive that tells "closed" (nil)
// from a received None; Channel.send rather than a send_op).
type sudog struct {
	wakerEntry
	v   starlark.Value
	raw bool
}

// waitq is a FIFO of parked parties (a waitList: entries whose waker no
// longer accepts, a select that completed elsewhere, a wait that timed
// out, are skipped when popped).
type waitq = waitList[sudog]

// A Channel is a Go-style channel between tasks of one engine (SPEC 6).
// Values pass straight from a sender to a parked receiver (and from a
// parked sender to a receiver) without touching the buffer, which holds
// values only while no receiver waits. As an Awaitable it is a receive.
type Channel struct {
	eng    *Engine
	id     int
	cap    int
	buf    []starlark.Value // ring of capacity len(buf) <= cap, grown on demand
	head   int
	n      int
	closed bool
	// recvOnly, if set, says what the channel is ("a ticker's channel"):
	// its owner sends on it, and a script's send, try_send or send_op
	// fails, as a send on Go's receive-only <-chan does not compile (a
	// ticker's slot held the script's value instead of a tick).
	recvOnly string
	recvq    waitq
	sendq    waitq
	// onClose runs once when the channel closes (a ticker stops its timer,
	// a broadcast forgets the subscriber).
	onClose func()
	// onTake, if set, runs once the next time a receiver takes a value
	// from the buffer (a ticker whose tick waits there arms the next).
	onTake func()
	// bound methods, made on first use: script loops call send and recv
	// millions of times and must not allocate a method each time.
	mSend, mRecv *starlark.Builtin
}

var (
	_ Awaitable                = (*Channel)(nil)
	_ starlark.Sequence        = (*Channel)(nil)
	_ starlark.HasAttrs        = (*Channel)(nil)
	_ starlark.WaitingIterator = (*chanIter)(nil)
	_ Awaitable                = (*RecvOp)(nil)
	_ Awaitable                = (*SendOp)(nil)
)

// NewChannel returns a channel holding up to capacity buffered values
// (0: every send waits for a receiver).
func (e *Engine) NewChannel(capacity int) *Channel {
	return &Channel{eng: e, id: e.NextID("channel"), cap: capacity}
}

// ID returns the channel's number on its engine (channel#ID).
func (c *Channel) ID() int { return c.id }

// Closed reports whether Close was called.
func (c *Channel) Closed() bool { return c.closed }

// OnClose sets fn to run once when the channel is closed.
func (c *Channel) OnClose(fn func()) { c.onClose = fn }

// closedError is the error of fn, a send on the closed channel:
// "Channel.send: channel#2 is closed", named as every method's error is,
// where "send on closed channel#2" named no method.
func (c *Channel) closedError(fn string) *Error {
	return Errorf(KindClosed, "%s: channel#%d is closed", fn, c.id)
}

// senderName is the method of a parked sender, for its error when the
// channel closes: raw is Channel.send's own wait.
func senderName(raw bool) string {
	if raw {
		return "Channel.send"
	}
	return "Channel.send_op"
}

// recvOnlyError is the error of fn, a script's send on a receive-only
// channel (out of line: Channel.send's hot path only tests recvOnly).
//
//go:noinline
func (c *Channel) recvOnlyError(fn string) *Error {
	return Errorf(KindValue, "%s: channel#%d is %s, receive-only", fn, c.id, c.recvOnly)
}

// ---- the buffer ----

func (c *Channel) bufPush(v starlark.Value) {
	if c.n == len(c.buf) {
		nb := make([]starlark.Value, min(c.cap, max(4, 2*len(c.buf))))
		for i := 0; i < c.n; i++ {
			nb[i] = c.buf[(c.head+i)%len(c.buf)]
		}
		c.buf, c.head = nb, 0
	}
	c.buf[(c.head+c.n)%len(c.buf)] = v
	c.n++
}

func (c *Channel) bufPop() starlark.Value {
	v := c.buf[c.head]
	c.buf[c.head] = nil
	c.head++
	if c.head == len(c.buf) {
		c.head = 0
	}
	c.n--
	return v
}

// ---- operations that never wait ----

// TrySend delivers v if that needs no waiting: to a parked receiver, or
// into the buffer. It fails with closed on a closed channel, as
// Channel.try_send.
func (c *Channel) TrySend(v starlark.Value) (bool, error) { return c.trySend(v, "Channel.try_send") }

// trySend is TrySend for fn, which its error names.
func (c *Channel) trySend(v starlark.Value, fn string) (bool, error) {
	if c.closed {
		return false, c.closedError(fn)
	}
	if r, ok := c.recvq.pop(); ok {
		r.w.Complete(r.index, v, nil)
		return true, nil
	}
	if c.n < c.cap {
		c.bufPush(v)
		return true, nil
	}
	return false, nil
}

// SendDropOldest delivers v without ever waiting: when the buffer is full
// its oldest value is dropped to make room (a broadcast subscriber or a
// ticker that fell behind). On an unbuffered channel with no receiver
// waiting, v is dropped. It reports whether v was kept; a closed channel
// keeps nothing.
func (c *Channel) SendDropOldest(v starlark.Value) bool {
	if c.closed {
		return false
	}
	if ok, _ := c.TrySend(v); ok {
		return true
	}
	if c.cap == 0 {
		return false
	}
	c.bufPop()
	c.bufPush(v)
	return true
}

// tryRecv takes a value if one is there: from the buffer (refilling it
// from the first parked sender), from a parked sender, or None from a
// closed, drained channel (ok false). done is false when it would wait.
func (c *Channel) tryRecv() (v starlark.Value, ok, done bool) {
	if c.n > 0 {
		v = c.bufPop()
		if s, found := c.sendq.pop(); found {
			c.bufPush(s.v)
			s.w.Complete(s.index, starlark.None, nil)
		}
		if f := c.onTake; f != nil {
			c.onTake = nil
			f()
		}
		return v, true, true
	}
	if s, found := c.sendq.pop(); found {
		s.w.Complete(s.index, starlark.None, nil)
		return s.v, true, true
	}
	if c.closed {
		return starlark.None, false, true
	}
	return nil, false, false
}

// Close closes the channel: parked receivers get None, parked senders
// fail with closed, buffered values can still be received. Closing twice
// fails with closed.
func (c *Channel) Close() error {
	if c.closed {
		return Errorf(KindClosed, "Channel.close: channel#%d is already closed", c.id)
	}
	c.closed = true
	for {
		r, ok := c.recvq.pop()
		if !ok {
			break
		}
		if r.raw {
			r.w.Complete(r.index, nil, nil)
		} else {
			r.w.Complete(r.index, starlark.None, nil)
		}
	}
	for {
		s, ok := c.sendq.pop()
		if !ok {
			break
		}
		s.w.Complete(s.index, nil, c.closedError(senderName(s.raw)))
	}
	if c.onClose != nil {
		fn := c.onClose
		c.onClose = nil
		fn()
	}
	return nil
}

// ---- operations that may wait ----

// Send sends v for the task in x, waiting up to timeout (NoTimeout: as
// long as it takes) for a receiver or buffer room.
func (c *Channel) Send(x *Exec, v starlark.Value, timeout time.Duration) error {
	w, err := c.sendStart(x, v)
	if w == nil {
		return err
	}
	x.Park(w, (*sendReason)(c), timeout, "Channel.send")
	return c.sendEnd(w)
}

// sendStart sends v at once if it can (w nil: done, with err); else it
// queues the task's waiter, w, which sendEnd ends after the wait.
func (c *Channel) sendStart(x *Exec, v starlark.Value) (w *Waiter, err error) {
	t := x.Task
	if err := t.interruption(); err != nil {
		return nil, err
	}
	if ok, err := c.trySend(v, "Channel.send"); ok || err != nil {
		return nil, err
	}
	w = c.eng.getWaiter(t)
	c.sendq.push(sudog{wakerEntry{w, 0}, v, true})
	return w, nil
}

func (c *Channel) sendEnd(w *Waiter) error {
	err := w.Err
	if w.Index != 0 {
		// Timed out or interrupted: still queued, and left there dead
		// (waitList), so w is not reused.
		c.sendq.remove(w)
	} else {
		c.eng.putWaiter(w)
	}
	return err
}

// Recv receives for the task in x, waiting up to timeout. ok is false
// (and v None) once the channel is closed and drained.
func (c *Channel) Recv(x *Exec, timeout time.Duration) (v starlark.Value, ok bool, err error) {
	w, v, ok, err := c.recvStart(x)
	if w == nil {
		return v, ok, err
	}
	x.Park(w, c, timeout, "Channel.recv")
	return c.recvEnd(w)
}

// recvStart receives at once if it can (w nil: done); else it queues the
// task's waiter, w, which recvEnd ends after the wait.
func (c *Channel) recvStart(x *Exec) (w *Waiter, v starlark.Value, ok bool, err error) {
	t := x.Task
	if err := t.interruption(); err != nil {
		return nil, nil, false, err
	}
	if v, ok, done := c.tryRecv(); done {
		return nil, v, ok, nil
	}
	w = c.eng.getWaiter(t)
	c.recvq.push(sudog{wakerEntry{w, 0}, nil, true})
	return w, nil, false, nil
}

func (c *Channel) recvEnd(w *Waiter) (v starlark.Value, ok bool, err error) {
	v, err = w.Value, w.Err
	if w.Index != 0 { // as in sendEnd
		c.recvq.remove(w)
	} else {
		c.eng.putWaiter(w)
	}
	switch {
	case err != nil:
		return nil, false, err
	case v == nil: // closed while we waited
		return starlark.None, false, nil
	}
	return v, true, nil
}

// sendReason describes a task parked in send (a distinct type over the
// same pointer, so passing it as a Reason does not allocate).
type sendReason Channel

func (r *sendReason) WaitingOn() string { return fmt.Sprintf("send on channel#%d", r.id) }

// ---- Awaitable: a channel is its own receive operation ----

func (c *Channel) Poll(t *Task) (starlark.Value, error, bool) {
	v, _, done := c.tryRecv()
	return v, nil, done
}
func (c *Channel) Enqueue(w Waker, index int) { c.recvq.push(sudog{wakerEntry: wakerEntry{w, index}}) }
func (c *Channel) Dequeue(w Waker)            { c.recvq.remove(w) }
func (c *Channel) WaitingOn() string {
	return fmt.Sprintf("recv on channel#%d (%d/%d buffered)", c.id, c.n, c.cap)
}

// A RecvOp is ch.recv_op(): a receive as a value for select, wait, race.
type RecvOp struct{ c *Channel }

func (op *RecvOp) String() string        { return fmt.Sprintf("<recv_op channel#%d>", op.c.id) }
func (op *RecvOp) Type() string          { return "RecvOp" }
func (op *RecvOp) Freeze()               {}
func (op *RecvOp) OwnedByLoop()          {}
func (op *RecvOp) Truth() starlark.Bool  { return true }
func (op *RecvOp) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: RecvOp") }
func (op *RecvOp) Poll(t *Task) (starlark.Value, error, bool) {
	return op.c.Poll(t)
}
func (op *RecvOp) Enqueue(w Waker, index int) { op.c.Enqueue(w, index) }
func (op *RecvOp) Dequeue(w Waker)            { op.c.Dequeue(w) }
func (op *RecvOp) WaitingOn() string          { return op.c.WaitingOn() }

// A SendOp is ch.send_op(v): a send as a value for select, wait, race.
// It completes with None once v is delivered, or fails with closed.
type SendOp struct {
	c *Channel
	v starlark.Value
}

func (op *SendOp) String() string        { return fmt.Sprintf("<send_op channel#%d>", op.c.id) }
func (op *SendOp) Type() string          { return "SendOp" }
func (op *SendOp) Freeze()               {}
func (op *SendOp) OwnedByLoop()          {}
func (op *SendOp) Truth() starlark.Bool  { return true }
func (op *SendOp) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: SendOp") }
func (op *SendOp) Poll(*Task) (starlark.Value, error, bool) {
	ok, err := op.c.trySend(op.v, "Channel.send_op")
	if ok || err != nil {
		return starlark.None, err, true
	}
	return nil, nil, false
}
func (op *SendOp) Enqueue(w Waker, index int) {
	op.c.sendq.push(sudog{wakerEntry{w, index}, op.v, false})
}
func (op *SendOp) Dequeue(w Waker)   { op.c.sendq.remove(w) }
func (op *SendOp) WaitingOn() string { return (*sendReason)(op.c).WaitingOn() }

// ---- iteration: for v in ch ----

// chanIter is a channel's iterator. In a for loop it waits unwound
// where it can (NextOn): the wait's outcome is kept in got or closed for
// the loop's step to take when it runs again.
type chanIter struct {
	c      *Channel
	got    starlark.Value
	closed bool
	end    WaitEnd // recvEnd, bound once
}

// NextOn receives the next value for a for loop running on th.
func (it *chanIter) NextOn(th *starlark.Thread, p *starlark.Value) (bool, error) {
	if v := it.got; v != nil {
		*p, it.got = v, nil
		return true, nil
	}
	if it.closed {
		return false, nil
	}
	x := ExecOf(th)
	if x == nil || x.Task == nil {
		return it.Next(p), nil
	}
	w, v, ok, err := it.c.recvStart(x)
	if w == nil {
		if ok {
			*p = v
		}
		return ok, err
	}
	if it.end == nil {
		it.end = it.recvEnd
	}
	if err := x.ParkIterThen(th, w, it.c, NoTimeout, "Channel.recv", it.end); err != nil {
		return false, err
	}
	return it.NextOn(th, p) // the wait ended at once: what it brought
}

// recvEnd ends NextOn's wait, keeping what it brought.
func (it *chanIter) recvEnd(w *Waiter, _ Reason) (starlark.Value, error) {
	v, ok, err := it.c.recvEnd(w)
	if err != nil {
		return nil, err
	}
	if ok {
		it.got = v
	} else {
		it.closed = true
	}
	return starlark.None, nil
}

// Next receives the next value, waiting for the task that runs the loop
// (found through CurrentExec: Next gets no thread). The loop ends once the
// channel is closed and drained; an interruption (cancel, timeout scope)
// ends it too and is raised in the looping thread at its next step.
func (it *chanIter) Next(p *starlark.Value) bool {
	c := it.c
	x := c.eng.CurrentExec()
	if x == nil || x.Task == nil {
		// No task to wait for: take only what is there.
		v, ok, _ := c.tryRecv()
		if ok {
			*p = v
		}
		return ok
	}
	v, ok, err := c.Recv(x, NoTimeout)
	if err != nil {
		x.Raise(ToError(err))
		return false
	}
	if ok {
		*p = v
	}
	return ok
}
func (it *chanIter) Done() {}

// ---- the Starlark value ----

func (c *Channel) String() string {
	if c.closed {
		return fmt.Sprintf("<channel#%d closed %d/%d>", c.id, c.n, c.cap)
	}
	return fmt.Sprintf("<channel#%d %d/%d>", c.id, c.n, c.cap)
}
func (c *Channel) Type() string          { return "Channel" }
func (c *Channel) Freeze()               {}
func (c *Channel) OwnedByLoop()          {}
func (c *Channel) Truth() starlark.Bool  { return true }
func (c *Channel) Hash() (uint32, error) { return uint32(c.id), nil }
func (c *Channel) Len() int              { return c.n }
func (c *Channel) Iterate() starlark.Iterator {
	return &chanIter{c: c}
}

var channelAttrs = []string{"cap", "close", "closed", "recv", "recv_op", "send", "send_op", "try_recv", "try_send"}

func (c *Channel) AttrNames() []string { return channelAttrs }

func (c *Channel) Attr(name string) (starlark.Value, error) {
	switch name {
	case "send":
		if c.mSend == nil {
			c.mSend = starlark.NewBuiltin("send", chanSend).BorrowsArgs().BindReceiver(c) // keeps the value, never the slice
		}
		return c.mSend, nil
	case "recv":
		if c.mRecv == nil {
			c.mRecv = starlark.NewBuiltin("recv", chanRecv).BorrowsArgs().BindReceiver(c)
		}
		return c.mRecv, nil
	case "try_send":
		return starlark.NewBuiltin("try_send", chanTrySend).BindReceiver(c), nil
	case "try_recv":
		return starlark.NewBuiltin("try_recv", chanTryRecv).BindReceiver(c), nil
	case "close":
		return starlark.NewBuiltin("close", chanClose).BindReceiver(c), nil
	case "recv_op":
		return starlark.NewBuiltin("recv_op", chanRecvOp).BindReceiver(c), nil
	case "send_op":
		return starlark.NewBuiltin("send_op", chanSendOp).BindReceiver(c), nil
	case "closed":
		return starlark.Bool(c.closed), nil
	case "cap":
		return starlark.MakeInt(c.cap), nil
	}
	return nil, nil
}

// owner checks that the calling thread runs on the channel's engine: a
// channel's state belongs to one loop (a parallel worker, or another
// engine, must not touch it). The usual case, a thread of this engine's
// running context, is recognised by one comparison instead of a lookup
// of the thread's locals.
func (c *Channel) owner(th *starlark.Thread, fn string) (*Exec, error) {
	if x := c.eng.curExec; x != nil && x.thread == th && x.Task != nil {
		return x, nil
	}
	x, err := TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if x.Task.eng != c.eng {
		return nil, Errorf(KindValue, "%s: channel#%d belongs to another engine", fn, c.id)
	}
	return x, nil
}

func chanSend(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Channel)
	var v starlark.Value
	d := NoTimeout
	if len(args) == 1 && len(kwargs) == 0 {
		v = args[0] // the hot path: no UnpackArgs, whose pointers would make v escape
	} else {
		var err error
		if v, d, err = sendArgs(args, kwargs); err != nil {
			return nil, err
		}
	}
	if c.recvOnly != "" {
		return nil, c.recvOnlyError("Channel.send")
	}
	x, err := c.owner(th, "Channel.send")
	if err != nil {
		return nil, err
	}
	w, err := c.sendStart(x, v)
	if w == nil {
		if err != nil {
			return nil, err
		}
		return starlark.None, nil
	}
	return x.ParkThen(th, b, w, (*sendReason)(c), d, "Channel.send", chanSendEnd)
}

// chanSendEnd ends Channel.send's wait on the channel why names.
func chanSendEnd(w *Waiter, why Reason) (starlark.Value, error) {
	if err := (*Channel)(why.(*sendReason)).sendEnd(w); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func sendArgs(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, time.Duration, error) {
	var v, timeout starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs("Channel.send", args, kwargs, "value", &v, "timeout?", &timeout); err != nil {
		return nil, 0, ValueError(err)
	}
	d, err := TimeoutArg("Channel.send", timeout)
	return v, d, err
}

func chanRecv(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Channel)
	d := NoTimeout
	if len(args) > 0 || len(kwargs) > 0 {
		var timeout starlark.Value = starlark.None
		if err := starlark.UnpackArgs("Channel.recv", args, kwargs, "timeout?", &timeout); err != nil {
			return nil, ValueError(err)
		}
		var err error
		if d, err = TimeoutArg("Channel.recv", timeout); err != nil {
			return nil, err
		}
	}
	x, err := c.owner(th, "Channel.recv")
	if err != nil {
		return nil, err
	}
	w, v, _, err := c.recvStart(x)
	if w == nil {
		return v, err
	}
	return x.ParkThen(th, b, w, c, d, "Channel.recv", chanRecvEnd)
}

// chanRecvEnd ends Channel.recv's wait on the channel why.
func chanRecvEnd(w *Waiter, why Reason) (starlark.Value, error) {
	v, _, err := why.(*Channel).recvEnd(w)
	return v, err
}

func chanTrySend(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Channel)
	var v starlark.Value
	if err := starlark.UnpackArgs("Channel.try_send", args, kwargs, "value", &v); err != nil {
		return nil, ValueError(err)
	}
	if c.recvOnly != "" {
		return nil, c.recvOnlyError("Channel.try_send")
	}
	if _, err := c.owner(th, "Channel.try_send"); err != nil {
		return nil, err
	}
	ok, err := c.TrySend(v)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(ok), nil
}

func chanTryRecv(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Channel)
	if err := starlark.UnpackArgs("Channel.try_recv", args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	if _, err := c.owner(th, "Channel.try_recv"); err != nil {
		return nil, err
	}
	v, ok, done := c.tryRecv()
	if !done {
		v = starlark.None
	}
	return starlark.Tuple{v, starlark.Bool(ok)}, nil
}

func chanClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Channel)
	if err := starlark.UnpackArgs("Channel.close", args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	if _, err := c.owner(th, "Channel.close"); err != nil {
		return nil, err
	}
	if err := c.Close(); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func chanRecvOp(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("Channel.recv_op", args, kwargs); err != nil {
		return nil, ValueError(err)
	}
	return &RecvOp{b.Receiver().(*Channel)}, nil
}

func chanSendOp(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs("Channel.send_op", args, kwargs, "value", &v); err != nil {
		return nil, ValueError(err)
	}
	c := b.Receiver().(*Channel)
	if c.recvOnly != "" {
		return nil, c.recvOnlyError("Channel.send_op")
	}
	return &SendOp{c, v}, nil
}

// builtinChannel is channel(capacity=0).
func builtinChannel(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	capacity := 0
	if err := starlark.UnpackArgs("channel", args, kwargs, "capacity?", &capacity); err != nil {
		return nil, ValueError(err)
	}
	if capacity < 0 {
		return nil, Errorf(KindValue, "channel: capacity must be >= 0, got %d", capacity)
	}
	x, err := TaskOf(th, "channel")
	if err != nil {
		return nil, err
	}
	return x.Task.eng.NewChannel(capacity), nil
}
