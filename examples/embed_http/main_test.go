package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/corolang/coro/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve starts the example server on a loopback port.
func serve(t *testing.T, lookup LookupFunc) string {
	t.Helper()
	s, err := newServer(lookup)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestRequestsRunConcurrently(t *testing.T) {
	// Every lookup blocks until all n are in flight: this only finishes if
	// blocking Go calls do not stall the loop, and requests run at once.
	const n = 8
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	lookup := func(ctx context.Context, id string) (string, error) {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if id == "404" {
			return "", engine.Errorf(engine.KindNotFound, "no user %s", id)
		}
		return "user-" + id, nil
	}
	base := serve(t, lookup)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := get(t, fmt.Sprintf("%s/user?id=%d", base, i))
			assert.Equal(t, 200, status)
			assert.Equal(t, fmt.Sprintf("user user-%d\n", i), body)
		}()
	}
	wg.Wait()

	status, body := get(t, base+"/user?id=404")
	assert.Equal(t, 404, status)
	assert.Equal(t, "not_found: lookup_user: no user 404\n", body)

	status, body = get(t, base+"/hits")
	assert.Equal(t, 200, status)
	assert.Equal(t, fmt.Sprintf("%d\n", n+2), body, "script state persists across requests")

	status, body = get(t, base+"/nowhere")
	assert.Equal(t, 404, status)
	assert.Equal(t, "no route for GET /nowhere\n", body)
}
