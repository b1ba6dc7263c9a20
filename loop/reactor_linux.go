//go:build linux

package loop

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reactor is the engine's epoll set and its eventfd (reactor.go). Both are
// made on first use and closed by Close (or, for an engine nobody closed,
// once it is unreachable). Loop only, except mu and evfd (signal).
type reactor struct {
	epfd    int // -1 until made
	mu      sync.Mutex
	evfd    int // -1 until made; guarded by mu for signal, which may race with Close
	watches map[uint64]*FDWatch
	next    uint64
	events  []unix.EpollEvent
	cleanup runtime.Cleanup
	fds     *reactorFDs // what cleanup closes

	// The loop sleeps with its goroutine parked in Go's netpoller, not
	// with its thread blocked in epoll_wait: an epoll set is itself
	// readable while it has events, so a duplicate of epfd (nest) sits
	// in the netpoller, and waitNested parks on it until the set has
	// events or the sleep's deadline passes. The thread then runs other
	// goroutines: net/http's, handing requests to the loop, run beside
	// it without a thread hand-off in each direction (a blocked
	// epoll_wait made the runtime hand the loop's processor to another
	// thread, and wake one again to return it). nestRead is the callback
	// RawConn.Read runs, made once; nestN is what its poll found.
	// Without nest (the netpoller refused the descriptor) the loop
	// blocks in epoll_wait itself.
	nest     *os.File
	nestRC   syscall.RawConn
	nestRead func(fd uintptr) bool
	nestN    int
	nestDL   bool // nest has a read deadline set
}

// nestReactor: sleep through Go's netpoller when it takes the epoll set
// (reactor.nest). Tests turn it off to check the blocking path.
var nestReactor = true

// reactorFDs is what an unreachable engine's cleanup closes: not the
// engine itself, which would then never become unreachable.
type reactorFDs struct{ epfd, evfd int }

// wakeToken is the eventfd's token in the epoll set; watches count from 1.
const wakeToken = 0

// An FDWatch is a descriptor registered with the engine's reactor.
type FDWatch struct {
	e     *Engine
	fd    int
	token uint64
	fn    func(IOEvents)
}

func (e *Engine) initIO() error {
	r := &e.io
	if r.epfd >= 0 {
		return nil
	}
	if e.closed {
		return errors.New("engine is closed")
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setToken(&ev, wakeToken)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return err
	}
	r.mu.Lock()
	r.epfd, r.evfd = epfd, evfd
	r.mu.Unlock()
	r.watches = map[uint64]*FDWatch{}
	r.next = wakeToken + 1
	r.events = make([]unix.EpollEvent, 256)
	if nestReactor {
		e.nestIO()
	}
	r.fds = &reactorFDs{epfd, evfd}
	r.cleanup = runtime.AddCleanup(e, func(f *reactorFDs) {
		unix.Close(f.evfd)
		unix.Close(f.epfd)
	}, r.fds)
	return nil
}

// nestIO puts a duplicate of the epoll set in Go's netpoller
// (reactor.nest); the loop keeps its blocking wait if that fails.
func (e *Engine) nestIO() {
	r := &e.io
	dfd, err := unix.FcntlInt(uintptr(r.epfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return
	}
	if err := unix.SetNonblock(dfd, true); err != nil {
		unix.Close(dfd)
		return
	}
	// os.NewFile registers a non-blocking descriptor with the netpoller;
	// only then can it take a deadline.
	f := os.NewFile(uintptr(dfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		f.Close()
		return
	}
	r.nest, r.nestRC = f, rc
	r.nestRead = func(uintptr) bool {
		n, interrupted := e.epollWait(0)
		r.nestN = n
		return n > 0 || interrupted
	}
}

func newReactor() reactor { return reactor{epfd: -1, evfd: -1} }

// closeIO closes the epoll set and the eventfd (Close). A descriptor
// still watched is simply forgotten: closing it removes it from the set.
func (e *Engine) closeIO() {
	r := &e.io
	if r.epfd < 0 {
		return
	}
	r.cleanup.Stop()
	if r.nest != nil {
		r.nest.Close()
		r.nest, r.nestRC, r.nestRead = nil, nil, nil
	}
	r.mu.Lock()
	unix.Close(r.evfd)
	r.evfd = -1
	r.mu.Unlock()
	unix.Close(r.epfd)
	r.epfd = -1
	r.watches = nil
}

// signal writes the eventfd if the loop is asleep. Any goroutine.
func (e *Engine) signal() {
	r := &e.io
	r.mu.Lock()
	if e.sleepState.CompareAndSwap(asleep, signaled) && r.evfd >= 0 {
		one := [8]byte{1}
		unix.Write(r.evfd, one[:])
	}
	r.mu.Unlock()
}

// WatchFD registers fd with the loop's reactor: fn runs on the loop with
// what fd became ready for. The registration is edge-triggered, for
// reading and writing at once: fn is called when fd becomes readable (new
// data arrived, the peer hung up) or writable again, not while it stays
// so. So a reader reads until the system says EAGAIN, and only then waits
// for the next call; a writer likewise. fd must be non-blocking (Go's
// sockets and pipes are). Stop the watch before closing fd. Loop only.
//
// Watching does not keep the run alive: a task that waits for readiness
// holds the engine (Hold) while it waits, as any wait on the outside
// world does.
func (e *Engine) WatchFD(fd int, fn func(IOEvents)) (*FDWatch, error) {
	if err := e.initIO(); err != nil {
		return nil, err
	}
	r := &e.io
	w := &FDWatch{e: e, fd: fd, token: r.next, fn: fn}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET}
	setToken(&ev, w.token)
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return nil, err
	}
	r.next++
	r.watches[w.token] = w
	return w, nil
}

