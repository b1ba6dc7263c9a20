package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSandboxedWorkingDirectory (issue 10, item 2): in a sandbox, cwd= is
// a read of that folder: it must lie under a read grant, resolved through
// the grant's root (a link out of it is refused, as in fs), and the child
// starts in the very folder that was resolved.
func TestSandboxedWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	box := filepath.Join(dir, "box")
	require.NoError(t, os.MkdirAll(filepath.Join(box, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
	require.NoError(t, os.Symlink("../out", filepath.Join(box, "link")))
	perms := loop.Permissions{Run: true, Read: []string{box}}
	out, err := runScript(t, perms, fmt.Sprintf(`
box = %q
print(proc.run(["pwd"], cwd=box + "/sub").stdout.strip())
p = proc.start(["pwd"], cwd=box)
print(p.stdout.read_line().strip(), p.wait())
for d in [box + "/../out", box + "/link", box + "/nope", "/"]:
    r = catch(proc.run, ["pwd"], cwd=d)
    print(r.error.kind, "|", r.error)
    r = catch(proc.start, ["pwd"], cwd=d)
    print(r.error.kind)
`, box))
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(box)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf(`%s/sub
%s 0
permission | permission: proc.run: reading %s/../out denied (allow with --allow-read=PATH, or Permissions.Read)
permission
permission | permission: proc.run: reading %s/link denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-read=PATH, or Permissions.Read)
permission
not_found | not_found: proc.run: cwd %s/nope: no such file or directory
not_found
permission | permission: proc.run: reading / denied (allow with --allow-read=PATH, or Permissions.Read)
permission
`, real, real, box, box, box), out)
}
