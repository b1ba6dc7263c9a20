// Package url is the script module `url` (SPEC 13): parsing, RFC 3986
// resolution, percent-encoding and query strings over Go's net/url, with
// the results of Python's urllib.parse where the SPEC follows it.
package url

import (
	gourl "net/url"
	"strconv"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Module returns the url module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "url", Members: starlark.StringDict{
		"parse":   starlark.NewBuiltin("url.parse", parse),
		"join":    starlark.NewBuiltin("url.join", join),
		"quote":   starlark.NewBuiltin("url.quote", quote),
		"unquote": starlark.NewBuiltin("url.unquote", unquote),
		"encode":  starlark.NewBuiltin("url.encode", encode),
		"decode":  starlark.NewBuiltin("url.decode", decode),
	}}
}

// parseURL is net/url's Parse, its error a value error naming the URL.
func parseURL(fn, s string) (*gourl.URL, error) {
	u, err := gourl.Parse(s)
	if err != nil {
		msg := err.Error()
		if ue, ok := err.(*gourl.Error); ok {
			msg = ue.Err.Error()
		}
		return nil, loop.Errorf(loop.KindValue, "%s: bad URL %s: %s", fn, loop.QuoteArg(s), msg)
	}
	return u, nil
}

func noneOr(s string, ok bool) starlark.Value {
	if !ok {
		return starlark.None
	}
	return starlark.String(s)
}

// parse is url.parse(s) → a struct with scheme, host (with the port),
// hostname (lower case, without brackets; None if there is no host),
// port (int or None), path (percent-decoded), query (dict of first
// values), fragment (as written), username and password (decoded; None
// when absent).
func parse(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starutil.Unpack(b.Name(), args, kwargs, "s", &s); err != nil {
		return nil, err
	}
	u, err := parseURL(b.Name(), s)
	if err != nil {
		return nil, err
	}
	var port starlark.Value = starlark.None
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			return nil, loop.Errorf(loop.KindValue, "%s: bad URL %s: port %s out of range 0-65535", b.Name(), loop.QuoteArg(s), loop.Clip(p))
		}
		port = starlark.MakeInt(n)
	}
	var user, pass starlark.Value = starlark.None, starlark.None
	if u.User != nil {
		user = starlark.String(u.User.Username())
		pass = noneOr(u.User.Password())
	}
	var hostname starlark.Value = starlark.None
	if h := u.Hostname(); h != "" {
		hostname = starlark.String(strings.ToLower(h))
	}
	path := u.Path
	if u.Opaque != "" { // mailto:joe@example.com: Python's path
		if p, err := gourl.PathUnescape(u.Opaque); err == nil {
			path = p
		}
	}
	_, fragment, _ := strings.Cut(s, "#")
	return starlarkstruct.FromStringDict(starlark.String("url"), starlark.StringDict{
		"scheme":   starlark.String(u.Scheme),
		"host":     starlark.String(u.Host),
		"hostname": hostname,
		"port":     port,
		"path":     starlark.String(path),
		"query":    decodeQuery(u.RawQuery),
		"fragment": starlark.String(fragment),
		"username": user,
		"password": pass,
	}), nil
}

// join is url.join(base, ref): ref resolved against base as RFC 3986
// section 5 says (Python's urljoin).
func join(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var base, ref string
	if err := starutil.Unpack(b.Name(), args, kwargs, "base", &base, "ref", &ref); err != nil {
		return nil, err
	}
	bu, err := parseURL(b.Name(), base)
	if err != nil {
		return nil, err
	}
	ru, err := parseURL(b.Name(), ref)
	if err != nil {
		return nil, err
	}
	u := bu.ResolveReference(ru)
	if bu.Scheme == "" && bu.Host == "" && !strings.HasPrefix(bu.Path, "/") && !strings.HasPrefix(ru.Path, "/") && ru.Host == "" && ru.Scheme == "" {
		// A relative base stays relative, as with Python's urljoin
		// ("rel/path" and "x" give "rel/x"); Go's resolution roots
		// every path ("/rel/x").
		u.Path = strings.TrimPrefix(u.Path, "/")
		u.RawPath = strings.TrimPrefix(u.RawPath, "/")
	}
	return starlark.String(u.String()), nil
}

