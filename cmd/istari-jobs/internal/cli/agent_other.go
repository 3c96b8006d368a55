//go:build !unix

package cli

import (
	"os"
	"os/exec"
)

// detach leaves the command as it is where process groups are not known.
func detach(*exec.Cmd) {}

// terminate ends the command: without signals, at once.
func terminate(p *os.Process) { _ = p.Kill() }

// kill ends the command.
func kill(p *os.Process) { _ = p.Kill() }
