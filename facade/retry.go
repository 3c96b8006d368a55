package facade

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how often and how long a request is retried. Each field
// left at zero takes its default on its own, so RetryPolicy{MaxAttempts: 6}
// keeps the default intervals; [NoRetry] turns retries off.
//
// What is retried depends on the operation: reads and idempotent writes are
// retried on transient transport errors, timeouts and the statuses 429, 502,
// 503 and 504; other writes (AddJob, UpdateJob, UpdateJobStatus, ClaimJob,
// ArchiveJob, RestoreJob) only when the platform provably did not process
// them (nothing was written, a 429, or a 503 with Retry-After), so that a
// retried AddJob cannot create a second job. Permanent errors are never
// retried. A Retry-After is honoured as asked, up to MaxRetryAfter; a longer
// one ends the call with the server's [*APIError]. docs/reliability.md has
// the table.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included (default
	// 4). 1 means no retries.
	MaxAttempts int
	// MinInterval is the wait before the first retry (default 500 ms); each
	// later wait doubles, up to MaxInterval.
	MinInterval time.Duration
	// MaxInterval caps the computed waits (default 8 s). It does not cap a
	// server's Retry-After; MaxRetryAfter does.
	MaxInterval time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out
	// (default 60 s). A longer one ends the call with the server's answer.
	MaxRetryAfter time.Duration
	// NoJitter turns off jitter. By default each computed wait is drawn
	// uniformly between half its value and its value, so that many clients
	// do not retry in step.
	NoJitter bool
}

// The defaults of RetryPolicy's fields.
const (
	defaultMaxAttempts   = 4
	defaultMinInterval   = 500 * time.Millisecond
	defaultMaxInterval   = 8 * time.Second
	defaultMaxRetryAfter = 60 * time.Second
)

// DefaultRetryPolicy returns the policy used when none is set: 4 attempts,
// exponential from 500 ms up to 8 s with jitter, and a Retry-After honoured
// up to 60 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: defaultMaxAttempts, MinInterval: defaultMinInterval, MaxInterval: defaultMaxInterval, MaxRetryAfter: defaultMaxRetryAfter}
}

// NoRetry returns a policy that makes exactly one attempt.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

// withDefaults returns p with each zero field set to its default.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.MinInterval == 0 {
		p.MinInterval = defaultMinInterval
	}
	if p.MaxInterval == 0 {
		p.MaxInterval = defaultMaxInterval
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = defaultMaxRetryAfter
	}
	p.MaxInterval = max(p.MaxInterval, p.MinInterval)
	return p
}

// backoff returns the wait before retry number n (1 for the first retry):
// MinInterval·2ⁿ⁻¹, capped at MaxInterval, and with jitter drawn from the
// upper half of that, so that the waits still grow. p has its defaults.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.MinInterval
	for i := 1; i < n && d < p.MaxInterval; i++ {
		d *= 2
	}
	d = min(d, p.MaxInterval)
	if !p.NoJitter && d > 1 {
		d = d/2 + rand.N(d-d/2+1)
	}
	return d
}

// opClass is how a retry treats an operation.
type opClass int

const (
	// classSafe operations read and may be sent any number of times.
	classSafe opClass = iota
	// classIdempotent operations change state, but repeating one has the
	// same effect as sending it once.
	classIdempotent
	// classUnsafe operations may do their work twice when repeated.
	classUnsafe
)

func (c opClass) String() string {
	switch c {
	case classSafe:
		return "safe"
	case classIdempotent:
		return "idempotent"
	}
	return "unsafe"
}

// operation is one row of the retry table.
type operation struct {
	name   Operation
	method string
	// path is the route under the base URL; "{}" is one path segment.
	path  string
	class opClass
	// upload operations stream a file; their attempts get a stall timeout
	// rather than a timeout on the whole attempt.
	upload bool
	// download operations stream their answer to the caller: it is not
	// read within the attempt, its limit applies as a stream limit, and
	// the attempt gets a stall timeout, as an upload's does.
	download bool
}

