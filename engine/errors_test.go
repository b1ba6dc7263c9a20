package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
)

// Every kind of failure is found with errors.Is and its sentinel in what
// Exec returns, through the wrapping that adds the script traceback; no
// other sentinel matches it.
func TestErrorsIsEachKind(t *testing.T) {
	sentinels := map[engine.Kind]error{
		engine.KindCancelled: engine.ErrCancelled, engine.KindTimeout: engine.ErrTimeout,
		engine.KindClosed: engine.ErrClosed, engine.KindEOF: engine.ErrEOF,
		engine.KindRefused: engine.ErrRefused, engine.KindReset: engine.ErrReset,
		engine.KindNotFound: engine.ErrNotFound, engine.KindExists: engine.ErrExists,
		engine.KindPermission: engine.ErrPermission, engine.KindIO: engine.ErrIO,
		engine.KindValue: engine.ErrValue, engine.KindDeadlock: engine.ErrDeadlock,
		engine.KindStop: engine.ErrStop,
	}
	dir := t.TempDir()
	// fail_with(kind) fails with that kind, as a host function's error would:
	// for the kinds no script can bring about on demand (a reset peer).
	raise := engine.AsyncBuiltin("fail_with", func(_ context.Context, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return nil, engine.Errorf(engine.Kind(args[0].(starlark.String)), "raised")
	})
	cases := []struct {
		kind engine.Kind
		src  string
	}{
		{engine.KindCancelled, "t = spawn(sleep, 10)\nt.cancel()\nt.wait()\n"},
		{engine.KindTimeout, "wait(after(10), timeout=0.01)\n"},
		{engine.KindClosed, "ch = channel(1)\nch.close()\nch.send(1)\n"},
		{engine.KindEOF, "ln = net.listen('127.0.0.1:0')\nc = net.dial(ln.addr)\nln.accept().close()\nc.read_exactly(1)\n"},
		{engine.KindRefused, "ln = net.listen('127.0.0.1:0')\naddr = ln.addr\nln.close()\nnet.dial(addr)\n"},
		{engine.KindReset, "fail_with('reset')\n"},
		{engine.KindNotFound, "fs.read(DIR + '/missing')\n"},
		{engine.KindExists, "fs.mkdir(DIR)\n"},
		{engine.KindPermission, "fs.read('/etc/hostname')\n"},
		{engine.KindIO, "fail_with('io')\n"},
		{engine.KindValue, "sleep(-1)\n"},
		{engine.KindDeadlock, "channel().recv()\n"},
		{engine.KindStop, "def body():\n    pass\ngenerator(body).next()\n"},
	}
	require.Len(t, cases, len(sentinels))
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			eng, _ := newEngine(t, engine.Options{
				VirtualTime: true,
				Permissions: engine.Permissions{Net: true, Read: []string{dir}, Write: []string{dir}},
				Globals:     starlark.StringDict{"fail_with": raise, "DIR": starlark.String(dir)},
			})
			_, err := eng.Exec(testCtx(t), "main.star", c.src)
			require.Error(t, err)
			var ce *engine.Error
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Equal(t, c.kind, ce.Kind, "%v", err)
			for kind, sentinel := range sentinels {
				assert.Equal(t, kind == c.kind, errors.Is(err, sentinel), "errors.Is(%v, Err of %s)", err, kind)
			}
		})
	}
}

// The sentinel matches an Error wrapped by the host's own errors, and the
// Error's cause is still reached through it.
func TestErrorsIsThroughWrapping(t *testing.T) {
	ce := engine.Errorf(engine.KindTimeout, "slow")
	wrapped := errors.Join(errors.New("query failed"), ce)
	assert.ErrorIs(t, wrapped, engine.ErrTimeout)
	assert.NotErrorIs(t, wrapped, engine.ErrCancelled)
	assert.NotErrorIs(t, errors.New("timeout"), engine.ErrTimeout)
}
