package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A parallel function runs on another goroutine, where it can reach the
// host's globals (Options.Globals) as well as its frozen module: parallel
// refuses while one of them is a list, dict or set that is not frozen
// (it was written by the worker and the loop at once, a data race), and
// runs once the script or the host has frozen it. Host builtins and
// values of host types do not stop it: they are the host's to make safe.
func TestParallelRefusesUnfrozenHostGlobals(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.star"), []byte(`
def fill(n):
    for i in range(2000):
        cache[i % 100] = n
    return n

def read(n):
    return config["x"] + n + ping()
`), 0o644))
	ping := starlark.NewBuiltin("ping", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.MakeInt(1), nil
	})
	config := starlark.NewDict(1)
	require.NoError(t, config.SetKey(starlark.String("x"), starlark.MakeInt(40)))
	config.Freeze()
	eng, _ := newEngine(t, engine.Options{
		Permissions: engine.Permissions{Load: []string{dir}},
		Globals:     starlark.StringDict{"cache": starlark.NewDict(0), "config": config, "ping": ping},
	})
	g, err := eng.Exec(testCtx(t), filepath.Join(dir, "main.star"), `
load("lib.star", "fill", "read")
r = catch(parallel, fill, 1)
kind, msg = r.error.kind, r.error.message
for i in range(2000):
    cache[i % 100] = -1
freeze(cache)
r = catch(lambda: parallel(fill, 2).wait())
frozen = r.error.message
sum = parallel(read, 1).wait()
`)
	require.NoError(t, err)
	assert.Equal(t, starlark.String("value"), g["kind"])
	assert.Equal(t, starlark.String("value: parallel: the host's global cache is a dict that is not frozen, which fill, running on another core, could reach: freeze(cache) first"), g["msg"])
	assert.Contains(t, g["frozen"].(starlark.String).GoString(), "frozen")
	assert.Equal(t, starlark.MakeInt(42), g["sum"])
}
