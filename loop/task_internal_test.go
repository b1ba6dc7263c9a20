package loop

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestTaskSize: a Task stays within the runtime's 576-byte size class,
// which holds 568 bytes and the 8-byte header of an object over 512.
// Spawning is mostly first writes to fresh memory, so its time follows
// the bytes a task takes (a Task padded by 256 bytes made spawning 100k
// sleeping tasks about 11% slower): a field added here must pay for
// itself, or go behind a pointer as onEnd does.
func TestTaskSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Task{}), uintptr(568))
}
