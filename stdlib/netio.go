package stdlib

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib/httpmod"
	"github.com/corolang/coro/stdlib/netmod"
	"go.starlark.net/starlark"
)

// net and http (SPEC 7).
func init() {
	extra = append(extra, func(_ *core.Options, d starlark.StringDict) {
		d["net"] = netmod.Module()
		d["http"] = httpmod.Module()
	})
}
