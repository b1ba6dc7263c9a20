package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const logScript = `
log.debug("d", n=1)
log.info("i", who="main")
def w():
    log.warn("w", tags=["a"])
spawn(w, name="worker").wait()
log.error("e")
print("done")
`

var logTime = regexp.MustCompile(`time=\S+ `)

func runLog(t *testing.T, argv ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(argv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// --log-level and --log-format configure the log module; its lines go
// to stderr.
func TestLogFlags(t *testing.T) {
	out, errOut, code := runLog(t, "-c", logScript)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "done\n", out)
	assert.Equal(t, `level=INFO msg=i task=main who=main
level=WARN msg=w task=worker tags="[\"a\"]"
level=ERROR msg=e task=main
`, logTime.ReplaceAllString(errOut, ""))

	_, errOut, code = runLog(t, "--log-level=debug", "--log-format", "json", "-c", logScript)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 4)
	var levels []string
	for _, l := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		assert.NotEmpty(t, rec["time"])
		levels = append(levels, rec["level"].(string)+" "+rec["task"].(string))
	}
	assert.Equal(t, []string{"DEBUG main", "INFO main", "WARN worker", "ERROR main"}, levels)

	_, errOut, _ = runLog(t, "--log-level", "error", "-c", logScript)
	assert.Equal(t, "level=ERROR msg=e task=main\n", logTime.ReplaceAllString(errOut, ""))
}

func TestLogFlagErrors(t *testing.T) {
	for _, c := range []struct{ flag, want string }{
		{"--log-level=loud", `coro: --log-level: "loud" is not debug, info, warn or error`},
		{"--log-level=info+4", `coro: --log-level: "info+4" is not debug, info, warn or error`},
		{"--log-format=xml", `coro: --log-format: "xml" is not text or json`},
		{"--log-format", `coro: flag --log-format needs a value`},
	} {
		_, errOut, code := runLog(t, c.flag)
		assert.Equal(t, exitUsage, code, c.flag)
		assert.Contains(t, errOut, c.want)
	}
}
