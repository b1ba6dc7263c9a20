package net_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	netmod "github.com/corolang/coro/stdlib/net"
	"github.com/stretchr/testify/require"
)

// TestIdleConnMemory measures what a server pays per idle connection: a
// task per connection, parked in conn.read(). A python3 peer opens
// CORO_IDLE_CONNS connections and keeps them open, silent; the growth of
// goroutine stacks and live heap (after a collection) from before the
// server accepts them to when every handler waits is divided by their
// number. Run alone, in a process of its own (the runtime never frees
// the descriptors of ended goroutines):
//
//	CORO_IDLE_CONNS=10000 go test ./stdlib/net -run TestIdleConnMemory -v
//
// (ulimit -n must allow the connections.) It does nothing otherwise.
func TestIdleConnMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CORO_IDLE_CONNS"))
	if n <= 0 {
		t.Skip("a measurement: set CORO_IDLE_CONNS")
	}
	var s0, h0, s1, h1 uint64
	sample := func(s, h *uint64) *starlark.Builtin {
		return starlark.NewBuiltin("mark", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			runtime.GC()
			runtime.GC()
			m := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
			metrics.Read(m)
			*s, *h = m[0].Value.Uint64(), m[1].Value.Uint64()
			return starlark.None, nil
		})
	}
	var peers []*exec.Cmd
	defer func() {
		for _, p := range peers {
			p.Process.Kill()
			p.Wait()
		}
	}()
	// connect(addr, k) starts a peer that opens k connections and holds them.
	connect := starlark.NewBuiltin("connect", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		addr, _ := starlark.AsString(args[0])
		k, _ := starlark.AsInt32(args[1])
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("python3", "-c", `
import socket, sys
conns = [socket.create_connection((sys.argv[1], int(sys.argv[2]))) for _ in range(int(sys.argv[3]))]
print("connected", flush=True)
sys.stdin.read()
`, host, port, strconv.Itoa(k))
		if _, err := cmd.StdinPipe(); err != nil { // the peer holds its connections until stdin closes
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		peers = append(peers, cmd)
		go bufio.NewReader(out).ReadString('\n') // a listen backlog shorter than k: do not wait for it
		return starlark.None, nil
	})
	pre := loop.Builtins()
	pre["net"] = netmod.Module()
	pre["mark0"], pre["mark1"], pre["connect"] = sample(&s0, &h0), sample(&s1, &h1), connect
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard, Permissions: loop.Permissions{Net: true}}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "idle.star", fmt.Sprintf(`
def handle(c):
    c.read()
ln = net.listen("127.0.0.1:0")
connect(ln.addr, 1)
ts = [spawn(handle, ln.accept())]  # a first one: workers, pools and tables exist
sleep(0)
mark0()
connect(ln.addr, %d)
for i in range(%d):
    ts.append(spawn(handle, ln.accept()))
sleep(0)  # every handler runs to its read
mark1()
for t in ts:
    t.cancel()
`, n, n))
	require.NoError(t, err)
	fmt.Printf("idle connections: %d, stack %.0f B/conn, heap %.0f B/conn, total %.0f B/conn\n", n,
		float64(s1-s0)/float64(n), float64(h1-h0)/float64(n), float64(s1+h1-s0-h0)/float64(n))
}
