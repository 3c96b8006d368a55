package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// waitExit waits for cmd to end and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not end")
		return -1
	}
}

// TestSignalStopsBlockedStdin checks that one SIGTERM ends add --batch -
// while standard input blocks (as in sleep 1000 | istari-jobs add
// --batch -), once the lines written so far were sent.
func TestSignalStopsBlockedStdin(t *testing.T) {
	const lines = 4 // one window at --concurrency 1
	arrived := make(chan struct{}, lines)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, `{"detail": "no"}`, http.StatusConflict)
		arrived <- struct{}{}
	}))
	defer srv.Close()
	cmd := command(t, "add", "--batch", "-", "--concurrency", "1")
	cmd.Env = append(cmd.Env, "ISTARI_REGISTRY_URL="+srv.URL, "ISTARI_REGISTRY_AUTH_TOKEN=tok")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, strings.Repeat(`{"model_id": "m", "function": "f"}`+"\n", lines))
	require.NoError(t, err)
	for range lines {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the requests of the lines written were not sent")
		}
	}
	// The command now reads standard input, which blocks.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 130, waitExit(t, cmd), stderr.String())
	assert.Contains(t, stderr.String(), "istari-jobs: interrupted: 4 of the 4 jobs read not added\n")
}

// TestSecondSignalStopsAtOnce checks that a second signal ends the
// process at once with 130, while the first one waits: serve, stopping,
// waits for a request whose body never comes.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	cmd := command(t, "serve", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "  export ISTARI_REGISTRY_URL=http://"); ok {
			addr = a
		}
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	require.NotEmpty(t, addr)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	// A request whose body stops half-way keeps the server busy. The
	// server says 100 Continue once its handler reads the body.
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /api/v2/models/m/jobs HTTP/1.1\r\nHost: "+addr+"\r\n"+
		"Authorization: Bearer istaritest-token\r\nContent-Type: multipart/form-data; boundary=b\r\n"+
		"Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
	require.NoError(t, err)
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", status)
	_, err = io.WriteString(conn, "--b\r\n")
	require.NoError(t, err)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	errs := bufio.NewScanner(stderr)
	var lines []string
	for errs.Scan() {
		lines = append(lines, errs.Text())
		if strings.Contains(errs.Text(), "press Ctrl-C again") {
			break
		}
	}
	require.NotEmpty(t, lines, "no hint after the first signal")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	for errs.Scan() {
		lines = append(lines, errs.Text())
	}
	assert.Equal(t, 130, waitExit(t, cmd), strings.Join(lines, "\n"))
	assert.Equal(t, []string{
		"istari-jobs: stopping; press Ctrl-C again to stop at once",
		"istari-jobs: interrupted again: stopped at once",
	}, lines)
}
