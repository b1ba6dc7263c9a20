package loop

import (
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/stretchr/testify/assert"
)

// TestParallelFrozenCheck checks what parallel() accepts: frozen
// containers (through the interpreter's Frozen methods) and immutable
// values, nothing a task could still change.
func TestParallelFrozenCheck(t *testing.T) {
	list := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	dict := starlark.NewDict(1)
	dict.SetKey(starlark.String("a"), starlark.MakeInt(1))
	set := starlark.NewSet(1)
	set.Insert(starlark.MakeInt(1))
	inner := starlark.NewList(nil)
	st := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"items": inner})
	tuple := starlark.Tuple{starlark.String("x"), inner}

	assert.Equal(t, "a list", unfrozen(list, anyModule))
	assert.Equal(t, "a dict", unfrozen(dict, anyModule))
	assert.Equal(t, "a set", unfrozen(set, anyModule))
	assert.Equal(t, "a list", unfrozen(st, anyModule), "a struct is as frozen as its fields")
	assert.Equal(t, "a list", unfrozen(tuple, anyModule), "a tuple is as frozen as its elements")
	assert.Equal(t, "a Future", unfrozen(&Future{}, anyModule), "engine objects never cross to a worker")
	assert.Equal(t, "a method of list", unfrozen(parallelTestAttr(t, list, "append"), anyModule))

	for _, v := range []starlark.Value{list, dict, set, inner} {
		v.Freeze()
	}
	for _, v := range []starlark.Value{list, dict, set, st, tuple, starlark.None, starlark.True,
		starlark.MakeInt(7), starlark.Float(1.5), starlark.String("s"), starlark.Bytes("b")} {
		assert.Empty(t, unfrozen(v, anyModule), "%s", v)
	}
}

// anyModule takes every module for a load()ed one.
func anyModule(*starlark.Module) bool { return true }

func parallelTestAttr(t *testing.T, v starlark.HasAttrs, name string) starlark.Value {
	t.Helper()
	a, err := v.Attr(name)
	assert.NoError(t, err)
	return a
}
