package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// secretToken is the token of the tests' user; no output may contain it.
const secretToken = "tok-S3CRET-7f3a9c"

// fixedTime is the platform's clock in the tests, for stable golden files.
var fixedTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// env is a test's platform and the environment pointing at it.
type env struct {
	t    testing.TB
	srv  *istaritest.Server
	vars map[string]string
	c    *facade.Client
	// terminal makes stdout and stderr look like a terminal.
	terminal    bool
	progressMin int64
	clientOpts  []facade.Option
}

// newEnv starts an in-memory platform with a fixed clock and a user whose
// token is secretToken, and an environment that points at it.
func newEnv(t testing.TB, opts ...istaritest.ServerOption) *env {
	t.Helper()
	opts = append([]istaritest.ServerOption{
		istaritest.WithClock(func() time.Time { return fixedTime }),
		istaritest.WithUser(secretToken, "test-user", false),
	}, opts...)
	srv := istaritest.NewServer(opts...)
	tr := facade.DefaultTransport()
	c, err := facade.NewClient(srv.URL, facade.WithToken(secretToken), facade.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return &env{t: t, srv: srv, c: c, vars: map[string]string{envURL: srv.URL, envToken: secretToken}}
}

// result is what one run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs istari-jobs in-process with args.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runCtx(e.t.Context(), args...)
}

func (e *env) runCtx(ctx context.Context, args ...string) result {
	e.t.Helper()
	var stdout, stderr syncBuffer
	code := run(ctx, args, streams{
		stdout: &stdout, stderr: &stderr,
		getenv:      func(k string) string { return e.vars[k] },
		isTerminal:  func(io.Writer) bool { return e.terminal },
		progressMin: e.progressMin,
		clientOpts:  e.clientOpts,
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// addJob adds a job through the facade, for a test's setup.
func (e *env) addJob(model string) *facade.Job {
	e.t.Helper()
	j, err := e.c.AddJob(e.t.Context(), facade.AddJobParams{ModelID: model, Function: "@istari:extract",
		Parameters: map[string]any{"mode": "fast"}})
	require.NoError(e.t, err)
	return j
}

// setStatus reports a status through the facade.
func (e *env) setStatus(id string, st facade.JobStatusName, msg string) {
	e.t.Helper()
	_, err := e.c.UpdateJobStatus(e.t.Context(), id, facade.UpdateJobStatusParams{Status: st, Message: msg})
	require.NoError(e.t, err)
}

// writeFile writes a file in the test's temporary directory.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normalize replaces every UUID with 00000000-0000-0000-0000-00000000000N,
// numbered in order of first appearance (the same length keeps tables
// aligned), and the platform's URL with <url>.
func normalize(s, url string) string {
	if url != "" {
		s = strings.ReplaceAll(s, url, "<url>")
	}
	seen := map[string]string{}
	return uuidRE.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := seen[id]; ok {
			return n
		}
		n := fmt.Sprintf("00000000-0000-0000-0000-%012d", len(seen)+1)
		seen[id] = n
		return n
	})
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), got, "output differs from %s (go test -update rewrites it)", path)
}
