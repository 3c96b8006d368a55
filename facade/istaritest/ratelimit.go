package istaritest

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// WithRateLimit makes the platform accept at most perSecond requests a
// second on average, with bursts of up to burst requests, as a token
// bucket: the bucket starts full with burst tokens, refills at perSecond
// tokens a second, and each request takes one. A request that finds the
// bucket empty is answered 429 with a Retry-After header (whole seconds,
// at least 1, until a token is back) and changes nothing. Refused requests
// still count in Requests, and RateLimited counts them.
//
// The bucket is shared by all users and operations, and it runs on the
// real clock, whatever WithClock says. It applies after any latency and
// before faults and authentication. A perSecond of 0 or less means no
// limit; a burst below 1 means 1.
func WithRateLimit(perSecond float64, burst int) ServerOption {
	return func(c *config) {
		if perSecond <= 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
			c.limiter = nil
			return
		}
		c.limiter = &rateLimiter{rate: perSecond, burst: float64(max(burst, 1)), now: time.Now}
	}
}

// RateLimited returns how many requests the rate limit of WithRateLimit has
// refused with 429 so far.
func (p *Platform) RateLimited() int { return p.limiter.refusals() }

// rateLimiter is a token bucket. A nil *rateLimiter lets everything through.
type rateLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	started bool
	tokens  float64
	last    time.Time
	refused int
}

// fresh returns a full bucket with l's settings, so that an option used for
// several platforms gives each its own bucket.
func (l *rateLimiter) fresh() *rateLimiter {
	if l == nil {
		return nil
	}
	return &rateLimiter{rate: l.rate, burst: l.burst, now: l.now}
}

// take uses up one token. When none is left it returns the 429 to answer.
func (l *rateLimiter) take() (problem, bool) {
	if l == nil {
		return problem{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.started {
		l.started, l.tokens = true, l.burst
	} else if dt := now.Sub(l.last).Seconds(); dt > 0 {
		l.tokens = min(l.burst, l.tokens+dt*l.rate)
	}
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return problem{}, false
	}
	l.refused++
	secs := max(int64(math.Ceil((1-l.tokens)/l.rate)), 1)
	return problem{
		status:     http.StatusTooManyRequests,
		detail:     "rate limit exceeded: " + strconv.FormatFloat(l.rate, 'g', -1, 64) + " requests per second",
		retryAfter: strconv.FormatInt(secs, 10),
	}, true
}

func (l *rateLimiter) refusals() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}
