package nats

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A feed counts the bytes of the values sent and not yet taken, and a
// send waits while they would pass feedBytes, unless nothing is counted
// (a value larger than feedBytes alone still goes); a value given back
// makes room and wakes a waiting send.
func TestFeedBoundsBytes(t *testing.T) {
	f := &feed{credits: make(chan struct{}, feedCapacity), room: make(chan struct{}, 1)}
	assert.True(t, f.reserve(feedBytes-10))
	assert.True(t, f.reserve(10))
	assert.False(t, f.reserve(1), "past feedBytes")
	f.give(10)
	select {
	case <-f.room:
	default:
		t.Fatal("give made room without saying so")
	}
	assert.True(t, f.reserve(5))
	assert.False(t, f.reserve(6))
	f.give(feedBytes - 5)
	assert.True(t, f.reserve(6))
	f.give(6)
	assert.Equal(t, 0, f.bytes)
	assert.True(t, f.reserve(3*feedBytes), "a large value alone")
	assert.False(t, f.reserve(1))
}

// A queue or bucket name is 1 to 64 ASCII letters, digits, _ or -.
func TestValidName(t *testing.T) {
	for _, s := range []string{"a", "Jobs_2-x", strings.Repeat("z", 64), "0", "_", "-"} {
		assert.True(t, validName(s), s)
	}
	for _, s := range []string{"", strings.Repeat("z", 65), "a.b", "a b", "a*", "a>", "é", "a\x00", "jobs/1"} {
		assert.False(t, validName(s), s)
	}
}
