package net

import (
	"context"
	"fmt"
	"net"
	"unsafe"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/handle"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
)

// A Socket is a UDP socket. Datagrams are received by one goroutine at a
// time into its own buffer; one that arrives while no task waits is kept
// for the next recv_from. Sends go through a goroutine each (a full send
// buffer must not stall the loop; name resolution may wait too).
type Socket struct {
	bound starutil.Bound // its methods, bound once
	*handle.Handle
	pc        *net.UDPConn
	addr      string
	port      int
	pending   []datagram
	rerr      error
	receiving bool
	waiters   loop.WakerList
	closed    bool
}

type datagram struct {
	data []byte
	from string
}

func (s *Socket) WaitingOn() string { return "recv_from on " + s.addr }

func udp(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var addr string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "address", &addr); err != nil {
		return nil, loop.ValueError(err)
	}
	x, network, address, err := openArgs(th, b.Name(), addr, true)
	if err != nil {
		return nil, err
	}
	la, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, ioError(b.Name(), err)
	}
	pc, err := net.ListenUDP(network, la)
	if err != nil {
		return nil, ioError(b.Name(), err)
	}
	s := &Socket{pc: pc}
	s.addr, s.port = AddrPort(pc.LocalAddr())
	s.Handle = handle.New(s, x.Task.Engine(), pc)
	return s, nil
}

func (s *Socket) recvFrom(x *loop.Exec, fn string) (starlark.Value, error) {
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	for {
		if s.closed {
			return nil, loop.Errorf(loop.KindClosed, "%s: socket is closed", fn)
		}
		if len(s.pending) > 0 {
			d := s.pending[0]
			s.pending = s.pending[1:]
			return starlark.Tuple{starlark.String(d.data), starlark.String(d.from)}, nil
		}
		if s.rerr != nil {
			err := s.rerr
			s.rerr = nil
			return nil, ioError(fn, err)
		}
		if !s.receiving {
			// One receive at a time, waited for in Go's netpoller; a
			// datagram nobody waits for any more stays for the next.
			s.receiving = true
			buf := make([]byte, 65536)
			var n int
			var from *net.UDPAddr
			var err error
			// The goroutine refers to the socket's descriptor, not to
			// it, and the loop's part to it weakly: a socket dropped
			// meanwhile is collected and closed (handle.Handle), ending the
			// receive.
			pc := s.pc
			s.Eng.Go(func() { n, from, err = pc.ReadFromUDP(buf) }, handle.Weakly(s, func(s *Socket) {
				s.receiving = false
				if s.closed {
					return
				}
				if err != nil {
					s.rerr = err
				} else {
					s.pending = append(s.pending, datagram{buf[:n:n], formatAddr(from)})
				}
				s.waiters.Broadcast(nil, nil)
			}))
		}
		if err := stream.WaitOn(x, &s.waiters, s, loop.NoTimeout, fn); err != nil {
			return nil, err
		}
	}
}

type sendReason string

func (r sendReason) WaitingOn() string { return "send_to " + string(r) }

func (s *Socket) sendTo(x *loop.Exec, fn, data, addr string) error {
	// A cancelled task must fail before the datagram is on its way.
	if err := x.Checkpoint(); err != nil {
		return err
	}
	if s.closed {
		return loop.Errorf(loop.KindClosed, "%s: socket is closed", fn)
	}
	if _, _, err := splitAddress(fn, addr, true); err != nil {
		return err
	}
	// Own goroutine: resolving a name and a full send buffer both wait.
	_, err := x.Offload(loop.Offload{Why: sendReason(addr), Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(context.Context) (starlark.Value, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err == nil {
				_, err = s.pc.WriteToUDP([]byte(data), ua)
			}
			return nil, err
		}})
	if err != nil {
		return ioError(fn, err)
	}
	return nil
}

func (s *Socket) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.CloseFD()
	s.pending = nil
	s.waiters.Broadcast(nil, nil)
}

// ---- Starlark value ----

func (s *Socket) String() string        { return fmt.Sprintf("<udp socket %s>", s.addr) }
func (s *Socket) Type() string          { return "Socket" }
func (s *Socket) Freeze()               {}
func (s *Socket) OwnedByLoop()          {}
func (s *Socket) Truth() starlark.Bool  { return true }
func (s *Socket) Hash() (uint32, error) { return uint32(uintptr(unsafe.Pointer(s)) >> 4), nil }
func (s *Socket) AttrNames() []string   { return socketMethods.Names("addr", "port") }

var socketMethods = starutil.NewMethods("Socket", map[string]starutil.Func{
	"send_to":   socketSendTo,
	"recv_from": loop.Retrying(socketRecvFrom), // a receive that waits took nothing: it runs again once woken
	"close":     socketClose,
})

func (s *Socket) Attr(name string) (starlark.Value, error) {
	switch name {
	case "addr":
		return starlark.String(s.addr), nil
	case "port":
		return starlark.MakeInt(s.port), nil
	}
	return socketMethods.BindOnce(name, s, &s.bound), nil
}

func socketSendTo(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var data starutil.Bytes
	var addr string
	if err := starutil.Unpack(fn, args, kwargs, "data", &data, "address", &addr); err != nil {
		return nil, err
	}
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if err := b.Receiver().(*Socket).sendTo(x, fn, string(data), addr); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func socketRecvFrom(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	return b.Receiver().(*Socket).recvFrom(x, fn)
}

func socketClose(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	b.Receiver().(*Socket).close()
	return starlark.None, nil
}
