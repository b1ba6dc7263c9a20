package base64_test

import (
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/base64"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/stretchr/testify/assert"
)

func modules() starlark.StringDict { return starlark.StringDict{"base64": base64.Module()} }

// coro's base64.encode and decode against CPython's b64encode,
// urlsafe_b64encode, b64decode and urlsafe_b64decode.
func TestMatchesCPython(t *testing.T) {
	py := `
import base64 as _b64
class base64:
    @staticmethod
    def encode(data, urlsafe=False, pad=True):
        if isinstance(data, str):
            data = data.encode()
        out = (_b64.urlsafe_b64encode if urlsafe else _b64.b64encode)(data).decode()
        return out if pad else out.rstrip("=")
    @staticmethod
    def decode(text, urlsafe=False):
        return (_b64.urlsafe_b64decode if urlsafe else _b64.b64decode)(text)
_types = []
`
	var cases []pycheck.Case
	for _, e := range []string{
		`base64.encode("")`,
		`base64.encode("f")`,
		`base64.encode("fo")`,
		`base64.encode("foo")`,
		`base64.encode("foob")`,
		`base64.encode("hello, wörld")`,
		`base64.encode(b"\x00\xff\xfe\xfa")`,
		`base64.encode(b"\xfb\xff\xbf", urlsafe=True)`,
		`base64.encode(b"\xfb\xff\xbf")`,
		`base64.encode("fo", pad=False)`,
		`base64.encode(b"\xfb\xff", urlsafe=True, pad=False)`,
	} {
		cases = append(cases, pycheck.C(e))
	}
	// decode returns a string (of any bytes); CPython bytes.
	for _, e := range []string{
		`base64.decode("Zm9vYg==")`,
		`base64.decode("aGVsbG8sIHfDtnJsZA==")`,
		`base64.decode("Zm9v\nYmFy\n")`,
		`base64.decode("-_-_", urlsafe=True)`,
		`base64.decode(b"Zm9v")`,
		`base64.decode("Zm9vY")`,
		`base64.decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==")`,
	} {
		cases = append(cases, pycheck.Case{Star: "_raw(" + e + ")", Py: e})
	}
	star := `
_types = {}
def _raw(s):  # the bytes of a string, as _norm gives CPython's bytes
    return {"bytes": list(s.elem_ords())}
`
	pycheck.Compare(t, modules(), star, py, cases)
}

func TestDecode(t *testing.T) {
	out := pycheck.Run(t, modules(), `
print(base64.decode("Zm9vYg"), base64.decode("Zm8"), base64.decode("-_8", urlsafe=True) == b"\xfb\xff".decode() if False else len(base64.decode("-_8", urlsafe=True)))
print(type(base64.decode("AA==")), len(base64.decode("AAAA")))
for bad in ["Zm9v!", "Zm 9v", "Zm9vYg=", "Zm9vY", "-_8=", "Zm9=v"]:
    print(catch(base64.decode, bad).error)
print(catch(base64.decode, "+/8=", urlsafe=True).error)
print(catch(base64.encode, 1).error)
`)
	assert.Equal(t, `foob fo 2
string 3
value: base64.decode: invalid character "!" at offset 4
value: base64.decode: invalid character " " at offset 2
value: base64.decode: truncated or badly padded input at offset 7
value: base64.decode: truncated or badly padded input at offset 4
value: base64.decode: invalid character "-" at offset 0 (the other alphabet: urlsafe=True?)
value: base64.decode: truncated or badly padded input at offset 3
value: base64.decode: invalid character "+" at offset 0 (the other alphabet: urlsafe=False?)
value: base64.encode: for parameter data: got int, want string or bytes
`, out)
}

// Large inputs round-trip (through the blocking pool).
func TestLarge(t *testing.T) {
	out := pycheck.Run(t, modules(), `
data = "0123456789abcdef" * 100000
enc = base64.encode(data)
print(len(enc), base64.decode(enc) == data)
`)
	assert.Equal(t, "2133336 True\n", out)
}
