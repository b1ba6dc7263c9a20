package http

import (
	"context"
	"net/http"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	netmod "github.com/corolang/coro/stdlib/net"
)

// HTTPS for the client (SPEC 12). A request with the default TLS settings
// goes through the shared client, whose transport verifies against the
// system's roots and negotiates HTTP/2. One with ca= or insecure= needs a
// transport of its own; an engine keeps one per (ca, insecure), so that
// its connections are kept alive from one call to the next, and closes
// their idle connections when it closes.

// tlsArgs are a client call's ca= and insecure=.
type tlsArgs struct {
	ca       starlark.Value
	insecure bool
}

func (a tlsArgs) isDefault() bool {
	return (a.ca == nil || a.ca == starlark.None) && !a.insecure
}

// maxTransports bounds an engine's transports: past it the oldest one is
// closed (its idle connections) and forgotten.
const maxTransports = 16

type transportKey struct {
	ca       string
	insecure bool
}

// transports is an engine's clients by TLS settings (loop.Engine.Local).
type transports struct {
	byKey map[transportKey]*http.Client
	order []transportKey
}

type transportsKey struct{}

// clientFor returns the client for a call's TLS settings: the shared one
// for the defaults, otherwise the engine's for that ca and insecure
// (reading ca if it is a path: read permission, off the loop).
func clientFor(x *loop.Exec, fn string, a tlsArgs) (*http.Client, error) {
	if a.isDefault() {
		return client, nil
	}
	pem, err := netmod.PEMArg(x, fn, "ca", a.ca)
	if err != nil {
		return nil, err
	}
	e := x.Task.Engine()
	ts := e.Local(transportsKey{}, func() any {
		ts := &transports{byKey: map[transportKey]*http.Client{}}
		context.AfterFunc(e.Context(), func() {
			// The loop is done with the map by the time the engine's
			// context ends; the clients stay safe for concurrent use.
			for _, c := range ts.byKey {
				c.CloseIdleConnections()
			}
		})
		return ts
	}).(*transports)
	key := transportKey{string(pem), a.insecure}
	if c, ok := ts.byKey[key]; ok {
		return c, nil
	}
	cfg, err := netmod.ClientConfig(fn, "", pem, a.insecure)
	if err != nil {
		return nil, err
	}
	tr := newTransport()
	tr.TLSClientConfig = cfg
	// A transport with a TLS configuration of its own negotiates HTTP/2
	// only when told to.
	tr.ForceAttemptHTTP2 = true
	c := &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	if len(ts.order) == maxTransports {
		old := ts.order[0]
		ts.order = ts.order[1:]
		ts.byKey[old].CloseIdleConnections()
		delete(ts.byKey, old)
	}
	ts.byKey[key] = c
	ts.order = append(ts.order, key)
	return c, nil
}
