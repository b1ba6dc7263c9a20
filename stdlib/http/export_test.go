package http

import (
	"testing"
	"time"
)

// SetSlowClientBounds sets the bounds on slow clients (limits.go) of
// the servers started from now until t ends: tests shorten them.
func SetSlowClientBounds(t testing.TB, send, body, grace time.Duration) {
	old := [3]time.Duration{sendTimeout, bodyTimeout, shutdownGrace}
	sendTimeout, bodyTimeout, shutdownGrace = send, body, grace
	t.Cleanup(func() { sendTimeout, bodyTimeout, shutdownGrace = old[0], old[1], old[2] })
}

// SetLoopPath turns the loop's own HTTP/1 path (h1.go) on or off for the
// servers started from now until t ends, and sets its header and idle
// timeouts and how often they are checked.
func SetLoopPath(t testing.TB, on bool, head, idle, sweep time.Duration) {
	old := []any{h1On, h1HeadTimeout, h1IdleTimeout, h1Sweep}
	h1On, h1HeadTimeout, h1IdleTimeout, h1Sweep = on, head, idle, sweep
	t.Cleanup(func() {
		h1On, h1HeadTimeout, h1IdleTimeout, h1Sweep = old[0].(bool), old[1].(time.Duration), old[2].(time.Duration), old[3].(time.Duration)
	})
}

// LoopPathRequests is how many requests the loop's own path has served.
func LoopPathRequests() int64 { return h1Served.Load() }
