package net

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// TLS configuration (SPEC 12), the one place net, http and websockets get
// theirs from: certificates given as PEM text or as paths (read with the
// read permission, off the loop), verification against the system's roots
// plus a script's CA, and failed handshakes explained in plain words.

// maxPEM bounds a certificate, key or CA file read from a path: a script
// must not make the engine read a file of any size.
const maxPEM = 1 << 20

type pemReason string

func (r pemReason) WaitingOn() string { return "read " + string(r) }

// PEMArg returns the PEM text a `ca`, `cert` or `key` argument (named
// what) gives: nil for None; the text itself for a string (or bytes)
// containing "-----BEGIN"; otherwise the contents of the file at that
// path, which needs read permission and is read off the loop. A file of
// more than 1 MiB, or anything but a regular file, is a value error: a
// FIFO would hold a thread of the blocking pool until a writer came,
// a device (/dev/zero) read on for ever (loop.Place.ReadRegular).
func PEMArg(x *loop.Exec, fn, what string, v starlark.Value) ([]byte, error) {
	var arg starutil.OptionalBytes
	if err := arg.Unpack(v); err != nil {
		return nil, loop.Errorf(loop.KindValue, "%s: %s: %v", fn, what, err)
	}
	if !arg.Set {
		return nil, nil
	}
	s := string(arg.Bytes)
	if strings.Contains(s, "-----BEGIN") {
		return []byte(s), nil
	}
	if s == "" {
		return nil, loop.Errorf(loop.KindValue, "%s: %s: empty path", fn, what)
	}
	p, err := x.Task.Engine().PlaceRead(fn, s)
	if err != nil {
		return nil, err
	}
	var data []byte
	_, err = x.Offload(loop.Offload{Why: pemReason(s), Op: fn, Timeout: loop.NoTimeout,
		Work: func(context.Context) (starlark.Value, error) {
			var err error
			data, err = p.ReadRegular(maxPEM)
			return nil, err
		}})
	if err != nil {
		var ce *loop.Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, loop.ErrNotRegular) {
			return nil, loop.Errorf(loop.KindValue, "%s: %s %s: %v", fn, what, s, err)
		}
		return nil, ioError(fn, fmt.Errorf("%s %s: %w", what, s, err))
	}
	if len(data) > maxPEM {
		return nil, loop.Errorf(loop.KindValue, "%s: %s %s: larger than 1 MiB, not a PEM file", fn, what, s)
	}
	return data, nil
}

// ClientTLS returns the client configuration for server name, ca (None,
// PEM text or a path) and insecure: the server's certificate is verified
// against the system's roots plus ca, unless insecure.
func ClientTLS(x *loop.Exec, fn, serverName string, ca starlark.Value, insecure bool) (*tls.Config, error) {
	pemCA, err := PEMArg(x, fn, "ca", ca)
	if err != nil {
		return nil, err
	}
	return ClientConfig(fn, serverName, pemCA, insecure)
}

// ClientConfig is ClientTLS once the CA's PEM text (nil: none) is read:
// for callers that key something on it (http's transports).
func ClientConfig(fn, serverName string, caPEM []byte, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caPEM != nil {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(caPEM) {
			return nil, loop.Errorf(loop.KindValue, "%s: ca: no PEM certificate in it", fn)
		}
		cfg.RootCAs = roots
	}
	return cfg, nil
}

// ServerTLS returns the server configuration for cert and key (PEM text or
// paths). Both or neither must be given: neither is (nil, nil).
func ServerTLS(x *loop.Exec, fn string, cert, key starlark.Value) (*tls.Config, error) {
	if (cert == nil || cert == starlark.None) != (key == nil || key == starlark.None) {
		return nil, loop.Errorf(loop.KindValue, "%s: cert and key go together: give both or neither", fn)
	}
	if cert == nil || cert == starlark.None {
		return nil, nil
	}
	certPEM, err := PEMArg(x, fn, "cert", cert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := PEMArg(x, fn, "key", key)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, loop.Errorf(loop.KindValue, "%s: cert and key: %s", fn, strings.TrimPrefix(err.Error(), "tls: "))
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// TLSError maps an error of a TLS exchange (a failed handshake or
// verification, as net/http's client returns it too) to an `io` error
// saying why in plain words: unknown authority, name mismatch, expired.
// Any other error is IOError's.
func TLSError(fn string, err error) *loop.Error {
	if why := tlsReason(err); why != "" {
		return loop.Errorf(loop.KindIO, "%s: TLS handshake failed: %s", fn, why)
	}
	return ioError(fn, err)
}

// TLSFailed reports whether err is a failed TLS handshake or
// verification, which TLSError says in plain words: a caller may name
// where (a URL) before the reason.
func TLSFailed(err error) bool { return tlsReason(err) != "" }

// handshakeError is the error of a failed handshake with peer: `io`
// whatever the cause (SPEC 12), but for an interruption (timeout, a
// connection closed meanwhile).
func handshakeError(fn, peer string, err error) *loop.Error {
	var ce *loop.Error
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return loop.Errorf(loop.KindTimeout, "%s: TLS handshake with %s timed out", fn, peer)
	case errors.Is(err, net.ErrClosed):
		return connClosed(fn)
	}
	why := tlsReason(err)
	switch {
	case why != "":
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		why = "the peer closed the connection"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		why = "the peer reset the connection"
	default:
		why = strings.TrimPrefix(reason(err), "tls: ")
	}
	return loop.Errorf(loop.KindIO, "%s: TLS handshake with %s failed: %s", fn, peer, why)
}

// tlsReason says in plain words why a TLS exchange failed, or "" when err
// is no TLS failure (a network error, say).
func tlsReason(err error) string {
	var unknown x509.UnknownAuthorityError
	var name x509.HostnameError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &unknown):
		return "certificate signed by an unknown authority (give its CA with ca=, or skip verification with insecure=True)"
	case errors.As(err, &name):
		return "name mismatch: " + strings.TrimPrefix(name.Error(), "x509: ")
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		if c := invalid.Cert; c != nil && time.Now().Before(c.NotBefore) {
			return "certificate is not valid yet (from " + c.NotBefore.UTC().Format(time.RFC3339) + ")"
		}
		if c := invalid.Cert; c != nil {
			return "certificate has expired (on " + c.NotAfter.UTC().Format(time.RFC3339) + ")"
		}
		return "certificate has expired"
	case errors.As(err, &invalid):
		return "invalid certificate: " + strings.TrimPrefix(invalid.Error(), "x509: ")
	case errors.As(err, &header):
		return "the peer does not speak TLS"
	case errors.As(err, &op) && op.Op == "remote error":
		return "the peer refused it: " + strings.TrimPrefix(op.Err.Error(), "tls: ")
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return strings.TrimPrefix(verr.Err.Error(), "x509: ")
	}
	if msg := err.Error(); strings.HasPrefix(msg, "tls: ") && !strings.Contains(msg, ": use of closed") {
		return strings.TrimPrefix(msg, "tls: ")
	}
	return ""
}

