//go:build amd64 || arm64

package main

// touchPages writes to one word of each page from lo to hi, step bytes
// apart, atomically and without changing it (touch_*.s). The addresses
// stay uintptrs: they may be free heap, where a Go pointer would be
// invalid.
//
//go:noescape
func touchPages(lo, hi, step uintptr)
