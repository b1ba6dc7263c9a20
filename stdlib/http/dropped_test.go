package http_test

import (
	"runtime"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	httpmod "github.com/corolang/coro/stdlib/http"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runGC runs src with http, gc(), open_fds() and end_hooks().
func runGC(t *testing.T, src string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	out, err := moduletest.RunWith(t, loop.Options{Permissions: loop.Permissions{Net: true}},
		starlark.StringDict{"http": httpmod.Module(), "gc": moduletest.GC, "open_fds": moduletest.OpenFDs, "end_hooks": moduletest.EndHooks}, src)
	require.NoError(t, err)
	return out
}

// TestStreamedResponsesLeaveTheirTask: a streamed response closed leaves
// nothing in its task's end list, and one dropped unclosed is collected,
// its connection closed, and its end hook gone too. Each stayed on the
// list, with its read buffer (and, unclosed, its connection), until the
// task that made it ended: a long task streaming responses grew by some
// 65 KB a response.
func TestStreamedResponsesLeaveTheirTask(t *testing.T) {
	out := runGC(t, `
srv = http.serve("127.0.0.1:0", lambda req: "x" * 20000)
url = "http://127.0.0.1:%d/" % srv.port
base = end_hooks()
for i in range(200):
    r = http.get(url, stream=True)
    r.read(100)
    r.close()
print("closed:", end_hooks() - base)
fds = open_fds()
held = []
for i in range(100):
    r = http.get(url, stream=True)
    r.read(100)
    held.append(r)
r = None
print("held:", end_hooks() - base, open_fds() - fds >= 100)
held.clear()
for i in range(200):
    gc()
    sleep(0.01)
    if end_hooks() == base and open_fds() - fds <= 5:
        break
print("collected:", end_hooks() - base, open_fds() - fds <= 5)
srv.close()
`)
	assert.Equal(t, "closed: 0\nheld: 100 True\ncollected: 0 True\n", out)
}

// TestDroppedWebSocketsClose: a client WebSocket nothing refers to any
// more is closed by the garbage collector, as a net Conn is, and its
// server's handler sees it end; one the script still holds stays open.
// Each stayed open until the run ended, its read ahead (always in
// flight) holding it.
func TestDroppedWebSocketsClose(t *testing.T) {
	out := runGC(t, `
ended = []
def handler(req):
    ws = req.websocket()
    for m in ws:
        pass
    ended.append(ws.close_code)
srv = http.serve("127.0.0.1:0", handler)
url = "ws://127.0.0.1:%d/" % srv.port
fds = open_fds()
kept = http.websocket(url)
held = []
for i in range(50):
    ws = http.websocket(url)
    ws.send("hello")
    held.append(ws)
ws = None
sleep(0.05)
print("held:", open_fds() - fds >= 100)
held.clear()
for i in range(200):
    gc()
    sleep(0.01)
    if len(ended) == 50 and open_fds() - fds <= 5:
        break
print("collected:", len(ended), open_fds() - fds <= 5)
kept.send("still")
kept.close()
srv.close()
`)
	assert.Equal(t, "held: True\ncollected: 50 True\n", out)
}
