//go:build freebsd && (amd64 || arm64 || mips64x || ppc64 || ppc64le || loong64 || s390x)

package starlark

// mapNoReserve: FreeBSD has no MAP_NORESERVE; a read-only mapping commits
// no memory there either (coro patch, ORIGIN 22; see smallints).
const mapNoReserve = 0
