// Package engine embeds coro in Go programs (SPEC section 10): an Engine
// runs Starlark scripts as tasks on one event loop, with the standard
// modules of SPEC.md.
//
// The entry points, all on *Engine (see the examples):
//
//   - RunFile and Exec run a module, then the loop until every task has
//     finished, and return the module's globals. Cancelling their ctx
//     cancels every task and returns once the deferred functions ran.
//   - Call runs a script function as a task and returns its value; it is
//     safe from any goroutine, many at once. Do runs a Go func on the loop.
//   - AsyncBuiltin makes a builtin whose Go function runs on its own
//     goroutine while only the calling task waits: a slow Go call does not
//     stall the other scripts.
//   - Poll (with Start) lets a host with its own loop drive the engine a
//     slice at a time without blocking.
//   - TaskInfos dumps the live tasks; Options.OnFailure receives task
//     failures nobody waited on.
//   - Close cancels every task and releases every goroutine.
//
// No goroutine is dedicated to an engine: whoever needs the loop while
// nobody drives it drives it (a Call, Poll, RunFile), and requests from
// other goroutines are posted to that driver. Engines are independent of
// each other; several may run in one process.
//
// Errors from scripts are Go errors whose text holds the kind, the message
// and the script traceback; errors.As finds an *Error with the Kind.
package engine

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib"
)

// Engine runs one event loop and the tasks on it.
type Engine = core.Engine

// Options configure an engine; the zero value allows no I/O, writes
// script output to os.Stdout and os.Stderr, and uses the real clock.
type Options = core.Options

// Permissions says which I/O scripts may do; the zero value allows none.
type Permissions = core.Permissions

// Error is a script failure with a kind (cancelled, timeout, value, ...).
type Error = core.Error

// ExitError is returned by RunFile when a script called os.exit.
type ExitError = core.ExitError

// TaskInfo describes a live task (Engine.TaskInfos): what tasks() shows.
type TaskInfo = core.TaskInfo

// Kind says what sort of failure an Error is: Error.Kind, and error.kind
// in scripts.
type Kind = core.Kind

// The kinds of Error (SPEC 4).
const (
	KindCancelled  = core.KindCancelled
	KindTimeout    = core.KindTimeout
	KindClosed     = core.KindClosed
	KindEOF        = core.KindEOF
	KindRefused    = core.KindRefused
	KindReset      = core.KindReset
	KindNotFound   = core.KindNotFound
	KindExists     = core.KindExists
	KindPermission = core.KindPermission
	KindIO         = core.KindIO
	KindValue      = core.KindValue
	KindDeadlock   = core.KindDeadlock
	KindStop       = core.KindStop
	KindError      = core.KindError
)

// The sentinel of each kind: errors.Is(err, engine.ErrTimeout) holds when
// err (from RunFile, Exec, Call, ...) is, or wraps, an Error of kind
// timeout. KindError, the catch-all, has none.
var (
	ErrCancelled  = core.ErrCancelled
	ErrTimeout    = core.ErrTimeout
	ErrClosed     = core.ErrClosed
	ErrEOF        = core.ErrEOF
	ErrRefused    = core.ErrRefused
	ErrReset      = core.ErrReset
	ErrNotFound   = core.ErrNotFound
	ErrExists     = core.ErrExists
	ErrPermission = core.ErrPermission
	ErrIO         = core.ErrIO
	ErrValue      = core.ErrValue
	ErrDeadlock   = core.ErrDeadlock
	ErrStop       = core.ErrStop
)

// Errorf returns an Error of the given kind; an AsyncBuiltin's function
// returns one to fail with that kind (not_found, say) instead of error.
func Errorf(kind Kind, format string, args ...any) *Error {
	return core.Errorf(kind, format, args...)
}

// AllPermissions allows every kind of I/O, as the coro command does.
func AllPermissions() Permissions { return core.AllPermissions() }

// New returns an engine configured by opts. Close it when done.
func New(opts Options) (*Engine, error) {
	return core.New(opts, stdlib.Predeclared(&opts)), nil
}
