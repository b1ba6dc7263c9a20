// Package netmod is the script module `net` (SPEC 7): TCP and unix-socket
// listeners and connections, and UDP sockets, on the engine's loop.
//
// Every call waits without blocking the loop. Connections are read,
// written and accepted on the loop itself with non-blocking system calls,
// so a read that finds data (the common case in a busy server) costs one
// syscall and no goroutine. When a socket has nothing to read (or cannot
// take all of a write, or no connection waits), the task parks until the
// engine's reactor reports the socket ready (loop.Engine.WatchFD): the
// loop sleeps in epoll itself, and readiness reaches the socket's tasks
// on the loop with no goroutine in between. Without a reactor (not
// Linux), a goroutine waits for readiness in Go's netpoller and posts the
// wake-up back (Conn.Wait in conn.go). What a connection reads is
// buffered by package stream, whose Source the Conn is. Dialing, UDP and
// name lookups are offloaded (loop.Exec.Offload, loop.Engine.Go).
//
// TLS (SPEC 12) runs over the same non-blocking socket (TLSConn in
// tlsconn.go); the configuration every module gets its TLS from, and the
// plain-words errors of failed handshakes, are in tls.go.
package net

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
)

// Module returns the net module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "net", Members: starlark.StringDict{
		"listen":      starlark.NewBuiltin("net.listen", listen),
		"dial":        starlark.NewBuiltin("net.dial", dial),
		"udp":         starlark.NewBuiltin("net.udp", udp),
		"lookup":      starlark.NewBuiltin("net.lookup", lookup),          // tls.go
		"self_signed": starlark.NewBuiltin("net.self_signed", selfSigned), // tls.go
	}}
}

// taskFor returns the calling task's context after checking the network
// permission: every net entry point needs both.
func taskFor(th *starlark.Thread, fn string) (*loop.Exec, error) {
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if err := x.Task.Engine().CheckNet(fn); err != nil {
		return nil, err
	}
	return x, nil
}

// openArgs does what every net call that opens a socket does first: the
// calling task with the network permission, and the address split for Go.
func openArgs(th *starlark.Thread, fn, addr string, udp bool) (x *loop.Exec, network, address string, err error) {
	x, err = taskFor(th, fn)
	if err != nil {
		return nil, "", "", err
	}
	network, address, err = splitAddress(fn, addr, udp)
	if err != nil {
		return nil, "", "", err
	}
	return x, network, address, nil
}

// Listen binds a stream listener to a script address for the calling task,
// as net.listen does and for other modules that serve on one (http.serve):
// the same permission check, addresses and error kinds. Binding does not
// wait on the network: it is done on the loop.
func Listen(th *starlark.Thread, fn, addr string) (*loop.Exec, net.Listener, error) {
	x, network, address, err := openArgs(th, fn, addr, false)
	if err != nil {
		return nil, nil, err
	}
	if network == "unix" {
		ln, err := listenUnix(x.Task.Engine(), fn, address)
		return x, ln, err
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, nil, ioError(fn, err)
	}
	return x, ln, nil
}

// AddrPort returns a bound address as scripts see it (.addr) and its port
// (.port; 0 for a unix socket).
func AddrPort(a net.Addr) (string, int) { return formatAddr(a), portOf(a) }

// splitAddress turns a script address into a Go network and address:
// "unix:/path" is a unix socket, anything else "host:port" over TCP (or UDP
// when udp is set).
func splitAddress(fn, addr string, udp bool) (network, address string, err error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		if udp {
			return "", "", loop.Errorf(loop.KindValue, "%s: unix sockets are not supported for udp: %s", fn, loop.QuoteArg(addr))
		}
		if p == "" {
			return "", "", loop.Errorf(loop.KindValue, "%s: empty unix socket path in %s", fn, loop.QuoteArg(addr))
		}
		return "unix", p, nil
	}
	if err := loop.CheckNUL(fn, "address", addr); err != nil {
		return "", "", err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", loop.Errorf(loop.KindValue, "%s: bad address %s: want \"host:port\" or \"unix:/path\"", fn, loop.QuoteArg(addr))
	}
	// No host ("":80) is every local address to listen on, the local
	// host to dial.
	if why := BadHost(host); host != "" && why != "" {
		return "", "", loop.Errorf(loop.KindValue, "%s: bad address %s: the host %s", fn, loop.QuoteArg(addr), why)
	}
	network = "tcp"
	if udp {
		network = "udp"
	}
	// The port is checked here, where the address is the script's, so
	// that a bad one is a value error naming it: Go would find it later,
	// when dialing or binding, as an io-looking "lookup tcp/abc: unknown
	// port" or "address 99999: invalid port". A number is checked
	// without I/O; a service name is looked up in the local services
	// table, as net.Listen does on the loop anyway.
	if why := badPort(network, port); why != "" {
		return "", "", loop.Errorf(loop.KindValue, "%s: bad address %s: %s", fn, loop.QuoteArg(addr), why)
	}
	return network, addr, nil
}

