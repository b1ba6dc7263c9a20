// Package httpmod is the script module `http` (SPEC 7): a client (get,
// request) and a server (serve), both on Go's net/http. Network work runs
// on goroutines; scripts see it through the loop: a client call parks its
// task until the response is posted back, and each request a server gets
// runs the script's handler as a task of its own.
package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	neturl "net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/lib/json"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
	"github.com/corolang/coro/stdlib/internal/stream"
	netmod "github.com/corolang/coro/stdlib/net"
)

// Module returns the http module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "http", Members: starlark.StringDict{
		"get":       starlark.NewBuiltin("http.get", get),
		"request":   starlark.NewBuiltin("http.request", request),
		"serve":     starlark.NewBuiltin("http.serve", serve),
		"websocket": starlark.NewBuiltin("http.websocket", dialWebSocket),
	}}
}

// client is shared by every engine: its connection pool is safe for
// concurrent use, and keeping connections alive across calls is the point.
var client = &http.Client{Transport: newTransport(), CheckRedirect: checkRedirect}

// maxResponseHeaderBytes bounds the headers of a response the client
// reads (net/http's default is 10 MB): a server sending a million tiny
// headers held hundreds of MB, and turning them into the script's dict
// stalled the loop for seconds. 1 MiB is far above what servers send
// (browsers and curl take less) and is net/http's server default.
const maxResponseHeaderBytes = 1 << 20

// newTransport returns a transport for the client: net/http's default
// one (proxies from the environment, HTTP/2, its timeouts), with the
// client's bound on a response's headers.
func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxResponseHeaderBytes = maxResponseHeaderBytes
	return tr
}

// headersTooLarge returns the error of a request (where: "fn: URL",
// failedAt) if err is net/http's failure of a response whose headers
// are past maxResponseHeaderBytes, nil otherwise. net/http says so only
// in words: HTTP/1's "server response headers exceeded N bytes;
// aborted", HTTP/2's "response header list larger than advertised
// limit".
//
// Over HTTP/2 that second one comes only when the headers pass the
// limit in their last frame: a header block that goes on past it (the
// usual case) ends the connection with a bare "connection error:
// PROTOCOL_ERROR", which is all the HTTP/2 client (net/http's, and
// golang.org/x/net's alike) tells of it, and which a header block the
// protocol forbids ends with too. That error names both causes, and the
// limit, where the script saw only PROTOCOL_ERROR.
func headersTooLarge(where string, err error) *loop.Error {
	msg := err.Error()
	if strings.Contains(msg, "connection error: PROTOCOL_ERROR") {
		return loop.Errorf(loop.KindIO, "%s: HTTP/2 protocol error: the response's headers are larger than the limit of %d bytes, or the server broke the protocol", where, maxResponseHeaderBytes)
	}
	if !strings.Contains(msg, "server response headers exceeded") && !strings.Contains(msg, "response header list larger than") {
		return nil
	}
	return loop.Errorf(loop.KindIO, "%s: the response's headers are larger than the limit of %d bytes", where, maxResponseHeaderBytes)
}

// maxRedirects is how many redirects a request follows: net/http's own
// bound.
const maxRedirects = 10

// checkRedirect is every client's redirect policy: net/http's, but for
// its error, which names where the redirects led (redirectError), and
// the Referer header.
//
// net/http gives a redirected request a Referer of the URL it came
// from, query and all: a redirect to another host leaked the secrets a
// script put in its URL (curl and Python's requests send none). A
// redirected request has no Referer but the script's own, which is kept
// while the redirects stay on the first URL's host and dropped when they
// leave it, as net/http drops Authorization and Cookie.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &redirectError{req.URL, true}
	}
	if len(via) >= maxRedirects {
		return &redirectError{req.URL, false}
	}
	req.Header.Del("Referer")
	if ref := via[0].Header.Get("Referer"); ref != "" && sameHost(req, via) {
		req.Header.Set("Referer", ref)
	}
	return nil
}

// sameHost reports whether req and every one of via are to via[0]'s
// host.
func sameHost(req *http.Request, via []*http.Request) bool {
	host := via[0].URL.Hostname()
	for _, r := range via {
		if !strings.EqualFold(r.URL.Hostname(), host) {
			return false
		}
	}
	return strings.EqualFold(req.URL.Hostname(), host)
}

// redirectError is the failure of a request that redirected too often,
// the last time to url (absolute), or (scheme) to a URL that is neither
// http nor https. net/http's own named the last Location header as the
// server sent it, often relative: `Get "/redirloop": stopped after 10
// redirects` did not say which server, and `Get "file:///etc/passwd":
// unsupported protocol scheme "file"` not which URL redirected there.
type redirectError struct {
	url    *neturl.URL
	scheme bool
}

