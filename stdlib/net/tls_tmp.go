// Replaced by tls.go at merge.

package net

import (
	"crypto/tls"
	"crypto/x509"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
)

// ClientTLS returns the TLS configuration of a client connection for
// serverName: the system's roots plus ca (PEM text; None for none), or no
// verification with insecure. A stand-in with the signature of tls.go's.
func ClientTLS(x *loop.Exec, fn, serverName string, ca starlark.Value, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if ca == nil || ca == starlark.None {
		return cfg, nil
	}
	pem, ok := starlark.AsString(ca)
	if !ok || !strings.Contains(pem, "-----BEGIN") {
		return nil, loop.Errorf(loop.KindValue, "%s: ca: want PEM text", fn)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM([]byte(pem)) {
		return nil, loop.Errorf(loop.KindValue, "%s: ca: no certificate in the PEM text", fn)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