// CheckHost fails with a value error if host, the argument what of fn
// (a host name or an IP address: "host", "server_name"), cannot be one
// (BadHost), a NUL in it as loop.CheckNUL says. Such a name was looked
// up all the same, to fail as not_found or io ("lookup a\x00b: no such
// host"), a NUL printed raw.
func CheckHost(fn, what, host string) error {
	if err := loop.CheckNUL(fn, what, host); err != nil {
		return err
	}
	if why := BadHost(host); why != "" {
		return loop.Errorf(loop.KindValue, "%s: %s %s %s", fn, what, loop.QuoteArg(host), why)
	}
	return nil
}

// BadHost says why host cannot be a host name or an IP address, or ""
// when it may be one: it is empty, longer than a DNS name (253 bytes),
// or has a blank, a control character, a '/' or (but in an IPv6
// address) a ':'. Every host a script gives (addresses, net.lookup,
// TLS server names, URLs) is held to this one rule, up front.
func BadHost(host string) string {
	switch {
	case host == "":
		return "is empty"
	case len(host) > 253:
		return "is longer than 253 bytes"
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "" // an IP address, an IPv6 one with its zone too
	}
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case c == ' ':
			return "has a space"
		case c < ' ' || c == 0x7f:
			return "has a control character"
		case c == '/', c == ':':
			return fmt.Sprintf("has a '%c'", c)
		}
	}
	return ""
}

// badPort says why port is none, or "" when it is a port: a decimal
// number up to 65535, or a service name (letters, digits, '-', '_' and
// '.', a letter among them: "http") that the local services table knows.
// net.LookupPort alone takes more: an empty port as 0, so that listen
// picked a random port and dial dialled port 0 (the reference gives
// "host:0" for any port, nothing for ""), a sign ("+80", "-0"), and
// blanks before the digits ("127.0.0.1: 80", "\t22"), which Go takes
// for a service name and the C library's resolver, when Go uses it,
// reads as the number after them.
func badPort(network, port string) string {
	if port == "" {
		return "no port"
	}
	letter := false
	for i := 0; i < len(port); i++ {
		switch c := port[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			letter = true
		case '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return "invalid port"
		}
	}
	if !letter && strings.ContainsAny(port, "-_.") {
		return "invalid port" // a number with a sign or a dot, no name
	}
	if _, err := net.LookupPort(network, port); err != nil {
		return portReason(err)
	}
	return ""
}

// portReason is why net.LookupPort refused a port, without Go's
// "address 99999:" or "lookup tcp/abc:" prefix (the message quotes the
// whole address).
func portReason(err error) string {
	var ae *net.AddrError
	var de *net.DNSError
	switch {
	case errors.As(err, &ae):
		return ae.Err
	case errors.As(err, &de):
		return de.Err
	}
	return err.Error()
}

// formatAddr renders a socket address the way scripts write them. A
// unix socket that has no name (a dialing end's, usually) is "": Go
// writes it "@", which in an address names an abstract socket.
func formatAddr(a net.Addr) string {
	if a == nil {
		return ""
	}
	if a.Network() == "unix" {
		if ua, ok := a.(*net.UnixAddr); ok && (ua.Name == "" || ua.Name == "@") {
			return ""
		}
		return "unix:" + a.String()
	}
	return a.String()
}

// portOf returns the port of a TCP or UDP address, 0 for a unix socket.
func portOf(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case *net.UDPAddr:
		return a.Port
	}
	return 0
}

// ioError maps a Go network error to a coro error of the right kind (SPEC
// 4): refused, reset, eof, closed, timeout, permission, not_found, io. The
// message names the script function and the system's reason.
func ioError(fn string, err error) *loop.Error {
	var ce *loop.Error
	if errors.As(err, &ce) {
		return ce
	}
	kind := loop.KindIO
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return loop.Errorf(loop.KindEOF, "%s: end of stream", fn)
	case errors.Is(err, net.ErrClosed):
		return loop.Errorf(loop.KindClosed, "%s: use of closed connection", fn)
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = loop.KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		kind = loop.KindReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		kind = loop.KindTimeout
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		kind = loop.KindPermission
	case errors.Is(err, syscall.ENOENT):
		kind = loop.KindNotFound
	}
	return loop.Errorf(kind, "%s: %s", fn, reason(err))
}

// reason strips Go's "dial tcp 1.2.3.4:5:" prefixes down to the address and
// the system's message.
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		msg := op.Err.Error()
		var se *os.SyscallError
		if errors.As(op.Err, &se) {
			msg = se.Err.Error()
		}
		if op.Addr != nil {
			return formatAddr(op.Addr) + ": " + msg
		}
		return msg
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// IOError is ioError for other modules built on sockets (http): the same
// kinds for the same failures.
func IOError(fn string, err error) *loop.Error { return ioError(fn, err) }
