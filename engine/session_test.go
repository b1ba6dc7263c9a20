package engine_test

import (
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Finish on a session never started closes the engine (it dereferenced
// the nil stop function Start sets, a panic).
func TestSessionFinishWithoutStart(t *testing.T) {
	eng, _ := newEngine(t, engine.Options{})
	s := eng.NewSession()
	require.NoError(t, s.Finish())
	_, err := eng.Exec(testCtx(t), "main.star", "x = 1\n")
	assert.ErrorIs(t, err, engine.ErrClosed)
}
