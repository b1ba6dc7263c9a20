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
