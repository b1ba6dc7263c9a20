package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// execLine runs one line at a breakpoint as a prompt would.
func execLine(t *testing.T, bp *engine.Breakpoint, line string) engine.Outcome {
	t.Helper()
	src := []byte(line + "\n")
	f, err := bp.FileOptions().ParseCompoundStmt("<stdin>", func() ([]byte, error) {
		b := src
		src = nil
		return b, nil
	})
	require.NoError(t, err)
	return bp.Exec(f)
}

func TestBreakpointPausesTheTaskInItsFrame(t *testing.T) {
	var out syncBuffer
	var stack []string
	var task string
	opts := engine.Options{Stdout: &out, Stderr: &out}
	opts.Breakpoint = func(ctx context.Context, bp *engine.Breakpoint) {
		task, stack = bp.Task(), bp.Stack()
		// Locals (a captured one too), the module's globals and the
		// builtins are readable; what is typed runs as tasks while the
		// paused one waits.
		execLine(t, bp, "print('at', x, y, shared, LIMIT, len('ab'))")
		// Other tasks keep running: this waits for the ticker task.
		execLine(t, bp, "print('ticker says', ch.recv())")
		o := execLine(t, bp, "undefined_name")
		if assert.NotNil(t, o.Err) {
			assert.Contains(t, o.Err.Error(), "undefined_name")
		}
		// An assignment stays at the breakpoint.
		execLine(t, bp, "y = 'changed'")
		execLine(t, bp, "y")
	}
	e, err := engine.New(opts)
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Exec(context.Background(), "bp.star", `
LIMIT = 10
ch = channel()
def ticker():
    ch.send("tick")
def f(x):
    y = x * 2
    shared = "cell"
    def inner():
        return shared
    breakpoint()
    print("after", y, inner())
spawn(ticker)
f(21)
`)
	require.NoError(t, err)
	assert.Equal(t, "at 21 42 cell 10 2\nticker says tick\n\"changed\"\nafter 42 cell\n", out.String())
	assert.Equal(t, "main", task)
	require.NotEmpty(t, stack)
	assert.True(t, strings.HasSuffix(stack[len(stack)-1], "in f"), "innermost frame: %q", stack[len(stack)-1])
	assert.Contains(t, stack[len(stack)-1], "bp.star:11:")
}

func TestBreakpointWithoutDebuggerDoesNothing(t *testing.T) {
	var out syncBuffer
	e, err := engine.New(engine.Options{Stdout: &out, Stderr: &out})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Exec(context.Background(), "bp.star", "breakpoint()\nprint('went on')\n")
	require.NoError(t, err)
	assert.Equal(t, "went on\n", out.String())
}

func TestBreakpointCancelledTaskEndsTheDebugger(t *testing.T) {
	var out syncBuffer
	opts := engine.Options{Stdout: &out, Stderr: &out}
	opts.Breakpoint = func(ctx context.Context, bp *engine.Breakpoint) {
		<-ctx.Done() // a prompt nobody answers, until the task is cancelled
	}
	e, err := engine.New(opts)
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Exec(context.Background(), "bp.star", `
def paused():
    defer(lambda: print("cleanup ran"))
    breakpoint()
t = spawn(paused)
sleep(0)
t.cancel()
print(catch(wait, t))
`)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "cleanup ran")
	assert.Contains(t, out.String(), "cancelled")
}
