package http

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHarden: a server gets net/http's recommended defences (the
// timeouts cannot be observed without waiting that long).
func TestHarden(t *testing.T) {
	var srv http.Server
	harden(&srv, nil)
	assert.Equal(t, readHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Equal(t, idleTimeout, srv.IdleTimeout)
	assert.Equal(t, maxHeaderBytes, srv.MaxHeaderBytes)
	assert.NotNil(t, srv.ErrorLog)
}
