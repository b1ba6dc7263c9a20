package net_test

import (
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runNet runs src with the net module and unwound() (moduletest.Unwound).
func runNet(t *testing.T, src string) string {
	t.Helper()
	out, err := moduletest.RunWith(t, loop.Options{Permissions: loop.Permissions{Net: true}},
		starlark.StringDict{"net": netmod.Module(), "unwound": moduletest.Unwound}, src)
	require.NoError(t, err, out)
	return out
}

// Tasks waiting in accept, read, read_line, read_exactly and a UDP
// socket's recv_from wait unwound,
// without a goroutine; the data arriving in pieces while they wait is
// neither lost nor repeated (what a read that waits again has taken so
// far stays in the stream's buffer); a read cut short by close, and an
// accept by its timeout, fail as they do in place.
func TestSocketWaitsUnwound(t *testing.T) {
	out := runNet(t, `
ln = net.listen("127.0.0.1:0")
def accept():
    return ln.accept()
acc = spawn(accept)
sleep(0)
print("accept", unwound([acc]))
client = net.dial(ln.addr)
server = acc.wait()
def lines(c, n):
    got = []
    for i in range(n):
        got.append(c.read_line())
    return got
def exactly(c):
    return [c.read_exactly(10), c.read_exactly(2)]
def read(c):
    return c.read()
t = spawn(lines, server, 2)
sleep(0)
print("read_line", unwound([t]))
for piece in ["hel", "lo\nwor", "ld\n"]:
    client.write(piece)
    sleep(0.02) # let the reader take the piece and wait again (or not: either way)
print(t.wait())
t = spawn(exactly, server)
sleep(0)
print("read_exactly", unwound([t]))
for piece in ["012", "3456", "789ab"]:
    client.write(piece)
    sleep(0.02)
print(t.wait())
t = spawn(read, server)
sleep(0)
print("read", unwound([t]))
client.write("x")
print(t.wait())
t = spawn(read, server)
sleep(0)
server.close()
print(catch(t.wait).error)
print(str(catch(spawn(lambda: ln.accept(timeout=0.01)).wait).error).replace(ln.addr, "LN"))
def cancelled(c):
    defer(print, "deferred ran")
    return c.read()
client2 = net.dial(ln.addr)
t = spawn(cancelled, client2)
sleep(0)
print("cancel", unwound([t]))
t.cancel()
print(catch(t.wait).error)
a = net.udp("127.0.0.1:0")
b = net.udp("127.0.0.1:0")
t = spawn(lambda: b.recv_from()[0])
sleep(0)
print("recv_from", unwound([t]))
a.send_to("datagram", b.addr)
print(t.wait())
`)
	assert.Equal(t, `accept [True]
read_line [True]
["hello\n", "world\n"]
read_exactly [True]
["0123456789", "ab"]
read [True]
x
closed: Conn.read: connection is closed
timeout: Listener.accept on LN exceeded 0.01s
cancel [True]
deferred ran
cancelled: cancelled
recv_from [True]
datagram
`, out)
}