func (e *redirectError) Error() string {
	if e.scheme {
		return fmt.Sprintf("redirected to %s, a scheme other than http or https", urlText(e.url))
	}
	return fmt.Sprintf("stopped after %d redirects, the last to %s", maxRedirects, urlText(e.url))
}

// failedAt returns "fn: URL" (urlText), which names a failed request
// of u, adding " (redirected to URL2)" if err is a redirect's failure
// (a *url.Error naming another URL, a refused connection to the host
// redirected to, say), and whether it is.
func failedAt(fn string, u *neturl.URL, err error) (string, bool) {
	where := fn + ": " + urlText(u)
	var ue *neturl.Error
	if !errors.As(err, &ue) {
		return where, false
	}
	// ue.URL is the last request's, its password replaced by net/http;
	// a WebSocket's was made http(s) by its library.
	last, perr := neturl.Parse(ue.URL)
	if perr != nil {
		return where, false
	}
	first := *u
	first.User, last.User = nil, nil
	switch first.Scheme {
	case "ws":
		first.Scheme = "http"
	case "wss":
		first.Scheme = "https"
	}
	if first.String() == last.String() {
		return where, false
	}
	return where + " (redirected to " + urlText(last) + ")", true
}

func get(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var url string
	var headers, timeout, maxBodyV starlark.Value = starlark.None, starlark.None, starlark.None
	var streaming bool
	sec := tlsArgs{ca: starlark.None}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &url, "headers?", &headers, "timeout?", &timeout,
		"stream?", &streaming, "ca?", &sec.ca, "insecure?", &sec.insecure, "max_body?", &maxBodyV); err != nil {
		return nil, loop.ValueError(err)
	}
	return do(th, b.Name(), "GET", url, headers, starlark.None, timeout, streaming, sec, maxBodyV)
}

func request(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var method, url string
	var headers, body, timeout, maxBodyV starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None
	var streaming bool
	sec := tlsArgs{ca: starlark.None}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "method", &method, "url", &url, "headers?", &headers, "body?", &body, "timeout?", &timeout,
		"stream?", &streaming, "ca?", &sec.ca, "insecure?", &sec.insecure, "max_body?", &maxBodyV); err != nil {
		return nil, loop.ValueError(err)
	}
	return do(th, b.Name(), strings.ToUpper(method), url, headers, body, timeout, streaming, sec, maxBodyV)
}

type requestReason string

func (r requestReason) WaitingOn() string { return "http " + string(r) }

// do sends a request off the loop and parks the calling task until the
// whole response has arrived (or the timeout, a cancellation); with
// stream, until its headers have (doStream). An interrupted request is
// aborted through its context. sec says how https:// is verified;
// maxBodyV is max_body (None: maxBody), the bound of a body read whole.
func do(th *starlark.Thread, fn, method, url string, headers, body, timeout starlark.Value, streaming bool, sec tlsArgs, maxBodyV starlark.Value) (starlark.Value, error) {
	d, err := loop.TimeoutArg(fn, timeout)
	if err != nil {
		return nil, err
	}
	if method != "" && !isToken(method) { // "" is GET, as in net/http
		return nil, loop.Errorf(loop.KindValue, "%s: bad method %s: want a token such as GET or PROPFIND", fn, loop.QuoteArg(method))
	}
	limit64, err := maxBodyArg(fn, maxBodyV)
	if err != nil {
		return nil, err
	}
	limit := int(min(limit64, math.MaxInt-1))
	hdr, err := headersArg(fn, headers)
	if err != nil {
		return nil, err
	}
	var payload string
	hasBody := false
	switch v := body.(type) {
	case starlark.NoneType:
	case starlark.String:
		payload, hasBody = string(v), true
	case starlark.Bytes:
		payload, hasBody = string(v), true
	default:
		return nil, loop.Errorf(loop.KindValue, "%s: body: got %s, want string, bytes or None", fn, body.Type())
	}
	x, err := netTask(th, fn)
	if err != nil {
		return nil, err
	}
	cl, err := clientFor(x, fn, sec)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if hasBody {
		rd = strings.NewReader(payload)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, requestError(fn, url, err)
	}
	if err := checkURLHost(fn, url, req.URL); err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h // net/http sends Request.Host, not a Host header (curl -H "Host: ..." is the model)
	}
	if streaming {
		return doStream(x, cl, fn, req, d, limit)
	}
	// Own goroutine: the exchange waits on the network. An interrupted
	// request is aborted through ctx. The Response is made there too:
	// nothing else sees it yet, and turning many headers into a dict
	// (up to maxResponseHeaderBytes of them) is no work for the loop.
	return x.Offload(loop.Offload{Why: requestReason(method + " " + urlText(req.URL)), Op: requestOp(fn, req.URL), Timeout: d, Own: true,
		Work: func(ctx context.Context) (starlark.Value, error) {
			resp, err := cl.Do(req.WithContext(ctx))
			if err != nil {
				return nil, err
			}
			data, err := readBody(resp, limit)
			resp.Body.Close()
			if err != nil {
				return nil, err
			}
			return newResponse(resp, headerDict(resp.Header), string(data)), nil
		},
		Done: func(v starlark.Value, err error) (starlark.Value, error) {
			if err != nil {
				return nil, clientError(fn, req.URL, err)
			}
			return v, nil
		}})
}

