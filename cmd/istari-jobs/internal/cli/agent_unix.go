//go:build unix

package cli

import (
	"os"
	"os/exec"
	"syscall"
)

// detach starts the command in a process group of its own, so that a
// Ctrl-C at the terminal reaches the agent, which gives the command its
// grace period, and not the command directly.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks the command's process group to end.
func terminate(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGTERM) }

// kill ends the command's process group.
func kill(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
