package main

// coro --inspect ADDRESS FILE (SPEC 14): a live web console of the run,
// served by package engine/inspect from the run's trace.Recorder.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/corolang/coro/engine"
	"github.com/corolang/coro/engine/inspect"
	"github.com/corolang/coro/engine/trace"
)

// inspectAddress is ADDRESS as the console binds it: loopback unless the
// address names a host ("9229" and ":9229" are 127.0.0.1:9229).
func inspectAddress(addr string) (string, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("--inspect: %q is not an address (PORT, :PORT or HOST:PORT)", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// serveInspector starts the console of eng on the --inspect address and
// says where on stderr; stop closes it (the run has ended).
func serveInspector(c *config, eng *engine.Engine, rec *trace.Recorder, title string, stderr io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", c.inspect)
	if err != nil {
		return nil, fmt.Errorf("--inspect: %w", err)
	}
	// A HOST that is a name is how the console is reached: allowed as
	// the Host header, besides localhost and IP addresses.
	var hosts []string
	if host, _, err := net.SplitHostPort(c.inspect); err == nil && host != "" {
		hosts = append(hosts, host)
	}
	srv := &http.Server{
		Handler:           inspect.Handler(eng, rec, title, hosts...),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "coro: inspector on http://%s/\n", ln.Addr())
	return func() { srv.Close() }, nil
}
