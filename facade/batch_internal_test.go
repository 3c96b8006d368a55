package facade

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func answer(status int, retryAfter string) *http.Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: status, Header: h}
}

func TestGateObserve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		resp      *http.Response
		throttled uint64
		hold      time.Duration
	}{
		{"no answer", nil, 0, 0},
		{"200 with Retry-After", answer(200, "5"), 0, 0},
		{"500 with Retry-After", answer(500, "5"), 0, 0},
		{"503 without Retry-After", answer(503, ""), 0, 0},
		{"503 with Retry-After", answer(503, "2"), 0, 2 * time.Second},
		{"429 without Retry-After", answer(429, ""), 1, 0},
		{"429 with an unreadable Retry-After", answer(429, "soon"), 1, 0},
		{"429 with Retry-After 0", answer(429, "0"), 1, 0},
		{"429 with Retry-After", answer(429, "3"), 1, 3 * time.Second},
		{"429 with an HTTP-date", answer(429, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)), 1, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(0)
			g.observe(tc.resp)
			n, hold := g.state()
			assert.Equal(t, tc.throttled, n)
			assert.InDelta(t, tc.hold.Seconds(), hold.Seconds(), 1)
			closed := time.Until(g.until) > 0
			assert.Equal(t, tc.hold > 0, closed, "the gate is closed")
		})
	}
}

func TestGateWait(t *testing.T) {
	var slept []time.Duration
	fake := func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	ctx := context.Background()

	var none *gate
	require.NoError(t, none.wait(ctx, fake, time.Time{}), "a nil gate is open")
	none.observe(answer(429, "1"))
	n, _ := none.state()
	assert.Zero(t, n)

	g := newGate(0)
	require.NoError(t, g.wait(ctx, fake, time.Time{}))
	assert.Empty(t, slept, "an open gate does not sleep")

	g.observe(answer(429, "10"))
	g.observe(answer(503, "2"))
	require.NoError(t, g.wait(ctx, fake, time.Time{}))
	require.Len(t, slept, 1, "one sleep per deadline, even on a fake clock")
	assert.InDelta(t, 10, slept[0].Seconds(), 0.5, "a shorter Retry-After does not shorten the hold")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, g.wait(cancelled, sleepCtx, time.Time{}), context.Canceled, "a closed gate")
	assert.NoError(t, newGate(0).wait(cancelled, sleepCtx, time.Time{}), "an open gate leaves ctx to the request")

	// A hold is capped as the retry policy caps every wait.
	capped := newGate(3 * time.Second)
	capped.observe(answer(429, "3600"))
	_, hold := capped.state()
	assert.Equal(t, 3*time.Second, hold)

	// A real wait: the gate opens after its Retry-After.
	g = newGate(0)
	g.observe(answer(429, "1"))
	start := time.Now()
	require.NoError(t, g.wait(ctx, sleepCtx, time.Time{}))
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
}

func TestConcurrencyAdapts(t *testing.T) {
	ctx := context.Background()
	g := newGate(0)
	c := newConcurrency(g, 8)

	for range 8 {
		require.NoError(t, c.acquire(ctx))
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.acquire(short), context.DeadlineExceeded, "no ninth slot")

	// One 429, seen while eight requests are in flight, halves the limit
	// once.
	g.observe(answer(429, ""))
	g.observe(answer(429, ""))
	c.release(true)
	assert.Equal(t, 4, c.limit)
	for range 7 {
		c.release(false)
	}
	assert.Equal(t, 4, c.limit, "one halving per change the batch sees")

	// Halving stops at 1.
	for range 5 {
		g.observe(answer(429, ""))
		require.NoError(t, c.acquire(ctx))
		c.release(false)
	}
	assert.Equal(t, 1, c.limit)

	// A run of successes as long as the limit grows it by one, up to max.
	var limits []int
	for range 40 {
		require.NoError(t, c.acquire(ctx))
		c.release(true)
		limits = append(limits, c.limit)
	}
	assert.Equal(t, 8, c.limit)
	assert.Equal(t, []int{2, 2, 3, 3, 3, 4}, limits[:6])
	assert.Equal(t, 8, limits[len(limits)-1], "never above max")

	// After a Retry-After, growth waits at least that long.
	g.observe(answer(429, "1"))
	require.NoError(t, c.acquire(ctx))
	c.release(true)
	assert.Equal(t, 4, c.limit)
	assert.Equal(t, time.Second, c.window)
	for range 20 {
		require.NoError(t, c.acquire(ctx))
		c.release(true)
	}
	assert.Equal(t, 4, c.limit, "no growth within the window")
	assert.WithinDuration(t, time.Now().Add(time.Second), c.changed, 500*time.Millisecond, "the window starts when the gate opens")
	c.changed = c.changed.Add(-2 * time.Second)
	for range 4 {
		require.NoError(t, c.acquire(ctx))
		c.release(true)
	}
	assert.Equal(t, 5, c.limit, "growth once the window has passed")
}

func TestConcurrencyWakesWaiters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := newConcurrency(newGate(0), 1)
	require.NoError(t, c.acquire(ctx))
	got := make(chan error, 1)
	go func() { got <- c.acquire(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("acquired a second slot of one: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	c.release(true)
	require.NoError(t, <-got, "a release wakes the waiter")
	c.release(true)
	assert.Equal(t, 0, c.inflight)
}

// TestClientGateHoldCappedByMaxRetryAfter: at the level of the client, one
// 429 with Retry-After: 3600 closes the client-wide gate for no longer than
// the RetryPolicy's MaxRetryAfter (the default 60 s, or the policy's own),
// both in the gate's planned hold and in what the next call of the client
// waits, on a fake clock.
func TestClientGateHoldCappedByMaxRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy RetryPolicy
		cap    time.Duration
	}{
		{"default policy", RetryPolicy{}, defaultMaxRetryAfter},
		{"MaxRetryAfter 2s", RetryPolicy{MaxRetryAfter: 2 * time.Second}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", "3600")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = w.Write([]byte(`{"detail":"slow down"}`))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(benchJobJSON("Running"))
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL, WithToken("t"), WithRetry(tc.policy))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			fs := &fakeSleep{}
			c.tr.sleep = fs.sleep
			ctx := context.Background()

			start := time.Now()
			_, err = c.GetJob(ctx, "job-1")
			end := time.Now()
			require.ErrorIs(t, err, ErrRateLimited, "a Retry-After past MaxRetryAfter ends the call with the answer")
			assert.Empty(t, fs.take(), "the call itself does not wait an hour")
			c.tr.gate.mu.Lock()
			planned := c.tr.gate.until.Sub(start)
			c.tr.gate.mu.Unlock()
			assert.GreaterOrEqual(t, planned, tc.cap, "the 429 closed the gate for the capped hold")
			assert.LessOrEqual(t, planned, tc.cap+end.Sub(start), "the gate's hold is capped by MaxRetryAfter, not an hour")

			// The client's next call waits out the capped hold only, once.
			_, err = c.GetJob(ctx, "job-1")
			require.NoError(t, err)
			waits := fs.take()
			require.Len(t, waits, 1, "the next call waits at the gate once")
			assert.Greater(t, waits[0], time.Duration(0))
			assert.LessOrEqual(t, waits[0], tc.cap)
		})
	}
}

// SetClientSleep replaces the client's sleep between polls and retries, for
// the external tests that count WaitForJobs's rounds.
func SetClientSleep(c *Client, sleep func(context.Context, time.Duration) error) { c.tr.sleep = sleep }
