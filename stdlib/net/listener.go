package net

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/handle"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// A Listener accepts stream connections. With the engine's reactor the
// loop accepts itself, when the reactor reports a connection waiting
// (tryAccept); a temporary failure (out of file descriptors) is retried
// after a pause on the loop's clock (backoff), so a server out of
// descriptors keeps serving once some are closed. Without a reactor, one
// goroutine at a time blocks in Accept, retrying the same way
// (acceptRetrying); a connection it gets while no task waits (the
// accepting task timed out, say) is kept for the next accept, never
// dropped.
type Listener struct {
	*handle.Handle
	ln        net.Listener
	addr      string
	port      int
	pending   []net.Conn
	aerr      error // an accept failure not yet reported
	accepting bool
	waiters   loop.WakerList
	closed    bool
	done      chan struct{} // closed by close(): ends a retry's pause
	warned    *atomic.Bool  // a temporary accept failure was reported

	// With the reactor (handle.Handle.Watch): readable is false from an accept
	// that found no connection until the reactor's next event, and
	// accepting is paused after a temporary failure (backoff).
	rc       syscall.RawConn
	readable bool
	pause    AcceptPause
	// raw is an accepted descriptor not yet made a net.Conn: making one
	// takes a second descriptor, which may fail for want of one too.
	raw *os.File
	// tls, when set, makes every accepted connection a TLSConn (SPEC 12).
	tls *tls.Config
}

// Backoff of acceptRetrying, as net/http's Server.Serve.
const (
	acceptRetryFirst = 5 * time.Millisecond
	acceptRetryMax   = time.Second
)

func (l *Listener) WaitingOn() string { return "accept on " + l.addr }

func listen(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var addr string
	var cert, key starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "address", &addr, "cert?", &cert, "key?", &key); err != nil {
		return nil, loop.ValueError(err)
	}
	x, ln, err := Listen(th, b.Name(), addr)
	if err != nil {
		return nil, err
	}
	cfg, err := ServerTLS(x, b.Name(), cert, key)
	if err != nil {
		ln.Close()
		return nil, err
	}
	l := &Listener{ln: ln, done: make(chan struct{}), warned: new(atomic.Bool), tls: cfg}
	l.addr, l.port = AddrPort(ln.Addr())
	e := x.Task.Engine()
	l.Handle = handle.New(l, e, ln)
	if sc, ok := ln.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			fd := -1
			rc.Control(func(f uintptr) { fd = int(f) })
			if w, err := handle.WatchWeakly(e, fd, l, (*Listener).ioReady); err == nil {
				l.rc, l.Watch, l.readable = rc, w, true
			}
		}
	}
	return l, nil
}

// ioReady runs on the loop when the reactor reports a connection waiting.
func (l *Listener) ioReady(ev loop.IOEvents) {
	if ev&loop.IORead != 0 {
		l.readable = true
		l.waiters.Broadcast(nil, nil)
	}
}

// newConn wraps an accepted connection: a Conn, or a TLSConn whose
// handshake runs on its first read or write. A unix socket's local
// address is the listener's as the script named it, not the name it was
// bound by (unix.go).
func (l *Listener) newConn(c net.Conn) (starlark.Value, error) {
	cn, err := newConn(l.Eng, c)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(l.addr, "unix:") {
		cn.local = l.addr
	}
	if l.tls != nil {
		ad := &tlsAdapter{Conn: c}
		return newTLSConn(cn, tls.Server(ad, l.tls), ad, false), nil
	}
	return cn, nil
}

// tryAccept accepts a waiting connection on the loop without waiting: it
// returns syscall.EAGAIN when there is none. A plain connection is an
// fdConn, the loop's alone; one a TLS handshake will read on a goroutine
// is a net.Conn in Go's netpoller.
func (l *Listener) tryAccept() (net.Conn, error) {
	if l.raw == nil {
		nfd, err := accept4(l.rc)
		if err != nil {
			return nil, err
		}
		if l.tls == nil {
			return newFDConn(nfd) // the loop's alone: no TLS handshake reads it blocking
		}
		l.raw = os.NewFile(uintptr(nfd), "")
	}
	c, err := net.FileConn(l.raw)
	if err != nil {
		return nil, err
	}
	l.raw.Close()
	l.raw = nil
	return c, nil
}

// accept4 accepts a connection waiting on the listener whose RawConn is
// rc, non-blocking, without waiting: syscall.EAGAIN when none is.
func accept4(rc syscall.RawConn) (int, error) {
	nfd := -1
	var aerr error
	// Control, not Read: a listener's RawConn refuses Read. Control too
	// keeps the descriptor from being closed meanwhile, and accept4 on
	// it never waits (Go's sockets are non-blocking).
	err := rc.Control(func(fd uintptr) {
		for {
			nfd, _, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			if aerr != syscall.EINTR {
				return
			}
		}
	})
	if err == nil {
		err = aerr
	}
	return nfd, err
}

