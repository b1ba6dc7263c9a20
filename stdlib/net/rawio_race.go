//go:build race

package net

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// rawIO is rawio.go's, through package syscall: its Read and Write tell
// the race detector that I/O orders memory between goroutines (a raw
// call would not, and -race could report races that are not there).
func rawIO(op, fd uintptr, p []byte) (int, error) {
	var n int
	var err error
	if op == unix.SYS_READ {
		n, err = syscall.Read(int(fd), p)
	} else {
		n, err = syscall.Write(int(fd), p)
	}
	return max(n, 0), err
}
