package stdlib

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib/fsmod"
	"github.com/corolang/coro/stdlib/procmod"
	"go.starlark.net/starlark"
)

// The fs and proc modules (SPEC 7).
func init() {
	extra = append(extra, func(_ *core.Options, d starlark.StringDict) {
		d["fs"] = fsmod.Module()
		d["proc"] = procmod.Module()
	})
}
