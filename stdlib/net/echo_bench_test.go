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

// dialEcho starts a script's echo server (a task per connection in
// conn.read, then conn.write), connects a Go client on loopback, and
// returns one round trip of 64 bytes through it.
func dialEcho(tb testing.TB) (roundTrip func()) { return dialEchoWith(tb, "conn.read()") }

// dialEchoWith is dialEcho with the server reading by read, a call on
// conn ("conn.read_line()").
func dialEchoWith(tb testing.TB, read string) (roundTrip func()) {
	addr, stop := moduletest.Serve(tb, "net", netmod.Module(), `
def handle(conn):
    while True:
        data = `+read+`
        if data == "":
            break
        conn.write(data)
ln = net.listen("127.0.0.1:0")
ready(ln.addr)
for conn in ln:
    spawn(handle, conn)
`)
	tb.Cleanup(stop)
	c, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	tb.Cleanup(func() { c.Close() })
	msg, in := make([]byte, 64), make([]byte, 64)
	msg[63] = '\n' // one line, for read_line
	return func() {
		if _, err := c.Write(msg); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkEchoRoundTrip measures one round trip of 64 bytes through a
// script's echo server from a Go client on loopback: the server's read
// waits for every message.
func BenchmarkEchoRoundTrip(b *testing.B) {
	roundTrip := dialEcho(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
	b.StopTimer()
}

// BenchmarkLineEchoRoundTrip is BenchmarkEchoRoundTrip with the server
// reading lines (read_line): the line scan and its bound.
func BenchmarkLineEchoRoundTrip(b *testing.B) {
	roundTrip := dialEchoWith(b, "conn.read_line()")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
	b.StopTimer()
}

// TestEchoRoundTripAllocations: a round trip through a script's echo
// server allocates the message's string and its boxing; no bound
// method, no wait's reason or registration, no unpacked or copied
// argument (it made 8 allocations before those went). The same holds
// for read_line (its limit= unpacked only when given).
func TestEchoRoundTripAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers at random: read's scratch buffer is allocated again")
	}
	for _, read := range []string{"conn.read()", "conn.read_line()"} {
		roundTrip := dialEchoWith(t, read)
		assert.LessOrEqual(t, testing.AllocsPerRun(2000, roundTrip), 2.0, "allocations per round trip with "+read)
	}
}
