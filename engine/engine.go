// Package engine embeds coro in Go programs: an Engine runs Starlark
// scripts as tasks on one event loop, with the standard modules of
// SPEC.md. See the package examples.
package engine

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib"
)

// Engine runs one event loop and the tasks on it.
type Engine = core.Engine

// Options configure an engine; the zero value allows no I/O.
type Options = core.Options

// Permissions says which I/O scripts may do.
type Permissions = core.Permissions

// Error is a script failure with a kind (cancelled, timeout, value, ...).
type Error = core.Error

// ExitError is returned by RunFile when a script called os.exit.
type ExitError = core.ExitError

// New returns an engine configured by opts.
func New(opts Options) (*Engine, error) {
	return core.New(opts, stdlib.Predeclared(&opts)), nil
}
