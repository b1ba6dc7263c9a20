package http_test

import (
	"context"
	"github.com/corolang/coro/engine"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/corolang/coro/stdlib/internal/scripttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A handler is its request task's function, with no Go frame below it:
// its waits unwind (here a channel receive, a sleep, and a request body
// read, whose chunks an offload brings). A
// generator response still streams from the same task, and a client that
// goes away still cancels its handler, waiting unwound, whose deferred
// functions run.
func TestHandlersWaitUnwound(t *testing.T) {
	r := scripttest.StartWith(t, engine.Options{Globals: starlark.StringDict{"unwound": moduletest.Unwound}, Permissions: engine.Permissions{Net: true}}, "server.star", `
ch = channel()
waiting = []
def handler(req):
    defer(print, "deferred " + req.path)
    if req.path == "/wait":
        waiting.append(current_task())
        print("waiting")
        return ch.recv()
    if req.path == "/read":
        waiting.append(current_task())
        print("reading")
        return "got " + req.read_line()
    if req.path == "/gone":
        waiting.append(current_task())
        print("gone waiting")
        sleep(100)
    if req.path == "/check":
        print(unwound(waiting))
        ch.send("released")
        return "checked"
    if req.path == "/stream":
        def gen():
            for i in range(3):
                sleep(0.01)
                emit("chunk%d\n" % i)
        return generator(gen)
srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
`, 30*time.Second)
	base := "http://127.0.0.1:" + r.Stdout.Next(t)
	get := func(ctx context.Context, path string, body io.Reader) chan string {
		c := make(chan string, 1)
		go func() {
			method := "GET"
			if body != nil {
				method = "POST"
			}
			req, _ := http.NewRequestWithContext(ctx, method, base+path, body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				c <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			c <- string(b)
		}()
		return c
	}
	waited := get(context.Background(), "/wait", nil)
	require.Equal(t, "waiting", r.Stdout.Next(t))
	pr, pw := io.Pipe()
	read := get(context.Background(), "/read", pr)
	pw.Write([]byte("half a "))
	require.Equal(t, "reading", r.Stdout.Next(t))
	ctx, cancel := context.WithCancel(context.Background())
	gone := get(ctx, "/gone", nil)
	require.Equal(t, "gone waiting", r.Stdout.Next(t))

	checked := get(context.Background(), "/check", nil)
	assert.Equal(t, "[True, True, True]", r.Stdout.Next(t))
	assert.Equal(t, "checked", <-checked)
	assert.Equal(t, "released", <-waited)
	assert.ElementsMatch(t, []string{"deferred /check", "deferred /wait"}, []string{r.Stdout.Next(t), r.Stdout.Next(t)})

	pw.Write([]byte("line\nrest"))
	pw.Close()
	assert.Equal(t, "got half a line\n", <-read)
	assert.Equal(t, "deferred /read", r.Stdout.Next(t))

	cancel()
	<-gone
	assert.Equal(t, "deferred /gone", r.Stdout.Next(t))

	assert.Equal(t, "chunk0\nchunk1\nchunk2\n", <-get(context.Background(), "/stream", nil))
	assert.Equal(t, "deferred /stream", r.Stdout.Next(t))
	assert.NotContains(t, r.Stderr.String(), "failed")
}
