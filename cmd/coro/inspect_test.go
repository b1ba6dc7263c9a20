package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is the run's stderr, read while the run writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// inspectorScript keeps a task named "visitor" alive until the file
// args[0] appears, then keeps main alive until args[1] does.
const inspectorScript = `
def until(path):
    while not fs.exists(path):
        sleep(0.02)

def busy(i):
    while not fs.exists(os.args[1]):
        n = 0
        for k in range(3000 * i):
            n += k
        sleep(0.05)

spawn(until, os.args[0], name="visitor")
for i in range(3):
    spawn(busy, i + 1, name="busy-%d" % i)
until(os.args[1])
print("done")
`

// startInspected runs the script under --inspect on a free loopback port
// and returns the console's URL and a channel with the run's status.
func startInspected(t *testing.T, script string, args ...string) (url string, done chan int, out *lockedBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inspected.star")
	require.NoError(t, os.WriteFile(path, []byte(script), 0o644))
	out = &lockedBuffer{}
	done = make(chan int, 1)
	go func() {
		done <- run(append([]string{"--inspect", "127.0.0.1:0", path}, args...), strings.NewReader(""), out, out)
	}()
	re := regexp.MustCompile(`coro: inspector on (http://127\.0\.0\.1:\d+)/`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], done, out
		}
		select {
		case code := <-done:
			t.Fatalf("the run ended (%d) before the inspector started:\n%s", code, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no inspector address on stderr:\n%s", out.String())
	return
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func TestInspectorJSON(t *testing.T) {
	dir := t.TempDir()
	gone, end := filepath.Join(dir, "gone"), filepath.Join(dir, "end")
	url, done, out := startInspected(t, inspectorScript, gone, end)

	var tasks []map[string]any
	getJSON(t, url+"/tasks.json", &tasks)
	byName := map[string]map[string]any{}
	for _, task := range tasks {
		byName[task["name"].(string)] = task
		for _, key := range []string{"id", "name", "state", "waiting_on", "spawned_at", "stack"} {
			assert.Contains(t, task, key)
		}
	}
	require.Contains(t, byName, "visitor", "tasks: %v", tasks)
	require.Contains(t, byName, "main")
	visitor := byName["visitor"]
	assert.Contains(t, visitor["spawned_at"], "inspected.star:13:")
	assert.Nil(t, byName["main"]["spawned_at"])
	assert.Equal(t, byName["main"]["id"], visitor["parent"], "the spawn tree's edge")
	assert.NotEmpty(t, visitor["stack"])

	var trace struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	getJSON(t, url+"/trace.json", &trace)
	assert.NotEmpty(t, trace.TraceEvents)

	// A name not the console's own is refused (DNS rebinding).
	req, err := http.NewRequest("GET", url+"/tasks.json", nil)
	require.NoError(t, err)
	req.Host = "attacker.example"
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	require.NoError(t, os.WriteFile(gone, nil, 0o644))
	require.NoError(t, os.WriteFile(end, nil, 0o644))
	select {
	case code := <-done:
		assert.Equal(t, 0, code, out.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end")
	}
	_, err = http.Get(url + "/tasks.json")
	assert.Error(t, err, "the console ends with the script")
}

func TestInspectAddress(t *testing.T) {
	for in, want := range map[string]string{
		"9229": "127.0.0.1:9229", ":9229": "127.0.0.1:9229",
		"0.0.0.0:80": "0.0.0.0:80", "localhost:1": "localhost:1", "[::1]:5": "[::1]:5",
	} {
		got, err := inspectAddress(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := inspectAddress("host:")
	assert.Error(t, err)
	code, out := runCmd(t, "--inspect", "9229")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "--inspect needs a script")
}

// browserTab opens a tab of headless Chromium (Debian's browser) with the
// flags a machine with a closed network needs; it closes when the test
// ends, or earlier with closeTab, and ctx expires after 60 s. Without a
// browser the test is skipped, unless CORO_REQUIRE_BROWSER (set by
// .ci/run, which installs it) makes that a failure.
func browserTab(t *testing.T) (ctx context.Context, closeTab func()) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	var browser string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			browser = path
			break
		}
	}
	if browser == "" {
		if os.Getenv("CORO_REQUIRE_BROWSER") != "" {
			t.Fatal("no chromium on PATH (CORO_REQUIRE_BROWSER is set)")
		}
		t.Skip("no chromium on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, closeTab = chromedp.NewContext(actx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx, closeTab
}

// The console in a real browser: a task appears in the table and the
// spawn tree, then disappears once it ends. A screenshot of the busy
// console goes to the test's artifact folder (go test -artifacts), or to
// CORO_INSPECT_SCREENSHOT when set (how docs/inspector.png is made).
func TestInspectorInBrowser(t *testing.T) {
	ctx, _ := browserTab(t)
	dir := t.TempDir()
	gone, end := filepath.Join(dir, "gone"), filepath.Join(dir, "end")
	url, done, out := startInspected(t, inspectorScript, gone, end)
	defer func() {
		os.WriteFile(gone, nil, 0o644)
		os.WriteFile(end, nil, 0o644)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the run did not end")
		}
	}()

	visitorRow := chromedp.CSS(`tr.task[data-task="visitor"]`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(visitorRow),
		chromedp.WaitVisible(chromedp.CSS(`#tree li`)),
		chromedp.WaitVisible(chromedp.CSS(`.tl-bar`)),
	), "stderr:\n%s", out.String())
	live, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live`)))
	require.NoError(t, err)
	assert.Contains(t, live, "live")

	// Let the timeline fill a little, then take the picture.
	require.NoError(t, chromedp.Do(ctx, chromedp.Sleep(1500*time.Millisecond)))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	require.NoError(t, err)
	shotPath := os.Getenv("CORO_INSPECT_SCREENSHOT")
	if shotPath == "" {
		shotPath = filepath.Join(t.ArtifactDir(), "inspector.png")
	}
	require.NoError(t, os.WriteFile(shotPath, shot, 0o644))
	t.Logf("screenshot: %s", shotPath)

	// The task ends: its row goes away by itself (the page refreshes).
	require.NoError(t, os.WriteFile(gone, nil, 0o644))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitNotPresent(visitorRow)))
	mainRows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr.task[data-task="main"]').length`))
	require.NoError(t, err)
	assert.Equal(t, 1, mainRows, "main is still listed")

	// The run ends: the page says so.
	require.NoError(t, os.WriteFile(end, nil, 0o644))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#live.ended`))))
}
