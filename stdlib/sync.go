package stdlib

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/stdlib/syncmod"
	"go.starlark.net/starlark"
)

// sync: locks, semaphores, events, wait groups, broadcast, watch (SPEC 6).
func init() {
	extra = append(extra, func(_ *core.Options, d starlark.StringDict) {
		d["sync"] = syncmod.Module()
	})
}
