package net_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/require"
)

// BenchmarkEchoRoundTrip measures one round trip of 64 bytes through a
// script's echo server (a task per connection in conn.read, then
// conn.write), from a Go client on loopback: the server's read waits for
// every message.
func BenchmarkEchoRoundTrip(b *testing.B) {
	addrs := make(chan string, 1)
	ready := starlark.NewBuiltin("ready", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		addrs <- string(args[0].(starlark.String))
		return starlark.None, nil
	})
	pre := loop.Builtins()
	pre["net"], pre["ready"] = netmod.Module(), ready
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard, Permissions: loop.Permissions{Net: true}}, pre)
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Exec(ctx, "echo.star", `
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
	}()
	c, err := net.Dial("tcp", <-addrs)
	require.NoError(b, err)
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
	c.Close()
	cancel()
	<-done
}