// requestError is the value error of a request net/http would not make:
// a bad URL named as url.parse names it, cut as loop.QuoteArg cuts
// (net/http's `parse "..."` repeated the whole URL, however long).
func requestError(fn, url string, err error) *loop.Error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return loop.Errorf(loop.KindValue, "%s: bad URL %s: %v", fn, loop.QuoteArg(redacted(url)), ue.Err)
	}
	return loop.Errorf(loop.KindValue, "%s: %v", fn, err)
}

// checkURLHost holds the host of u, parsed from url, to net's rule for
// every host a script gives (netmod.BadHost): net/url takes a name of any
// length, which was looked up all the same, to fail as io.
//
// Its port too: one past 65535 was dialed, to fail as io ("invalid
// port").
func checkURLHost(fn, url string, u *neturl.URL) error {
	if h := u.Hostname(); h != "" {
		if why := netmod.BadHost(h); why != "" {
			return loop.Errorf(loop.KindValue, "%s: bad URL %s: the host %s", fn, loop.QuoteArg(redacted(url)), why)
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return loop.Errorf(loop.KindValue, "%s: bad URL %s: port %s is not from 1 to 65535", fn, loop.QuoteArg(redacted(url)), loop.QuoteArg(p))
		}
	}
	return nil
}

// redacted is url as a script gave it, its password (if any, where it
// parses) replaced by neturl.URL.Redacted's "xxxxx".
func redacted(url string) string {
	if u, err := neturl.Parse(url); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return url
}

// urlText is u as messages name it: without its password, cut as
// loop.Clip cuts (a redirect's comes from the server, and a script's may
// be of any length).
func urlText(u *neturl.URL) string { return loop.Clip(u.Redacted()) }

// readBody reads resp's body whole, failing with a *bodyTooLarge past
// limit bytes (max_body): a server that streams forever, or a small gzip
// body that decompresses to gigabytes (the transport asks for gzip and
// decompresses it, so the bytes counted are the decompressed ones), or
// a 101 reply whose body is the raw connection, fails the request, where
// reading it all grew the heap until the run died (--max-memory killed
// the whole run, not the request). A body whose announced length is past
// the limit fails before a byte of it is read.
func readBody(resp *http.Response, limit int) ([]byte, error) {
	if resp.ContentLength > int64(limit) {
		return nil, &bodyTooLarge{resp.Request.URL, limit, resp.Uncompressed}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, &bodyError{resp.Request.URL, err}
	}
	if len(data) > limit {
		return nil, &bodyTooLarge{resp.Request.URL, limit, resp.Uncompressed}
	}
	return data, nil
}

// bodyTooLarge is a response body, from url (the last one, after
// redirects), larger than limit bytes; gzip says it was decompressed.
type bodyTooLarge struct {
	url   *neturl.URL
	limit int
	gzip  bool
}

func (e *bodyTooLarge) Error() string {
	msg := fmt.Sprintf("the body of %s is larger than the limit of %d bytes (max_body)", urlText(e.url), e.limit)
	if e.gzip {
		msg += " once decompressed (gzip)"
	}
	return msg
}

// bodyError is a failure reading a response's body, after its headers
// arrived (a failure before is a *url.Error, which names the URL), from
// url (the last one, after redirects).
type bodyError struct {
	url *neturl.URL
	err error
}

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// requestOp names a request for the failures the loop words, a timeout
// above all: "timeout: http.get of http://host/page exceeded 5s", where
// "http.get exceeded 5s" left a crawler guessing which page it was.
func requestOp(fn string, u *neturl.URL) string {
	return fn + " of " + urlText(u)
}

