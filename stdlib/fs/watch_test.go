package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inotifyWatches is inotify_watches() for tests: how many kernel watches
// the process's inotify instances hold (the "inotify wd:" lines of
// /proc/self/fdinfo).
var inotifyWatches = starlark.NewBuiltin("inotify_watches", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	infos, err := filepath.Glob("/proc/self/fdinfo/*")
	if err != nil {
		return nil, err
	}
	n := 0
	for _, p := range infos {
		text, _ := os.ReadFile(p) // a descriptor closed meanwhile is gone
		n += strings.Count(string(text), "inotify wd:")
	}
	return starlark.MakeInt(n), nil
})

// TestDroppedWatchesStop: a watch channel nothing refers to any more is
// closed by the garbage collector, and its kernel watch removed; one a
// task waits on stays and gets its event. Dropped watches stayed until
// the run ended, each channel filling up with events no one would take.
func TestDroppedWatchesStop(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts watches in /proc/self/fdinfo")
	}
	dir := t.TempDir()
	out, err := moduletest.RunWith(t, loop.Options{Permissions: all()},
		starlark.StringDict{"fs": Module(), "gc": moduletest.GC, "inotify_watches": inotifyWatches}, fmt.Sprintf(`
d = %q
base = inotify_watches()
held = []
for i in range(50):
    fs.mkdir(d + "/%%d" %% i)
    held.append(fs.watch(d + "/%%d" %% i))
fs.mkdir(d + "/w")
made = inotify_watches() - base
held.clear()
t = spawn(lambda: fs.watch(d + "/w").recv().op)
sleep(0.01)
for i in range(100):
    gc()
    sleep(0.01)
    if inotify_watches() - base <= 1:
        break
print(made, inotify_watches() - base)
fs.write(d + "/w/x", "")
print(t.wait())
`, dir))
	require.NoError(t, err)
	assert.Equal(t, "50 1\ncreate\n", out)
}
