package http_test

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memoryScript serves an upload it reads as it comes, and downloads
// os.args[0] with stream=True, counting the bytes of each.
const memoryScript = `
def count(body):  # a request's or a response's: the same reads
    n = 0
    while True:
        chunk = body.read()
        if chunk == "":
            return n
        n += len(chunk)

def handler(req):
    n = count(req)
    print("upload", n)
    return str(n)

srv = http.serve("127.0.0.1:0", handler)
print(srv.port)
print("download", count(http.get(os.args[0], stream=True)))
`

// TestStreamingMemoryIsBounded runs the real command: a large upload
// (curl, chunked, from its stdin) into a handler that reads it with
// req.read, and a large download read with stream=True, at the same
// time; the process's peak RSS (VmHWM) stays under 50 MB. CORO_STREAM_MB
// sets the size of each (256 MB by default; 1024 is the figure of the
// SPEC's claim, measured by hand).
func TestStreamingMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds coro and moves 512 MB")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	size := int64(256)
	if s := os.Getenv("CORO_STREAM_MB"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err)
		size = n
	}
	size <<= 20
	dir := t.TempDir()
	bin := filepath.Join(dir, "coro")
	build := exec.Command("go", "build", "-o", bin, "github.com/corolang/coro/cmd/coro")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	script := filepath.Join(dir, "mem.star")
	require.NoError(t, os.WriteFile(script, []byte(memoryScript), 0o644))

	base := goServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, io.LimitReader(zeros{}, size))
	}))
	cmd := exec.Command(bin, script, base+"/")
	cmd.Env = append(os.Environ(), "CORO_SLOW_WARN=off")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewReader(stdout)
	port, err := lines.ReadString('\n')
	require.NoError(t, err)

	upload := make(chan string, 1)
	go func() {
		c := exec.Command("curl", "-sS", "-T", "-", "http://127.0.0.1:"+strings.TrimSpace(port)+"/")
		c.Stdin = io.LimitReader(zeros{}, size)
		out, err := c.CombinedOutput()
		if err != nil {
			out = append(out, err.Error()...)
		}
		upload <- string(out)
	}()
	var got []string
	for range 2 {
		l, err := lines.ReadString('\n')
		require.NoError(t, err)
		got = append(got, strings.TrimSpace(l))
	}
	assert.ElementsMatch(t, []string{"upload " + strconv.FormatInt(size, 10), "download " + strconv.FormatInt(size, 10)}, got)
	assert.Equal(t, strconv.FormatInt(size, 10), waitFor(t, upload))

	status, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	require.NoError(t, err)
	var hwm int64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm, err = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
		}
	}
	t.Logf("%d MB up and down: peak RSS %d kB", size>>20, hwm)
	assert.Positive(t, hwm)
	assert.Less(t, hwm, int64(50<<10), "peak RSS in kB")
}
