package starutil_test

import (
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func echoName(_ *starlark.Thread, b *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	return starlark.String(b.Name()), nil
}

func TestMethodsAreNamedTypeDotMethod(t *testing.T) {
	m := starutil.NewMethods("Thing", map[string]starutil.Func{"b": echoName}, map[string]starutil.Func{"a": echoName})
	recv := starlark.String("receiver")
	bound, ok := m.Bind("a", recv).(*starlark.Builtin)
	require.True(t, ok)
	assert.Equal(t, "Thing.a", bound.Name())
	assert.Equal(t, recv, bound.Receiver())
	v, err := starlark.Call(&starlark.Thread{}, bound, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, starlark.String("Thing.a"), v)

	assert.Nil(t, m.Bind("nope", recv), "an unknown name is no attribute: untyped nil")
	assert.True(t, m.Has("b"))
	assert.False(t, m.Has("nope"))
	assert.NotNil(t, m.Func("b"))
	assert.Equal(t, []string{"a", "b", "field"}, m.Names("field"))
}

func TestBindOnce(t *testing.T) {
	m := starutil.NewMethods("Thing", map[string]starutil.Func{"a": echoName, "b": echoName})
	x, y := starlark.String("x"), starlark.String("y")
	var cx, cy starutil.Bound
	xa := m.BindOnce("a", x, &cx)
	require.IsType(t, &starlark.Builtin{}, xa)
	assert.Same(t, xa, m.BindOnce("a", x, &cx), "bound once per value")
	assert.Equal(t, x, xa.(*starlark.Builtin).Receiver())
	assert.Equal(t, "Thing.a", xa.(*starlark.Builtin).Name())
	xb := m.BindOnce("b", x, &cx)
	assert.NotSame(t, xa, xb)
	assert.Equal(t, "Thing.b", xb.(*starlark.Builtin).Name())
	ya := m.BindOnce("a", y, &cy)
	assert.NotSame(t, xa, ya)
	assert.Equal(t, y, ya.(*starlark.Builtin).Receiver())
	assert.Nil(t, m.BindOnce("nope", x, &cx), "an unknown name is no attribute: untyped nil")
	assert.Zero(t, testing.AllocsPerRun(100, func() { m.BindOnce("a", x, &cx) }))
}

func TestBytesArguments(t *testing.T) {
	var b starutil.Bytes
	require.NoError(t, starlark.UnpackArgs("f", starlark.Tuple{starlark.Bytes("x")}, nil, "data", &b))
	assert.Equal(t, starutil.Bytes("x"), b)
	err := starlark.UnpackArgs("f", starlark.Tuple{starlark.MakeInt(1)}, nil, "data", &b)
	assert.EqualError(t, err, "f: for parameter data: got int, want string or bytes")

	var o starutil.OptionalBytes
	require.NoError(t, starlark.UnpackArgs("f", starlark.Tuple{starlark.None}, nil, "data?", &o))
	assert.False(t, o.Set)
	require.NoError(t, starlark.UnpackArgs("f", starlark.Tuple{starlark.String("")}, nil, "data?", &o))
	assert.True(t, o.Set)
	assert.Equal(t, starutil.Bytes(""), o.Bytes)
}
