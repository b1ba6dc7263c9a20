package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden .out files of script tests")

// TestScripts runs every testdata/*.star through the command in-process
// and compares stdout and stderr (as one stream) and the exit status with
// NAME.out. A first line "# args: FLAGS..." gives command-line flags placed
// before the file; "# script-args: ..." gives arguments after it. The
// status is the last line of NAME.out, as "[exit N]", when it is not 0.
func TestScripts(t *testing.T) {
	runGoldenDir(t, "testdata")
}

// TestExamples runs every scripts/*.star that has a golden .out beside it.
func TestExamples(t *testing.T) {
	runGoldenDir(t, "../../scripts")
}

func runGoldenDir(t *testing.T, dir string) {
	dir, err := filepath.Abs(dir)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "*.star"))
	require.NoError(t, err)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.star") {
			continue
		}
		golden := strings.TrimSuffix(file, ".star") + ".out"
		if _, err := os.Stat(golden); err != nil && !*update {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			got := runGolden(t, file)
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

// runGolden runs file from its own directory (so tracebacks name it
// plainly) and returns its output with the exit status appended.
func runGolden(t *testing.T, file string) string {
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	var flags, args []string
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(line, "# args:"); ok {
			flags = strings.Fields(v)
		}
		if v, ok := strings.CutPrefix(line, "# script-args:"); ok {
			args = strings.Fields(v)
		}
	}
	abs, err := filepath.Abs(file)
	require.NoError(t, err)
	t.Chdir(filepath.Dir(abs))
	// A loaded CI machine can hold the loop's thread for 100ms; the
	// warning that would print is tested on its own (loop).
	t.Setenv("CORO_SLOW_WARN", "off")
	var out bytes.Buffer
	argv := append(append(flags, filepath.Base(file)), args...)
	code := run(argv, strings.NewReader(""), &out, &out)
	s := out.String()
	if code != 0 {
		s += fmt.Sprintf("[exit %d]\n", code)
	}
	return s
}
