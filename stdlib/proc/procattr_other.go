//go:build !linux

package proc

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in a process group of its own (there is no
// parent-death signal outside Linux).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
