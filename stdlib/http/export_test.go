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
