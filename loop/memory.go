package loop

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"time"
)

// The memory limit (Options.MaxMemory, coro --max-memory). Go has one heap
// per process, so the limit is on the process's heap: what every engine in
// it holds. A guard goroutine samples the heap while a drive runs; past the
// limit it cancels the drive's ctx, which stops every task at its next time
// slice (as a signal does), runs the deferred functions and fails the run
// with a clear error, before the kernel's OOM killer would end the process
// with no cleanup at all.

// memoryCheckEvery is how often the guard samples the heap: a script that
// allocates as fast as Starlark can overshoots the limit by what it
// allocates in this time (a few MiB).
const memoryCheckEvery = 10 * time.Millisecond

// memoryLimitError is the cause of a run ended by Options.MaxMemory.
type memoryLimitError struct {
	limit, heap uint64
}

func (e *memoryLimitError) Error() string {
	return fmt.Sprintf("memory limit exceeded: the heap grew to %s, past the limit of %s", sizeString(e.heap), sizeString(e.limit))
}

// guardMemory returns ctx, cancelled with a *memoryLimitError as cause once
// the heap's live objects and goroutine stacks exceed limit, and a func
// that stops the guard.
// Heap objects include garbage not yet collected: before concluding, the
// guard collects and looks again, so only live data ends a run.
func guardMemory(ctx context.Context, limit uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(memoryCheckEvery)
		defer tick.Stop()
		// Objects and goroutine stacks: a suspended task's memory is
		// mostly its stack.
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
		used := func() uint64 {
			metrics.Read(sample)
			return sample[0].Value.Uint64() + sample[1].Value.Uint64()
		}
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if used() <= limit {
				continue
			}
			runtime.GC()
			if heap := used(); heap > limit {
				cancel(&memoryLimitError{limit: limit, heap: heap})
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// sizeString writes n bytes in the largest binary unit that keeps it at
// least 1: "64 MiB", "1.5 GiB".
func sizeString(n uint64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.4g %s", v, units[i])
}
