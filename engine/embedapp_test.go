package engine_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbedFromSeparateModule builds and runs testdata/embedapp, a module
// of its own, as an application outside this repository would (the
// test's replace only points it at this checkout instead of a version).
// It checks that the application gets the command's interpreter, `%`
// flags included. It runs from a copy, so that the build
// never edits the tree: the replace paths become absolute, and go.sum is
// the repository's. It needs no network: the module cache holds the deps.
func TestEmbedFromSeparateModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module")
	}
	// go test puts its own GOROOT/bin first on PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not available: cannot build testdata/embedapp")
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	mod, err := os.ReadFile(filepath.Join("testdata", "embedapp", "go.mod"))
	require.NoError(t, err)
	mod = []byte(strings.ReplaceAll(string(mod), "=> ../../..", "=> "+root))
	// coro's own requirements, as `go mod tidy` would list them for the
	// application: with them the go command needs no module it has not
	// already built coro with (GOPROXY=off below; a module graph walked
	// past them would want go.mod files no build of coro ever fetched).
	own, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	if i := strings.Index(string(own), "\nrequire"); i >= 0 {
		mod = append(mod, own[i:]...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644))
	for from, to := range map[string]string{
		filepath.Join("testdata", "embedapp", "main.go"): "main.go",
		filepath.Join(root, "go.sum"):                    "go.sum",
	} {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, to), b, 0o644))
	}
	cmd := exec.Command(gobin, "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "module loaded\npi    | 3.14|007\ncompute(4) = [0, 2, 4, 6]\nkind: true error: on purpose\n", string(out))
}
