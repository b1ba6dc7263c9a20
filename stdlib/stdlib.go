// Package stdlib assembles what scripts see: the task builtins of package
// core (SPEC 2-4, 6, 8), generators (SPEC 5) and the modules of SPEC 6-7.
package stdlib

import (
	"github.com/corolang/coro/generator"
	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/starlark/lib/math"
	"github.com/corolang/coro/starlark/starlarkstruct"
	base64mod "github.com/corolang/coro/stdlib/base64"
	csvmod "github.com/corolang/coro/stdlib/csv"
	fsmod "github.com/corolang/coro/stdlib/fs"
	hashlibmod "github.com/corolang/coro/stdlib/hashlib"
	httpmod "github.com/corolang/coro/stdlib/http"
	logmod "github.com/corolang/coro/stdlib/log"
	natsmod "github.com/corolang/coro/stdlib/nats"
	netmod "github.com/corolang/coro/stdlib/net"
	osmod "github.com/corolang/coro/stdlib/os"
	pathmod "github.com/corolang/coro/stdlib/path"
	procmod "github.com/corolang/coro/stdlib/proc"
	randommod "github.com/corolang/coro/stdlib/random"
	remod "github.com/corolang/coro/stdlib/re"
	syncmod "github.com/corolang/coro/stdlib/sync"
	timemod "github.com/corolang/coro/stdlib/time"
	urlmod "github.com/corolang/coro/stdlib/url"
	yamlmod "github.com/corolang/coro/stdlib/yaml"
)

// Modules are the names of the standard modules, in the order of the
// SPEC: an embedder may predeclare only some of them (engine.Options.Stdlib).
var Modules = []string{"json", "math", "time", "os", "sync", "net", "http", "fs", "proc",
	"re", "base64", "hashlib", "url", "path", "random", "csv", "yaml", "log", "nats"}

// Predeclared returns every predeclared name for an engine with opts.
func Predeclared(opts *loop.Options) starlark.StringDict {
	d := loop.Builtins()
	for k, v := range generator.Builtins() {
		d[k] = v
	}
	d["format"] = starlark.NewBuiltin("format", builtinFormat) // format.go
	// Every failure of json's functions is bad input: kind value.
	d["json"] = &starlarkstruct.Module{Name: "json", Members: loop.ValueModule("json", json.Module.Members)}
	// math's functions call nothing back: every failure is bad input
	// (math.floor("x"), math.log(8, 1)), kind value, named math.floor.
	d["math"] = &starlarkstruct.Module{Name: "math", Members: loop.ValueModule("math", math.Module.Members)}
	d["time"] = timemod.Module()
	d["os"] = osmod.Module(opts.Args)
	d["sync"] = syncmod.Module()
	d["net"] = netmod.Module()
	d["http"] = httpmod.Module()
	d["fs"] = fsmod.Module()
	d["proc"] = procmod.Module()
	// SPEC 13, the batteries: pure computation, no permission.
	d["re"] = remod.Module()
	d["base64"] = base64mod.Module()
	d["hashlib"] = hashlibmod.Module()
	d["url"] = urlmod.Module()
	d["path"] = pathmod.Module()
	d["random"] = randommod.Module()
	d["csv"] = csvmod.Module()
	d["yaml"] = yamlmod.Module()
	d["log"] = logmod.Module(opts)
	// SPEC 16: its functions find the engine's NATS through opts.Remote.
	d["nats"] = natsmod.Module()
	return d
}