// operations is the retry table: every operation of the API, how it is
// retried, and how its attempts are timed. The README's table says the
// same.
var operations = [...]operation{
	{OpGetJob, http.MethodGet, "/jobs/{}", classSafe, false, false},
	{OpListJobs, http.MethodGet, "/jobs", classSafe, false, false},
	{OpListModelJobs, http.MethodGet, "/models/{}/jobs", classSafe, false, false},
	{OpUpdateJobAssignedAgent, http.MethodPut, "/jobs/{}/assigned-agent", classIdempotent, false, false},
	{OpRemoveJobAssignedAgent, http.MethodDelete, "/jobs/{}/assigned-agent", classIdempotent, false, false},
	{OpAddJob, http.MethodPost, "/models/{}/jobs", classUnsafe, true, false},
	{OpUpdateJob, http.MethodPut, "/jobs/{}", classUnsafe, true, false},
	{OpUpdateJobStatus, http.MethodPatch, "/jobs/{}/status", classUnsafe, false, false},
	{OpArchiveJob, http.MethodPatch, "/jobs/{}/archive", classUnsafe, false, false},
	{OpRestoreJob, http.MethodPatch, "/jobs/{}/restore", classUnsafe, false, false},
	// ClaimJob is an UpdateJobStatus to Claimed; a request of Client.Raw to
	// its route is classified as UpdateJobStatus, the row before.
	{OpClaimJob, http.MethodPatch, "/jobs/{}/status", classUnsafe, false, false},
	{OpOpenJobFile, http.MethodGet, "/jobs/{}/file", classSafe, false, true},
}

// operationNamed returns the row of the facade operation name.
func operationNamed(name Operation) (operation, bool) {
	for _, o := range operations {
		if o.name == name {
			return o, true
		}
	}
	return operation{}, false
}

// operationOf maps a request of Client.Raw to its row by method and by its
// path under basePath. ok is false for a request that matches no
// operation.
func operationOf(method, path, basePath string) (operation, bool) {
	rel, found := strings.CutPrefix(path, basePath)
	if !found {
		return operation{}, false
	}
	for _, o := range operations {
		if o.method == method && matchRoute(o.path, rel) {
			return o, true
		}
	}
	return operation{}, false
}

// matchRoute reports whether path matches the route pattern, where "{}"
// stands for one non-empty segment.
func matchRoute(pattern, path string) bool {
	for {
		pSeg, pRest, pMore := strings.Cut(strings.TrimPrefix(pattern, "/"), "/")
		seg, rest, more := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if !strings.HasPrefix(pattern, "/") || !strings.HasPrefix(path, "/") {
			return false
		}
		if pSeg == "{}" {
			if seg == "" {
				return false
			}
		} else if pSeg != seg {
			return false
		}
		if pMore != more {
			return false
		}
		if !pMore {
			return true
		}
		pattern, path = "/"+pRest, "/"+rest
	}
}

// classOfMethod classifies a request that matches no operation.
func classOfMethod(method string) opClass {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return classSafe
	case http.MethodPut, http.MethodDelete:
		return classIdempotent
	}
	return classUnsafe
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
	// wait is the server's Retry-After, when it gave one (classify), and
	// then the wait before the retry (decide).
	wait    time.Duration
	hasWait bool
	// refused says why the policy refused a retry classify allowed.
	refused string
}

// attemptOutcome is what the retry loop knows of one attempt.
type attemptOutcome struct {
	resp *http.Response
	err  error
	// wrote tells whether any part of the request reached the connection;
	// connecting whether the attempt ended while the transport was still
	// getting a connection; timedOut whether the attempt's own deadline
	// (not the caller's) ended it.
	wrote, connecting, timedOut bool
}

