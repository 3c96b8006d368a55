package facade_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// TestRetryLogged: each retry is logged at debug, as JSON through
// log/slog, with the operation, the number of the attempt it starts, the
// reason and the wait.
func TestRetryLogged(t *testing.T) {
	closedAddr := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		return "http://" + addr
	}
	failing := func(status, failures int, retryAfter string, hang bool) func(t *testing.T) string {
		return func(t *testing.T) string {
			var n atomic.Int32
			return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if int(n.Add(1)) <= failures {
					if hang {
						<-r.Context().Done()
						return
					}
					if retryAfter != "" {
						w.Header().Set("Retry-After", retryAfter)
					}
					writeJSON(w, status, map[string]string{"detail": "no"})
					return
				}
				writeJSON(w, 200, sampleJob("j"))
			}).URL
		}
	}
	get := func(c *facade.Client) error { _, err := c.GetJob(context.Background(), "j"); return err }
	add := func(c *facade.Client) error {
		_, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f"})
		return err
	}
	cases := []struct {
		name      string
		server    func(t *testing.T) string
		call      func(*facade.Client) error
		op        string
		wantErr   bool
		retries   int
		reason    string
		wantWaits time.Duration // each logged wait is at most this
	}{
		{"GET 503 twice", failing(503, 2, "", false), get, "GetJob", false, 2, "status 503", 5 * time.Millisecond},
		{"POST 429 with Retry-After", failing(429, 1, "0", false), add, "AddJob", false, 1, "status 429", 5 * time.Millisecond},
		{"GET timed out", failing(0, 1, "", true), get, "GetJob", false, 1, "attempt timed out", 5 * time.Millisecond},
		{"POST refused", closedAddr, add, "AddJob", true, 3, "connection failed before the request was sent", 5 * time.Millisecond},
		{"POST 502 not retried", failing(502, 1, "", false), add, "AddJob", true, 0, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c, err := facade.NewClient(tc.server(t), facade.WithLogger(logger), facade.WithTimeout(200*time.Millisecond),
				facade.WithRetry(facade.RetryPolicy{MaxAttempts: 4, MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			err = tc.call(c)
			assert.Equal(t, tc.wantErr, err != nil, "err = %v", err)

			mu.Lock()
			recs := retryRecords(t, logs.Bytes())
			mu.Unlock()
			require.Len(t, recs, tc.retries)
			for i, rec := range recs {
				assert.Equal(t, "DEBUG", rec["level"])
				assert.Equal(t, tc.op, rec["operation"])
				assert.EqualValues(t, i+2, rec["attempt"], "the number of the attempt the retry starts")
				assert.Contains(t, rec["reason"], tc.reason)
				assert.Contains(t, rec, "method")
				assert.Contains(t, rec, "path")
				require.Contains(t, rec, "wait")
				assert.LessOrEqual(t, time.Duration(rec["wait"].(float64)), tc.wantWaits, "waits are capped, Retry-After included")
			}
		})
	}
}

// TestWriteRetriedWhenConnectTimesOut: an attempt that timed out while the
// transport was still connecting never sent anything, so even AddJob is
// retried; the server gets the job once.
func TestWriteRetriedWhenConnectTimesOut(t *testing.T) {
	srv := jobServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var dials atomic.Int32
	tr := facade.DefaultTransport()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 { // the first dial hangs, as to a host that drops SYNs
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
				return nil, errors.New("released")
			}
		}
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	var mu sync.Mutex
	var logs bytes.Buffer
	c, err := facade.NewClient(srv.URL, facade.WithHTTPClient(&http.Client{Transport: tr}), facade.WithTimeout(100*time.Millisecond),
		facade.WithRetry(fastRetry), facade.WithLogger(slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	_, err = c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err)
	assert.Equal(t, 1, srv.count(), "the job was sent once")
	mu.Lock()
	recs := retryRecords(t, logs.Bytes())
	mu.Unlock()
	require.Len(t, recs, 1)
	assert.Contains(t, recs[0]["reason"], "while connecting")
}
