package hashlib_test

import (
	"testing"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/stdlib/hashlib"
	"github.com/corolang/coro/stdlib/internal/pycheck"
	"github.com/stretchr/testify/assert"
)

func modules() starlark.StringDict { return starlark.StringDict{"hashlib": hashlib.Module()} }

// coro's hashlib against CPython's hashlib and hmac.
func TestMatchesCPython(t *testing.T) {
	py := `
import hashlib as _h, hmac as _hmac
def _b(s):
    return s.encode() if isinstance(s, str) else s
class hashlib:
    md5 = staticmethod(lambda data="": _h.md5(_b(data)))
    sha1 = staticmethod(lambda data="": _h.sha1(_b(data)))
    sha256 = staticmethod(lambda data="": _h.sha256(_b(data)))
    sha512 = staticmethod(lambda data="": _h.sha512(_b(data)))
    hmac = staticmethod(lambda key, data="", digest="sha256": _hmac.new(_b(key), _b(data), digest))
    compare_digest = staticmethod(lambda a, b: _hmac.compare_digest(_b(a), _b(b)))
def _updated(h, *parts):
    for p in parts:
        h.update(_b(p))
    return h.hexdigest()
_types = []
`
	star := `
def _updated(h, *parts):
    for p in parts:
        h.update(p)
    return h.hexdigest()
_types = {}
`
	var cases []pycheck.Case
	for _, e := range []string{
		`hashlib.md5().hexdigest()`,
		`hashlib.md5("abc").hexdigest()`,
		`hashlib.sha1("abc").hexdigest()`,
		`hashlib.sha256("abc").hexdigest()`,
		`hashlib.sha512("abc").hexdigest()`,
		`hashlib.sha256("wörld").hexdigest()`,
		`hashlib.sha256(b"\x00\xff").digest()`,
		`hashlib.sha256("a" * 100000).hexdigest()`,
		`_updated(hashlib.sha256(), "a", "b", "c")`,
		`_updated(hashlib.sha1("x"), "y" * 70000, "z")`,
		`hashlib.sha256().digest_size`,
		`hashlib.sha512().block_size`,
		`hashlib.md5().name`,
		`hashlib.hmac("key", "The quick brown fox").hexdigest()`,
		`hashlib.hmac("key", "msg", "sha1").hexdigest()`,
		`hashlib.hmac("key", "msg", digest="md5").hexdigest()`,
		`hashlib.hmac("key", "msg", "sha512").digest()`,
		`hashlib.hmac(b"\x01" * 200, "long key").hexdigest()`,
		`_updated(hashlib.hmac("k"), "a", "b")`,
		`hashlib.hmac("k", "m").name`,
		`hashlib.hmac("k", "m").digest_size`,
		`hashlib.compare_digest("abc", "abc")`,
		`hashlib.compare_digest("abc", "abd")`,
		`hashlib.compare_digest("abc", "ab")`,
		`hashlib.compare_digest(b"\x00", b"\x00")`,
	} {
		cases = append(cases, pycheck.C(e))
	}
	pycheck.Compare(t, modules(), star, py, cases)
}

func TestHash(t *testing.T) {
	out := pycheck.Run(t, modules(), `
h = hashlib.sha256("a")
c = h.copy()
c.update("b")
print(h.hexdigest() == hashlib.sha256("a").hexdigest(), c.hexdigest() == hashlib.sha256("ab").hexdigest())
print(h, type(h), dir(h))
print(h.update("x"))
print(type(h.digest()), len(h.digest()))
print(catch(hashlib.hmac, "k", "m", "sha3").error)
print(catch(hashlib.sha256, 1).error)
print(catch(h.update).error)
freeze(h)
print(catch(h.update, "y").error)
print(h.hexdigest() == hashlib.sha256("ax").hexdigest())
`)
	assert.Equal(t, `True True
<sha256 Hash> Hash ["block_size", "copy", "digest", "digest_size", "hexdigest", "name", "update"]
None
bytes 32
value: hashlib.hmac: unknown digest "sha3" (want md5, sha1, sha256 or sha512)
value: hashlib.sha256: for parameter data: got int, want string or bytes
value: Hash.update: missing argument for data
value: Hash.update: cannot update a frozen sha256 hash
True
`, out)
}

// While a large update is computed on the pool, the hash is busy; a
// cancelled update leaves it as it was.
func TestBusyAndCancelledUpdate(t *testing.T) {
	out := pycheck.Run(t, modules(), `
h = hashlib.sha256()
big = "x" * 20000000
t = spawn(h.update, big)
sleep(0)  # t is now waiting on the pool
print(catch(h.hexdigest).error)
t.cancel()
print(catch(t.wait).error.kind)
print(h.hexdigest() == hashlib.sha256().hexdigest())
h.update(big)
print(h.hexdigest() == hashlib.sha256(big).hexdigest())
`)
	assert.Equal(t, `value: Hash.hexdigest: the sha256 hash is busy with another task's update
cancelled
True
True
`, out)
}
