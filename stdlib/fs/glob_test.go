package fs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func globTree(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"a.txt", "b.txt", "c.log", ".hidden.txt", "sub/d.txt", "sub/e.log", "sub/deep/f.txt", "other/d.txt", "[x].txt"} {
		p := filepath.Join(dir, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	}
	return dir
}

func TestGlob(t *testing.T) {
	dir := globTree(t)
	t.Chdir(dir)
	out, err := run(t, all(), `
print(fs.glob("*.txt"))
print(fs.glob("./*.txt"))
print(fs.glob(".*"))
print(fs.glob("*/d.txt"))
print(fs.glob("*/*"))
print(fs.glob("sub/*/*.txt"))
print(fs.glob("?.log"))
print(fs.glob("[ab].txt"))
print(fs.glob("\\[x].txt"))
print(fs.glob("sub/d.txt"), fs.glob("sub/zzz.txt"), fs.glob("nope/*"))
print(fs.glob("*/nope.txt"))
print(catch(fs.glob, "[").error)
`)
	require.NoError(t, err)
	assert.Equal(t, `["[x].txt", "a.txt", "b.txt"]
["./[x].txt", "./a.txt", "./b.txt"]
[".hidden.txt"]
["other/d.txt", "sub/d.txt"]
["other/d.txt", "sub/d.txt", "sub/deep", "sub/e.log"]
["sub/deep/f.txt"]
["c.log"]
["a.txt", "b.txt"]
["[x].txt"]
["sub/d.txt"] [] []
[]
value: fs.glob: bad pattern "[": syntax error in pattern
`, out)

	abs, err := run(t, all(), `print(fs.glob("`+dir+`/sub/*.log"))`)
	require.NoError(t, err)
	assert.Equal(t, `["`+dir+`/sub/e.log"]`+"\n", abs)
}

// The folder before the first wildcard needs read permission, and links
// out of an allowed folder are not followed.
func TestGlobPermission(t *testing.T) {
	dir := globTree(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), nil, 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "sub", "link")))
	perms := loop.Permissions{Read: []string{filepath.Join(dir, "sub")}}
	out, err := run(t, perms, `
print([p.split("/sub/")[1] for p in fs.glob("`+dir+`/sub/*.txt")])
print(fs.glob("`+dir+`/sub/link/*"))
print(catch(fs.glob, "`+dir+`/*.txt").error.kind)
`)
	require.NoError(t, err)
	assert.Equal(t, "[\"d.txt\"]\n[]\npermission\n", out)
}
