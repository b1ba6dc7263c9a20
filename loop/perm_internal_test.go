package loop

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A grant made before its directory opens the directory once it is one,
// part by part; a symbolic link put in the place of a part (after the
// walk to the grant looked, before the open) is refused, not followed,
// even to a directory in the same folder, and a file there is the grant's
// own name only.
func TestGrantDirRootRefusesLink(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "secret"), 0o755))
	g := newGrant(filepath.Join(dir, "a", "b"))
	require.True(t, g.dir)
	assert.Equal(t, filepath.Join(dir, "a", "b"), g.real)
	assert.Equal(t, "a/b", g.tail)
	defer (&grantSet{grants: []*grant{g}}).close()

	root, name, err := g.place("x")
	require.NoError(t, err)
	assert.Equal(t, "a/b/x", name, "nothing there yet: through the anchor")
	_, err = root.Stat(name)
	assert.True(t, os.IsNotExist(err))

	require.NoError(t, os.Mkdir(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, os.Symlink("../secret", filepath.Join(dir, "a", "b")))
	_, _, err = g.place("x")
	assert.ErrorContains(t, err, "not a directory")
	root, name, err = g.place(".")
	require.NoError(t, err)
	assert.Equal(t, "a/b", name)

	require.NoError(t, os.Remove(filepath.Join(dir, "a", "b")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "a", "b"), 0o755))
	root, name, err = g.place("x")
	require.NoError(t, err)
	assert.Equal(t, "x", name)
	require.NoError(t, root.WriteFile(name, []byte("in b"), 0o644))
	d, err := os.ReadFile(filepath.Join(dir, "a", "b", "x"))
	require.NoError(t, err)
	assert.Equal(t, "in b", string(d))
}
