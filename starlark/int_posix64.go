//go:build (linux || darwin || dragonfly || freebsd || netbsd || solaris) && (amd64 || arm64 || mips64x || ppc64 || ppc64le || loong64 || s390x)

package starlark

// This file defines an optimized Int implementation for 64-bit machines
// running POSIX. It reserves a 4GB portion of the address space using
// mmap and represents int32 values as addresses within that range. This
// disambiguates int32 values from pointers to boxed values (intBox),
// letting all Int values be represented as an unsafe.Pointer, so that
// Int-to-Value interface conversion need not allocate for int32 values.

// Although iOS (which, like macOS, appears as darwin/arm64) is
// POSIX-compliant, it limits each process to about 700MB of virtual
// address space, which defeats the optimization.  Similarly,
// OpenBSD's default ulimit for virtual memory is a measly GB or so.
// On both those platforms the attempted optimization will fail and
// fall back to the slow implementation.

// An alternative approach to this optimization would be to embed the
// int32 values in pointers using odd values, which can be distinguished
// from (even) *big.Int pointers. However, the Go runtime does not allow
// user programs to manufacture pointers to arbitrary locations such as
// within the zero page, or non-span, non-mmap, non-stack locations,
// and it may panic if it encounters them; see Issue #382.

import (
	"log"
	"math/big"
	"unsafe"

	"golang.org/x/sys/unix"
)

// intImpl represents a union of (int64, *big.Int) in a single pointer,
// so that Int-to-Value conversions need not allocate for int32 values.
//
// The pointer points either into a reserved portion of the address space
// (smallints), if the value is an int32 and the address space allocation
// succeeded, or to an intBox holding the value.
//
// coro patch: upstream's small range was int32, and every other value a
// *big.Int, so that a running sum past 2^31 did its arithmetic in math/big
// (two allocations per addition). Now every int64 is small: one outside
// the int32 range costs an intBox (one 16-byte allocation), and its
// arithmetic is int64 arithmetic with overflow checks (int.go).
//
// See int_generic.go for the basic representation concepts.
type intImpl unsafe.Pointer

// intBox holds an Int that is not an int32 in the smallints range: an
// int64 (big == nil) or a big.Int that no int64 can represent.
type intBox struct {
	small int64
	big   *big.Int
}

// get returns the (small, big) arms of the union.
func (i Int) get() (int64, *big.Int) {
	if ptr := uintptr(i.impl); smallints != 0 && ptr-smallints < smallSpan {
		return int64(ptr-smallints) - int64(smallSpan/2), nil
	}
	b := (*intBox)(i.impl)
	return b.small, b.big
}

// makeSmallInt returns the Int for any int64.
func makeSmallInt(x int64) Int {
	if half := int64(smallSpan / 2); smallints != 0 && -half <= x && x < half {
		return Int{intImpl(unsafe.Add(smallintsBase, x+half))}
	}
	return Int{intImpl(&intBox{small: x})}
}

// Precondition: x cannot be represented as int64.
func makeBigInt(x *big.Int) Int { return Int{intImpl(&intBox{big: x})} }

// smallintsBase is the base address of a memory region of smallSpan bytes,
// reserved but never touched. Pointers to addresses in this region
// represent the ints in [-smallSpan/2, smallSpan/2).
// We assume smallints is not at the very top of the address space.
//
// nil (smallints 0) means the optimization is disabled and all Ints
// allocate an intBox.
//
// coro patch (ORIGIN 22): upstream reserved 4 GB, for the int32 range; a
// running sum or a nanosecond timestamp soon left it and allocated an
// intBox per operation. coro reserves 16 TB of address space (2^44: the
// ints within ±8.8e12) where the system allows it, and falls back to
// upstream's 4 GB. The reservation is read-only and never touched, so it
// costs address space, not memory. Under the race detector, whose shadow
// memory maps the address space itself, it stays at 4 GB.
var smallintsBase, smallSpan = reserveSmallInts()

// smallints is smallintsBase as a number, for get's range check;
// makeSmallInt offsets smallintsBase itself (unsafe.Add), so no pointer
// is made from an integer (coro patch, ORIGIN 29).
var smallints = uintptr(smallintsBase)

func reserveSmallInts() (base unsafe.Pointer, span uintptr) {
	spans := []uintptr{1 << 44, 1 << 32}
	if raceEnabled {
		spans = spans[1:]
	}
	var err error
	for _, span := range spans {
		var b []byte
		b, err = unix.Mmap(-1, 0, int(span), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON|mapNoReserve)
		if err == nil {
			return unsafe.Pointer(&b[0]), span
		}
	}
	log.Printf("Starlark failed to allocate 4GB address space: %v. Integer performance may suffer.", err)
	return nil, 1 // optimization disabled
}
