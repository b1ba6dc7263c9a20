//go:build race

package net

import "syscall"

// RawRead and RawWrite are rawio.go's, through package syscall: its Read
// and Write tell the race detector that I/O orders memory between
// goroutines (a raw call would not, and -race could report races that
// are not there). A write to a peer that has gone also raises SIGPIPE
// here, which the runtime ignores for a socket; the error is EPIPE
// either way.
func RawRead(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Read(int(fd), p)
	return max(n, 0), err
}

func RawWrite(fd uintptr, p []byte) (int, error) {
	n, err := syscall.Write(int(fd), p)
	return max(n, 0), err
}
