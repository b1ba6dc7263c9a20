package http_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	httpmod "github.com/corolang/coro/stdlib/http"
	"github.com/stretchr/testify/require"
)

// BenchmarkHelloRequest measures a hello-world request to a script's
// http.serve from a keep-alive Go client on loopback: net/http's parsing
// and writing, the hand-off of the request to the loop, its task and the
// reply's way back (allocations are the server's and the client's).
func BenchmarkHelloRequest(b *testing.B) {
	addrs := make(chan string, 1)
	ready := starlark.NewBuiltin("ready", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		addrs <- string(args[0].(starlark.String))
		return starlark.None, nil
	})
	pre := loop.Builtins()
	pre["http"], pre["ready"] = httpmod.Module(), ready
	e := loop.New(loop.Options{Stdout: io.Discard, Stderr: io.Discard, Permissions: loop.Permissions{Net: true}}, pre)
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Exec(ctx, "hello.star", `
def handler(req):
    return "Hello, World!\n"
srv = http.serve("127.0.0.1:0", handler)
ready(srv.addr)
`)
	}()
	url := "http://" + <-addrs + "/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Get(url)
		require.NoError(b, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
	cancel()
	<-done
}
