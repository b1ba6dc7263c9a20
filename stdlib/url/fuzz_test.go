package url_test

// FuzzURL: the url module on random text. Whatever the input, parse and
// join return a value or a value error naming the URL (never a Go
// panic); and the round trips hold: unquote(quote(s)) == s, and a query
// decoded, encoded and decoded again is the same dict.
//
// `go test ./stdlib/url` runs it over its seeds and the inputs under
// testdata/fuzz/FuzzURL; locally:
// go test ./stdlib/url -run '^$' -fuzz '^FuzzURL$' -fuzztime 60s

import (
	"errors"
	"strings"
	"testing"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/url"
)

var urlModule = url.Module()

func urlCall(name string, args ...starlark.Value) (starlark.Value, error) {
	return starlark.Call(&starlark.Thread{}, urlModule.Members[name], args, nil)
}

func FuzzURL(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s, "../x?y=1#z")
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, s, ref string) {
		if len(s)+len(ref) > 16<<10 {
			t.Skip("too large")
		}
		checkURL(t, s, ref)
	})
}

func checkURL(t *testing.T, s, ref string) {
	t.Helper()
	u, err := urlCall("parse", starlark.String(s))
	if err != nil {
		checkValueError(t, "parse", err)
	} else {
		// The query parse gives is decode's of the URL's query.
		q, _ := u.(starlark.HasAttrs).Attr("query")
		checkQuery(t, q)
	}
	if _, err := urlCall("join", starlark.String(s), starlark.String(ref)); err != nil {
		checkValueError(t, "join", err)
	}
	for _, v := range []starlark.Value{starlark.String(s), starlark.Bytes(s)} {
		q, err := urlCall("quote", v)
		if err != nil {
			t.Fatalf("quote(%q): %v", s, err)
		}
		back, err := urlCall("unquote", q)
		if err != nil || back != starlark.String(s) {
			t.Fatalf("unquote(quote(%q)) = %v, %v", s, back, err)
		}
	}
	if _, err := urlCall("unquote", starlark.String(s)); err != nil {
		t.Fatalf("unquote(%q): %v", s, err)
	}
	d, err := urlCall("decode", starlark.String(s))
	if err != nil {
		t.Fatalf("decode(%q): %v", s, err)
	}
	checkQuery(t, d)
}

// checkQuery checks that the query dict d encodes to a query that
// decodes to d.
func checkQuery(t *testing.T, d starlark.Value) {
	t.Helper()
	enc, err := urlCall("encode", d)
	if err != nil {
		t.Fatalf("encode(%v): %v", d, err)
	}
	back, err := urlCall("decode", enc)
	if err != nil {
		t.Fatalf("decode(encode(%v)) = decode(%v): %v", d, enc, err)
	}
	if eq, err := starlark.Equal(back, d); err != nil || !eq {
		t.Fatalf("decode(encode(d)) != d:\n%v\n%v\nquery: %v", d, back, enc)
	}
}

// checkValueError fails t unless err is a value error that is not a
// recovered Go panic.
func checkValueError(t *testing.T, where string, err error) {
	t.Helper()
	var le *loop.Error
	if !errors.As(err, &le) || le.Kind != loop.KindValue {
		t.Fatalf("%s: got %T %v, want a value error", where, err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "internal error") || strings.Contains(msg, "runtime error") {
		t.Fatalf("%s: a Go panic: %v", where, err)
	}
}

// urlSeeds are hand-written seeds for FuzzURL: every part of a URL, IPv6
// hosts and zones, ports, user information, opaque URLs, percent escapes
// (good and bad) and queries with repeated, empty and encoded names.
var urlSeeds = []string{
	"", "http://example.com", "https://user:pa%20ss@Example.COM:8443/a%2Fb/c?x=1&y=&z#frag",
	"http://[::1]:80/", "http://[fe80::1%25eth0]/", "http://[::1", "http://host:port/", "http://host:99999/",
	"http://host:-1/", "mailto:joe@example.com", "file:///etc/passwd", "//host/path", "/rel?x", "rel/path",
	"?a=1&a=2&b", "a=1&a=2&&b=&=c&d", "a+b=c+d&%20=%2B", "%zz", "%", "%4", "%41%42", "%e9%ff",
	"x=%00%0a", "http://a b/", "http://a\x00b/", "http://h/\xff", "HTTP://H/%7E", "http://h?#",
	"javascript:alert(1)", "http://h/" + strings.Repeat("a/", 1000), "?" + strings.Repeat("k=v&", 1000),
	"http://" + strings.Repeat("a", 300) + ".com/", "é=ü&ü=é", "x=1;y=2",
}
