package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Children and their lifetime (SPEC 7).
//
// Every child runs in a process group of its own (setpgid), so that a
// signal to the group reaches what it started too: proc.run's timeout
// kills the whole group, and so does the engine closing. A child of
// proc.start still running when its engine closes, or when the coro
// command exits (Reap), is sent TERM, then KILL after termGrace, both
// to its group, and reaped. On Linux the child also gets the parent-death
// signal (KILL), so even a coro killed outright leaves no orphan.
//
// The parent-death signal is sent when the *thread* that forked the child
// ends, not the process. Go ends a thread when a goroutine locked to it
// exits, which any code in the process may do; so every child is forked
// on one goroutine locked to its thread (the forker), which ends only
// once no child it forked is still unreaped.

// termGrace is how long a child (and its group) has between TERM and
// KILL when its engine closes or coro exits.
const termGrace = 2 * time.Second

// A child is a started process until it is reaped and, if it was being
// terminated, until its group was dealt with.
type child struct {
	cmd      *exec.Cmd
	graceful bool          // from proc.start: TERM, then KILL
	exited   chan struct{} // closed once reaped; err is then set
	err      error         // what cmd.Wait returned
	done     chan struct{} // closed once reaped and any termination is over
	refs     int           // under childrenMu: the reaper, a termination
	termOne  sync.Once
	stop     func() bool // ends the engine-close registration
}

var (
	childrenMu sync.Mutex
	children   = map[*child]struct{}{}
)

// launch starts cmd on the forker in a process group of its own and
// registers it. A goroutine reaps it (child.exited); callers never call
// cmd.Wait. With graceful, the child is terminated (TERM, KILL after
// termGrace) when ctx is done; otherwise cmd should be an
// exec.CommandContext, whose Cancel launch makes kill the group.
func launch(ctx context.Context, cmd *exec.Cmd, graceful bool) (*child, error) {
	setProcAttr(cmd)
	if cmd.Cancel != nil {
		cmd.Cancel = func() error {
			killGroup(cmd.Process, syscall.SIGKILL)
			return nil
		}
	}
	if err := onForker(cmd.Start); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, graceful: graceful, exited: make(chan struct{}), done: make(chan struct{}), refs: 1}
	if graceful {
		ch.stop = context.AfterFunc(ctx, ch.terminate)
	}
	childrenMu.Lock()
	children[ch] = struct{}{}
	childrenMu.Unlock()
	go func() {
		ch.err = cmd.Wait()
		forkerRelease()
		close(ch.exited)
		if ch.stop != nil {
			ch.stop()
		}
		ch.unref()
	}()
	return ch, nil
}

func (ch *child) unref() {
	childrenMu.Lock()
	ch.refs--
	last := ch.refs == 0
	if last {
		delete(children, ch)
	}
	childrenMu.Unlock()
	if last {
		close(ch.done)
	}
}

// terminate sends TERM to the child's group, and KILL once the child has
// not exited after termGrace (nor the rest of its group: its group gets
// KILL once the child is gone or the grace is over, whichever is later).
// It returns at once; the termination goes on in the background and
// ch.done closes when it is over. A child already reaped is left alone.
func (ch *child) terminate() {
	ch.termOne.Do(func() {
		childrenMu.Lock()
		if ch.refs == 0 { // reaped and gone
			childrenMu.Unlock()
			return
		}
		select {
		case <-ch.exited:
			childrenMu.Unlock()
			return
		default:
		}
		ch.refs++
		childrenMu.Unlock()
		go func() {
			defer ch.unref()
			p := ch.cmd.Process
			killGroup(p, syscall.SIGTERM)
			deadline := time.NewTimer(termGrace)
			defer deadline.Stop()
			select {
			case <-ch.exited:
			case <-deadline.C:
				killGroup(p, syscall.SIGKILL)
				<-ch.exited
				return
			}
			// The child is gone; what else of its group got TERM has
			// the rest of the grace to end.
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for groupAlive(p.Pid) {
				select {
				case <-tick.C:
				case <-deadline.C:
					syscall.Kill(-p.Pid, syscall.SIGKILL)
					return
				}
			}
		}()
	})
}

// killGroup sends sig to p's process group and to p itself (which may
// have left the group).
func killGroup(p *os.Process, sig syscall.Signal) {
	if p == nil {
		return
	}
	syscall.Kill(-p.Pid, sig)
	p.Signal(sig) // os.Process knows when the child was reaped
}

// groupAlive reports whether process group pgid still has a member.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Reap terminates every child from proc.start still running (TERM, KILL
// after 2 s, to each one's process group) and waits until they are
// reaped. The coro command calls it before it exits, when engines have
// closed and their terminations may still be under way.
func Reap() {
	childrenMu.Lock()
	list := make([]*child, 0, len(children))
	for ch := range children {
		list = append(list, ch)
	}
	childrenMu.Unlock()
	for _, ch := range list {
		if ch.graceful {
			ch.terminate()
		} else { // proc.run: killed with its task
			killGroup(ch.cmd.Process, syscall.SIGKILL)
		}
	}
	for _, ch := range list {
		<-ch.done
	}
}

// ---- the forker ----

var (
	forkMu   sync.Mutex
	forkReqs chan func() // nil while no forker runs
	forkLive int         // starts under way plus children not yet reaped
)

// onForker runs start (a cmd.Start) on the forker goroutine. On success
// the caller owes a forkerRelease once the child is reaped.
func onForker(start func() error) error {
	forkMu.Lock()
	if forkReqs == nil {
		forkReqs = make(chan func())
		go forkLoop(forkReqs)
	}
	reqs := forkReqs
	forkLive++
	forkMu.Unlock()
	errc := make(chan error, 1)
	reqs <- func() { errc <- start() }
	err := <-errc
	if err != nil {
		forkerRelease()
	}
	return err
}

// forkerRelease ends the forker once nothing it forked is left.
func forkerRelease() {
	forkMu.Lock()
	defer forkMu.Unlock()
	forkLive--
	if forkLive == 0 {
		close(forkReqs)
		forkReqs = nil
	}
}

// forkLoop is the forker: locked to its thread for good, so that the
// thread ends only with the goroutine, when no child of it is left.
func forkLoop(reqs chan func()) {
	runtime.LockOSThread()
	for f := range reqs {
		f()
	}
}
