package engine_test

import (
	"testing"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionFinishStopsComputingTask: Finish cancels a background task
// that computes without ever waiting, at its next time slice, and its
// deferred function runs. Finish only cancelled the loop's ctx, which
// nothing looked at while that task held the loop: it never returned.
func TestSessionFinishStopsComputingTask(t *testing.T) {
	started := make(chan struct{})
	eng, out := newEngine(t, engine.Options{Globals: starlark.StringDict{"started": signal("started", started)}})
	s := eng.NewSession()
	s.Start()
	o := s.Load("bg.star", []byte(`
def work():
    defer(print, "cleanup ran")
    started()
    while True:
        pass

t = spawn(work)
`))
	require.Nil(t, o.Err)
	<-started
	finished := make(chan error, 1)
	go func() { finished <- s.Finish() }()
	select {
	case err := <-finished:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		require.FailNow(t, "Finish did not return with a task computing")
	}
	assert.Equal(t, "cleanup ran\n", out.String())
}

// TestSessionAfterExit: an os.exit in an earlier run on the engine is
// that run's; a session started after it runs its statements.
func TestSessionAfterExit(t *testing.T) {
	eng, out := newEngine(t, engine.Options{})
	_, err := eng.Exec(t.Context(), "first.star", "os.exit(3)\n")
	var exit *engine.ExitError
	require.ErrorAs(t, err, &exit)
	s := eng.NewSession()
	s.Start()
	o := s.Load("second.star", []byte("print('ran')\n"))
	assert.Nil(t, o.Err)
	assert.False(t, o.Exit)
	assert.NoError(t, s.Finish())
	assert.Equal(t, "ran\n", out.String())
}
