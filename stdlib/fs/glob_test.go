package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

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

// linkLoops makes a folder holding n links to itself: every wildcard
// part below it matches n folders, so a pattern of k such parts names
// n**k paths.
func linkLoops(t *testing.T, n int) string {
	dir := filepath.Join(t.TempDir(), "gl")
	require.NoError(t, os.Mkdir(dir, 0o755))
	for i := range n {
		require.NoError(t, os.Symlink(".", filepath.Join(dir, fmt.Sprintf("l%d", i))))
	}
	return dir
}

// Links that loop multiply the paths of a pattern: fs.glob fails past
// maxGlob of them, where it grew the heap until the process died.
func TestGlobBoundsPaths(t *testing.T) {
	dir := linkLoops(t, 10)
	defer func(n int) { maxGlob = n }(maxGlob)
	maxGlob = 500
	out, err := run(t, all(), fmt.Sprintf(`
print(len(fs.glob(%[1]q + "/*/*")))
print(catch(fs.glob, %[1]q + "/*/*/*").error)
`, dir))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("100\nvalue: fs.glob: %q matches more than 500 paths\n", dir+"/*/*/*"), out)
}

// A glob whose task stops waiting (a timeout) stops walking: it walked a
// billion folders on the pool long after its task had moved on.
func TestGlobStopsWhenAbandoned(t *testing.T) {
	dir := linkLoops(t, 10)
	out, err := run(t, all(), fmt.Sprintf(`print(catch(timeout, 0.1, fs.glob, %q).error)`, dir+"/*/*/*/*/*/*/*/*/*/nothing"))
	require.NoError(t, err)
	assert.Equal(t, "timeout: deadline of 0.1s exceeded\n", out)
	walking := func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*globber).in")
	}
	for deadline := time.Now().Add(10 * time.Second); walking(); time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the abandoned fs.glob still walks")
	}
}
