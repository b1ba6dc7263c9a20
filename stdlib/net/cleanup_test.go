package net_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestCloseReleasesSockets: a run cancelled while tasks wait in accept,
// read and dial leaves no goroutine behind once the engine is closed
// (the accept, receive and readiness goroutines, where there are any,
// all end).
func TestCloseReleasesSockets(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := scripttest.NewOutput()
	e, err := engine.New(engine.Options{Stdout: out, Stderr: out, Permissions: engine.Permissions{Net: true}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Exec(ctx, "wait.star", `
ln = net.listen("127.0.0.1:0")
other = net.listen("127.0.0.1:0")
c = net.dial(other.addr)
s = other.accept()
u = net.udp("127.0.0.1:0")
spawn(ln.accept)
spawn(c.read)
spawn(u.recv_from)
print("waiting")
s.read()
`)
		done <- err
	}()
	assert.Equal(t, "waiting", out.Next(t))
	cancel()
	err = <-done
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "cancelled"), err.Error())
	require.NoError(t, e.Close())
}

// TestOpenSocketDoesNotKeepRunGoing: SPEC 1, an open listener or
// connection nobody waits on does not keep the run going.
func TestOpenSocketDoesNotKeepRunGoing(t *testing.T) {
	r := startScript(t, "open.star", `
ln = net.listen("127.0.0.1:0")
c = net.dial(ln.addr)
s = ln.accept()
print("done")
`)
	assert.Equal(t, "done", r.Stdout.Next(t))
	assert.NoError(t, r.Wait(t))
}

// TestWaitingOnSocketIsNotDeadlock: a task parked in accept or read is
// the only task left, yet the run goes on (the outside world may still
// connect and write), and the task is woken when it does.
func TestWaitingOnSocketIsNotDeadlock(t *testing.T) {
	r := startScript(t, "peer.star", `
ln = net.listen("127.0.0.1:0")
print(ln.addr)
s = ln.accept()
print(repr(s.read()))
`)
	addr := r.Stdout.Next(t)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	time.Sleep(20 * time.Millisecond) // let main park in read (not a timing assertion)
	_, err = c.Write([]byte("late"))
	require.NoError(t, err)
	assert.Equal(t, `"late"`, r.Stdout.Next(t))
	assert.NoError(t, r.Wait(t))
}
