package engine

import (
	"os"

	osmod "github.com/corolang/coro/stdlib/os"
	procmod "github.com/corolang/coro/stdlib/proc"
)

// The process-wide side of embedding: signals and child processes belong
// to the process, not to one engine.

// OnSignal makes fn run (on a goroutine of the signal hub: it must only
// hand off) for each delivery of sig that no script takes with os.signal:
// a script holding SIGINT gets Ctrl-C, the host gets it otherwise. The
// returned function stops it. Use it instead of signal.Notify for the
// signals scripts may ask for (INT, TERM, HUP), so the two do not both
// react.
func OnSignal(sig os.Signal, fn func()) (stop func()) {
	return osmod.Signals.Fallback(sig, fn)
}

// ReapChildren terminates every process that scripts started with
// proc.start and that still runs (TERM, then KILL after 2 s, to each
// one's process group) and waits until they are reaped. Call it before
// the process exits, once the engines have closed: their terminations
// may still be under way.
func ReapChildren() { procmod.Reap() }
