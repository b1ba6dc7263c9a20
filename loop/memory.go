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
// what and size, when what is not empty, are the allocation that was
// refused before it was made (memoryGuard.checkAlloc).
type memoryLimitError struct {
	limit, heap uint64
	what        string
	size        uint64
}

func (e *memoryLimitError) Error() string {
	if e.what != "" {
		return fmt.Sprintf("memory limit exceeded: %s of %s would take the heap (%s) past the limit of %s", e.what, sizeString(e.size), sizeString(e.heap), sizeString(e.limit))
	}
	return fmt.Sprintf("memory limit exceeded: the heap grew to %s, past the limit of %s", sizeString(e.heap), sizeString(e.limit))
}

// heapUsed returns the heap's objects and goroutine stacks in bytes: a
// suspended task's memory is mostly its stack.
func heapUsed() uint64 {
	sample := [2]metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(sample[:])
	return sample[0].Value.Uint64() + sample[1].Value.Uint64()
}

// A memoryGuard is the limit of a drive (Engine.drive): its sampler and
// the check of single large allocations (checkAlloc).
type memoryGuard struct {
	limit  uint64
	cancel context.CancelCauseFunc
}

// checkAlloc answers every task thread's large allocations (Engine.checkAlloc) while a drive
// runs under a limit: an operator or builtin about to make size bytes
// (what: "string repeat") is refused when the heap's live data and size
// would exceed the limit, before the allocation, which the sampler would
// have seen only after it was made (s * n of a 100 MB string overshot a
// 200 MiB limit by gigabytes). The refusal ends the run as the sampler
// does (the drive's ctx is cancelled with it as cause), and the
// operation fails at once with it.
func (g *memoryGuard) checkAlloc(what string, size uint64) error {
	heap := heapUsed()
	if heap+size <= g.limit {
		return nil
	}
	if size < g.limit {
		// Garbage not yet collected counts for nothing: collect and
		// look again, as the sampler does.
		runtime.GC()
		if heap = heapUsed(); heap+size <= g.limit {
			return nil
		}
	}
	cause := &memoryLimitError{limit: g.limit, heap: heap, what: what, size: size}
	g.cancel(cause)
	return &Error{Kind: KindCancelled, Msg: "run cancelled: " + cause.Error(), cause: context.Canceled}
}

// guardMemory returns ctx, cancelled with a *memoryLimitError as cause once
// the heap's live objects and goroutine stacks exceed limit, the guard
// (whose checkAlloc refuses an allocation that would exceed it), and a
// func that stops the guard.
// Heap objects include garbage not yet collected: before concluding, the
// guard collects and looks again, so only live data ends a run.
func guardMemory(ctx context.Context, limit uint64) (context.Context, *memoryGuard, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	g := &memoryGuard{limit: limit, cancel: cancel}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(memoryCheckEvery)
		defer tick.Stop()
		used := heapUsed
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
	return ctx, g, func() { close(done); cancel(nil) }
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
