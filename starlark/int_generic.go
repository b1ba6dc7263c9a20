//go:build (!linux && !darwin && !dragonfly && !freebsd && !netbsd && !solaris) || (!amd64 && !arm64 && !mips64x && !ppc64 && !ppc64le && !loong64 && !s390x)

package starlark

// generic Int implementation as a union

import "math/big"

type intImpl struct {
	// coro patch: small holds any int64 (upstream: only int32, so that
	// small+small and small*small could not overflow); int.go checks
	// its arithmetic for overflow.
	small_ int64    // valid if big == nil
	big_   *big.Int // big != nil <=> value is not representable as int64
}

// --- low-level accessors ---

// get returns the small and big components of the Int.
// small is defined only if big is nil.
// small is sign-extended to 64 bits for ease of subsequent arithmetic.
func (i Int) get() (small int64, big *big.Int) {
	return i.impl.small_, i.impl.big_
}

// makeSmallInt returns the Int for any int64.
func makeSmallInt(x int64) Int {
	return Int{intImpl{small_: x}}
}

// Precondition: x cannot be represented as int64.
func makeBigInt(x *big.Int) Int {
	return Int{intImpl{big_: x}}
}
