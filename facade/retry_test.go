package facade_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

var fastRetry = facade.RetryPolicy{MaxAttempts: 4, MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

func TestRetries(t *testing.T) {
	type call func(c *facade.Client) error
	get := func(c *facade.Client) error { _, err := c.GetJob(context.Background(), "j"); return err }
	add := func(c *facade.Client) error {
		_, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]int{"a": 1}})
		return err
	}
	archive := func(c *facade.Client) error {
		_, err := c.ArchiveJob(context.Background(), "j", facade.ArchiveJobParams{})
		return err
	}
	assign := func(c *facade.Client) error {
		_, err := c.UpdateJobAssignedAgent(context.Background(), "j", facade.AssignedAgent{AgentID: "a"})
		return err
	}
	unassign := func(c *facade.Client) error {
		_, err := c.RemoveJobAssignedAgent(context.Background(), "j")
		return err
	}
	status := func(c *facade.Client) error {
		_, err := c.UpdateJobStatus(context.Background(), "j", facade.UpdateJobStatusParams{Status: facade.JobStatusRunning, Message: "m"})
		return err
	}
	past := time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)
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
		{"POST 503 with Retry-After retried", add, 503, "0", 1, 2, false},
		{"POST 429 with Retry-After date retried", add, 429, past, 1, 2, false},
		{"POST 429 without Retry-After retried", add, 429, "", 1, 2, false},
		{"POST 502 not retried", add, 502, "", 1, 1, true},
		{"POST 504 not retried", add, 504, "", 1, 1, true},
		{"PATCH 504 not retried", archive, 504, "", 1, 1, true},
		{"PATCH 503 without Retry-After not retried", status, 503, "", 1, 1, true},
		{"PATCH 429 with Retry-After retried", archive, 429, "0", 1, 2, false},
		{"idempotent PUT 502 retried", assign, 502, "", 1, 2, false},
		{"idempotent PUT 503 retried", assign, 503, "", 2, 3, false},
		{"idempotent DELETE 504 retried", unassign, 504, "", 1, 2, false},
		{"idempotent DELETE 500 not retried", unassign, 500, "", 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var mu sync.Mutex
			var bodies [][]byte
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				mu.Lock()
				bodies = append(bodies, body)
				mu.Unlock()
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
			assert.Less(t, time.Since(start), time.Second, "no wait longer than asked for")
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bodies {
				assert.Equal(t, string(bodies[0]), string(b), "a retried request sends the same body again")
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

// TestRetryWaitEndsWithContext: a wait that would outlast the caller's
// deadline is not begun: the call ends at once with the server's answer. A
// wait the caller cancels still returns the server's answer.
func TestRetryWaitEndsWithContext(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Retry-After", "30")
		w.Header().Set("X-Request-Id", "req-7")
		writeJSON(w, 503, map[string]string{"detail": "down"})
	})
	c, _ := newClient(t, srv.baseURL(), facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Minute, MaxInterval: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetJob(ctx, "j")
	assert.ErrorIs(t, err, facade.ErrServer)
	var ae *facade.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 30*time.Second, ae.RetryAfter)
	assert.Equal(t, "req-7", ae.RequestID)
	assert.Less(t, time.Since(start), 400*time.Millisecond, "the call ends at once")
	assert.Equal(t, 1, srv.count())

	// The client-wide gate now holds the client's other requests for the
	// 30 s the platform asked: one with a shorter deadline ends at once,
	// sending nothing, with an error that says the client is rate limited.
	start = time.Now()
	_, err = c.GetJob(ctx, "j")
	assert.ErrorIs(t, err, facade.ErrRateLimited)
	assert.ErrorContains(t, err, "Retry-After")
	assert.Less(t, time.Since(start), 400*time.Millisecond, "the call ends at once")
	assert.Equal(t, 1, srv.count(), "nothing sent while the gate holds")

	// Cancelled (no deadline) during the wait: the answer is kept. (A new
	// client, whose gate is open.)
	c, _ = newClient(t, srv.baseURL(), facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Minute, MaxInterval: time.Hour}))
	cctx, ccancel := context.WithCancel(context.Background())
	go func() {
		// Once the 503 is sent, and the client has had time to read it
		// and start its minute-long wait, end the call's ctx.
		for srv.count() < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		ccancel()
	}()
	_, err = c.GetJob(cctx, "j")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, facade.ErrServer)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "down", ae.Detail)
}

// TestAttemptsCarryTheirHeadersOnce: with no editor and no middleware, the
// attempts of a call share its request's header (transport.shared); each
// attempt still carries the token and the User-Agent exactly once, and a
// request of Client.Raw, which is the caller's, is never changed.
func TestAttemptsCarryTheirHeadersOnce(t *testing.T) {
	var n atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, 200, sampleJob("j"))
	})
	c, ct := newClient(t, srv.baseURL(), facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MaxInterval: time.Nanosecond}))
	ct.quiet = true // the 503s have no body
	_, err := c.GetJob(context.Background(), "j")
	require.NoError(t, err)
	reqs := srv.requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, []string{"Bearer secret-token-value"}, r.Header.Values("Authorization"), "attempt %d", i+1)
		assert.Len(t, r.Header.Values("User-Agent"), 1, "attempt %d", i+1)
	}

	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.baseURL()+"/jobs/j", nil)
	require.NoError(t, err)
	resp, err := c.Raw().ClientInterface.(*gen.Client).Client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Empty(t, req.Header, "the caller's request is not changed")
}
