package facade

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how often and how long a request is retried.
//
// Only what is safe is retried. A GET is retried on a connection error, an
// attempt's timeout (also one in the middle of the answer's body, which is
// read within the attempt whenever a retry remains), and the statuses 429,
// 502, 503 and 504. Any other method is retried only when the request cannot
// have been processed: a dial, DNS or TLS-handshake failure (or an attempt's
// timeout while connecting) before anything was written, or a 429 or 503
// that carries Retry-After. A write that timed out or was reset after it
// was sent is never replayed, so a retried AddJob cannot create a second
// job.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included. Values
	// below 1 mean 1: no retries.
	MaxAttempts int
	// MinInterval is the wait before the first retry; each later wait
	// doubles, up to MaxInterval.
	MinInterval time.Duration
	// MaxInterval caps every wait, Retry-After included.
	MaxInterval time.Duration
	// Jitter draws each wait uniformly between zero and its computed value
	// ("full jitter"), so that many clients do not retry in step.
	Jitter bool
}

// DefaultRetryPolicy returns the policy used when none is set: 4 attempts,
// exponential from 500 ms up to 8 s, with full jitter.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, MinInterval: 500 * time.Millisecond, MaxInterval: 8 * time.Second, Jitter: true}
}

// NoRetry returns a policy that makes exactly one attempt.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

func (p RetryPolicy) attempts() int { return max(p.MaxAttempts, 1) }

// backoff returns the wait before retry number n (1 for the first retry).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.MinInterval
	for i := 1; i < n && d < p.MaxInterval; i++ {
		d *= 2
	}
	if p.MaxInterval > 0 && d > p.MaxInterval {
		d = p.MaxInterval
	}
	if p.Jitter && d > 0 {
		d = rand.N(d + 1)
	}
	return d
}

// parseRetryAfter reads a Retry-After value in either form: delay seconds or
// an HTTP-date. ok is false when the value is absent or unreadable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// retryDecision is the outcome of one attempt, as the retry loop sees it.
type retryDecision struct {
	retry  bool
	reason string
	// wait is the server's Retry-After, when it gave one.
	wait    time.Duration
	hasWait bool
}

// isSafe reports whether a request with this method may be sent twice.
func isSafe(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// classify decides whether an attempt may be retried. wrote tells whether
// any part of the request reached the connection; connecting whether the
// attempt ended while the transport was still getting a connection;
// attemptTimedOut whether the attempt's own deadline (not the caller's)
// ended it.
func classify(method string, resp *http.Response, err error, wrote, connecting, attemptTimedOut bool, now time.Time) retryDecision {
	safe := isSafe(method)
	if err != nil {
		switch {
		case attemptTimedOut && safe:
			return retryDecision{retry: true, reason: "attempt timed out"}
		case attemptTimedOut && connecting && !wrote:
			return retryDecision{retry: true, reason: "attempt timed out while connecting, before the request was sent"}
		case attemptTimedOut:
			return retryDecision{reason: "attempt timed out; not retried: the request may have been processed"}
		case !wrote && isConnectFailure(err):
			return retryDecision{retry: true, reason: "connection failed before the request was sent: " + errClass(err)}
		case safe:
			return retryDecision{retry: true, reason: "transport error: " + errClass(err)}
		default:
			return retryDecision{reason: "transport error after the request was sent; not retried"}
		}
	}
	wait, hasWait := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	d := retryDecision{wait: wait, hasWait: hasWait, reason: "status " + strconv.Itoa(resp.StatusCode)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		d.retry = safe || hasWait
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		d.retry = safe
	}
	return d
}

// isConnectFailure reports whether err happened while connecting: dialing,
// resolving the host, or the TLS handshake. Such a request never reached the
// server's application.
func isConnectFailure(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return true
	}
	var rhe tls.RecordHeaderError
	return errors.As(err, &rhe)
}

// errClass names an error for the retry log without its text, which may be
// long; the class is enough to see why a retry happened.
func errClass(err error) string {
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.As(err, &opErr):
		return opErr.Op
	default:
		return "connection error"
	}
}

// sleepCtx waits for d or until ctx ends, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