// classify decides whether an attempt of an operation of class c may be
// retried.
func classify(c opClass, o attemptOutcome, now time.Time) retryDecision {
	readLike := c != classUnsafe
	if err := o.err; err != nil {
		switch {
		case isPermanent(err):
			return retryDecision{reason: "permanent error: " + errClass(err)}
		case o.timedOut && readLike:
			return retryDecision{retry: true, reason: "attempt timed out"}
		case o.timedOut && o.connecting && !o.wrote:
			return retryDecision{retry: true, reason: "attempt timed out while connecting, before the request was sent"}
		case o.timedOut:
			return retryDecision{reason: "attempt timed out; not retried: the request may have been processed"}
		case !o.wrote && isConnectFailure(err):
			return retryDecision{retry: true, reason: "connection failed before the request was sent: " + errClass(err)}
		case readLike:
			return retryDecision{retry: true, reason: "transport error: " + errClass(err)}
		default:
			return retryDecision{reason: "transport error after the request was sent; not retried"}
		}
	}
	resp := o.resp
	wait, hasWait := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	d := retryDecision{wait: wait, hasWait: hasWait, reason: "status " + strconv.Itoa(resp.StatusCode)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		// The platform refused the request: even a write was not processed.
		d.retry = true
	case http.StatusServiceUnavailable:
		d.retry = readLike || hasWait
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		d.retry = readLike
	}
	return d
}

// decide is the one place that decides whether, and after how long, a
// call is retried after its attempt number attempt: classify says whether
// the outcome may be retried for the operation's class, and the policy
// then sets the wait (its backoff, or the server's Retry-After) and refuses
// a retry that is the last attempt, a Retry-After longer than
// MaxRetryAfter, or a wait that would end after deadline (zero: none).
// p has its defaults.
func (p RetryPolicy) decide(c opClass, o attemptOutcome, attempt int, last bool, now, deadline time.Time) retryDecision {
	d := classify(c, o, now)
	if !d.retry || last {
		d.retry, d.wait = false, 0
		return d
	}
	wait := p.backoff(attempt)
	if d.hasWait {
		wait = d.wait
	}
	switch {
	case d.hasWait && d.wait > p.MaxRetryAfter:
		d.refused = fmt.Sprintf("Retry-After %s is longer than MaxRetryAfter %s", d.wait, p.MaxRetryAfter)
	case !deadline.IsZero() && deadline.Sub(now) < wait:
		d.refused = fmt.Sprintf("the wait of %s would outlast the context's deadline", wait)
	}
	if d.refused != "" {
		d.retry, d.wait = false, 0
		return d
	}
	d.wait = wait
	return d
}

// errTooManyRedirects ends a chain of more than 10 redirects.
var errTooManyRedirects = errors.New("stopped after 10 redirects")

// isPermanent reports whether err will happen again however often the
// request is sent.
func isPermanent(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		tl  *tooLargeError
	)
	if errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.As(err, &tl) || errors.Is(err, errTooManyRedirects) || errors.Is(err, errCrossOriginRedirect) {
		return true
	}
	// net/http says these in words only.
	msg := err.Error()
	for _, s := range [...]string{"unsupported protocol scheme", "invalid header field", "invalid method", "nil Request.URL", "missing protocol scheme", "no Host in request URL"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
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
	var (
		opErr *net.OpError
		tl    *tooLargeError
		cve   *tls.CertificateVerificationError
		ua    x509.UnknownAuthorityError
		he    x509.HostnameError
		ci    x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci):
		return "certificate verification"
	case errors.As(err, &opErr):
		return opErr.Op
	case errors.Is(err, errTooManyRedirects):
		return "too many redirects"
	case errors.Is(err, errCrossOriginRedirect):
		return "redirect to another origin refused"
	case errors.As(err, &tl):
		return "answer too large"
	case isPermanent(err):
		return "request refused by net/http"
	}
	return "connection error"
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
