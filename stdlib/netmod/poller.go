//go:build linux

package netmod

import (
	"context"
	"os"
	"runtime"
	"sync"
	"syscall"

	"github.com/corolang/coro/engine/core"
)

// A poller tells an engine's loop which connections became readable. It
// is an edge-triggered epoll set of its own beside Go's netpoller: one
// goroutine blocks in epoll_wait and posts each batch of events to the
// loop as ONE completion. With many connections busy, a wake-up of the
// loop then serves them all, where a goroutine per waiting read would
// cost a goroutine start, a netpoller wake-up and a post per read.
//
// Edge-triggered: an event arrives whenever new data reaches a socket, so
// a connection is read on the loop until a read finds nothing (EAGAIN);
// only then does it wait for the next event (Conn.readable).
type poller struct {
	eng   *core.Engine
	epfd  int
	file  *os.File // epfd in Go's netpoller: it is readable when events are ready
	conns map[uint64]*Conn
	next  uint64
}

var (
	pollersMu sync.Mutex
	pollers   = map[*core.Engine]*poller{}
)

// pollerFor returns the engine's poller, starting it on first use; nil if
// the system refuses (then connections wait through Go's netpoller).
func pollerFor(e *core.Engine) *poller {
	pollersMu.Lock()
	defer pollersMu.Unlock()
	if p, ok := pollers[e]; ok {
		return p
	}
	// The entry (nil if the system refuses) goes with the engine; the
	// poller's descriptor too, which ends run's wait. pollersMu is held
	// until the entry is final, so this runs after even for an engine
	// already closed.
	pollers[e] = nil
	context.AfterFunc(e.Context(), func() {
		pollersMu.Lock()
		p := pollers[e]
		delete(pollers, e)
		pollersMu.Unlock()
		if p != nil {
			p.file.Close()
		}
	})
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil
	}
	// The goroutine does not block in epoll_wait itself: a goroutine in a
	// blocking system call keeps its P, and the loop goroutine it just
	// woke would wait for the scheduler to take that P back. Instead the
	// epoll descriptor sits in Go's netpoller like any socket.
	f := os.NewFile(uintptr(epfd), "coro-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	p := &poller{eng: e, epfd: epfd, file: f, conns: map[uint64]*Conn{}, next: 1}
	pollers[e] = p
	go p.run(rc)
	return p
}

func setToken(ev *syscall.EpollEvent, tok uint64) {
	ev.Fd = int32(tok)
	ev.Pad = int32(tok >> 32)
}

func tokenOf(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

func (p *poller) run(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 256)
	var n int
	collect := func(fd uintptr) bool {
		for {
			k, err := syscall.EpollWait(int(fd), events, 0)
			if err == syscall.EINTR {
				continue
			}
			n = k
			return k != 0 // none ready: wait in the netpoller
		}
	}
	for {
		if err := rc.Read(collect); err != nil {
			return // closed with the engine
		}
		batch := make([]readiness, n)
		for i := range batch {
			batch[i] = readiness{tokenOf(&events[i]), events[i].Events}
		}
		p.eng.Post(func() { p.ready(batch) })
		// Let the loop goroutine, just woken, run on this P at once: the
		// next epoll_wait then comes after it has served this batch (and
		// collects what arrived meanwhile as one batch), and the loop
		// goroutine does not wait for another thread to steal it.
		runtime.Gosched()
	}
}

type readiness struct {
	token  uint64
	events uint32
}

// ready runs on the loop with a batch of readable connections.
func (p *poller) ready(batch []readiness) {
	for _, r := range batch {
		if c := p.conns[r.token]; c != nil {
			if r.events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				// The peer ended its side (or failed): a short read no
				// longer proves the socket empty, since the end of
				// stream is still to be read, and no event will follow.
				c.drains = false
			}
			c.readableNow()
		}
	}
}

// add registers c (loop only); false if epoll refuses the descriptor.
func (p *poller) add(c *Conn) bool {
	tok := p.next
	p.next++
	var ok bool
	c.rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET}
		setToken(&ev, tok)
		ok = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev) == nil
	})
	if ok {
		c.token = tok
		p.conns[tok] = c
	}
	return ok
}

// remove unregisters c before its descriptor is closed (loop only).
func (p *poller) remove(c *Conn) {
	delete(p.conns, c.token)
	c.rc.Control(func(fd uintptr) {
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// epollET is EPOLLET as the uint32 the event mask is (syscall declares it
// as a negative int).
const epollET = 1 << 31
