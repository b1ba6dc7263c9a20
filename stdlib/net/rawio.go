//go:build !race

package net

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIO is read(2) or write(2) (op: unix.SYS_READ or unix.SYS_WRITE) on a
// descriptor that never blocks, made without the runtime's system-call
// bookkeeping (entersyscall and exitsyscall, a few percent of an echo
// server's CPU): the call does not wait, so the loop's thread has no
// reason to hand its P to another thread meanwhile. A read or write of a
// socket in non-blocking mode returns EAGAIN rather than wait; every
// descriptor a Conn has is so. (Under the race detector, rawio_race.go.)
func rawIO(op, fd uintptr, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(op, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