// Stop unregisters the watch; fn is not called again. Loop only.
func (w *FDWatch) Stop() {
	r := &w.e.io
	if r.watches[w.token] != w {
		return
	}
	delete(r.watches, w.token)
	unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
}

// watching reports whether any descriptor is watched: only then is a
// poll without sleeping worth a system call.
func (e *Engine) watching() bool { return len(e.io.watches) > 0 }

// pollIO runs the callbacks of descriptors that are ready now, without
// sleeping. The loop calls it between rounds while tasks stay ready, and
// a computing task at its time-slice boundaries, so that sockets are
// served even while the loop never runs out of work. Loop only.
func (e *Engine) pollIO() {
	if len(e.io.watches) > 0 {
		e.epollWait(0)
	}
}

// sleepWithout is sleep for an engine whose epoll set could not be made:
// time passes, and a Post is seen after it (a closed engine gets none).
func (e *Engine) sleepWithout(d time.Duration) bool {
	if d < 0 {
		time.Sleep(10 * time.Millisecond)
		return false
	}
	time.Sleep(d)
	return true
}

// waitIO sleeps in epoll_wait for at most d (d < 0: no limit) and runs
// the callbacks of what is ready. It reports whether d passed.
func (e *Engine) waitIO(d time.Duration) bool {
	if d == 0 {
		return true
	}
	if e.io.nest != nil {
		return e.waitNested(d)
	}
	var deadline time.Time
	if d >= 0 {
		deadline = time.Now().Add(d)
	}
	for {
		ms := -1
		if d >= 0 {
			// Round up: a wait rounded down would end before the
			// timer is due, and the loop would spin until it is.
			left := time.Until(deadline)
			if left <= 0 {
				return true
			}
			ms = int(min((left+time.Millisecond-1)/time.Millisecond, 1<<31-1))
		}
		n, interrupted := e.epollWait(ms)
		if n > 0 {
			return false
		}
		if !interrupted {
			return d >= 0
		}
	}
}

// waitNested is waitIO with the loop's goroutine parked in Go's
// netpoller (reactor.nest): RawConn.Read polls the set without waiting,
// and parks until the set is readable again or the deadline passes.
func (e *Engine) waitNested(d time.Duration) bool {
	r := &e.io
	if d > 0 {
		r.nest.SetReadDeadline(time.Now().Add(d))
		r.nestDL = true
	} else if r.nestDL {
		r.nest.SetReadDeadline(time.Time{})
		r.nestDL = false
	}
	r.nestN = 0
	if err := r.nestRC.Read(r.nestRead); err != nil {
		return r.nestN == 0 // the deadline passed
	}
	return false
}

// epollWait waits up to ms milliseconds and dispatches what is ready. It
// returns the number of events, and whether a signal interrupted it.
func (e *Engine) epollWait(ms int) (int, bool) {
	r := &e.io
	var n int
	var err error
	if ms == 0 {
		n, err = r.pollNow()
	} else {
		n, err = unix.EpollWait(r.epfd, r.events, ms)
	}
	if err != nil {
		return 0, err == unix.EINTR
	}
	for i := range n {
		ev := &r.events[i]
		tok := tokenOf(ev)
		if tok == wakeToken {
			var buf [8]byte
			unix.Read(r.evfd, buf[:]) // reset it; it is non-blocking
			continue
		}
		w := r.watches[tok]
		if w == nil {
			continue // stopped by an earlier callback of this batch
		}
		var what IOEvents
		if ev.Events&(unix.EPOLLIN|unix.EPOLLPRI) != 0 {
			what |= IORead
		}
		if ev.Events&unix.EPOLLOUT != 0 {
			what |= IOWrite
		}
		if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			what |= IOHangup | IORead
		}
		w.fn(what)
	}
	return n, false
}

// pollNow is epoll_wait without a timeout, made without the runtime's
// system-call bookkeeping, as the loop's reads and writes are (package
// net's RawRead and RawWrite): the call never waits. With the
// bookkeeping, the loop's every wake-up (the nested wait polls the set
// so) woke the runtime's monitor thread from its deep sleep into a
// millisecond of 20 µs naps: 2,800 sleeps a second and 8% more CPU per
// round trip of an echo server.
func (r *reactor) pollNow() (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(r.epfd), uintptr(unsafe.Pointer(unsafe.SliceData(r.events))), uintptr(len(r.events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func setToken(ev *unix.EpollEvent, tok uint64) {
	ev.Fd = int32(tok)
	ev.Pad = int32(tok >> 32)
}

func tokenOf(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
