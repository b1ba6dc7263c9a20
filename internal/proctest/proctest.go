// Package proctest holds what tests of child processes share.
package proctest

import (
	"fmt"
	"os"
	"strings"
)

// Gone reports whether pid has ended: no such process, or a zombie nobody
// has reaped yet (an orphan is reparented to init, which a test does not
// control).
func Gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(s[i+1:], " Z")
}
