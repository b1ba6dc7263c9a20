package netmod

import (
	"github.com/corolang/coro/engine/core"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/lineiter"
)

// connLines returns a generator of the connection's lines (SPEC 7), each
// with its newline, as read_line returns them; it ends at end of stream.
// Its body reads for whichever task consumes it, so `for line in
// conn.lines()` suspends only that task while the peer is quiet.
func connLines(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	const fn = "conn.lines"
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, core.ValueError(err)
	}
	c := b.Receiver().(*Conn)
	return lineiter.New(th, "lines of "+c.remote, func(x *core.Exec) (starlark.Value, error) {
		line, err := c.readLine(x, fn)
		if err != nil {
			return nil, err
		}
		return line, nil
	}), nil
}
