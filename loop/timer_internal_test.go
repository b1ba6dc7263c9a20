package loop

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The timer heap pops timers by (when, seq) whatever the pushes and
// removals before, and keeps each timer's index true.
func TestTimerHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	var live []*timer
	seq := uint64(0)
	check := func() {
		for i := range h {
			require.Equal(t, i, h[i].t.index)
			if i > 0 {
				require.False(t, h[i].before(&h[(i-1)/4]), "entry %d precedes its parent", i)
			}
		}
	}
	for round := 0; round < 2000; round++ {
		switch op := r.IntN(10); {
		case op < 6:
			seq++
			tm := &timer{when: time.Duration(r.IntN(50)), seq: seq}
			h.push(tm)
			live = append(live, tm)
		case op < 8 && len(live) > 0:
			k := r.IntN(len(live))
			h.remove(live[k].index)
			require.Equal(t, -1, live[k].index)
			live = slices.Delete(live, k, k+1)
		case len(h) > 0:
			got := h.pop()
			want := slices.MinFunc(live, func(a, b *timer) int {
				if a.when != b.when {
					return int(a.when - b.when)
				}
				return int(a.seq) - int(b.seq)
			})
			require.Same(t, want, got)
			require.Equal(t, -1, got.index)
			live = slices.DeleteFunc(live, func(x *timer) bool { return x == got })
		}
		check()
	}
}

// TestTimerHeapGrowsAndShrinks: the heap's array doubles as timers are
// set (append alone grows a large one by a quarter, copying it several
// times over), and halves as they fire, so that a burst of 100k timers
// does not keep its array for the rest of the run; order holds
// throughout.
func TestTimerHeapGrowsAndShrinks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h timerHeap
	grew := 0
	for i := range 100000 {
		c := cap(h)
		h.push(&timer{when: time.Duration(r.IntN(1000)), seq: uint64(i)})
		if cap(h) != c {
			grew++
			require.GreaterOrEqual(t, cap(h), 2*c, "grown from %d", c)
		}
	}
	assert.LessOrEqual(t, grew, 12, "times the array was copied")
	peak := cap(h)
	prev := h.pop()
	for len(h) > 0 {
		tm := h.pop()
		require.False(t, tm.when < prev.when || tm.when == prev.when && tm.seq < prev.seq, "timers fire in order")
		prev = tm
		require.GreaterOrEqual(t, cap(h), len(h))
	}
	assert.Less(t, cap(h), peak/100, "the drained heap let its array go")
}

// TestAfterTimersLetGo: the timer of an after() (or a ticker) that no
// value refers to any more is removed from the loop's heap once
// collected, rather than kept until it fires (100k select(c,
// after(3600)) kept 100k timers for an hour); one the script still holds
// fires, and stays ready. It counts the heap's entries, not memory.
func TestAfterTimersLetGo(t *testing.T) {
	const n = 100000
	var e *Engine
	var out bytes.Buffer
	pre := Builtins()
	pre["heap"] = starlark.NewBuiltin("heap", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.MakeInt(len(e.timers)), nil
	})
	pre["gc"] = starlark.NewBuiltin("gc", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		runtime.GC()
		return starlark.None, nil
	})
	e = New(Options{Stdout: &out, Stderr: &out}, pre)
	defer e.Close()
	_, err := e.Exec(context.Background(), "after.star", fmt.Sprintf(`
N = %d
kept = after(0.2)
held = [after(3600) for _ in range(10)]
tk = ticker(0.01)
for _ in range(1000):
    ticker(3600)
c = channel()
def sender():
    for i in range(N):
        c.send(i)
spawn(sender)
for i in range(N):
    # Half return through c while parked, with the timer registered.
    if i %% 2 == 0:
        sleep(0)
    select(c, after(3600))
# The cleanups run after a collection, on their own goroutine, and post
# the removals to the loop: look again until they have.
for _ in range(500):
    gc()
    sleep(0.001)
    if heap() < 20:
        break
print("left", heap() if heap() >= 20 else "few")
print(kept.wait(), kept.done, wait(kept))
print(len(held), held[0].done, tk.recv() >= 1, tk.recv() >= 2)
`, n))
	require.NoError(t, err, out.String())
	assert.Equal(t, "left few\nNone True None\n10 False True True\n", out.String())
}
