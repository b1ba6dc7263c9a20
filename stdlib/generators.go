package stdlib

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/generator"
	"go.starlark.net/starlark"
)

// generator, emit and emit_all (SPEC 5).
func init() {
	extra = append(extra, func(_ *core.Options, d starlark.StringDict) {
		for k, v := range generator.Builtins() {
			d[k] = v
		}
	})
}
