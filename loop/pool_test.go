package loop_test

import (
	"bytes"
	"context"
	"io"
	"runtime/pprof"
	"syscall"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockingEngine returns an engine with block(): a call that holds its
// pool goroutine in a real blocking syscall (nanosleep) for 200µs, the
// way a read from a slow disk does. The Go scheduler hands a thread's P
// away from a goroutine stuck in a syscall and starts another thread, so
// 5,000 such calls each on its own goroutine would make hundreds of
// threads.
func blockingEngine(out *bytes.Buffer) *loop.Engine {
	block := starlark.NewBuiltin("block", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, err := loop.TaskOf(th, b.Name())
		if err != nil {
			return nil, err
		}
		return x.Offload(loop.Offload{Why: loop.ReasonString("block"), Op: b.Name(), Timeout: loop.NoTimeout, Work: func(context.Context) (starlark.Value, error) {
			ts := syscall.Timespec{Nsec: 200_000}
			syscall.Nanosleep(&ts, nil)
			return starlark.MakeInt(1), nil
		}})
	})
	d := loop.Builtins()
	d["block"] = block
	return loop.New(loop.Options{Stdout: out, Stderr: io.Discard}, d) // stderr: stall warnings under load
}

// TestBlockingPoolBoundsThreads: 5,000 tasks in blocking calls at once
// create about PoolSize threads, not one per call.
func TestBlockingPoolBoundsThreads(t *testing.T) {
	var out bytes.Buffer
	e := blockingEngine(&out)
	defer e.Close()
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	_, err := e.Exec(context.Background(), "pool.star", `
def one():
    return block()
n = 0
for v in join(*[spawn(one) for i in range(5000)]):
    n += v
print(n)
`)
	require.NoError(t, err)
	assert.Equal(t, "5000\n", out.String())
	made := threads.Count() - before
	t.Logf("threads created: %d", made)
	assert.LessOrEqual(t, made, loop.PoolSize+8)
}

// TestBlockingInterruptedBeforeStart: a cancelled task's queued operation
// never runs, and the task sees cancelled.
func TestBlockingCancelled(t *testing.T) {
	var out bytes.Buffer
	e := blockingEngine(&out)
	defer e.Close()
	_, err := e.Exec(context.Background(), "pool.star", `
ts = [spawn(block) for i in range(200)]
ts[199].cancel()
rs = join(*ts, **{"settle": True})
print(rs[199].error.kind, len([r for r in rs if r.ok]))
`)
	require.NoError(t, err)
	assert.Equal(t, "cancelled 199\n", out.String())
}
