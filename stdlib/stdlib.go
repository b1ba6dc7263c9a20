// Package stdlib assembles what scripts see: the task builtins of package
// core and the modules (json, math, time, os, ...).
package stdlib

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib/osmod"
	"github.com/corolang/coro/stdlib/timemod"
	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/starlark"
)

// Predeclared returns every predeclared name for an engine with opts.
func Predeclared(opts *core.Options) starlark.StringDict {
	d := core.Builtins()
	d["json"] = json.Module
	d["math"] = math.Module
	d["time"] = timemod.Module()
	d["os"] = osmod.Module(opts.Args)
	for _, add := range extra {
		add(opts, d)
	}
	return d
}

// extra holds further modules' installers (one per module file here).
var extra []func(*core.Options, starlark.StringDict)