// clientError maps a client failure (netError), saying which URL it
// was where net/http's error does not: a server that closes the
// connection without a response, or in the middle of one, is io.EOF or
// io.ErrUnexpectedEOF, which netError makes a bare "eof: ... end of
// stream" (the reference keeps eof for read_exactly: this is io); a
// failed body read, a failed TLS handshake and too many redirects name
// nothing either. A failure after a redirect names both URLs
// (failedAt); one before names the URL but for a failed connection
// ("refused: http.get: 127.0.0.1:8080: connection refused": the
// address says where), and net/http's `Get "URL": ` goes.
func clientError(fn string, u *neturl.URL, err error) *loop.Error {
	var big *bodyTooLarge
	if errors.As(err, &big) {
		return loop.Errorf(loop.KindValue, "%s: %v", fn, big)
	}
	var be *bodyError
	if errors.As(err, &be) {
		return bodyReadError(fn, be.url, be.err)
	}
	var re *redirectError
	if errors.As(err, &re) {
		return loop.Errorf(loop.KindIO, "%s: %s: %v", fn, urlText(u), re)
	}
	var ue *neturl.Error
	if errors.As(err, &ue) {
		where, redirected := failedAt(fn, u, err)
		if le := headersTooLarge(where, ue.Err); le != nil {
			return le
		}
		var oe *net.OpError
		var de *net.DNSError
		switch {
		case errors.Is(ue.Err, io.EOF):
			return loop.Errorf(loop.KindIO, "%s: the server closed the connection without a response", where)
		case errors.Is(ue.Err, io.ErrUnexpectedEOF):
			return loop.Errorf(loop.KindIO, "%s: the server closed the connection in the middle of its response", where)
		case redirected, netmod.TLSFailed(ue.Err), !errors.As(ue.Err, &oe), errors.As(ue.Err, &de):
			// An unknown host too: the name alone did not say which
			// request it was.
			return netError(where, ue.Err)
		}
	}
	return netError(fn, err)
}

// bodyReadError is the error of a failed read of the body of u, by fn
// (http.get, or a read of a streamed Response).
func bodyReadError(fn string, u *neturl.URL, err error) *loop.Error {
	return bodyFailure(fn, "body of "+urlText(u), err)
}

// bodyFailure is the error of fn's read of a body, what ("body of URL",
// "the request body from ADDR"), that failed with err, on either side: a
// peer that closed the connection before the end it announced (its
// Content-Length, the last chunk, a compressed body stopping half-way) is
// io saying so, where net/http's bare io.ErrUnexpectedEOF came out as
// "eof: ... end of stream", the kind read_exactly keeps for itself.
func bodyFailure(fn, what string, err error) *loop.Error {
	var ce *loop.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return loop.Errorf(loop.KindIO, "%s: %s ended early (unexpected EOF)", fn, what)
	}
	// netError's message is "<fn>: <reason>".
	return netError(fn+": "+what, err)
}

// netTask returns the calling task once it has the network permission
// and is not interrupted: a cancelled task must fail before anything is
// sent.
func netTask(th *starlark.Thread, fn string) (*loop.Exec, error) {
	x, err := loop.TaskOf(th, fn)
	if err != nil {
		return nil, err
	}
	if err := x.Task.Engine().CheckNet(fn); err != nil {
		return nil, err
	}
	if err := x.Checkpoint(); err != nil {
		return nil, err
	}
	return x, nil
}

// headersArg unpacks a dict of string to string (None: no headers).
func headersArg(fn string, v starlark.Value) (map[string]string, error) {
	out := map[string]string{}
	if v == nil || v == starlark.None {
		return out, nil
	}
	items, err := starutil.StringDict(fn, "headers", v)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		k, val := it[0], it[1]
		if err := checkHeader(fn, k, val); err != nil {
			return nil, err
		}
		out[k] = val
	}
	return out, nil
}

