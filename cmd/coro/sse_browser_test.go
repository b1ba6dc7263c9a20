package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sseScript serves a page whose EventSource shows each event, and the
// events: a generator response (SPEC 12). It prints its port, and ends
// once the browser has gone (the handler's cleanup ran) and the file
// args[0] exists.
const sseScript = `
PAGE = """<!doctype html><title>sse</title><ol id=log></ol><script>
const es = new EventSource("/events");
es.addEventListener("tick", e => {
  const li = document.createElement("li");
  li.textContent = e.data;
  document.getElementById("log").append(li);
});
</script>"""
gone = sync.event()

def handler(req):
    if req.path == "/":
        return (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)
    def events():
        defer(gone.set)
        i = 0
        while True:
            emit("event: tick\ndata: tick %d\n\n" % i)
            i += 1
            sleep(0.05)
    return (200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, generator(events))

srv = http.serve("127.0.0.1:0", handler)
print("port", srv.port)
gone.wait()
print("client gone")
while not fs.exists(os.args[0]):
    sleep(0.02)
srv.close()
`

// Server-sent events from a generator response work in a real browser's
// EventSource, and the browser leaving cancels the handler's task.
func TestSSEInBrowser(t *testing.T) {
	ctx, closeTab := browserTab(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "sse.star")
	require.NoError(t, os.WriteFile(script, []byte(sseScript), 0o644))
	end := filepath.Join(dir, "end")
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run([]string{script, end}, strings.NewReader(""), out, out) }()
	defer func() {
		os.WriteFile(end, nil, 0o644)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the run did not end")
		}
	}()
	re := regexp.MustCompile(`port (\d+)`)
	var port string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			port = m[1]
		}
		return m != nil
	}, 20*time.Second, 10*time.Millisecond, "no port: %s", out.String())

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate("http://127.0.0.1:"+port+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#log li:nth-child(3)`)),
	), "stdout:\n%s", out.String())
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#log li:first-child`)))
	require.NoError(t, err)
	assert.Equal(t, "tick 0", first)

	// Closing the browser's tab ends the connection: the generator's
	// task is cancelled and its deferred call runs.
	closeTab()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "client gone") },
		20*time.Second, 10*time.Millisecond, "stdout:\n%s", out.String())
}
