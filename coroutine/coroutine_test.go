package coroutine

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResumeSuspendValues(t *testing.T) {
	c := New(func(c *Coroutine[int, string], first int) string {
		got := first
		for i := 0; i < 3; i++ {
			got = c.Suspend("step" + string(rune('0'+got)))
		}
		return "end"
	})
	assert.False(t, c.Started())
	out, done := c.Resume(1)
	assert.Equal(t, "step1", out)
	assert.False(t, done)
	out, _ = c.Resume(2)
	assert.Equal(t, "step2", out)
	out, _ = c.Resume(3)
	assert.Equal(t, "step3", out)
	out, done = c.Resume(4)
	assert.Equal(t, "end", out)
	assert.True(t, done)
	assert.True(t, c.Done())
	assert.Panics(t, func() { c.Resume(5) })
}

func TestAbandonRunsDeferred(t *testing.T) {
	cleaned := false
	c := New(func(c *Coroutine[int, int], _ int) int {
		defer func() { cleaned = true }()
		c.Suspend(1)
		t.Error("resumed after abandon")
		return 0
	})
	c.Resume(0)
	c.Abandon()
	assert.True(t, cleaned)
	assert.True(t, c.Done())
	c.Abandon() // idempotent
}

func TestAbandonUnstarted(t *testing.T) {
	ran := false
	c := New(func(c *Coroutine[int, int], _ int) int { ran = true; return 0 })
	c.Abandon()
	assert.False(t, ran)
}

// A body's panic is raised again in the resumer, with the body's stack
// (the resumer's own trace would not show where it happened).
func TestBodyPanicReachesResumer(t *testing.T) {
	c := New(func(c *Coroutine[int, int], _ int) int { panic("boom") })
	var got any
	func() {
		defer func() { got = recover() }()
		c.Resume(0)
	}()
	msg, ok := got.(string)
	require.True(t, ok, "panic value %v", got)
	assert.True(t, strings.HasPrefix(msg, "coroutine body panicked: boom\n\nthe body's stack:\n"), msg)
	assert.Contains(t, msg, "TestBodyPanicReachesResumer.func1")
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 1000; i++ {
		c := New(func(c *Coroutine[int, int], _ int) int { c.Suspend(0); return 1 })
		c.Resume(0)
		if i%2 == 0 {
			c.Resume(0)
		} else {
			c.Abandon()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before)
}

// BenchmarkSwitch measures one Resume/Suspend round trip.
func BenchmarkSwitch(b *testing.B) {
	c := New(func(c *Coroutine[int, int], x int) int {
		for {
			x = c.Suspend(x + 1)
		}
	})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Resume(i)
	}
	b.StopTimer()
	c.Abandon()
}

// BenchmarkStartFinish measures creating, running and finishing a coroutine.
func BenchmarkStartFinish(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := New(func(c *Coroutine[int, int], x int) int { return x })
		c.Resume(i)
	}
}
