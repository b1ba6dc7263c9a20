package net_test

import (
	"io"
	"net"
	"testing"

	"github.com/corolang/coro/stdlib/internal/moduletest"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkEchoRoundTrip measures one round trip of 64 bytes through a
// script's echo server (a task per connection in conn.read, then
// conn.write), from a Go client on loopback: the server's read waits for
// every message.
func BenchmarkEchoRoundTrip(b *testing.B) {
	addr, stop := moduletest.Serve(b, "net", netmod.Module(), `
def handle(conn):
    while True:
        data = conn.read()
        if data == "":
            break
        conn.write(data)
ln = net.listen("127.0.0.1:0")
ready(ln.addr)
for conn in ln:
    spawn(handle, conn)
`)
	defer stop()
	c, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	defer c.Close()
	msg, in := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
}

// TestEchoRoundTripAllocations: a round trip through a script's echo
// server allocates the message's string and its boxing, and the copy of
// write's argument; no bound method, no wait's reason or registration,
// no unpacked argument (it made 8 allocations before those went).
func TestEchoRoundTripAllocations(t *testing.T) {
	addr, stop := moduletest.Serve(t, "net", netmod.Module(), `
def handle(conn):
    while True:
        data = conn.read()
        if data == "":
            break
        conn.write(data)
ln = net.listen("127.0.0.1:0")
ready(ln.addr)
for conn in ln:
    spawn(handle, conn)
`)
	defer stop()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	msg, in := make([]byte, 64), make([]byte, 64)
	allocs := testing.AllocsPerRun(2000, func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 4.0, "allocations per round trip")
}
