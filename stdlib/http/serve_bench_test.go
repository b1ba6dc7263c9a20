package http_test

import (
	"io"
	"net/http"
	"testing"

	httpmod "github.com/corolang/coro/stdlib/http"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/stretchr/testify/require"
)

// BenchmarkHelloRequest measures a hello-world request to a script's
// http.serve from a keep-alive Go client on loopback: net/http's parsing
// and writing, the hand-off of the request to the loop, its task and the
// reply's way back (allocations are the server's and the client's).
func BenchmarkHelloRequest(b *testing.B) {
	addr, stop := moduletest.Serve(b, "http", httpmod.Module(), `
def handler(req):
    return "Hello, World!\n"
srv = http.serve("127.0.0.1:0", handler)
ready(srv.addr)
`)
	defer stop()
	url := "http://" + addr + "/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Get(url)
		require.NoError(b, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
}
