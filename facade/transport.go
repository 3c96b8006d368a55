package facade

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// callInfoKey carries a facade call's operation name and timeout to the
// transport through the request's context.
type callInfoKey struct{}

type callInfo struct {
	op         string
	timeout    time.Duration
	timeoutSet bool
}

// transport sends every request of a Client, the facade's and those of
// Client.Raw: it sets auth and User-Agent, runs the request editors, bounds
// each attempt by its timeout, retries what is safe, and logs. It implements
// gen.HttpRequestDoer and is safe for concurrent use.
type transport struct {
	hc        *http.Client
	token     Token
	userAgent string
	timeout   time.Duration
	editors   []RequestEditor
	retry     RetryPolicy
	logger    *slog.Logger
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// bufs holds the buffers answers are read into, by the transport
	// (bufferBody) and by the decoder.
	bufs bufferPool
	// gate holds every request of the client while the platform's
	// Retry-After is in force (gate.go).
	gate *gate
}

// Do sends req, retrying as the policy allows. The returned response's body
// holds the attempt's timeout open until it is closed.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op, timeout := "Raw", t.timeout
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		op = ci.op
		if ci.timeoutSet {
			timeout = ci.timeout
		}
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	safe := isSafe(req.Method)
	attempts := t.retry.attempts()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if hasBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("reopen request body for attempt %d: %w", attempt, err)
				}
				r.Body = body
			}
		}
		if t.token != "" {
			r.Header.Set("Authorization", "Bearer "+string(t.token))
		}
		r.Header.Set("User-Agent", t.userAgent)
		for _, edit := range t.editors {
			if err := edit(ctx, r); err != nil {
				closeReqBody(r)
				return nil, fmt.Errorf("request editor: %w", err)
			}
		}

		if err := t.gate.wait(ctx, t.sleep); err != nil {
			closeReqBody(r)
			return nil, fmt.Errorf("waiting out the platform's Retry-After: %w", err)
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, timeout)
		}
		// wrote tells whether any of the request reached the connection;
		// connecting, whether a standard transport was still getting a
		// connection (dialing, resolving, in the TLS handshake) when the
		// attempt ended, so that nothing can have been sent.
		// Only a write that may be retried needs to know; a read is
		// retried either way, so it is spared the trace's cost.
		var wrote, gettingConn, gotConn atomic.Bool
		if !safe && attempt < attempts {
			actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
				GetConn:          func(string) { gettingConn.Store(true) },
				GotConn:          func(httptrace.GotConnInfo) { gotConn.Store(true) },
				WroteHeaderField: func(string, []string) { wrote.Store(true) },
				WroteHeaders:     func() { wrote.Store(true) },
			})
		}
		start := time.Now()
		resp, err := t.hc.Do(r.WithContext(actx))
		if err == nil && safe && attempt < attempts && resp.StatusCode >= 200 && resp.StatusCode <= 299 && resp.ContentLength <= maxResponseBody {
			// Read the answer of a request that may be retried now, within
			// the attempt, so that a reset or a timeout in the middle of the
			// body is retried like one before the status line.
			if err = t.bufs.bufferBody(resp); err != nil {
				resp = nil
			}
		}
		attemptTimedOut := err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		connecting := gettingConn.Load() && !gotConn.Load()
		t.logAttempt(ctx, op, r, resp, err, attempt, time.Since(start))

		if ctx.Err() != nil {
			cancel()
			closeResp(resp)
			if err == nil {
				err = ctx.Err()
			}
			return nil, err
		}
		d := classify(r.Method, resp, err, wrote.Load(), connecting, attemptTimedOut, time.Now())
		t.gate.observe(resp)
		canReplay := !hasBody || req.GetBody != nil
		if !d.retry || attempt >= attempts || !canReplay {
			if err != nil {
				cancel()
				if attemptTimedOut {
					err = fmt.Errorf("attempt %d timed out after %s: %w", attempt, timeout, err)
				}
				return nil, err
			}
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		closeResp(resp)
		cancel()

		wait := t.retry.backoff(attempt)
		if d.hasWait {
			wait = d.wait
			if t.retry.MaxInterval > 0 {
				wait = min(wait, t.retry.MaxInterval)
			}
		}
		if t.logger.Enabled(ctx, slog.LevelDebug) {
			t.logger.LogAttrs(ctx, slog.LevelDebug, "istari retry",
				slog.String("operation", op), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("attempt", attempt+1), slog.String("reason", d.reason), slog.Duration("wait", wait))
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting to retry (%s): %w", d.reason, err)
		}
	}
}

func (t *transport) logAttempt(ctx context.Context, op string, r *http.Request, resp *http.Response, err error, attempt int, dur time.Duration) {
	if !t.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("operation", op), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("attempt", attempt), slog.Duration("duration", dur),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", errClass(err)))
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "istari request", attrs...)
}

// guardRedirects returns a copy of hc whose redirects never carry
// credentials to another origin. The standard library drops them only when
// the host changes, and keeps them for another port, for a switch from
// https to http, and for a subdomain; the SDK sends the token to the base
// URL's origin (scheme, host and port) and nowhere else. hc's own
// CheckRedirect, if any, runs afterwards.
func guardRedirects(hc *http.Client) *http.Client {
	g := *hc
	next := hc.CheckRedirect
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !sameOrigin(req.URL, via[0].URL) {
			// The credentials a redirect to another origin drops.
			for _, h := range [...]string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"} {
				req.Header.Del(h)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &g
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}
