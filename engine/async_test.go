package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAsyncBuiltinDoesNotStallOtherTasks(t *testing.T) {
	var out *syncBuffer
	// query blocks its goroutine until another task calls release(): if
	// the Go function held the loop, release() could never run.
	gate := make(chan struct{})
	var eng *engine.Engine
	var infos []engine.TaskInfo
	query := engine.AsyncBuiltin("query", func(ctx context.Context, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		// Off the loop, the host may look at the tasks: the request is
		// posted to the loop Exec drives.
		var err error
		if infos, err = eng.TaskInfos(); err != nil {
			return nil, err
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return starlark.String("rows for " + args[0].String()), nil
	})
	eng, out = newEngine(t, engine.Options{Globals: starlark.StringDict{
		"query":   query,
		"release": signal("release", gate),
	}})
	g, err := eng.Exec(testCtx(t), "main.star", `
def other():
    for i in range(3):
        print("other task runs", i)
        sleep(0)
    release()
spawn(other)
rows = query("users")
`)
	require.NoError(t, err)
	assert.Equal(t, starlark.String(`rows for "users"`), g["rows"])
	assert.Equal(t, "other task runs 0\nother task runs 1\nother task runs 2\n", out.String())
	require.NotEmpty(t, infos)
	assert.Equal(t, "main", infos[0].Name)
	assert.Equal(t, "host call query()", infos[0].WaitingOn)
	assert.Equal(t, []string{"main.star:8:13 in <toplevel>"}, infos[0].Stack)
}

func TestAsyncBuiltinErrors(t *testing.T) {
	fails := func(err error) *starlark.Builtin {
		return engine.AsyncBuiltin("lookup", func(context.Context, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, err
		})
	}
	for _, tc := range []struct {
		name string
		fn   *starlark.Builtin
		kind string
		msg  string
	}{
		{"kind kept", fails(engine.Errorf(engine.KindNotFound, "user 7")), "not_found", "lookup: user 7"},
		{"wrapped kind kept", fails(fmt.Errorf("db: %w", engine.Errorf(engine.KindRefused, "no route"))), "refused", "lookup: db: refused: no route"},
		{"canceled", fails(context.Canceled), "cancelled", "lookup: context canceled"},
		{"deadline", fails(fmt.Errorf("query: %w", context.DeadlineExceeded)), "timeout", "lookup: query: context deadline exceeded"},
		{"plain", fails(errors.New("disk on fire")), "error", "lookup: disk on fire"},
		{"panic", engine.AsyncBuiltin("lookup", func(context.Context, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			panic("oops")
		}), "error", "lookup: panic: oops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"lookup": tc.fn}})
			g, err := eng.Exec(testCtx(t), "main.star", `
r = catch(lookup)
kind, msg = r.error.kind, r.error.message
`)
			require.NoError(t, err)
			assert.Equal(t, starlark.String(tc.kind), g["kind"])
			assert.Equal(t, starlark.String(tc.kind+": "+tc.msg), g["msg"])
		})
	}
}

func TestAsyncBuiltinCancelledWithItsTask(t *testing.T) {
	// The Go function learns through ctx that the task no longer waits:
	// by cancel() and by an expired timeout().
	seen := make(chan error, 2)
	block := engine.AsyncBuiltin("block", func(ctx context.Context, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		<-ctx.Done()
		seen <- ctx.Err()
		return nil, ctx.Err()
	})
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"block": block}})
	g, err := eng.Exec(testCtx(t), "main.star", `
t = spawn(block)
sleep(0)
t.cancel()
r1 = catch(t.wait)
r2 = catch(timeout, 0.01, block)
`)
	require.NoError(t, err)
	assert.Equal(t, `cancelled: cancelled`, mustAttr(t, g["r1"], "error").String())
	assert.Equal(t, `timeout: deadline of 0.01s exceeded`, mustAttr(t, g["r2"], "error").String())
	assert.ErrorIs(t, <-seen, context.Canceled)
	assert.ErrorIs(t, <-seen, context.Canceled)
}

func TestAsyncBuiltinGetsCopiesOfMutableArgs(t *testing.T) {
	got := make(chan starlark.Value, 1)
	gate := make(chan struct{})
	keep := engine.AsyncBuiltin("keep", func(_ context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		<-gate
		got <- starlark.Tuple{args[0], kwargs[0][1]}
		return starlark.None, nil
	})
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"keep": keep, "release": signal("release", gate)}})
	_, err := eng.Exec(testCtx(t), "main.star", `
items = [1, [2]]
opts = {"a": 1}
def mutate():
    items.append(3)
    items[1].append(4)
    opts["b"] = 2
    release()
spawn(mutate)
keep(items, opts=opts)
`)
	require.NoError(t, err)
	assert.Equal(t, `([1, [2]], {"a": 1})`, (<-got).String(), "changes made while the Go function ran are not seen by it")
}

func TestAsyncBuiltinOutsideTask(t *testing.T) {
	b := engine.AsyncBuiltin("query", func(context.Context, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.None, nil
	})
	_, err := starlark.Call(&starlark.Thread{}, b, nil, nil)
	var ce *engine.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, engine.KindValue, ce.Kind)
}

func mustAttr(t *testing.T, v starlark.Value, name string) starlark.Value {
	t.Helper()
	a, err := v.(starlark.HasAttrs).Attr(name)
	require.NoError(t, err)
	return a
}

