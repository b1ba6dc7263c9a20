package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
)

// An embedder's engine allows no I/O unless Options.Permissions grants
// it; a refused operation fails with kind permission and names the
// option that would allow it.
func ExamplePermissions() {
	dir, _ := os.MkdirTemp("", "coro-perm")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("granted\n"), 0o644)

	script := fmt.Sprintf(`
r = catch(fs.read, %q)
print(r.value.strip() if r.ok else r.error.kind)
print(catch(fs.write, %q, "x").error.kind)
print(catch(net.dial, "127.0.0.1:1").error.kind)
`, filepath.Join(dir, "data.txt"), filepath.Join(dir, "out.txt"))

	// The zero value: nothing.
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout})
	eng.Exec(context.Background(), "main.star", script)
	eng.Close()

	// Read below dir only.
	eng, _ = engine.New(engine.Options{Stdout: os.Stdout, Permissions: engine.Permissions{Read: []string{dir}}})
	eng.Exec(context.Background(), "main.star", script)
	eng.Close()
	// Output:
	// permission
	// permission
	// permission
	// granted
	// permission
	// permission
}

// Limits: MaxSteps fails a task that computes too long; a ctx deadline
// cancels every task of a run (their deferred functions run first).
func ExampleOptions_limits() {
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout, MaxSteps: 100000})
	defer eng.Close()
	_, err := eng.Exec(context.Background(), "spin.star", `
def spin():
    n = 0
    while True:
        n += 1
spin()
`)
	fmt.Println(strings.SplitN(err.Error(), "\n", 2)[0])

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = eng.Exec(ctx, "wait.star", `
defer(print, "cleanup ran")
sleep(3600)
`)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// error: step limit of 100000 exceeded
	// cleanup ran
	// true
}

// Call from HTTP handlers: each request's goroutine calls into the same
// engine; the calls run as tasks on its one loop, many at once, and a
// request's context cancels its task when the client goes away.
func ExampleEngine_Call_httpHandler() {
	eng, _ := engine.New(engine.Options{Stdout: os.Stdout})
	defer eng.Close()
	globals, err := eng.Exec(context.Background(), "handler.star", `
hits = {}
arrived = [0]
everyone = sync.event()
def handle(path):
    # Each call waits until all four requests are in: they run at once,
    # as tasks on the loop (one at a time would wait here for ever).
    arrived[0] += 1
    if arrived[0] == 4:
        everyone.set()
    everyone.wait(timeout=30)
    hits[path] = hits.get(path, 0) + 1
    return "%s #%d" % (path, hits[path])
`)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := eng.Call(r.Context(), globals["handle"], starlark.String(r.URL.Path))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s, _ := starlark.AsString(v)
		io.WriteString(w, s)
	}))
	defer srv.Close()

	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for _, p := range []string{"/a", "/b", "/a", "/c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + p)
			if err != nil {
				panic(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			got = append(got, string(body))
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(got)
	fmt.Println(strings.Join(got, ", "))
	// Output:
	// /a #1, /a #2, /b #1, /c #1
}
