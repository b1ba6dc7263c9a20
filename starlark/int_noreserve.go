//go:build (linux || darwin || dragonfly || netbsd || solaris) && (amd64 || arm64 || mips64x || ppc64 || ppc64le || loong64 || s390x)

package starlark

import "golang.org/x/sys/unix"

// mapNoReserve asks mmap for address space without a commitment of memory
// (coro patch, ORIGIN 22; see smallints).
const mapNoReserve = unix.MAP_NORESERVE
