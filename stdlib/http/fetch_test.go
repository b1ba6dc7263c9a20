package http_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFetchExample runs scripts/http_fetch.star with a limit of 3 against
// a Go server that records how many requests it serves at once: never
// more than the limit, every result reported in order, failures as lines.
func TestFetchExample(t *testing.T) {
	var mu sync.Mutex
	cur, most := 0, 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur++
		most = max(most, cur)
		mu.Unlock()
		defer func() { mu.Lock(); cur--; mu.Unlock() }()
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, strings.Repeat("x", len(r.URL.Path)))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()

	base := "http://" + ln.Addr().String()
	args := []string{"3"}
	var want []string
	for i := range 10 {
		p := "/" + strings.Repeat("p", i+1)
		args = append(args, base+p)
		want = append(want, fmt.Sprintf("%s%s 200 %d bytes", base, p, len(p)))
	}
	args = append(args, base+"/missing", "http://"+deadAddr+"/")
	want = append(want, base+"/missing 404 19 bytes",
		"http://"+deadAddr+"/ failed: refused: http.get: "+deadAddr+": connection refused",
		"at most 3 in flight")

	src, err := os.ReadFile("../../scripts/http_fetch.star")
	require.NoError(t, err)
	stdout, stderr, done := runScriptArgs(t, string(src), args...)
	require.NoError(t, <-done, stderr.String())
	assert.Equal(t, strings.Join(want, "\n")+"\n", stdout.String())
	assert.LessOrEqual(t, most, 3)
}
