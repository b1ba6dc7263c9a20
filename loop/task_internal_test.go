package loop

import (
	"testing"
	"unsafe"

	"github.com/corolang/coro/starlark"
	"github.com/stretchr/testify/assert"
)

// TestTaskSize: a Task stays within the runtime's 512-byte size class,
// the largest whose objects carry no header (a Task of 520 bytes would
// take 576). Spawning is mostly first writes to fresh memory, so its
// time follows the bytes a task takes (a Task padded by 256 bytes made
// spawning 100k sleeping tasks about 11% slower), and a parked task is
// about half Task: a field added here must pay for itself, or go into
// taskRare as onEnd does.
func TestTaskSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Task{}), uintptr(512))
	// Every task has its starlark.Thread too: 288 bytes, its size class.
	// A hook added as a field (an allocation check) made it 296 bytes,
	// so 320, and 100k sleeping tasks 3 MiB larger.
	assert.LessOrEqual(t, unsafe.Sizeof(starlark.Thread{}), uintptr(288))
}

// TestBroadcastKeepsSmallArrays: a WakerList reuses a small array after a
// broadcast (a connection's reader registers once per message) and lets
// a large one go.
func TestBroadcastKeepsSmallArrays(t *testing.T) {
	var l WakerList
	l.Add(&countWaker{}, 0)
	l.Broadcast(nil, nil)
	assert.Equal(t, 0, l.q.len())
	assert.Positive(t, cap(l.q.items), "small array kept")
	assert.Nil(t, l.q.items[:1][0].w, "kept array cleared")
	w := &countWaker{}
	for range 100 {
		l.Add(w, 0)
	}
	l.Broadcast(nil, nil)
	assert.Equal(t, 100, w.n)
	assert.Equal(t, 0, l.q.len())
	assert.Zero(t, cap(l.q.items), "large array let go")
}

// countWaker counts its completions.
type countWaker struct{ n int }

func (w *countWaker) Accepts(int) bool                    { return true }
func (w *countWaker) Complete(int, starlark.Value, error) { w.n++ }

// TestEndHookRemove: a hook removed (EndHook.Remove) leaves the task's
// end list at once, whatever its place, and does not run; the others run
// in order, one removing another as it runs, one added meanwhile too. A
// task's list held every hook until the task ended, so each streamed
// response a long task closed stayed reachable until then.
func TestEndHookRemove(t *testing.T) {
	task := &Task{}
	var ran []int
	add := func(i int) *EndHook { return task.OnEnd(func() { ran = append(ran, i) }) }
	var hooks []*EndHook
	for i := range 1000 {
		hooks = append(hooks, add(i))
	}
	for i, h := range hooks {
		if i%10 != 0 {
			h.Remove()
			h.Remove() // twice: harmless
		}
	}
	assert.Equal(t, 100, task.EndHooks())
	hooks[0].Remove()
	hooks[990].Remove()
	assert.Equal(t, 98, task.EndHooks())
	last := add(-1)
	task.OnEnd(func() { hooks[20].Remove(); add(-2) })
	hooks[10].Remove() // the first of the list now
	last.Remove()      // the last but one
	assert.Equal(t, 98, task.EndHooks())
	task.rare.onEnd.run()
	assert.Equal(t, 0, task.EndHooks())
	var want []int
	for i := 20; i < 1000; i += 10 {
		if i != 990 {
			want = append(want, i)
		}
	}
	// hooks[20] ran before the hook that removes it.
	want = append(want, -2)
	assert.Equal(t, want, ran)
	hooks[30].Remove() // after it ran: harmless
}