// TryAccept accepts a connection waiting on the listener whose RawConn
// is rc, on the loop and without waiting (syscall.EAGAIN when none is),
// as a connection the loop owns outright (fdConn): its descriptor is
// non-blocking and in no poller, for the caller to watch (WatchFD) and
// to read and write through its SyscallConn, or to hand on (DupFile).
func TryAccept(rc syscall.RawConn) (net.Conn, error) {
	nfd, err := accept4(rc)
	if err != nil {
		return nil, err
	}
	return newFDConn(nfd)
}

// nextAcceptDelay is the pause after a temporary accept failure that
// follows a pause of d (0 for none): 5 ms doubling to 1 s, as net/http's
// Server.Serve.
func nextAcceptDelay(d time.Duration) time.Duration {
	return min(max(2*d, acceptRetryFirst), acceptRetryMax)
}

// An AcceptPause paces a loop that accepts (a Listener's, http.serve's)
// after temporary failures (SPEC 7): each pause is longer than the last
// (nextAcceptDelay) until an accept succeeds (Reset). Loop only.
type AcceptPause struct {
	delay time.Duration
	stop  func() // ends the pause under way, nil when none is
}

// Start pauses accepting, and runs resume on the loop when the pause
// ends.
func (p *AcceptPause) Start(e *loop.Engine, resume func()) {
	p.delay = nextAcceptDelay(p.delay)
	p.stop = e.Schedule(p.delay, func() {
		p.stop = nil
		resume()
	})
}

// Paused reports whether a pause is under way.
func (p *AcceptPause) Paused() bool { return p.stop != nil }

// Reset makes the next pause the shortest: an accept succeeded.
func (p *AcceptPause) Reset() { p.delay = 0 }

// Stop ends the pause under way, without resuming.
func (p *AcceptPause) Stop() {
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
}

// backoff pauses accepting after a temporary failure, reported on stderr
// once per listener.
func (l *Listener) backoff(err error) {
	if l.warned.CompareAndSwap(false, true) {
		l.warn(err)
	}
	l.pause.Start(l.Eng, func() { l.waiters.Broadcast(nil, nil) })
}

// warn reports the first temporary accept failure. Loop only.
func (l *Listener) warn(err error) { WarnAccept(l.Eng, l.addr, err) }

// WarnAccept says on e's stderr that accepting on addr failed for now
// and is retried (acceptRetrying), once per listener. Loop only.
func WarnAccept(e *loop.Engine, addr string, err error) {
	msg := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg = errno.Error()
	}
	fmt.Fprintf(e.Stderr(), "coro: warning: net: accept on %s: %s; retrying with a backoff (5ms doubling to 1s), reported once per listener\n", addr, msg)
}

// accept returns the next connection, waiting at most timeout.
func (l *Listener) accept(x *loop.Exec, fn string, timeout time.Duration) (starlark.Value, error) {
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	// The timeout's error names the listener, as its other errors name
	// their address: "Listener.accept on 127.0.0.1:5555 exceeded 0.2s".
	// Made only for a wait that has a timeout: the common accept that
	// waits as long as it takes allocates nothing for it.
	op := fn
	if timeout != loop.NoTimeout {
		op = fn + " on " + l.addr
	}
	for {
		if l.closed {
			return nil, loop.Errorf(loop.KindClosed, "%s: listener is closed", fn)
		}
		if len(l.pending) > 0 {
			c := l.pending[0]
			l.pending[0] = nil
			l.pending = l.pending[1:]
			return l.newConn(c)
		}
		if l.aerr != nil {
			err := l.aerr
			l.aerr = nil
			return nil, ioError(fn, err)
		}
		if l.Watch != nil {
			if l.readable && !l.pause.Paused() {
				c, err := l.tryAccept()
				switch {
				case err == nil:
					l.pause.Reset()
					return l.newConn(c)
				case err == syscall.EAGAIN:
					l.readable = false
				case TemporaryAccept(err):
					l.backoff(err)
				default:
					return nil, ioError(fn, err)
				}
			}
		} else if !l.accepting {
			l.accepting = true
			var c net.Conn
			var err error
			// The goroutine refers to the listener's parts, not to it,
			// and the loop's part to it weakly: a listener dropped
			// meanwhile is collected and closed (handle.Handle), ending the
			// accept.
			e, ln, addr, warned, done := l.Eng, l.ln, l.addr, l.warned, l.done
			l.Eng.Go(func() { c, err = acceptRetrying(e, ln, addr, warned, done) }, handle.Weakly(l, func(l *Listener) { l.accepted(c, err) }))
		}
		if err := stream.WaitOn(x, &l.waiters, l, timeout, op); err != nil {
			return nil, err
		}
	}
}

