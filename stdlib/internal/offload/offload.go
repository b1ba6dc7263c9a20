// Package offload keeps long computations of the batteries modules (a
// regexp over a large text, hashing or decoding a large input, parsing a
// large csv or yaml document) off the event loop. It is the one place
// those modules hand work to another goroutine: Run.
package offload

import (
	"context"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// Threshold is the size of input, in bytes, from which Run hands the work
// to the engine's blocking pool (loop.Exec.Offload). Below it the work runs on the loop. A
// round trip through the pool costs 5-10 µs; 16 KiB of the slowest work
// here (a regexp that needs Go's NFA with captures, 5 MB/s) takes 3 ms,
// of the fast kinds (hashing, base64, a literal-prefix regexp) a few µs.
// So no call holds the loop more than a few milliseconds, and small calls
// (a line, a field) never pay the round trip. Measured by
// BenchmarkThreshold in stdlib/re; see docs/reference.md, "Large inputs".
const Threshold = 16 << 10

type reason string

func (r reason) WaitingOn() string { return string(r) }

// Run returns op's outcome. When size reaches Threshold and th runs for a
// task, op runs on the blocking pool while only the calling task waits
// (its waiting_on says "<name> (computing)"); otherwise op runs here, at
// once. op may run on another goroutine: it must not touch any Starlark
// value it did not make itself (strings are immutable and safe to read).
// Once started, op runs to its end even if the task is cancelled
// meanwhile; its outcome is then dropped.
func Run(th *starlark.Thread, name string, size int, op func() (starlark.Value, error)) (starlark.Value, error) {
	return RunContext(th, name, size, func(context.Context) (starlark.Value, error) { return op() })
}

// RunContext is Run for work that can stop early: on the pool, ctx is
// cancelled once the task no longer waits for op (it was cancelled, a
// timeout() expired), and op should then return soon with ctx's error
// (its outcome is dropped). When op runs here, ctx is never cancelled:
// size is below Threshold, or th runs for no task.
func RunContext(th *starlark.Thread, name string, size int, op func(ctx context.Context) (starlark.Value, error)) (starlark.Value, error) {
	if size >= Threshold {
		if x := loop.ExecOf(th); x != nil && x.Task != nil {
			return x.Offload(loop.Offload{Why: reason(name + " (computing)"), Op: name, Timeout: loop.NoTimeout, Work: op})
		}
	}
	return op(context.Background())
}
