package loop_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// A task cancelled while its offloaded work runs fails with cancelled at
// once; the work sees ctx done, runs to its end, and its outcome goes to
// Drop on the loop (whenever the loop next runs: here, a Do).
func TestOffloadCancelledDropsOutcome(t *testing.T) {
	var dropped starlark.Value
	ctxDone := make(chan error, 1)
	slow := starlark.NewBuiltin("slow", func(th *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		return x.Offload(loop.Offload{Why: loop.ReasonString("slow"), Op: b.Name(), Timeout: loop.NoTimeout, Own: true,
			Work: func(ctx context.Context) (starlark.Value, error) {
				<-ctx.Done()
				ctxDone <- ctx.Err()
				return starlark.String("late"), nil
			},
			Drop: func(v starlark.Value, _ error) { dropped = v },
		})
	})
	var out bytes.Buffer
	d := loop.Builtins()
	d["slow"] = slow
	e := loop.New(loop.Options{Stdout: &out, Stderr: io.Discard}, d)
	defer e.Close()
	_, err := e.Exec(context.Background(), "drop.star", `
t = spawn(slow)
sleep(0)
t.cancel()
print(catch(t.wait).error.kind)
`)
	require.NoError(t, err)
	assert.Equal(t, "cancelled\n", out.String())
	assert.ErrorIs(t, <-ctxDone, context.Canceled)
	var got starlark.Value
	assert.Eventually(t, func() bool {
		require.NoError(t, e.Do(func() { got = dropped }))
		return got != nil
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, starlark.String("late"), got)
}
