package loop

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two tasks loading one module (remote calls on a worker do) share its
// one load: the second waits while the first reads the file on the pool
// or runs a top level that waits, and gets the same globals. It failed
// with "cycle in load graph: ... loads itself".
func TestConcurrentLoadsShareOneLoad(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "slow.star")
	require.NoError(t, os.WriteFile(mod, []byte("print('slow runs')\nsleep(0.05)\nX = 42\n"), 0o644))
	var out bytes.Buffer
	var e *Engine
	loadX := starlark.NewBuiltin("load_x", func(th *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		g, err := e.load(th, mod)
		if err != nil {
			return nil, err
		}
		return g["X"], nil
	})
	globals := Builtins()
	globals["load_x"] = loadX
	e = New(Options{Stdout: &out, Stderr: &out, Permissions: Permissions{Load: []string{dir}}}, globals)
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := e.Exec(ctx, "main.star", "print(join(load_x, load_x, load_x))\n")
	require.NoError(t, err, out.String())
	assert.Equal(t, "slow runs\n[42, 42, 42]\n", out.String())
}
