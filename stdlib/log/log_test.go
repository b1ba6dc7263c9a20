package log_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes src on an engine configured by opts (with the log module
// made for them) and returns what it wrote to stdout and stderr.
func run(t *testing.T, opts loop.Options, src string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if opts.Stdout == nil {
		opts.Stdout = &out
	}
	if opts.Stderr == nil {
		opts.Stderr = &errOut
	}
	pre := loop.Builtins()
	pre["log"] = log.Module(&opts)
	e := loop.New(opts, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", src)
	require.NoError(t, err, errOut.String())
	return out.String(), errOut.String()
}

var timeRE = regexp.MustCompile(`time=\S+ `)

// Without Options.Logger: text lines at level info on the engine's
// stderr, with the task's name and the fields in order.
func TestDefaultLogger(t *testing.T) {
	_, stderr := run(t, loop.Options{}, `
log.debug("not shown")
log.info("started", port=8080, ok=True, ratio=0.5, name="web 1")
def worker():
    log.warn("slow", tags=["a", "b"], none=None, d={"k": 1})
spawn(worker, name="w1").wait()
log.error("failed", err=catch(fail, "boom").error, n=12345678901234567890123)
log.info(42)
`)
	assert.Regexp(t, `^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}`, stderr)
	assert.Equal(t, `level=INFO msg=started task=main port=8080 ok=true ratio=0.5 name="web 1"
level=WARN msg=slow task=w1 tags="[\"a\", \"b\"]" none=None d="{\"k\": 1}"
level=ERROR msg=failed task=main err="error: boom" n=12345678901234567890123
level=INFO msg=42 task=main
`, timeRE.ReplaceAllString(stderr, ""))
}

// A field named as one of the record's own keys is written after
// "fields." (logrus's way), so that a JSON line has each key once: JSON
// readers keep the last of a repeated key, and time=1.5 replaced the
// record's time.
func TestFieldsNamedAsRecordKeys(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	run(t, loop.Options{Logger: logger}, `
log.info("done", time=1.5, level="high", msg="m", task="t", fields=1, other=2)
`)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	delete(rec, "time")
	assert.Equal(t, map[string]any{"level": "INFO", "msg": "done", "task": "main",
		"fields.time": 1.5, "fields.level": "high", "fields.msg": "m", "fields.task": "t",
		"fields": float64(1), "other": float64(2)}, rec)
	assert.Equal(t, 10, strings.Count(buf.String(), `":`), "each key once: %s", buf.String())
}

// Options.Logger receives every record; a JSON handler writes fields as
// JSON values.
func TestOptionsLogger(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, stderr := run(t, loop.Options{Logger: logger, VirtualTime: true}, `
log.debug("d", l=[1, None, "x"], d={"a": [True]}, f=len, none=None)
sleep(2)
log.info("later")
`)
	assert.Empty(t, stderr)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	t0 := rec["time"]
	delete(rec, "time")
	assert.Equal(t, map[string]any{"level": "DEBUG", "msg": "d", "task": "main", "l": []any{1.0, nil, "x"},
		"d": map[string]any{"a": []any{true}}, "f": "<built-in function len>", "none": nil}, rec)
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &rec))
	// The record's time is the engine's clock: the virtual one here.
	assert.NotEqual(t, t0, rec["time"])
	assert.Contains(t, lines[1], `"level":"INFO","msg":"later","task":"main"}`)
}

func TestLevels(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run(t, loop.Options{Logger: logger}, `
log.debug("d")
log.info("i")
log.warn("w")
log.error("e")
`)
	out := timeRE.ReplaceAllString(buf.String(), "")
	assert.Equal(t, "level=WARN msg=w task=main\nlevel=ERROR msg=e task=main\n", out)
}

func TestErrors(t *testing.T) {
	out, _ := run(t, loop.Options{}, `
print(catch(log.info).error)
print(catch(log.info, "a", "b").error)
`)
	assert.Equal(t, "value: log.info: missing argument for message\nvalue: log.info: got 2 arguments, want at most 1\n", out)

	// In a parallel worker, only an Options.Logger.
	fn := log.Module(&loop.Options{}).Members["info"]
	_, err := starlark.Call(&starlark.Thread{Name: "parallel f"}, fn, starlark.Tuple{starlark.String("x")}, nil)
	assert.ErrorContains(t, err, "log.info: inside parallel, log needs Options.Logger")
}

// Lines from many tasks, and from parallel workers on other cores, never
// interleave.
func TestNoInterleaving(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.star"), []byte(`
def chatter(n):
    for i in range(n):
        log.info("from a worker", i=i, pad="x" * 500)
    return n
`), 0o644))
	// slog's JSON handler writes each record with one Write under its
	// own lock: a plain buffer needs nothing more (the race detector
	// checks that).
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	opts := loop.Options{Logger: logger, Permissions: loop.Permissions{Read: []string{dir}}}
	run(t, opts, `
load("`+dir+`/lib.star", "chatter")
ws = [parallel(chatter, 200) for i in range(4)]
def task(n):
    for i in range(200):
        log.info("from a task", i=i, pad="y" * 500)
        if i % 10 == 0:
            sleep(0)
ts = [spawn(task, n) for n in range(4)]
print([w.wait() for w in ws], [t.wait() for t in ts])
`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	assert.Len(t, lines, 1600)
	for _, l := range lines {
		var rec map[string]any
		if !assert.NoError(t, json.Unmarshal([]byte(l), &rec), l) {
			break
		}
	}
}
