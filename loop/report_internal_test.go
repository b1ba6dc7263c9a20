package loop

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// budgetRun runs the example of errors_unobserved_at_end.star with the
// collection budget as if every collection so far had taken an hour
// (a loaded machine), after forced earlier forced collections, and
// returns the order of the output.
func budgetRun(t *testing.T, forced int) string {
	t.Helper()
	var out bytes.Buffer
	e := New(Options{Stdout: &out, Stderr: &out, VirtualTime: true}, Builtins())
	defer e.Close()
	e.report.started = time.Now()
	e.report.spent = time.Hour
	e.report.forced = forced
	_, err := e.Exec(context.Background(), "t.star", `
def fetch(what):
    sleep(1)
    fail(what)
pending = [spawn(fetch, "kept")]
spawn(fetch, "dropped")
sleep(2)
print("main is done")
`)
	require.NoError(t, err)
	return out.String()
}

// The first collectFree forced collections of a run are free: a dropped
// task's failure is reported where it happened even when collections are
// slow (as on a loaded machine), so a small script's output keeps its
// order. Past them the budget holds, and the report waits.
func TestFirstForcedCollectionsAreFree(t *testing.T) {
	out := budgetRun(t, 0)
	assert.Regexp(t, `(?s)^task 'task-3' failed:.*error: dropped\nmain is done\n.*error: kept\n$`, out)
	out = budgetRun(t, collectFree)
	assert.Regexp(t, `(?s)^main is done\n.*error: kept\n.*error: dropped\n$`, out)
}
