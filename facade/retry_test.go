package facade_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

var fastRetry = facade.RetryPolicy{MaxAttempts: 4, MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

func TestRetries(t *testing.T) {
	type call func(c *facade.Client) error
	get := func(c *facade.Client) error { _, err := c.GetJob(context.Background(), "j"); return err }
	add := func(c *facade.Client) error {
		_, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]int{"a": 1}})
		return err
	}
	archive := func(c *facade.Client) error { _, err := c.ArchiveJob(context.Background(), "j", ""); return err }
	cases := []struct {
		name       string
		call       call
		status     int
		retryAfter string
		failures   int32
		wantCalls  int32
		wantErr    bool
	}{
		{"GET 503 retried", get, 503, "", 2, 3, false},
		{"GET 502 retried", get, 502, "", 1, 2, false},
		{"GET 504 retried", get, 504, "", 1, 2, false},
		{"GET 429 retried", get, 429, "", 1, 2, false},
		{"GET 500 not retried", get, 500, "", 1, 1, true},
		{"GET 404 not retried", get, 404, "", 1, 1, true},
		{"GET gives up after MaxAttempts", get, 503, "", 10, 4, true},
		{"POST 503 without Retry-After not retried", add, 503, "", 1, 1, true},
		{"POST 503 with Retry-After retried", add, 503, "1", 1, 2, false},
		{"POST 429 with Retry-After date retried", add, 429, time.Now().Add(time.Second).UTC().Format(http.TimeFormat), 1, 2, false},
		{"POST 502 not retried", add, 502, "", 1, 1, true},
		{"PATCH 504 not retried", archive, 504, "", 1, 1, true},
		{"PATCH 429 with Retry-After retried", archive, 429, "0", 1, 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var bodies []int
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				bodies = append(bodies, len(body))
				if calls.Add(1) <= tc.failures {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					writeJSON(w, tc.status, map[string]string{"detail": "try later"})
					return
				}
				status := 200
				if r.Method == http.MethodPost {
					status = 201
				}
				writeJSON(w, status, sampleJob("j"))
			})
			c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry))
			start := time.Now()
			err := tc.call(c)
			assert.Equal(t, tc.wantErr, err != nil, "err = %v", err)
			assert.Equal(t, tc.wantCalls, calls.Load())
			assert.Less(t, time.Since(start), time.Second, "Retry-After is capped by MaxInterval")
			for _, n := range bodies {
				assert.Equal(t, bodies[0], n, "a retried request sends its whole body again")
			}
		})
	}
}

// TestWriteNotRetriedAfterTimeout: a POST that timed out may have created
// the job, so it is never sent again.
func TestWriteNotRetriedAfterTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		calls.Add(1)
		<-r.Context().Done()
	})
	c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithTimeout(50*time.Millisecond))
	_, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualValues(t, 1, calls.Load())

	calls.Store(0)
	_, err = c.GetJob(context.Background(), "j")
	require.Error(t, err)
	assert.EqualValues(t, 4, calls.Load(), "a GET that timed out is retried")
}

// TestWriteRetriedWhenConnectionRefused: a dial failure means the request
// never left, so even AddJob is retried.
func TestWriteRetriedWhenConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	var attempts atomic.Int32
	c, err := facade.NewClient("http://"+addr, facade.WithRetry(fastRetry),
		facade.WithRequestEditor(func(context.Context, *http.Request) error { attempts.Add(1); return nil }))
	require.NoError(t, err)
	_, err = c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.Error(t, err)
	assert.ErrorContains(t, err, "connection refused")
	assert.EqualValues(t, 4, attempts.Load())
}

func TestRetryWaitEndsWithContext(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 503, map[string]string{"detail": "down"})
	})
	c, _ := newClient(t, srv.baseURL(), facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Minute, MaxInterval: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetJob(ctx, "j")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
}
