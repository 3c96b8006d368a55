//go:build unix

package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// gone reports whether process pid has ended: it does not exist, or it is
// a zombie waiting to be reaped.
func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// TestSecondSignalKillsAgentCommands checks that the second signal, which
// stops istari-jobs at once, first kills the command agent runs, which
// lives in a process group of its own and would outlive it.
func TestSecondSignalKillsAgentCommands(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	srv := istaritest.NewServer()
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	require.NoError(t, err)
	_, err = c.AddJob(t.Context(), facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]any{}})
	require.NoError(t, err)

	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := command(t, "agent", "--agent-id", "agent-7", "--min-interval", "10ms", "--",
		"sh", "-c", "echo $$ > "+pidFile+"; exec sleep 60")
	cmd.Env = append(cmd.Env, "ISTARI_REGISTRY_URL="+srv.URL, "ISTARI_REGISTRY_AUTH_TOKEN="+srv.Token)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(b), &pid)
		return err == nil
	}, 30*time.Second, 10*time.Millisecond, "the agent's command did not start")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	errs := bufio.NewScanner(stderr)
	for errs.Scan() && !strings.Contains(errs.Text(), "press Ctrl-C again") {
	}
	assert.False(t, gone(pid), "the first signal gives the command its grace period")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	for errs.Scan() {
	}
	assert.Equal(t, 130, waitExit(t, cmd))
	assert.Eventually(t, func() bool { return gone(pid) }, 30*time.Second, 10*time.Millisecond,
		"the agent's command outlived istari-jobs")
	if !gone(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
