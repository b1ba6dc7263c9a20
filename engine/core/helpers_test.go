package core_test

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib"
)

// newEngine makes a loop engine with the standard modules, as engine.New
// does, for the tests here that reach below the facade (Serve, Spawn,
// Unhandled).
func newEngine(opts core.Options) (*core.Engine, error) {
	return core.New(opts, stdlib.Predeclared(&opts)), nil
}
