package loop

import (
	"bytes"
	"context"
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompletionsExpected: the loop looks for a completion about to be
// posted before it sleeps (sleep's spin) only while offloaded work is in
// flight or an operation that posts is held, not while tasks merely
// wait on a WakerList (a socket's readiness, which epoll reports).
func TestCompletionsExpected(t *testing.T) {
	var e *Engine
	var out bytes.Buffer
	list := new(WakerList)
	release := make(chan struct{})
	fn := func(name string, body func(x *Exec) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return body(ExecOf(th))
		})
	}
	pre := Builtins()
	pre["expected"] = fn("expected", func(*Exec) (starlark.Value, error) { return starlark.Bool(e.completionsExpected()), nil })
	pre["wait_list"] = fn("wait_list", func(x *Exec) (starlark.Value, error) {
		return starlark.None, x.WaitOnList(list, ReasonString("wait_list"), NoTimeout, "wait_list")
	})
	pre["wake_list"] = fn("wake_list", func(*Exec) (starlark.Value, error) { list.Broadcast(nil, nil); return starlark.None, nil })
	pre["offloaded"] = fn("offloaded", func(x *Exec) (starlark.Value, error) {
		return x.Offload(Offload{Op: "offloaded", Why: ReasonString("offloaded"), Own: true, Timeout: NoTimeout,
			Work: func(context.Context) (starlark.Value, error) { <-release; return starlark.None, nil }})
	})
	pre["release"] = fn("release", func(*Exec) (starlark.Value, error) { close(release); return starlark.None, nil })
	pre["hold"] = fn("hold", func(x *Exec) (starlark.Value, error) { e.Hold(); return starlark.None, nil })
	pre["unhold"] = fn("unhold", func(x *Exec) (starlark.Value, error) { e.Release(); return starlark.None, nil })
	e = New(Options{Stdout: &out, Stderr: &out}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "spin.star", `
print(expected())
waiter = spawn(wait_list)
sleep(0)
print(expected())
work = spawn(offloaded)
sleep(0)
print(expected())
release()
wait(work)
print(expected())
hold()
print(expected())
unhold()
wake_list()
wait(waiter)
print(expected())
`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "False\nFalse\nTrue\nFalse\nTrue\nFalse\n", out.String())
}