// TestAsyncBuiltinArgumentErrors (issue 10, item 15): an AsyncBuiltin
// whose function unpacks its arguments with starlark.UnpackArgs fails as
// coro's own builtins do: kind value, the builtin's name once.
func TestAsyncBuiltinArgumentErrors(t *testing.T) {
	fetch := engine.AsyncBuiltin("fetch", func(_ context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var id int
		if err := starlark.UnpackArgs("fetch", args, kwargs, "id", &id); err != nil {
			return nil, err
		}
		return starlark.MakeInt(id), nil
	})
	eng, out := newEngine(t, engine.Options{Globals: starlark.StringDict{"fetch": fetch}})
	_, err := eng.Exec(context.Background(), "m.star", `
r = catch(fetch, "x")
print(r.error.kind, "|", r.error)
r = catch(fetch)
print(r.error.kind, "|", r.error)
print(fetch(id=3))
`)
	require.NoError(t, err)
	assert.Equal(t, `value | value: fetch: for parameter id: got string, want int
value | value: fetch: missing argument for id
3
`, out.String())
}

// TestAsyncBuiltinCopiesCyclesAndSharing: the copies an AsyncBuiltin's
// function gets are made once per list, dict or tuple, so a value that
// contains itself is copied as one that contains its copy, and a value
// shared n times is copied once (a copy that followed every path crashed
// the host with a stack overflow on a cycle, and ran for ever, out of
// memory, on 40 levels of a = [a, a]).
func TestAsyncBuiltinCopiesCyclesAndSharing(t *testing.T) {
	keep, got := keeper()
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"keep": keep}})
	g, err := eng.Exec(testCtx(t), "main.star", `
l = []
l.append(l)
d = {}
d["self"] = d
d["l"] = l
a = []
for i in range(40):
    a = [a, a]
t = ()
for i in range(40):
    t = (t, t)
lt = [1]
lt.append((lt, lt))
deep = []
for i in range(100000):
    deep = [deep]
keep(l, d, a, t, lt, deep)
`)
	require.NoError(t, err)
	args := <-got
	l := args[0].(*starlark.List)
	assert.NotSame(t, g["l"], l, "a copy")
	assert.Same(t, l, l.Index(0), "the cycle is kept, through the copy")
	d := args[1].(*starlark.Dict)
	self, _, _ := d.Get(starlark.String("self"))
	assert.Same(t, d, self)
	dl, _, _ := d.Get(starlark.String("l"))
	assert.Same(t, l, dl, "one copy of l for both arguments")
	a := args[2].(*starlark.List)
	for i := 0; i < 40; i++ {
		assert.Same(t, a.Index(0), a.Index(1))
		a = a.Index(0).(*starlark.List)
	}
	assert.Equal(t, 0, a.Len())
	lt := args[4].(*starlark.List)
	pair := lt.Index(1).(starlark.Tuple)
	assert.Same(t, lt, pair[0])
	assert.Same(t, lt, pair[1])
	deep := args[5].(*starlark.List)
	for deep.Len() > 0 {
		deep = deep.Index(0).(*starlark.List)
	}
}

// TestAsyncBuiltinCopiesStructs: a struct (a host's, or one holding
// the script's values) that holds a mutable container arrives as a copy
// holding the container's copy, with its constructor, so a task changing
// the list meanwhile does not race with the Go function; one holding
// nothing mutable arrives as it is.
func TestAsyncBuiltinCopiesStructs(t *testing.T) {
	keep, got := keeper()
	mk := starlark.NewBuiltin("mk", func(_ *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return starlarkstruct.FromKeywords(starlark.String("point"), kwargs), nil
	})
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"keep": keep, "mk": mk}})
	g, err := eng.Exec(testCtx(t), "main.star", `
l = [1]
s = mk(items=l, n=2)
l.append(s)
plain = mk(n=3)
keep(s, (s, plain), plain)
`)
	require.NoError(t, err)
	args := <-got
	s := args[0].(*starlarkstruct.Struct)
	assert.NotSame(t, g["s"], s, "a copy")
	assert.Equal(t, starlark.String("point"), s.Constructor())
	items := mustAttr(t, s, "items").(*starlark.List)
	assert.NotSame(t, g["l"], items, "the list in it is a copy")
	assert.Same(t, s, items.Index(1), "the cycle is kept, through the copies")
	assert.Same(t, s, args[1].(starlark.Tuple)[0], "one copy for both paths")
	assert.Same(t, g["plain"], args[1].(starlark.Tuple)[1], "nothing mutable: as it is")
	assert.Same(t, g["plain"], args[2])
}

// TestAsyncBuiltinPassesFrozenValues: frozen containers cannot change
// while the Go function reads them, so it gets them as they are.
func TestAsyncBuiltinPassesFrozenValues(t *testing.T) {
	keep, got := keeper()
	eng, _ := newEngine(t, engine.Options{Globals: starlark.StringDict{"keep": keep}})
	g, err := eng.Exec(testCtx(t), "main.star", `
f = freeze([1, {"a": [2]}])
keep(f, (f,))
`)
	require.NoError(t, err)
	args := <-got
	assert.Same(t, g["f"], args[0])
	assert.Same(t, g["f"], args[1].(starlark.Tuple)[0])
}

// keeper returns an AsyncBuiltin, keep, that hands the arguments it gets
// (its copies of the script's) to the channel.
func keeper() (*starlark.Builtin, <-chan starlark.Tuple) {
	got := make(chan starlark.Tuple, 1)
	keep := engine.AsyncBuiltin("keep", func(_ context.Context, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		got <- args
		return starlark.None, nil
	})
	return keep, got
}