// escape percent-encodes every byte but letters, digits and -._~ (with
// plus, a space becomes "+").
func escape(s string, plus bool) string {
	const hex = "0123456789ABCDEF"
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			out.WriteByte(c)
		case c == ' ' && plus:
			out.WriteByte('+')
		default:
			out.WriteByte('%')
			out.WriteByte(hex[c>>4])
			out.WriteByte(hex[c&15])
		}
	}
	return out.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape decodes %XX (and "+" as a space, with plus); a "%" not followed
// by two hex digits stays as it is, as in Python's unquote.
func unescape(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				out.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		if c == '+' && plus {
			c = ' '
		}
		out.WriteByte(c)
	}
	return out.String()
}

// quote is url.quote(s): every byte but letters, digits and -._~
// percent-encoded (Python's quote(s, safe="")).
func quote(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s starutil.Bytes
	if err := starutil.Unpack(b.Name(), args, kwargs, "s", &s); err != nil {
		return nil, err
	}
	return starlark.String(escape(string(s), false)), nil
}

// unquote is url.unquote(s): each %XX decoded to its byte.
func unquote(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starutil.Unpack(b.Name(), args, kwargs, "s", &s); err != nil {
		return nil, err
	}
	return starlark.String(unescape(s, false)), nil
}

// text is a key or value of url.encode: a string's or bytes' own bytes,
// anything else through str.
func text(v starlark.Value) string {
	if b, ok := v.(starlark.Bytes); ok {
		return string(b)
	}
	return starutil.Str(v)
}

// encode is url.encode(query): a dict, or a list of (name, value) pairs,
// as a query string in that order, spaces as "+" (Python's urlencode).
func encode(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var q starlark.Value
	if err := starutil.Unpack(b.Name(), args, kwargs, "query", &q); err != nil {
		return nil, err
	}
	var pairs []starlark.Tuple
	switch q := q.(type) {
	case *starlark.Dict:
		pairs = q.Items()
	case starlark.Indexable:
		for i := 0; i < q.Len(); i++ {
			p, ok := q.Index(i).(starlark.Indexable)
			if !ok || p.Len() != 2 || p.Type() == "string" || p.Type() == "bytes" {
				return nil, loop.Errorf(loop.KindValue, "%s: item %d of the query is %s, want a (name, value) pair", b.Name(), i, q.Index(i).Type())
			}
			pairs = append(pairs, starlark.Tuple{p.Index(0), p.Index(1)})
		}
	default:
		return nil, loop.Errorf(loop.KindValue, "%s: for parameter query: got %s, want dict or list of pairs", b.Name(), q.Type())
	}
	var out strings.Builder
	for i, kv := range pairs {
		if i > 0 {
			out.WriteByte('&')
		}
		out.WriteString(escape(text(kv[0]), true))
		out.WriteByte('=')
		out.WriteString(escape(text(kv[1]), true))
	}
	return starlark.String(out.String()), nil
}

// decodeQuery reads a query string as Python's parse_qs with
// keep_blank_values=True, keeping each name's first value: pairs split on
// "&", a name without "=" has the value "", names in order of first
// appearance.
func decodeQuery(q string) *starlark.Dict {
	d := starlark.NewDict(0)
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key := starlark.String(unescape(k, true))
		if _, found, _ := d.Get(key); found {
			continue
		}
		d.SetKey(key, starlark.String(unescape(v, true)))
	}
	return d
}

// decode is url.decode(query) → dict of first values.
func decode(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var q string
	if err := starutil.Unpack(b.Name(), args, kwargs, "query", &q); err != nil {
		return nil, err
	}
	return decodeQuery(q), nil
}
