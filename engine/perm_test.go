package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbedderDeniesIOByDefault: an engine made with zero Options allows
// no I/O (SPEC 7); each refusal is a permission error naming the option
// that would allow it, and granting that option allows it.
func TestEmbedderDeniesIOByDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("content"), 0o644))
	for _, c := range []struct {
		src    string
		option string
		grant  engine.Permissions
	}{
		{`fs.read(` + quote(file) + `)`, "Permissions.Read", engine.Permissions{Read: []string{dir}}},
		{`fs.write(` + quote(file) + `, "x")`, "Permissions.Write", engine.Permissions{Write: []string{dir}}},
		{`proc.run(["true"])`, "Permissions.Run", engine.Permissions{Run: true}},
		{`os.env("HOME")`, "Permissions.Env", engine.Permissions{Env: true}},
		{`net.listen("127.0.0.1:0").close()`, "Permissions.Net", engine.Permissions{Net: true}},
	} {
		t.Run(c.option, func(t *testing.T) {
			var out bytes.Buffer
			eng, err := engine.New(engine.Options{Stdout: &out, Stderr: &out})
			require.NoError(t, err)
			defer eng.Close()
			_, err = eng.Exec(context.Background(), "embed.star", c.src)
			var ce *engine.Error
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, "permission", ce.Kind)
			assert.Contains(t, ce.Msg, c.option)

			granted, err := engine.New(engine.Options{Stdout: &out, Stderr: &out, Permissions: c.grant})
			require.NoError(t, err)
			defer granted.Close()
			_, err = granted.Exec(context.Background(), "embed.star", c.src)
			assert.NoError(t, err)
		})
	}
}

func quote(s string) string { return `"` + s + `"` }
