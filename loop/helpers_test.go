package loop_test

import (
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/stdlib"
)

// newEngine makes a loop engine with the standard modules, as engine.New
// does, for the tests here that reach below the facade (Serve, Spawn,
// Unhandled).
func newEngine(opts loop.Options) (*loop.Engine, error) {
	return loop.New(opts, stdlib.Predeclared(&opts)), nil
}
