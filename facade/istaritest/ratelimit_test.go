package istaritest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateLimitBucket(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := (&rateLimiter{rate: 4, burst: 2, now: func() time.Time { return now }}).fresh()
	take := func() (bool, string) {
		pr, limited := l.take()
		return limited, pr.retryAfter
	}
	for i := range 2 {
		limited, _ := take()
		assert.False(t, limited, "request %d is within the burst", i)
	}
	limited, retryAfter := take()
	assert.True(t, limited, "the burst is used up")
	assert.Equal(t, "1", retryAfter, "250 ms to the next token rounds up to 1 s")

	now = now.Add(250 * time.Millisecond)
	limited, _ = take()
	assert.False(t, limited, "one token came back")
	limited, _ = take()
	assert.True(t, limited)

	now = now.Add(time.Hour)
	for i := range 2 {
		limited, _ := take()
		assert.False(t, limited, "the bucket refills up to its burst, request %d", i)
	}
	limited, _ = take()
	assert.True(t, limited, "and no further")
	assert.Equal(t, 3, l.refusals())

	slow := (&rateLimiter{rate: 0.2, burst: 1, now: func() time.Time { return now }}).fresh()
	slow.take()
	pr, limited := slow.take()
	require.True(t, limited)
	assert.Equal(t, "5", pr.retryAfter, "one token every 5 s")

	var none *rateLimiter
	_, limited = none.take()
	assert.False(t, limited, "no limit")
	assert.Zero(t, none.refusals())
	assert.Nil(t, none.fresh())
}

func TestWithRateLimit(t *testing.T) {
	// A slow refill, so that the real clock adds no token during the test.
	srv := newServer(t, WithRateLimit(0.01, 3))
	for i := range 3 {
		res := srv.send(get("/jobs"))
		assert.Equal(t, http.StatusOK, res.status, "request %d", i)
	}
	res := srv.send(get("/jobs/unknown"))
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Equal(t, "100", res.header.Get("Retry-After"))
	assert.Contains(t, res.detail(t), "rate limit")
	res = srv.send(formReq(http.MethodPost, "/models/m/jobs", part{name: "function", value: "f"}, file("p.json", "application/json", "{}")))
	assert.Equal(t, http.StatusTooManyRequests, res.status)
	assert.Empty(t, srv.Jobs(), "a refused request changes nothing")

	got := srv.Requests()
	assert.Equal(t, 5, got.Total, "refused requests count as usual")
	assert.Equal(t, 1, got.ByOperation[OpGetJob])
	assert.Equal(t, 1, got.ByOperation[OpAddJob])
	assert.Equal(t, 2, srv.RateLimited())

	// Each platform gets its own bucket from the same option.
	opt := WithRateLimit(0.01, 1)
	a, b := newServer(t, opt), newServer(t, opt)
	assert.Equal(t, http.StatusOK, a.send(get("/jobs")).status)
	assert.Equal(t, http.StatusOK, b.send(get("/jobs")).status)

	for _, rate := range []float64{0, -1} {
		open := newServer(t, WithRateLimit(rate, 1))
		for range 5 {
			assert.Equal(t, http.StatusOK, open.send(get("/jobs")).status, "rate %v means no limit", rate)
		}
		assert.Zero(t, open.RateLimited())
	}
}
