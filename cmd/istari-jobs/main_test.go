package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// runMainEnv makes the test binary act as istari-jobs, so that these tests
// run the real main (signals, exit codes) without building it apart.
const runMainEnv = "ISTARI_JOBS_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// command returns the test binary set up to run main with args.
func command(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "ISTARI_REGISTRY_URL=", "ISTARI_REGISTRY_AUTH_TOKEN=")
	return cmd
}

func TestDemoExitsZero(t *testing.T) {
	out, err := command(t, "demo", "--jobs", "20").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "WaitForJob     returned Completed")
}

func TestExitCodes(t *testing.T) {
	err := command(t, "list", "--page", "0").Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
}

func TestServeStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := command(t, "serve", "--addr", "127.0.0.1:0")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			sc := bufio.NewScanner(stdout)
			var lines []string
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
					break
				}
			}
			require.Contains(t, strings.Join(lines, "\n"), "export ISTARI_REGISTRY_URL=http://127.0.0.1:")
			require.NoError(t, cmd.Process.Signal(sig))
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not stop")
			}
			assert.Equal(t, "Stopped.", lines[len(lines)-1])
		})
	}
}
