package net

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acceptFD accepts one connection on ln as the loop does (tryAccept):
// a non-blocking descriptor of its own.
func acceptFD(t *testing.T, ln net.Listener) int {
	t.Helper()
	rc, err := ln.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	nfd := -1
	var aerr error
	// Control does not wait for a connection: retry until the dial lands.
	for range 1000 {
		rc.Control(func(fd uintptr) {
			nfd, _, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		})
		if aerr != syscall.EAGAIN {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, aerr)
	return nfd
}

// readSome reads from c, retrying while nothing has arrived (the
// descriptor never blocks).
func readSome(t *testing.T, c *fdConn, buf []byte) (int, error) {
	t.Helper()
	for range 5000 {
		n, err := c.Read(buf)
		if err != syscall.EAGAIN {
			return n, err
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nothing arrived")
	return 0, nil
}

// tcpPair is a listener, a client connected to it, and the connection
// accepted as an fdConn; the test's end closes all three.
func tcpPair(t *testing.T) (net.Listener, net.Conn, *fdConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	peer, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { peer.Close() })
	c, err := newFDConn(acceptFD(t, ln))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return ln, peer, c
}

func getsockopt(t *testing.T, c *fdConn, level, opt int) int {
	t.Helper()
	var v int
	require.NoError(t, fdRaw{c}.Control(func(fd uintptr) {
		var err error
		v, err = syscall.GetsockoptInt(int(fd), level, opt)
		require.NoError(t, err)
	}))
	return v
}

// TestFDConnTCP: an accepted TCP connection the loop owns has the
// addresses and socket options net.FileConn would give it, reads and
// writes through its RawConn, half-closes, and once closed refuses every
// use with net.ErrClosed.
func TestFDConnTCP(t *testing.T) {
	ln, peer, c := tcpPair(t)

	assert.True(t, c.tcp)
	assert.Equal(t, ln.Addr().String(), c.LocalAddr().String())
	assert.Equal(t, peer.LocalAddr().String(), c.RemoteAddr().String())
	assert.NotZero(t, getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_NODELAY))
	assert.NotZero(t, getsockopt(t, c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE))
	assert.Equal(t, 15, getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE))
	assert.Equal(t, 15, getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL))
	assert.Equal(t, 9, getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT))

	// Nothing to read yet: the read says so at once.
	buf := make([]byte, 16)
	_, err := c.Read(buf)
	assert.Equal(t, syscall.EAGAIN, err)
	// A RawConn callback that asks to wait is refused: nothing would wake it.
	assert.Equal(t, syscall.EAGAIN, fdRaw{c}.Read(func(uintptr) bool { return false }))

	_, err = peer.Write([]byte("ping"))
	require.NoError(t, err)
	n, err := readSome(t, c, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf[:n]))

	n, err = c.Write([]byte("pong"))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	require.NoError(t, c.CloseWrite())
	got, err := io.ReadAll(peer)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(got), "CloseWrite ends the stream the peer reads")

	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Close(), net.ErrClosed)
	_, err = c.Read(buf)
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.ErrorIs(t, fdRaw{c}.Write(func(uintptr) bool { return true }), net.ErrClosed)
	assert.ErrorIs(t, c.CloseWrite(), net.ErrClosed)
}

// TestFDConnCloseWriteFails: a half-close the socket refuses (the peer
// reset the connection) is an error, not a silent success.
func TestFDConnCloseWriteFails(t *testing.T) {
	_, peer, c := tcpPair(t)
	require.NoError(t, peer.(*net.TCPConn).SetLinger(0))
	require.NoError(t, peer.Close()) // sends RST
	_, err := readSome(t, c, make([]byte, 8))
	require.ErrorIs(t, err, syscall.ECONNRESET)
	err = c.CloseWrite()
	assert.ErrorIs(t, err, syscall.ENOTCONN)
}

// TestFDConnUnix: a unix socket's connection has unix addresses and is
// not TCP (a short read does not prove it drained, Conn.drains).
func TestFDConnUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer ln.Close()
	peer, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer peer.Close()
	c, err := newFDConn(acceptFD(t, ln))
	require.NoError(t, err)
	defer c.Close()
	assert.False(t, c.tcp)
	assert.Equal(t, "unix", c.LocalAddr().Network())
	assert.Equal(t, path, c.LocalAddr().String())
}

// TestFDConnCloseRace: Close from another goroutine (the engine's context
// ending) while the loop reads never closes the descriptor under a
// system call; each read either runs or reports net.ErrClosed. Run with
// -race.
func TestFDConnCloseRace(t *testing.T) {
	_, _, c := tcpPair(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 8)
		for {
			_, err := c.Read(buf)
			if err == net.ErrClosed || !assert.Equal(t, syscall.EAGAIN, err) {
				return
			}
			runtime.Gosched()
		}
	}()
	time.Sleep(time.Millisecond)
	require.NoError(t, c.Close())
	wg.Wait()
}

// TestConnectionsOwned: every plain connection on the reactor is an
// fdConn, accepted or dialled, over TCP or a unix socket, and works as
// one; a TLS connection, whose handshake a goroutine reads blocking,
// stays a net.Conn.
func TestConnectionsOwned(t *testing.T) {
	mod := Module()
	mod.Members["owned"] = starlark.NewBuiltin("owned", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
			return nil, err
		}
		c, ok := v.(*Conn)
		if t, isTLS := v.(*TLSConn); isTLS {
			c, ok = t.sock, true
		}
		if !ok {
			return nil, fmt.Errorf("owned: got %s", v.Type())
		}
		_, own := c.c.(*fdConn)
		return starlark.Bool(own), nil
	})
	dir := t.TempDir()
	got, err := moduletest.Run(t, loop.Permissions{Net: true, Write: []string{dir}}, "net", mod, fmt.Sprintf(`
def echo_once(ln):
    c = ln.accept()
    c.write("%%s %%s\n" %% (net.owned(c), c.read_line().strip()))
    c.close()
def roundtrip(addr, **kw):
    c = net.dial(addr, **kw)
    c.write("hello\n")
    line = c.read_line().strip()
    c.close()
    return "dialled %%s, accepted %%s" %% (net.owned(c), line)
for addr in ["127.0.0.1:0", "unix:%s/s.sock"]:
    ln = net.listen(addr)
    spawn(echo_once, ln)
    print(roundtrip(ln.addr))
    ln.close()
cert, key = net.self_signed()
ln = net.listen("127.0.0.1:0", cert=cert, key=key)
spawn(echo_once, ln)
print("tls", roundtrip(ln.addr, tls=True, ca=cert))
`, dir))
	require.NoError(t, err)
	assert.Equal(t, "dialled True, accepted True hello\ndialled True, accepted True hello\ntls dialled False, accepted False hello\n", got)
}
