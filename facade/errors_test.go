package facade_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

func TestErrorMapping(t *testing.T) {
	sentinels := []error{facade.ErrBadRequest, facade.ErrNotFound, facade.ErrConflict, facade.ErrUnauthorized, facade.ErrForbidden, facade.ErrRateLimited, facade.ErrServer, facade.ErrInvalidInput}
	cases := []struct {
		status int
		body   string
		want   error
		detail string
	}{
		{400, `{"detail":"Malformed multipart body"}`, facade.ErrBadRequest, "Malformed multipart body"},
		{401, `{"detail":"Not authenticated"}`, facade.ErrUnauthorized, "Not authenticated"},
		{403, `{"detail":"Not allowed to list all users' jobs"}`, facade.ErrForbidden, "Not allowed to list all users' jobs"},
		{404, `{"detail":"Job not found"}`, facade.ErrNotFound, "Job not found"},
		{409, `{"detail":"Job is already archived"}`, facade.ErrConflict, "Job is already archived"},
		{422, `{"detail":[{"loc":["query","page"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"},{"loc":["body","sources",0,"revision_id"],"msg":"Field required","type":"missing"}]}`,
			facade.ErrBadRequest, "query.page: Input should be greater than or equal to 1\nbody.sources.0.revision_id: Field required"},
		{429, `{"detail":"Too many requests"}`, facade.ErrRateLimited, "Too many requests"},
		{500, `{"detail":"Internal Server Error"}`, facade.ErrServer, "Internal Server Error"},
		{503, `<html><body>Service Unavailable</body></html>`, facade.ErrServer, ""},
		{418, `{"detail":"I'm a teapot"}`, nil, "I'm a teapot"},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if strings.HasPrefix(tc.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				} else {
					w.Header().Set("Content-Type", "text/html")
				}
				if tc.status == 429 {
					w.Header().Set("Retry-After", "7")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			c, err := facade.NewClient(srv.baseURL(), facade.WithToken("tok"), facade.WithRetry(facade.NoRetry()))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			_, err = c.GetJob(context.Background(), "job-1")
			require.Error(t, err)
			var ae *facade.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.status, ae.StatusCode)
			assert.Equal(t, "GET", ae.Method)
			assert.Equal(t, mountPrefix+"/api/v2/jobs/job-1", ae.Path)
			assert.Equal(t, facade.OpGetJob, ae.Operation)
			assert.Equal(t, tc.detail, ae.Detail)
			assert.Equal(t, tc.body, string(ae.Body))
			for _, s := range sentinels {
				assert.Equal(t, s == tc.want, errors.Is(err, s), "errors.Is(%v)", s)
			}
			if tc.status == 429 {
				assert.Equal(t, 7*time.Second, ae.RetryAfter)
			}
			assert.Contains(t, err.Error(), http.StatusText(tc.status))
		})
	}
}

func TestErrorBodyIsCapped(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.WriteHeader(500)
		_, _ = w.Write([]byte(big))
	})
	c, err := facade.NewClient(srv.URL, facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.GetJob(context.Background(), "j")
	var ae *facade.APIError
	require.ErrorAs(t, err, &ae)
	assert.Len(t, ae.Body, 64<<10)
}

// TestBadSuccessBodies: a 2xx whose body is not the expected JSON is an
// error, never a zero Job.
func TestBadSuccessBodies(t *testing.T) {
	cases := []struct {
		name, ctype, body, want string
	}{
		{"empty body", "application/json", "", "empty body"},
		{"truncated JSON", "application/json", `{"id":"j","created":"2026-`, "invalid JSON"},
		{"invalid JSON", "application/json", `{id: j}`, "invalid JSON"},
		{"HTML", "text/html", "<html>ok</html>", "content type"},
		{"no content type", "", `{"id":"j"}`, "content type"},
		{"wrong shape", "application/json", `{"id": 12}`, "JSON of the wrong shape: json: cannot unmarshal number"},
		{"no id", "application/json", `{}`, "field id is missing"},
		{"array", "application/json", `[]`, "JSON of the wrong shape: json: cannot unmarshal array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				} else {
					w.Header()["Content-Type"] = nil
				}
				_, _ = w.Write([]byte(tc.body))
			})
			c, err := facade.NewClient(srv.URL, facade.WithRetry(facade.NoRetry()))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			job, err := c.GetJob(context.Background(), "j")
			assert.Nil(t, job)
			var de *facade.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, 200, de.StatusCode)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestTransportErrorWrapsCause(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {})
	url := srv.URL
	srv.Close() // nothing listens there now
	c, err := facade.NewClient(url, facade.WithToken("secret-token-value"), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	_, err = c.ArchiveJob(context.Background(), "j", facade.ArchiveJobParams{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ArchiveJob")
	var ae *facade.APIError
	assert.False(t, errors.As(err, &ae))
	assert.NotContains(t, err.Error(), "secret-token-value")
	assert.ErrorContains(t, err, "connect")
}

// slowServer answers only when the request's context ends, or after 5 s.
func slowServer(t *testing.T) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
}

func TestTimeouts(t *testing.T) {
	const d = 300 * time.Millisecond
	srv := slowServer(t)
	cases := []struct {
		name string
		opts []facade.Option
		call func(c *facade.Client) error
	}{
		{"WithRequestTimeout", nil, func(c *facade.Client) error {
			_, err := c.GetJob(context.Background(), "j", facade.WithRequestTimeout(d))
			return err
		}},
		{"WithTimeout", []facade.Option{facade.WithTimeout(d)}, func(c *facade.Client) error {
			_, err := c.GetJob(context.Background(), "j")
			return err
		}},
		{"WithRequestTimeout wins over WithTimeout", []facade.Option{facade.WithTimeout(time.Hour)}, func(c *facade.Client) error {
			_, err := c.ListJobs(context.Background(), facade.ListJobsParams{}, facade.WithRequestTimeout(d))
			return err
		}},
		{"WithTimeout on a write", []facade.Option{facade.WithTimeout(d)}, func(c *facade.Client) error {
			_, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f"})
			return err
		}},
		{"caller's context", nil, func(c *facade.Client) error {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			_, err := c.GetJob(ctx, "j")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := facade.NewClient(srv.URL, append([]facade.Option{facade.WithRetry(facade.NoRetry())}, tc.opts...)...)
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			start := time.Now()
			err = tc.call(c)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, elapsed, 2*d, "the call must return within twice the timeout")
		})
	}
}
