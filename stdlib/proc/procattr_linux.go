package proc

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in a process group of its own and has the
// kernel KILL it when the thread that forked it (the forker) ends, as it
// does when coro dies.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
