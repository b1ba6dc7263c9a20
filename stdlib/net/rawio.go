//go:build !race

package net

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawRead and RawWrite read and write fd, a socket that never blocks:
// a Conn's reads and writes, and those of a module that reads and writes
// a connection the loop owns through its SyscallConn (http.serve's).
// They are made without the runtime's system-call bookkeeping
// (entersyscall and exitsyscall, a few percent of an echo server's CPU):
// the call does not wait, so the loop's thread has no reason to hand its
// P to another thread meanwhile. A read or write of a socket in
// non-blocking mode returns EAGAIN rather than wait; every descriptor a
// Conn has is so. (Under the race detector, rawio_race.go.)
//
// They are recvfrom(2) and sendto(2), not read(2) and write(2): on a
// socket those go straight to it, past the file layer's position lock
// and write hooks (~3% of a 64-byte write and read on loopback), and a
// send to a peer that has gone fails with EPIPE without also raising
// SIGPIPE (MSG_NOSIGNAL): a host that listens for SIGPIPE (its own
// pipes' signal) hears nothing of the loop's sockets.
func RawRead(fd uintptr, p []byte) (int, error) {
	return rawIO(unix.SYS_RECVFROM, fd, p, 0)
}

func RawWrite(fd uintptr, p []byte) (int, error) {
	return rawIO(unix.SYS_SENDTO, fd, p, unix.MSG_NOSIGNAL)
}

func rawIO(op, fd uintptr, p []byte, flags uintptr) (int, error) {
	n, _, e := unix.RawSyscall6(op, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), flags, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
