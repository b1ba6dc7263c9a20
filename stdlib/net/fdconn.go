package net

import (
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// An fdConn is a connection the loop owns outright: its
// descriptor is in the engine's reactor and nowhere else. A net.Conn made
// with net.FileConn would also sit in Go's netpoller, whose own epoll
// then wakes a runtime thread for every segment that arrives and every
// ACK that frees room, to find no goroutine waiting: in an echo server
// under load that was a tenth of the CPU, besides FileConn's second
// descriptor and the runtime's locking around every read and write. A
// plain (not TLS) connection on the reactor is an fdConn: one accepted
// is made so (Listener.tryAccept), one dialled becomes so (Conn.own).
// One that a goroutine must read or write blocking (a TLS handshake, an
// engine without a reactor) is a net.Conn as before.
//
// Only the loop reads and writes it, through SyscallConn with callbacks
// that never wait. Close may also come from another goroutine (the
// engine's context ending, handle.Handle.SetCloser), so every use of the descriptor
// holds mu: a descriptor is never closed under a system call and its
// number reused meanwhile.
type fdConn struct {
	mu           sync.Mutex
	fd           int // -1 once closed
	tcp          bool
	laddr, raddr net.Addr
}

// newFDConn takes ownership of fd, a connected non-blocking stream
// socket, set up as net.FileConn would: TCP without Nagle's delay and
// with Go's default keep-alive (probes after 15 s idle, every 15 s, 9
// unanswered end it).
func newFDConn(fd int) (*fdConn, error) {
	lsa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	rsa, _ := syscall.Getpeername(fd) // nil once the peer is gone: reads tell
	c := &fdConn{fd: fd, laddr: sockaddrAddr(lsa), raddr: sockaddrAddr(rsa)}
	if _, c.tcp = c.laddr.(*net.TCPAddr); c.tcp {
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9)
	}
	return c, nil
}

// sockaddrAddr is sa as a net.Addr (nil for none).
func sockaddrAddr(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}

// use runs f with the descriptor unless the connection is closed.
func (c *fdConn) use(f func(fd uintptr) bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return false, net.ErrClosed
	}
	return f(uintptr(c.fd)), nil
}

func (c *fdConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return net.ErrClosed
	}
	err := syscall.Close(c.fd)
	c.fd = -1
	return err
}

// CloseWrite shuts down the sending side (Conn.CloseWrite).
func (c *fdConn) CloseWrite() error {
	var serr error
	if _, err := c.use(func(fd uintptr) bool { serr = syscall.Shutdown(int(fd), syscall.SHUT_WR); return true }); err != nil {
		return err
	}
	return os.NewSyscallError("shutdown", serr)
}

// Read and Write never wait: the loop calls neither (it reads and writes
// through SyscallConn), but a net.Conn must have them.
func (c *fdConn) Read(b []byte) (int, error)  { return c.io(syscall.Read, b) }
func (c *fdConn) Write(b []byte) (int, error) { return c.io(syscall.Write, b) }

func (c *fdConn) io(op func(fd int, b []byte) (int, error), b []byte) (int, error) {
	var n int
	var opErr error
	if _, err := c.use(func(fd uintptr) bool { n, opErr = op(int(fd), b); return true }); err != nil {
		return 0, err
	}
	return max(n, 0), opErr
}

func (c *fdConn) LocalAddr() net.Addr  { return c.laddr }
func (c *fdConn) RemoteAddr() net.Addr { return c.raddr }

// Deadlines have no meaning where nothing waits; the loop's own timers
// bound a script's waits.
func (c *fdConn) SetDeadline(time.Time) error      { return nil }
func (c *fdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fdConn) SetWriteDeadline(time.Time) error { return nil }

func (c *fdConn) SyscallConn() (syscall.RawConn, error) { return fdRaw{c}, nil }

// fdRaw is an fdConn's syscall.RawConn. Its Read and Write run f once:
// the loop's callbacks never ask to wait.
type fdRaw struct{ c *fdConn }

func (r fdRaw) Control(f func(fd uintptr)) error {
	_, err := r.c.use(func(fd uintptr) bool { f(fd); return true })
	return err
}

func (r fdRaw) Read(f func(fd uintptr) bool) error  { return r.once(f) }
func (r fdRaw) Write(f func(fd uintptr) bool) error { return r.once(f) }

func (r fdRaw) once(f func(fd uintptr) bool) error {
	done, err := r.c.use(f)
	if err == nil && !done {
		err = syscall.EAGAIN
	}
	return err
}

// Handoff gives c, a connection the loop owns (TryAccept), to Go's
// netpoller: the net.Conn it returns is for goroutines to read and write
// blocking (a Go server's), and c itself is closed. Stop c's watch
// first. http.serve hands on a connection whose request its own path
// does not serve (a body, an upgrade) this way.
func Handoff(c net.Conn) (net.Conn, error) {
	fc := c.(*fdConn)
	var f *os.File
	var derr error
	err := fdRaw{fc}.Control(func(fd uintptr) {
		var nfd int
		if nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); derr == nil {
			f = os.NewFile(uintptr(nfd), "")
		}
	})
	fc.Close()
	if err == nil && derr != nil {
		err = os.NewSyscallError("dup", derr)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FileConn(f)
}