// acceptRetrying runs on the accepting goroutine: it accepts from ln,
// retrying temporary failures (SPEC 7: out of file descriptors, say)
// after a pause of 5 ms doubling to 1 s, as net/http does. The first such
// failure of a listener is reported on stderr, once (warned). Closing
// done (the listener) or the engine ends a pause at once.
func acceptRetrying(e *loop.Engine, ln net.Listener, addr string, warned *atomic.Bool, done chan struct{}) (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err == nil || !TemporaryAccept(err) {
			return c, err
		}
		delay = nextAcceptDelay(delay)
		if warned.CompareAndSwap(false, true) {
			e.Post(func() { WarnAccept(e, addr, err) })
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return nil, net.ErrClosed
		case <-e.Context().Done():
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

// Retrying wraps ln, bound at addr, for a Go server that accepts from
// it (http.serve's): a temporary failure to accept (out of file
// descriptors, say) is retried as net.listen's are, and said once on
// stderr. net/http retries it too, but logs every attempt, which a
// client that opens many connections would decide.
func Retrying(e *loop.Engine, ln net.Listener, addr string) net.Listener {
	return &retryingListener{Listener: ln, eng: e, addr: addr, done: make(chan struct{})}
}

type retryingListener struct {
	net.Listener
	eng    *loop.Engine
	addr   string
	warned atomic.Bool
	done   chan struct{} // closed by Close: ends a retry's pause
	once   sync.Once
}

func (l *retryingListener) Accept() (net.Conn, error) {
	return acceptRetrying(l.eng, l.Listener, l.addr, &l.warned, l.done)
}

func (l *retryingListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// TemporaryAccept reports whether an accept failure is one to retry: the
// process or the system is out of descriptors or memory for now, or the
// peer gave up before its connection was taken.
func TemporaryAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EPROTO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// accepted runs on the loop with what the accepting goroutine got.
func (l *Listener) accepted(c net.Conn, err error) {
	l.accepting = false
	switch {
	case l.closed:
		if c != nil {
			c.Close()
		}
		return
	case err != nil:
		l.aerr = err
	default:
		l.pending = append(l.pending, c)
	}
	l.waiters.Broadcast(nil, nil)
}

func (l *Listener) close() {
	if l.closed {
		return
	}
	l.closed = true
	close(l.done)
	l.pause.Stop()
	if l.raw != nil {
		l.raw.Close()
		l.raw = nil
	}
	l.CloseFD()
	for _, c := range l.pending {
		c.Close()
	}
	l.pending = nil
	l.waiters.Broadcast(nil, nil)
}

// ---- Starlark value ----

func (l *Listener) String() string        { return fmt.Sprintf("<listener %s>", l.addr) }
func (l *Listener) Type() string          { return "Listener" }
func (l *Listener) Freeze()               {}
func (l *Listener) OwnedByLoop()          {}
func (l *Listener) Truth() starlark.Bool  { return true }
func (l *Listener) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(l)) >> 4), nil }
func (l *Listener) AttrNames() []string   { return listenerMethods.Names("addr", "port") }

var listenerMethods = starutil.NewMethods("Listener", map[string]starutil.Func{
	"accept": loop.Retrying(listenerAccept), // an accept that waits took nothing: it runs again once woken
	"close":  listenerClose,
})

func (l *Listener) Attr(name string) (starlark.Value, error) {
	switch name {
	case "addr":
		return starlark.String(l.addr), nil
	case "port":
		return starlark.MakeInt(l.port), nil
	}
	return listenerMethods.Bind(name, l), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (l *Listener) Method(name string) *starlark.Builtin { return listenerMethods.Method(name) }

// acceptOp names accept in the messages of `for conn in listener`, as
// the method does.
const acceptOp = "Listener.accept"

func listenerAccept(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "timeout?", &timeout); err != nil {
		return nil, loop.ValueError(err)
	}
	d, err := loop.TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	return b.Receiver().(*Listener).accept(x, fn, d)
}

func listenerClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	b.Receiver().(*Listener).close()
	return starlark.None, nil
}

// Iterate makes `for conn in listener` accept until the listener closes.
func (l *Listener) Iterate() starlark.Iterator { return &listenerIter{l} }

