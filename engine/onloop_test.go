package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Options.ThreadHook runs on the loop for every thread the engine makes
// (the run's, a task's, a generator's), and a builtin may run in a
// generator's body, inline or, under a builtin that calls back (sorted's
// key), on a coroutine of its own: a call from any of them that waits
// for the loop fails as from any builtin, instead of waiting for itself.
func TestHooksAndGeneratorsOnTheLoop(t *testing.T) {
	var eng *engine.Engine
	var hooked []string
	attempt := starlark.NewBuiltin("attempt", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		_, err := eng.TaskInfos()
		return starlark.String(errorText(err)), nil
	})
	eng, out := newEngine(t, engine.Options{
		Globals:     starlark.StringDict{"attempt": attempt},
		SlowWarning: -1,
		ThreadHook: func(th *starlark.Thread) {
			_, err := eng.TaskInfos()
			hooked = append(hooked, th.Name+": "+errorText(err))
		},
	})
	done := make(chan error, 1)
	go func() {
		_, err := eng.Exec(context.Background(), "gen.star", `
def inline():
    emit(attempt())
def under_key():
    got = []
    sorted([1], key=lambda x: got.append(attempt()))
    emit(got[0])
def task():
    for x in generator(inline):
        print("inline:", x)
    for x in generator(under_key):
        print("under key:", x)
spawn(task, name="t").wait()
`)
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting: a call waits for the loop it runs on")
	}
	const want = "error: TaskInfos: called on the engine's own loop"
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "inline: "+want), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "under key: "+want), lines[1])
	require.NotEmpty(t, hooked)
	for _, h := range hooked {
		assert.Contains(t, h, ": "+want, h)
	}
}

func errorText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