// ---- net.self_signed ----

// selfSignedFor is how long a certificate of net.self_signed is valid.
const selfSignedFor = 365 * 24 * time.Hour

func selfSigned(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var hosts starlark.Value = starlark.NewList([]starlark.Value{starlark.String("localhost"), starlark.String("127.0.0.1")})
	if err := starlark.UnpackArgs(fn, args, kwargs, "hosts?", &hosts); err != nil {
		return nil, loop.ValueError(err)
	}
	names, err := hostList(fn, hosts)
	if err != nil {
		return nil, err
	}
	if _, err := taskFor(th, fn); err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := SelfSigned(names, time.Now(), selfSignedFor)
	if err != nil {
		return nil, loop.Errorf(loop.KindIO, "%s: %v", fn, err)
	}
	return starlark.Tuple{starlark.String(certPEM), starlark.String(keyPEM)}, nil
}

// hostList unpacks hosts: a non-empty list (or tuple) of non-empty strings.
func hostList(fn string, v starlark.Value) ([]string, error) {
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		return nil, loop.Errorf(loop.KindValue, "%s: hosts: got %s, want a list of strings", fn, v.Type())
	}
	if seq.Len() == 0 {
		return nil, loop.Errorf(loop.KindValue, "%s: hosts: empty list", fn)
	}
	if seq.Len() > 100 {
		return nil, loop.Errorf(loop.KindValue, "%s: hosts: %d names, at most 100", fn, seq.Len())
	}
	names := make([]string, seq.Len())
	for i := range names {
		s, ok := starlark.AsString(seq.Index(i))
		if !ok {
			return nil, loop.Errorf(loop.KindValue, "%s: hosts[%d]: got %s, want a host name or an IP address", fn, i, seq.Index(i).Type())
		}
		if err := CheckHost(fn, fmt.Sprintf("hosts[%d]", i), s); err != nil {
			return nil, err
		}
		names[i] = s
	}
	return names, nil
}

// SelfSigned makes a self-signed ECDSA P-256 certificate for hosts (IP
// addresses become IP subject alternative names, anything else DNS
// names), valid from an hour before now for the given time, and returns
// it and its key as PEM text. It is its own CA: a client trusts it by
// passing it as ca.
func SelfSigned(hosts []string, now time.Time, valid time.Duration) (certPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"coro self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(valid),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), nil
}

// ---- net.lookup ----

type lookupReason string

func (r lookupReason) WaitingOn() string { return "lookup " + string(r) }

func lookup(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	var host string
	if err := starlark.UnpackArgs(fn, args, kwargs, "host", &host); err != nil {
		return nil, loop.ValueError(err)
	}
	if err := CheckHost(fn, "host", host); err != nil {
		return nil, err
	}
	x, err := taskFor(th, fn)
	if err != nil {
		return nil, err
	}
	var addrs []string
	_, err = x.Offload(loop.Offload{Why: lookupReason(host), Op: fn, Timeout: loop.NoTimeout, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			var err error
			addrs, err = net.DefaultResolver.LookupHost(ctx, host)
			return nil, err
		}})
	if err != nil {
		var ce *loop.Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		var de *net.DNSError
		if errors.As(err, &de) {
			switch {
			case de.IsNotFound:
				return nil, loop.Errorf(loop.KindNotFound, "%s: %s: no such host", fn, host)
			case de.IsTimeout:
				return nil, loop.Errorf(loop.KindTimeout, "%s: %s: name lookup timed out", fn, host)
			}
			return nil, loop.Errorf(loop.KindIO, "%s: %s: %s", fn, host, de.Err)
		}
		return nil, ioError(fn, err)
	}
	out := make([]starlark.Value, len(addrs))
	for i, a := range addrs {
		out[i] = starlark.String(a)
	}
	return starlark.NewList(out), nil
}