type listenerIter struct{ l *Listener }

// Next accepts on behalf of whatever runs the loop (an Iterator gets no
// thread, so the task comes from CurrentExec). Closing the listener ends
// the loop; any other failure (cancellation included) is raised in the
// iterating thread.
func (it *listenerIter) Next(p *starlark.Value) bool {
	x := it.l.Eng.CurrentExec()
	if x == nil || x.Task == nil {
		return false
	}
	c, err := it.l.accept(x, acceptOp, loop.NoTimeout)
	if err != nil {
		if !it.l.closed {
			x.Raise(loop.ToError(err))
		}
		return false
	}
	*p = c
	return true
}

func (it *listenerIter) Done() {}

// ---- dial ----

type dialReason string

func (r dialReason) WaitingOn() string { return "dial " + string(r) }

func dial(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var addr string
	var timeout, ca starlark.Value = starlark.None, starlark.None
	var useTLS, insecure bool
	var serverName starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn, args, kwargs, "address", &addr, "timeout?", &timeout,
		"tls?", &useTLS, "server_name?", &serverName, "ca?", &ca, "insecure?", &insecure); err != nil {
		return nil, loop.ValueError(err)
	}
	d, err := loop.TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	x, network, address, err := openArgs(th, fn, addr, false)
	if err != nil {
		return nil, err
	}
	var cfg *tls.Config
	if useTLS {
		if cfg, err = dialTLS(x, fn, network, address, serverName, ca, insecure); err != nil {
			return nil, err
		}
	} else if serverName != starlark.None || ca != starlark.None || insecure {
		return nil, loop.Errorf(loop.KindValue, "%s: server_name, ca and insecure need tls=True", fn)
	}
	// A cancelled task must fail before the connection is attempted.
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	path := address
	var via *os.File // a confined unix socket's descriptor (unix.go)
	if network == "unix" {
		if address, via, err = unixPlace(e, fn, path, false); err != nil {
			return nil, err
		}
	}
	// Own goroutine: connecting waits on the network (and on name
	// resolution), and so does a TLS handshake. A timed-out or
	// interrupted dial is aborted through ctx; a connection made too late
	// is closed.
	var c net.Conn
	var tc *tls.Conn
	var ad *tlsAdapter
	var hsErr error
	// Op names the address in the timeout's error, as a refusal names it:
	// "net.dial to 10.1.2.3:80 exceeded 0.3s".
	_, err = x.Offload(loop.Offload{Why: dialReason(addr), Op: fn + " to " + addr, Timeout: d, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			var dl net.Dialer
			var err error
			c, err = dl.DialContext(ctx, network, address)
			if via != nil {
				via.Close()
			}
			if err == nil && cfg != nil {
				ad = &tlsAdapter{Conn: c}
				tc = tls.Client(ad, cfg)
				if hsErr = tc.HandshakeContext(ctx); hsErr != nil {
					c.Close()
					c = nil
				}
			}
			return nil, err
		},
		Drop: func(starlark.Value, error) {
			if c != nil {
				c.Close()
			}
		}})
	if err != nil && via != nil {
		return nil, unixError(fn, path, err)
	}
	if err != nil {
		return nil, ioError(fn, err)
	}
	if hsErr != nil {
		return nil, handshakeError(fn, addr, hsErr)
	}
	cn, err := newConn(e, c)
	if err != nil {
		return nil, err
	}
	if via != nil {
		cn.remote = "unix:" + path
		cn.r.SetLabel(cn.remote)
	}
	if tc != nil {
		return newTLSConn(cn, tc, ad, true), nil
	}
	cn.own()
	return cn, nil
}

// dialTLS returns net.dial's TLS configuration: the certificate is
// checked for server_name, by default the host of the address (which a
// unix socket has not: it needs server_name, or insecure).
func dialTLS(x *loop.Exec, fn, network, address string, serverName, ca starlark.Value, insecure bool) (*tls.Config, error) {
	name := ""
	switch v := serverName.(type) {
	case starlark.NoneType:
		if network != "unix" {
			name, _, _ = net.SplitHostPort(address)
		} else if !insecure {
			return nil, loop.Errorf(loop.KindValue, "%s: a TLS connection over a unix socket needs server_name (or insecure=True)", fn)
		}
	case starlark.String:
		if err := CheckHost(fn, "server_name", string(v)); err != nil {
			return nil, err
		}
		name = string(v)
	default:
		return nil, loop.Errorf(loop.KindValue, "%s: server_name: got %s, want string or None", fn, serverName.Type())
	}
	return ClientTLS(x, fn, name, ca, insecure)
}
