// Package base64 is the script module `base64` (SPEC 13), over Go's
// encoding/base64: the standard alphabet of RFC 4648 (or its URL-safe
// variant), with or without padding. Inputs of offload.Threshold bytes
// or more are encoded or decoded on the blocking pool.
package base64

import (
	gobase64 "encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/offload"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// Module returns the base64 module.
func Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "base64", Members: starlark.StringDict{
		"encode": starlark.NewBuiltin("base64.encode", encode),
		"decode": starlark.NewBuiltin("base64.decode", decode),
	}}
}

func encoding(urlsafe, pad bool) *gobase64.Encoding {
	enc := gobase64.StdEncoding
	if urlsafe {
		enc = gobase64.URLEncoding
	}
	if !pad {
		enc = enc.WithPadding(gobase64.NoPadding)
	}
	return enc
}

// encode is base64.encode(data, urlsafe=False, pad=True) → string, as
// Python's b64encode (urlsafe_b64encode), with the padding "=" left off
// when pad is False.
func encode(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var data starutil.Bytes
	urlsafe, pad := false, true
	if err := starutil.Unpack(b.Name(), args, kwargs, "data", &data, "urlsafe?", &urlsafe, "pad?", &pad); err != nil {
		return nil, err
	}
	return offload.Run(th, b.Name(), len(data), func() (starlark.Value, error) {
		return starlark.String(encoding(urlsafe, pad).EncodeToString([]byte(data))), nil
	})
}

// decode is base64.decode(text, urlsafe=False) → string (of any bytes).
// The padding may be left off; newlines (MIME's wrapped lines) are
// skipped; any other character outside the alphabet, or a wrong padding,
// is a value error naming its offset.
func decode(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text starutil.Bytes
	urlsafe := false
	if err := starutil.Unpack(b.Name(), args, kwargs, "text", &text, "urlsafe?", &urlsafe); err != nil {
		return nil, err
	}
	s := string(text)
	return offload.Run(th, b.Name(), len(s), func() (starlark.Value, error) {
		pad := strings.HasSuffix(strings.TrimRight(s, "\r\n"), "=")
		out, err := encoding(urlsafe, pad).DecodeString(s)
		if err != nil {
			return nil, decodeError(b.Name(), s, urlsafe, err)
		}
		return starlark.String(out), nil
	})
}

const (
	stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// decodeError says what is wrong with the input and where.
func decodeError(fn, s string, urlsafe bool, err error) error {
	var ce gobase64.CorruptInputError
	if !errors.As(err, &ce) {
		return loop.Errorf(loop.KindValue, "%s: %v", fn, err)
	}
	at := int(ce)
	alphabet, other := stdAlphabet, "urlsafe=True"
	if urlsafe {
		alphabet, other = urlAlphabet, "urlsafe=False"
	}
	if at < len(s) && s[at] != '=' && strings.IndexByte(alphabet, s[at]) < 0 {
		hint := ""
		if strings.IndexByte(stdAlphabet+urlAlphabet, s[at]) >= 0 {
			hint = fmt.Sprintf(" (the other alphabet: %s?)", other)
		}
		return loop.Errorf(loop.KindValue, "%s: invalid character %s at offset %d%s", fn, starlark.String(s[at:at+1]), at, hint)
	}
	return loop.Errorf(loop.KindValue, "%s: truncated or badly padded input at offset %d", fn, at)
}
