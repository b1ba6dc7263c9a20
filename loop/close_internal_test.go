package loop

import (
	"bytes"
	"context"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunsRacingCloseRunNothing: a run that asks for the loop while
// Close holds it (here: Close runs just as the run waits for the loop)
// finds the engine closed once it has the loop, and runs nothing. It
// checked for Close before asking, without the lock, and then ran the
// whole script, and its tasks, after Close had returned.
func TestRunsRacingCloseRunNothing(t *testing.T) {
	fn := starlark.NewBuiltin("fn", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		t.Error("fn ran after Close")
		return starlark.None, nil
	})
	for name, run := range map[string]func(*Engine) error{
		"Exec": func(e *Engine) error {
			_, err := e.Exec(context.Background(), "main.star", "print('ran')\n")
			return err
		},
		"RunTask": func(e *Engine) error {
			_, err := e.RunTask(context.Background(), "fn", fn, nil)
			return err
		},
		"RunUntilIdle": func(e *Engine) error { return e.RunUntilIdle(context.Background()) },
		"Serve": func(e *Engine) error {
			// Done already: a Serve that ran would return at once, with nil.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return e.Serve(ctx, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			e := New(Options{Stdout: &out, Stderr: &out}, nil)
			closes := 0
			e.acquireHook = func() {
				if closes++; closes == 1 {
					require.NoError(t, e.Close())
				}
			}
			err := run(e)
			require.Error(t, err)
			assert.Equal(t, KindClosed, ToError(err).Kind, "%v", err)
			assert.Empty(t, out.String())
		})
	}
}
