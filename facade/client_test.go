package facade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

func TestNewClientBaseURL(t *testing.T) {
	cases := []struct {
		in, want, err string
		opts          []facade.Option
	}{
		{in: "https://registry.example.com", want: "https://registry.example.com/api/v2"},
		{in: "https://registry.example.com/", want: "https://registry.example.com/api/v2"},
		{in: "https://registry.example.com/api/v2", want: "https://registry.example.com/api/v2"},
		{in: "https://registry.example.com/api/v2/", want: "https://registry.example.com/api/v2"},
		{in: "https://host:8443/tenant/", want: "https://host:8443/tenant/api/v2"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080/api/v2", opts: []facade.Option{facade.WithToken("t")}},
		{in: "http://localhost:8080", want: "http://localhost:8080/api/v2", opts: []facade.Option{facade.WithToken("t")}},
		{in: "http://[::1]:8080", want: "http://[::1]:8080/api/v2", opts: []facade.Option{facade.WithToken("t")}},
		{in: "http://registry.example.com", want: "http://registry.example.com/api/v2"}, // no token, nothing to leak
		{in: "http://registry.example.com", want: "http://registry.example.com/api/v2", opts: []facade.Option{facade.WithToken("t"), facade.WithInsecureHTTP()}},
		{in: "http://registry.example.com", err: "clear text", opts: []facade.Option{facade.WithToken("t")}},
		{in: "registry.example.com", err: "scheme"},
		{in: "ftp://registry.example.com", err: "scheme"},
		{in: "https://", err: "no host"},
		{in: "", err: "scheme"},
		{in: "https://user:pw@host", err: "credentials"},
		{in: "https://host/?a=1", err: "query"},
		{in: "https://host", err: "WithTimeout", opts: []facade.Option{facade.WithTimeout(-time.Second)}},
		{in: "https://host", err: "WithPrefetch", opts: []facade.Option{facade.WithPrefetch(-2)}},
		{in: "https://host", err: "WithTimeout", opts: []facade.Option{facade.WithTimeout(-2)}},
		{in: "https://host", err: "RetryPolicy.MaxAttempts", opts: []facade.Option{facade.WithRetry(facade.RetryPolicy{MaxAttempts: -1})}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c, err := facade.NewClient(tc.in, tc.opts...)
			if tc.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, facade.ErrInvalidInput)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.BaseURL())
			assert.Equal(t, tc.want+"/", c.Raw().ClientInterface.(*gen.Client).Server, "Raw shares the base URL")
		})
	}
}

func TestNewClientFromEnv(t *testing.T) {
	srv := jobServer(t)
	t.Run("missing URL", func(t *testing.T) {
		t.Setenv("ISTARI_REGISTRY_URL", "")
		t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", "tok")
		_, err := facade.NewClientFromEnv()
		assert.ErrorContains(t, err, "ISTARI_REGISTRY_URL")
	})
	t.Run("missing token", func(t *testing.T) {
		t.Setenv("ISTARI_REGISTRY_URL", srv.URL)
		t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", "")
		_, err := facade.NewClientFromEnv()
		assert.ErrorContains(t, err, "ISTARI_REGISTRY_AUTH_TOKEN")
	})
	for _, v := range []string{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "ISTARI_CLIENT_RETRY_ENABLED", "ISTARI_CLIENT_RETRY_MAX_ATTEMPTS",
		"ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS", "ISTARI_CLIENT_RETRY_MAX_INTERVAL_MILLIS", "ISTARI_CLIENT_RETRY_JITTER_ENABLED", "ISTARI_CLIENT_LOG_LEVEL"} {
		t.Run("malformed "+v, func(t *testing.T) {
			t.Setenv("ISTARI_REGISTRY_URL", srv.URL)
			t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", "tok")
			t.Setenv(v, "not-a-value")
			_, err := facade.NewClientFromEnv()
			require.Error(t, err)
			assert.ErrorIs(t, err, facade.ErrInvalidInput)
			assert.Contains(t, err.Error(), v)
		})
	}
	t.Run("configured", func(t *testing.T) {
		t.Setenv("ISTARI_REGISTRY_URL", srv.URL+"/")
		t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", "env-token")
		t.Setenv("ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "2.5")
		t.Setenv("ISTARI_CLIENT_RETRY_MAX_ATTEMPTS", "7")
		t.Setenv("ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS", "10")
		t.Setenv("ISTARI_CLIENT_RETRY_MAX_INTERVAL_MILLIS", "20")
		t.Setenv("ISTARI_CLIENT_RETRY_JITTER_ENABLED", "false")
		c, err := facade.NewClientFromEnv()
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		assert.Equal(t, srv.URL+"/api/v2", c.BaseURL())
		s := c.String()
		assert.Contains(t, s, "Timeout: 2.5s")
		assert.Contains(t, s, "MaxAttempts:7 MinInterval:10ms MaxInterval:20ms MaxRetryAfter:1m0s NoJitter:true")
		_, err = c.GetJob(context.Background(), "j")
		require.NoError(t, err)
		assert.Equal(t, "Bearer env-token", srv.requests()[srv.count()-1].Header.Get("Authorization"))
	})
	t.Run("options win", func(t *testing.T) {
		t.Setenv("ISTARI_REGISTRY_URL", srv.URL)
		t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", "")
		t.Setenv("ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "9")
		t.Setenv("ISTARI_CLIENT_RETRY_ENABLED", "false")
		c, err := facade.NewClientFromEnv(facade.WithToken("opt-token"), facade.WithTimeout(time.Second), facade.WithRetry(facade.DefaultRetryPolicy()))
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		assert.Contains(t, c.String(), "Timeout: 1s")
		assert.Contains(t, c.String(), "MaxAttempts:4")
		_, err = c.GetJob(context.Background(), "j")
		require.NoError(t, err)
		assert.Equal(t, "Bearer opt-token", srv.requests()[srv.count()-1].Header.Get("Authorization"))
	})
	t.Run("retries disabled", func(t *testing.T) {
		t.Setenv("ISTARI_REGISTRY_URL", srv.URL)
		t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", "tok")
		t.Setenv("ISTARI_CLIENT_RETRY_ENABLED", "false")
		c, err := facade.NewClientFromEnv()
		require.NoError(t, err)
		assert.Contains(t, c.String(), "MaxAttempts:1")
	})
}

func TestTokenNeverPrinted(t *testing.T) {
	const secret = "pat-7c1f0e2d-very-secret"
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 404, map[string]string{"detail": "Job not found"})
	})
	c, err := facade.NewClient(srv.URL, facade.WithToken(secret), facade.WithLogger(logger), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.GetJob(context.Background(), "j")
	require.Error(t, err)

	tok := facade.BearerToken(secret)
	jb, _ := json.Marshal(struct{ T facade.BearerToken }{tok})
	var tl bytes.Buffer
	slog.New(slog.NewTextHandler(&tl, nil)).Info("x", "token", tok)
	printed := []string{
		err.Error(), logs.String(), tl.String(), string(jb),
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c),
		fmt.Sprintf("%+v", struct{ C *facade.Client }{c}), fmt.Sprintf("%#v", struct{ C *facade.Client }{c}),
		fmt.Sprintf("%v %s %#v %q", tok, tok, tok, tok),
	}
	for _, p := range printed {
		assert.NotContains(t, p, secret)
		assert.NotContains(t, p, "very-secret")
	}
	assert.Contains(t, fmt.Sprintf("%v", tok), "[REDACTED]")
	assert.Contains(t, c.String(), "[REDACTED]")
	assert.Contains(t, logs.String(), `"operation":"GetJob"`)
	assert.Contains(t, logs.String(), `"status":404`)
	assert.Equal(t, "Bearer "+secret, srv.requests()[0].Header.Get("Authorization"), "the token is still sent")
}

