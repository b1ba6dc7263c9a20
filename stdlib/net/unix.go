package net

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/corolang/coro/loop"
)

// Unix socket paths in a sandbox (SPEC 7). A socket is a file: binding one
// creates it and connecting to one writes to it, so both need the path
// under a write grant (besides --allow-net), and both go through the
// grant's root in the step that uses the path, as every fs call does. A
// listener binds by the descriptor of its folder (/proc/self/fd/N/name)
// and keeps that descriptor until it closes, when the socket file is
// removed through it; a dial connects by an O_PATH descriptor of the
// socket itself. Outside a sandbox (a write grant of "/") the path is
// used as given.

// maxUnixPath is the longest path a unix socket can be bound or
// connected by: the kernel's sun_path holds 108 bytes, the path's
// terminating NUL included. An abstract name ("@name") has no NUL: 108.
// A longer one fails in bind(2) or connect(2) with EINVAL, which read as
// an io error, "invalid argument"; it is a bad argument, a value error
// saying what is wrong, found before the socket is made.
const maxUnixPath = 107

// unixPlace resolves path for net call fn. It returns the address to give
// package net and the descriptor that address goes through, nil when the
// path is used as given; the caller closes it once done with the address.
// A path too long for a socket is a value error. In a sandbox a listener
// is bound by its folder's descriptor, so the limit is on the file's
// name, and a dial connects by a descriptor of the socket, whose path may
// be of any length.
func unixPlace(e *loop.Engine, fn, path string, listen bool) (string, *os.File, error) {
	p, err := e.PlaceWrite(fn, path)
	if err != nil {
		return path, nil, err
	}
	if !p.Confined() {
		limit := maxUnixPath
		if strings.HasPrefix(path, "@") {
			limit++
		}
		if len(path) > limit {
			return "", nil, loop.Errorf(loop.KindValue, "%s: unix:%s: path too long for a unix socket (%d bytes; the limit is %d)", fn, path, len(path), limit)
		}
		return path, nil, nil
	}
	if listen {
		dir, base, err := p.Dir(true)
		if err != nil {
			return "", nil, unixError(fn, path, err)
		}
		address := loop.FdPath(dir) + "/" + base
		if len(address) > maxUnixPath {
			dir.Close()
			return "", nil, loop.Errorf(loop.KindValue, "%s: unix:%s: file name too long for a unix socket in a sandbox, which binds it by its folder (%d bytes; the limit is %d)",
				fn, path, len(base), maxUnixPath-(len(address)-len(base)))
		}
		return address, dir, nil
	}
	f, err := p.OpenPath()
	if err != nil {
		return "", nil, unixError(fn, path, err)
	}
	return loop.FdPath(f), f, nil
}

// unixError is ioError for a confined unix socket: it names the socket as
// the script did, never the descriptor's name.
func unixError(fn, path string, err error) *loop.Error {
	var ce *loop.Error
	if errors.As(err, &ce) {
		return ce
	}
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	return ioError(fn, fmt.Errorf("unix:%s: %w", path, err))
}

// confinedUnixListener is a listener bound through its folder's descriptor:
// it reports the address the script named, and closes the descriptor after
// the listener (whose Close removes the socket file through it).
type confinedUnixListener struct {
	*net.UnixListener
	dir  *os.File
	addr *net.UnixAddr
}

func (l *confinedUnixListener) Addr() net.Addr { return l.addr }

func (l *confinedUnixListener) Close() error {
	err := l.UnixListener.Close()
	l.dir.Close()
	return err
}

// listenUnix binds a unix stream listener at the script's path.
func listenUnix(e *loop.Engine, fn, path string) (net.Listener, error) {
	address, dir, err := unixPlace(e, fn, path, true)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", address)
	if dir == nil {
		if err != nil {
			return nil, ioError(fn, err)
		}
		return ln, nil
	}
	if err != nil {
		dir.Close()
		return nil, unixError(fn, path, err)
	}
	return &confinedUnixListener{UnixListener: ln.(*net.UnixListener), dir: dir, addr: &net.UnixAddr{Name: path, Net: "unix"}}, nil
}
