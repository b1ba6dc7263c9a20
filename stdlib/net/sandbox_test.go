package net

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/stdlib/internal/moduletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSandboxedUnixSockets (issue 10, item 2): in a sandbox a unix socket
// path must lie under a write grant (binding creates the file, connecting
// writes to it), resolved through the grant's root in the same step that
// binds or connects: a link out of the grant is refused. The script sees
// its own names for the socket, and closing the listener removes the file.
func TestSandboxedUnixSockets(t *testing.T) {
	dir := t.TempDir()
	box := filepath.Join(dir, "box")
	out := filepath.Join(dir, "out")
	require.NoError(t, os.MkdirAll(box, 0o755))
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.Symlink("../out", filepath.Join(box, "link")))
	// A socket outside the grant that a link inside it points at.
	outside, err := (&netListenConfig{}).listen(filepath.Join(out, "o.sock"))
	require.NoError(t, err)
	defer outside.Close()
	require.NoError(t, os.Symlink("../out/o.sock", filepath.Join(box, "o.sock")))

	perms := loop.Permissions{Net: true, Write: []string{box}}
	got, err := moduletest.Run(t, perms, "net", Module(), fmt.Sprintf(`
box = %q
ln = net.listen("unix:" + box + "/s.sock")
print(ln.addr == "unix:" + box + "/s.sock", ln.port)
def serve():
    for c in ln:
        print("server sees", c.local_addr == ln.addr)
        c.write("hi\n")
        c.close()
spawn(serve)
c = net.dial("unix:" + box + "/s.sock")
print("client sees", c.remote_addr == ln.addr, c.read_line().strip())
c.close()
for a in [box + "/../out/x.sock", box + "/link/x.sock", box + "/o.sock"]:
    print(catch(net.dial, "unix:" + a).error)
    print(catch(net.listen, "unix:" + a).error)
print(catch(net.dial, "unix:" + box + "/none.sock").error.kind)
ln.close()
`, box))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf(`True 0
server sees True
client sees True hi
permission: net.dial: writing %[1]s/../out/x.sock denied (allow with --allow-write=PATH, or Permissions.Write)
permission: net.listen: writing %[1]s/../out/x.sock denied (allow with --allow-write=PATH, or Permissions.Write)
permission: net.dial: writing %[1]s/link/x.sock denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
permission: net.listen: writing %[1]s/link/x.sock denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
permission: net.dial: writing %[1]s/o.sock denied: a symbolic link or ".." in it leads outside the allowed path (allow with --allow-write=PATH, or Permissions.Write)
io: net.listen: unix:%[1]s/o.sock: address already in use
not_found
`, box), got)
	entries, err := os.ReadDir(box)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"link", "o.sock"}, names, "closing the listener removed its socket file")
	_, err = os.Stat(filepath.Join(out, "x.sock"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was created outside the grant")
}

type netListenConfig struct{}

func (netListenConfig) listen(path string) (interface{ Close() error }, error) {
	return net.Listen("unix", path)
}
