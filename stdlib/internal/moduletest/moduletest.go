// Package moduletest runs scripts against one stdlib module in-process, for
// the modules' own tests: they cannot use package engine (or scripttest,
// which builds on it), because engine imports every module.
package moduletest

import (
	"bytes"
	"context"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// Run executes src on a fresh engine whose scripts see the core builtins
// and module as name, with perms, and returns what it printed. Only stdout
// is returned: stderr may carry the loop's stall warnings on a loaded
// machine.
func Run(t testing.TB, perms loop.Permissions, name string, module starlark.Value, src string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := loop.Builtins()
	d[name] = module
	e := loop.New(loop.Options{Stdout: &out, Stderr: &errOut, Permissions: perms}, d)
	defer e.Close()
	_, err := e.Exec(context.Background(), "test.star", src)
	return out.String(), err
}
