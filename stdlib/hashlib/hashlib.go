// Package hashlib is the script module `hashlib` (SPEC 13): md5, sha1,
// sha256, sha512 and HMAC over Go's crypto packages, with the Hash object
// of Python's hashlib. Hashing data of offload.Threshold bytes or more
// runs on the blocking pool.
package hashlib

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/corolang/coro/loop"
	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/stdlib/internal/offload"
	"github.com/corolang/coro/stdlib/internal/starutil"
)

// algorithms are the hashes by name, in the order errors list them.
var algorithms = []struct {
	name string
	new  func() hash.Hash
}{{"md5", md5.New}, {"sha1", sha1.New}, {"sha256", sha256.New}, {"sha512", sha512.New}}

func algorithm(name string) func() hash.Hash {
	for _, a := range algorithms {
		if a.name == name {
			return a.new
		}
	}
	return nil
}

// Module returns the hashlib module.
func Module() *starlarkstruct.Module {
	m := starlark.StringDict{
		"hmac":           starlark.NewBuiltin("hashlib.hmac", hmacFn),
		"compare_digest": starlark.NewBuiltin("hashlib.compare_digest", compareDigest),
	}
	for _, a := range algorithms {
		m[a.name] = starlark.NewBuiltin("hashlib."+a.name, newHash(a.name, a.new))
	}
	return &starlarkstruct.Module{Name: "hashlib", Members: m}
}

// A Hash is a running hash (or HMAC). An update of a large input is
// computed on the blocking pool, into a copy of the state that replaces
// the hash's own when it is done: meanwhile the hash is busy (other
// tasks' calls on it fail), and an update whose task is cancelled leaves
// the hash as it was.
type Hash struct {
	name   string
	h      hash.Hash
	busy   bool
	frozen bool
}

var _ starlark.HasAttrs = (*Hash)(nil)

// newHash makes hashlib.NAME(data="").
func newHash(name string, newFn func() hash.Hash) starutil.Func {
	return func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var data starutil.Bytes
		if err := starutil.Unpack(b.Name(), args, kwargs, "data?", &data); err != nil {
			return nil, err
		}
		h := &Hash{name: name, h: newFn()}
		if err := h.update(th, b.Name(), string(data)); err != nil {
			return nil, err
		}
		return h, nil
	}
}

// hmacFn is hashlib.hmac(key, data="", digest="sha256"): Python's
// hmac.new(key, data, digest).
func hmacFn(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key, data starutil.Bytes
	digest := "sha256"
	if err := starutil.Unpack(b.Name(), args, kwargs, "key", &key, "data?", &data, "digest?", &digest); err != nil {
		return nil, err
	}
	newFn := algorithm(digest)
	if newFn == nil {
		return nil, loop.Errorf(loop.KindValue, "%s: unknown digest %s (want md5, sha1, sha256 or sha512)", b.Name(), loop.QuoteArg(digest))
	}
	h := &Hash{name: "hmac-" + digest, h: hmac.New(newFn, []byte(key))}
	if err := h.update(th, b.Name(), string(data)); err != nil {
		return nil, err
	}
	return h, nil
}

// compareDigest is hashlib.compare_digest(a, b): equality of two strings
// or bytes in time that depends only on their lengths.
func compareDigest(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starutil.Bytes
	if err := starutil.Unpack(b.Name(), args, kwargs, "a", &x, "b", &y); err != nil {
		return nil, err
	}
	return starlark.Bool(subtle.ConstantTimeCompare([]byte(x), []byte(y)) == 1), nil
}

// update feeds data to the hash: at once if it is small, else on the
// pool into a copy of the state, which then replaces the hash's.
func (h *Hash) update(th *starlark.Thread, fn, data string) error {
	if err := h.check(fn, true); err != nil {
		return err
	}
	if len(data) < offload.Threshold {
		h.h.Write([]byte(data))
		return nil
	}
	c, err := clone(h.h)
	if err != nil {
		return loop.Errorf(loop.KindValue, "%s: %v", fn, err)
	}
	h.busy = true
	defer func() { h.busy = false }()
	if _, err := offload.Run(th, fn, len(data), func() (starlark.Value, error) {
		c.Write([]byte(data))
		return starlark.None, nil
	}); err != nil {
		return err
	}
	h.h = c
	return nil
}

// check fails if another task's update is being computed, or (for an
// update) if the hash is frozen.
func (h *Hash) check(fn string, mutate bool) error {
	if h.busy {
		return loop.Errorf(loop.KindValue, "%s: the %s hash is busy with another task's update", fn, h.name)
	}
	if mutate && h.frozen {
		return loop.Errorf(loop.KindValue, "%s: cannot update a frozen %s hash", fn, h.name)
	}
	return nil
}

func clone(h hash.Hash) (hash.Hash, error) {
	if c, ok := h.(hash.Cloner); ok {
		return c.Clone()
	}
	return nil, fmt.Errorf("a %T cannot be copied", h)
}

func (h *Hash) String() string        { return fmt.Sprintf("<%s Hash>", h.name) }
func (h *Hash) Type() string          { return "Hash" }
func (h *Hash) Freeze()               { h.frozen = true }
func (h *Hash) Truth() starlark.Bool  { return true }
func (h *Hash) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Hash") }
func (h *Hash) AttrNames() []string {
	return hashMethods.Names("block_size", "digest_size", "name")
}

func (h *Hash) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(h.name), nil
	case "digest_size":
		return starlark.MakeInt(h.h.Size()), nil
	case "block_size":
		return starlark.MakeInt(h.h.BlockSize()), nil
	}
	return hashMethods.Bind(name, h), nil
}

// Method returns the method name, unbound (starlark.HasMethods: a call
// x.name(...) binds none).
func (h *Hash) Method(name string) *starlark.Builtin { return hashMethods.Method(name) }

var hashMethods = starutil.NewMethods("Hash", map[string]starutil.Func{
	"update":    hashUpdate,
	"digest":    hashSum(func(sum []byte) starlark.Value { return starlark.Bytes(sum) }),
	"hexdigest": hashSum(func(sum []byte) starlark.Value { return starlark.String(hex.EncodeToString(sum)) }),
	"copy":      hashCopy,
})

// hashUpdate is hash.update(data): feed more data; returns None.
func hashUpdate(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	h := b.Receiver().(*Hash)
	fn := b.Name()
	var data starutil.Bytes
	if err := starutil.Unpack(fn, args, kwargs, "data", &data); err != nil {
		return nil, err
	}
	if err := h.update(th, fn, string(data)); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

// hashSum makes digest and hexdigest: the hash of what was fed so far
// (the hash may go on being updated).
func hashSum(conv func([]byte) starlark.Value) starutil.Func {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		h := b.Receiver().(*Hash)
		fn := b.Name()
		if err := starutil.Unpack(fn, args, kwargs); err != nil {
			return nil, err
		}
		if err := h.check(fn, false); err != nil {
			return nil, err
		}
		return conv(h.h.Sum(nil)), nil
	}
}

// hashCopy is hash.copy(): an independent Hash with the same state.
func hashCopy(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	h := b.Receiver().(*Hash)
	fn := b.Name()
	if err := starutil.Unpack(fn, args, kwargs); err != nil {
		return nil, err
	}
	if err := h.check(fn, false); err != nil {
		return nil, err
	}
	c, err := clone(h.h)
	if err != nil {
		return nil, loop.Errorf(loop.KindValue, "%s: %v", fn, err)
	}
	return &Hash{name: h.name, h: c}, nil
}
