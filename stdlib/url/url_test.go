package url_test

import (
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/corolang/coro/stdlib/url"
	"github.com/stretchr/testify/assert"
)

func modules() starlark.StringDict { return starlark.StringDict{"url": url.Module()} }

// coro's url against CPython's urllib.parse: urlsplit (with the path and
// the user's name and password unquoted, and the query as first values
// of parse_qs(keep_blank_values=True)), urljoin, quote(safe=""), unquote,
// urlencode.
func TestMatchesCPython(t *testing.T) {
	py := `
import urllib.parse as _p
class url:
    @staticmethod
    def parse(s):
        u = _p.urlsplit(s)
        q = {k: v[0] for k, v in _p.parse_qs(u.query, keep_blank_values=True).items()}
        host = u.netloc.rpartition("@")[2]
        un = lambda x: None if x is None else _p.unquote(x)
        return {"scheme": u.scheme, "host": host, "hostname": u.hostname, "port": u.port,
                "path": _p.unquote(u.path), "query": q, "fragment": u.fragment,
                "username": un(u.username), "password": un(u.password)}
    join = staticmethod(_p.urljoin)
    quote = staticmethod(lambda s: _p.quote(s, safe=""))
    unquote = staticmethod(_p.unquote)
    encode = staticmethod(_p.urlencode)
    decode = staticmethod(lambda q: {k: v[0] for k, v in _p.parse_qs(q, keep_blank_values=True).items()})
_types = []
`
	star := `
def _struct(s):
    return {k: getattr(s, k) for k in dir(s)}
_types = {"struct": _struct}
`
	var cases []pycheck.Case
	for _, e := range []string{
		`url.parse("https://user:pw@Example.COM:8443/a%20b/c?x=1&y=&x=2&z#frag")`,
		`url.parse("http://example.com")`,
		`url.parse("http://example.com/")`,
		`url.parse("http://[::1]:8080/p")`,
		`url.parse("//cdn.example.com/lib.js")`,
		`url.parse("/just/a/path?q=a+b%2Bc")`,
		`url.parse("relative/path")`,
		`url.parse("mailto:joe@example.com")`,
		`url.parse("file:///etc/hosts")`,
		`url.parse("http://u%40x:p%3Aw@host/")`,
		`url.parse("http://user@host/")`,
		`url.parse("http://host/#a#b")`,
		`url.parse("http://host/?q=%E2%82%AC&r=%zz")`,
		`url.parse("HTTP://Host:80")`,
		`url.parse("http://host:99999/")`,
		// RFC 3986 section 5.4
		`url.join("http://a/b/c/d;p?q", "g:h")`,
		`url.join("http://a/b/c/d;p?q", "g")`,
		`url.join("http://a/b/c/d;p?q", "./g")`,
		`url.join("http://a/b/c/d;p?q", "g/")`,
		`url.join("http://a/b/c/d;p?q", "/g")`,
		`url.join("http://a/b/c/d;p?q", "//g")`,
		`url.join("http://a/b/c/d;p?q", "?y")`,
		`url.join("http://a/b/c/d;p?q", "g?y")`,
		`url.join("http://a/b/c/d;p?q", "#s")`,
		`url.join("http://a/b/c/d;p?q", "g#s")`,
		`url.join("http://a/b/c/d;p?q", "g?y#s")`,
		`url.join("http://a/b/c/d;p?q", ";x")`,
		`url.join("http://a/b/c/d;p?q", "g;x")`,
		`url.join("http://a/b/c/d;p?q", "g;x?y#s")`,
		`url.join("http://a/b/c/d;p?q", "")`,
		`url.join("http://a/b/c/d;p?q", ".")`,
		`url.join("http://a/b/c/d;p?q", "./")`,
		`url.join("http://a/b/c/d;p?q", "..")`,
		`url.join("http://a/b/c/d;p?q", "../")`,
		`url.join("http://a/b/c/d;p?q", "../g")`,
		`url.join("http://a/b/c/d;p?q", "../..")`,
		`url.join("http://a/b/c/d;p?q", "../../")`,
		`url.join("http://a/b/c/d;p?q", "../../g")`,
		`url.join("http://a/b/c/d;p?q", "../../../g")`,
		`url.join("http://a/b/c/d;p?q", "../../../../g")`,
		`url.join("http://a/b/c/d;p?q", "/./g")`,
		`url.join("http://a/b/c/d;p?q", "/../g")`,
		`url.join("http://a/b/c/d;p?q", "g.")`,
		`url.join("http://a/b/c/d;p?q", ".g")`,
		`url.join("http://a/b/c/d;p?q", "g..")`,
		`url.join("http://a/b/c/d;p?q", "..g")`,
		`url.join("http://a/b/c/d;p?q", "./../g")`,
		`url.join("http://a/b/c/d;p?q", "./g/.")`,
		`url.join("http://a/b/c/d;p?q", "g/./h")`,
		`url.join("http://a/b/c/d;p?q", "g/../h")`,
		`url.join("http://a/b/c/d;p?q", "g;x=1/./y")`,
		`url.join("http://a/b/c/d;p?q", "g;x=1/../y")`,
		`url.join("http://a/b/c/d;p?q", "g?y/./x")`,
		`url.join("http://a/b/c/d;p?q", "g#s/../x")`,
		`url.join("https://example.com/docs/index.html", "../img/a.png")`,
		`url.join("https://example.com/docs/", "https://other.org/x")`,
		`url.join("https://example.com/a/b", "c%20d")`,
		// a relative base stays relative, as with urljoin
		`url.join("rel/path", "x")`,
		`url.join("rel/path", "../y")`,
		`url.join("rel/path/", "x?q=1")`,
		`url.join("rel/path", "/abs")`,
		`url.join("", "x")`,
		// quoting
		`url.quote("a b/c?d=e&f#g~h_i.j-k")`,
		`url.quote("wörld €")`,
		`url.quote(b"\x00\xff")`,
		`url.quote("")`,
		`url.unquote("a%20b%2Fc+d%zz%4")`,
		`url.unquote("w%C3%B6rld")`,
		`url.encode({"q": "a b", "lang": "en/us", "n": 3, "ok": True, "none": None})`,
		`url.encode([("a", "1"), ("a", "2"), ("b", "x&y=z")])`,
		`url.encode({})`,
		`url.decode("a=1&b=2&a=3&c&d=&e=x+y%21")`,
		`url.decode("")`,
		`url.decode("&&a=1&&")`,
		`url.decode("a=%E2%82%AC")`,
	} {
		cases = append(cases, pycheck.C(e))
	}
	pycheck.Compare(t, modules(), star, py, cases)
}

func TestOrderAndErrors(t *testing.T) {
	out := pycheck.Run(t, modules(), `
print(url.decode("z=1&a=2&z=3&m"))
print(url.parse("http://h/?z=1&a=2").query)
print(url.encode({"z": 1, "a": 2}))
u = url.parse("https://h:8443/p")
print(u.port, type(u.port), u.hostname, u.host)
print(catch(url.parse, "http://a b/").error)
print(catch(url.parse, "http://h:99999/").error)
print(catch(url.join, "http://h/", "%zz").error)
print(catch(url.encode, ["ab"]).error)
print(catch(url.encode, 3).error)
print(len(url.unquote("%ff")), list(url.unquote("%ff%00").elem_ords()))
`)
	assert.Equal(t, `{"z": "1", "a": "2", "m": ""}
{"z": "1", "a": "2"}
z=1&a=2
8443 int h h:8443
value: url.parse: bad URL "http://a b/": invalid character " " in host name
value: url.parse: bad URL "http://h:99999/": port 99999 out of range 0-65535
value: url.join: bad URL "%zz": invalid URL escape "%zz"
value: url.encode: item 0 of the query is string, want a (name, value) pair
value: url.encode: for parameter query: got int, want dict or list of pairs
1 [255, 0]
`, out)
}