// checkHeader fails with a value error, naming the header as the script
// did, if net/http would refuse to send it: a name that is not a token
// (RFC 9110 5.1), a value with a control character other than a tab (a
// CR or LF would end the header and start another). net/http found them
// only when sending, an io error naming the header in its canonical
// form ("invalid header field value for \"A\""). The value is not shown:
// it may be a credential.
func checkHeader(fn, name, value string) error {
	if !isToken(name) {
		return loop.Errorf(loop.KindValue, "%s: headers[%s]: not a header name (letters, digits and !#$%%&'*+-.^_`|~)", fn, loop.QuoteArg(name))
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return loop.Errorf(loop.KindValue, "%s: headers[%s]: the value has a control character at byte %d", fn, loop.QuoteArg(name), i)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token: one or more letters,
// digits and !#$%&'*+-.^_`|~, as net/http holds header names to.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// headerDict renders HTTP headers for scripts: keys in lower case (HTTP
// header names are case-insensitive; one spelling makes lookups work),
// repeated headers joined with ", ".
func headerDict(h http.Header) *starlark.Dict {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		d.SetKey(starlark.String(strings.ToLower(k)), starlark.String(strings.Join(h[k], ", ")))
	}
	return d
}

// ---- Response ----

// A Response is an HTTP response: complete, or with stream=True, its body
// still to be read (stream.go).
type Response struct {
	status  int
	headers *starlark.Dict
	ctype   string
	body    string // all of it, or once read (whole) the rest of a stream
	whole   bool
	r       *stream.Reader // the body's read side
	eng     *loop.Engine
	stop    func() // aborts a streamed body (nil otherwise)
	// A streamed body's closing when its task ends, and when the
	// collector finds the response dropped (newStreamResponse).
	end     *loop.EndHook
	cleanup runtime.Cleanup
	// tooLarge is the failure of a read of a streamed body's rest past
	// max_body (its limit).
	tooLarge *bodyTooLarge
}

// newResponse makes the Response of r, whose headers are hd
// (headerDict), with its body whole; newStreamResponse makes it
// streamed.
func newResponse(r *http.Response, hd *starlark.Dict, body string) *Response {
	return &Response{status: r.StatusCode, headers: hd, ctype: r.Header.Get("Content-Type"), body: body, whole: true,
		r: stream.NewReader(&doneSource{body}, stream.Options{Name: "response body", From: urlText(r.Request.URL)})}
}

func (r *Response) String() string        { return r.describe() }
func (r *Response) Type() string          { return "Response" }
func (r *Response) Freeze()               { r.headers.Freeze() }
func (r *Response) OwnedByLoop()          {}
func (r *Response) Truth() starlark.Bool  { return true }
func (r *Response) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Response") }
func (r *Response) AttrNames() []string   { return responseMethods.Names("body", "headers", "status") }

var responseMethods = starutil.NewMethods("Response",
	stream.Methods("read", "read_line", "lines"),
	map[string]starutil.Func{
		"text":  responseText,
		"json":  responseJSON,
		"close": responseClose,
	})

func (r *Response) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status":
		return starlark.MakeInt(r.status), nil
	case "headers":
		return r.headers, nil
	case "body":
		body, err := r.rest("Response.body")
		if err != nil {
			return nil, err
		}
		return starlark.String(body), nil
	}
	return responseMethods.Bind(name, r), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (r *Response) Method(name string) *starlark.Builtin { return responseMethods.Method(name) }

func responseText(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	r := b.Receiver().(*Response)
	body, err := r.rest(b.Name())
	if err != nil {
		return nil, err
	}
	s, err := decodeText(b.Name(), r.ctype, body)
	if err != nil {
		return nil, err
	}
	return starlark.String(s), nil
}

func responseJSON(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, loop.ValueError(err)
	}
	body, err := b.Receiver().(*Response).rest(b.Name())
	if err != nil {
		return nil, err
	}
	return decodeJSON(th, b.Name(), body)
}

// decodeText converts a body to UTF-8 by the charset its Content-Type
// names. UTF-8 (the default) and ASCII pass through; ISO-8859-1 (Latin-1)
// maps byte for byte to code points. Other charsets are a value error
// rather than a silently garbled string.
func decodeText(fn, ctype, body string) (string, error) {
	charset := "utf-8"
	if ctype != "" {
		if _, params, err := mime.ParseMediaType(ctype); err == nil && params["charset"] != "" {
			charset = strings.ToLower(params["charset"])
		}
	}
	switch charset {
	case "utf-8", "utf8", "us-ascii", "ascii":
		if !utf8.ValidString(body) {
			return strings.ToValidUTF8(body, "\uFFFD"), nil
		}
		return body, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		var b strings.Builder
		for i := 0; i < len(body); i++ {
			b.WriteRune(rune(body[i]))
		}
		return b.String(), nil
	}
	return "", loop.Errorf(loop.KindValue, "%s: unsupported charset %s (utf-8, us-ascii and iso-8859-1 are)", fn, loop.QuoteArg(charset))
}

// decodeJSON decodes with the json module scripts have, so values come
// out exactly as json.decode makes them.
func decodeJSON(th *starlark.Thread, fn, body string) (starlark.Value, error) {
	v, err := starlark.Call(th, json.Module.Members["decode"], starlark.Tuple{starlark.String(body)}, nil)
	if err != nil {
		return nil, loop.Errorf(loop.KindValue, "%s: %v", fn, err)
	}
	return v, nil
}
