package net_test

import (
	"runtime"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runGC runs src with net, gc() and open_fds().
func runGC(t *testing.T, src string) (string, error) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	return moduletest.RunWith(t, loop.Options{Permissions: loop.Permissions{Net: true}},
		starlark.StringDict{"net": netmod.Module(), "gc": moduletest.GC, "open_fds": moduletest.OpenFDs}, src)
}

// TestDroppedSocketsClose: a connection (either end), a listener or a UDP
// socket (one with a receive under way too) that nothing refers to any
// more is closed by the garbage collector, as an fs File is: each kept
// its descriptor until the run ended, the reactor's registration and
// the engine's closing holding on to it.
func TestDroppedSocketsClose(t *testing.T) {
	out, err := runGC(t, `
ln = net.listen("127.0.0.1:0")
accepted = []
def accept():
    for c in ln:
        accepted.append(c)
spawn(accept)
base = open_fds()
def udp():
    u = net.udp("127.0.0.1:0")
    catch(timeout, 0.001, u.recv_from)
    return u
held = []
for i in range(30):
    c = net.dial(ln.addr)
    c.write("x")
    held += [c, net.listen("127.0.0.1:0"), udp()]
sleep(0.05)
made = open_fds() - base
held.clear()
accepted.clear()
for i in range(100):
    gc()
    sleep(0.01)
    if open_fds() - base <= 5:
        break
print(made >= 100, open_fds() - base <= 5)
ln.close()
`)
	require.NoError(t, err)
	assert.Equal(t, "True True\n", out)
}

// TestWaitedOnSocketsStay: a connection some task waits on, or one
// whose write is still being sent, is reachable even though no variable
// holds it: the collector leaves it open and the wait or the write ends
// as it would have.
func TestWaitedOnSocketsStay(t *testing.T) {
	out, err := runGC(t, `
ln = net.listen("127.0.0.1:0")
server = []
spawn(lambda: [server.append(c) for c in ln])
def reader():
    return net.dial(ln.addr).read_exactly(5)
t = spawn(reader)
while len(server) < 1:  # the reader's connection is server[0]
    sleep(0.01)
def writer():
    c = net.dial(ln.addr)
    print(catch(timeout, 0.01, c.write, "z" * (32 << 20)).error.kind)
writer()
for i in range(10):
    gc()
    sleep(0.01)
server[0].write("hello")
print(t.wait())
print(len(server[1].read_exactly(32 << 20)))
ln.close()
`)
	require.NoError(t, err)
	assert.Equal(t, "timeout\nhello\n33554432\n", out)
}