func TestLoggerRecordsEachRequest(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL(), facade.WithLogger(slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	_, err := c.ListJobs(context.Background(), facade.ListJobsParams{})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	assert.Equal(t, "DEBUG", rec["level"])
	assert.Equal(t, "ListJobs", rec["operation"])
	assert.Equal(t, "GET", rec["method"])
	assert.Equal(t, mountPrefix+"/api/v2/jobs", rec["path"])
	assert.EqualValues(t, 200, rec["status"])
	assert.Contains(t, rec, "duration")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestOptionsReachTheWire(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL(),
		facade.WithUserAgent("my-agent/1.0"),
		facade.WithRequestEditor(func(_ context.Context, r *http.Request) error { r.Header.Set("X-Trace", "abc"); return nil }))
	_, err := c.GetJob(context.Background(), "j")
	require.NoError(t, err)
	_, err = c.Raw().GetJobWithResponse(context.Background(), "j")
	require.NoError(t, err)
	for _, r := range srv.requests() {
		assert.Equal(t, "my-agent/1.0", r.Header.Get("User-Agent"))
		assert.Equal(t, "abc", r.Header.Get("X-Trace"))
		assert.Equal(t, "Bearer secret-token-value", r.Header.Get("Authorization"), "Raw shares the auth")
	}
	assert.Equal(t, 2, srv.count())

	failing, _ := newClient(t, srv.baseURL(), facade.WithRequestEditor(func(context.Context, *http.Request) error { return fmt.Errorf("no") }))
	_, err = failing.GetJob(context.Background(), "j")
	assert.ErrorContains(t, err, "request editor")
	assert.Equal(t, 2, srv.count())
}

func TestConcurrentUse(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if i%2 == 0 {
				_, err := c.GetJob(context.Background(), "j")
				assert.NoError(t, err)
			} else {
				_, err := c.ListJobs(context.Background(), facade.ListJobsParams{Size: 5})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 32, srv.count())
}

func TestNewClientFromEnvWithEnv(t *testing.T) {
	srv := jobServer(t)
	t.Setenv("ISTARI_REGISTRY_URL", "https://ignored.example.com")
	env := map[string]string{"ISTARI_REGISTRY_URL": srv.URL, "ISTARI_REGISTRY_AUTH_TOKEN": "injected", "ISTARI_CLIENT_RETRY_MAX_ATTEMPTS": "2"}
	c, err := facade.NewClientFromEnv(facade.WithEnv(func(k string) string { return env[k] }))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	assert.Equal(t, srv.URL+"/api/v2", c.BaseURL())
	assert.Contains(t, c.String(), "MaxAttempts:2")
	_, err = c.GetJob(context.Background(), "j")
	require.NoError(t, err)
	assert.Equal(t, "Bearer injected", srv.requests()[srv.count()-1].Header.Get("Authorization"))
}

func TestBaseURLErrorsHidePasswords(t *testing.T) {
	for _, u := range []string{"https://alice:hunter2@registry.example.com", "ftp://alice:hunter2@host", "https://alice:hunter2@host/%zz"} {
		_, err := facade.NewClient(u)
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}
