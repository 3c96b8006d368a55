package facade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// callInfoKey carries a facade call's operation name, timeout and response
// info to the transport through the request's context.
type callInfoKey struct{}

type callInfo struct {
	op         Operation
	timeout    time.Duration
	timeoutSet bool
	info       *ResponseInfo
	// answer is the body of the call's final 2xx answer, when the
	// transport read it within the attempt: the transport hands it to the
	// call's decoding here. It is valid until the answer's body is closed.
	answer []byte
}

// transport sends every request of a Client, the facade's and those of
// Client.Raw: it sets auth and User-Agent, runs the request editors on a
// fresh copy of the request for each attempt, bounds each attempt by its
// timeout, bounds every answer's body, retries what the retry table
// allows, and logs. It implements gen.HttpRequestDoer and is safe for
// concurrent use.
type transport struct {
	hc    *http.Client
	token bearerToken
	// auth is the Authorization header's value, built once.
	auth      bearerToken
	userAgent string
	timeout   time.Duration
	editors   []RequestEditor
	retry     RetryPolicy // with its defaults
	logger    *slog.Logger
	// maxBody limits a 2xx answer's body.
	maxBody int64
	// basePath is the base URL's path, to map Raw requests to operations.
	basePath string
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// bufs holds the buffers answers are read into, by the transport
	// (bufferBody) and by the decoder.
	bufs bufferPool
	// gate holds every request of the client while the platform's
	// Retry-After is in force (gate.go).
	gate *gate
	// send sends one attempt: hc.Do, wrapped in the middleware and the
	// observers' middleware (middleware.go).
	send MiddlewareNext
	// obs observe every call (observer.go); nil when none does.
	obs observers
	// shared is true when no request editor and no middleware can change
	// an attempt's request: the attempts of a facade call then share its
	// request's header, which the SDK's headers are set in once, instead
	// of each cloning it (a facade call's request is its own, built for
	// the call by the generated client).
	shared bool
}

// call is what the transport knows of the call a request belongs to.
type call struct {
	op Operation
	// operation is the operation for OperationFromContext: op, or for a
	// Raw request the one it matches ("" when none).
	operation Operation
	// route is the operation's path pattern, "" when none matches.
	route    string
	class    opClass
	upload   bool
	download bool
	// own is true for a facade call's request, which is its own, and
	// false for a Client.Raw request, which is the caller's.
	own     bool
	timeout time.Duration
	info    *ResponseInfo
	// ci is a facade call's record, nil for a Raw request.
	ci *callInfo
}

func (t *transport) callOf(req *http.Request) call {
	c := call{op: opRaw, timeout: t.timeout}
	row, ok := operation{}, false
	if ci, isCall := req.Context().Value(callInfoKey{}).(*callInfo); isCall {
		c.op, c.info, c.own, c.ci = ci.op, ci.info, true, ci
		if ci.timeoutSet {
			c.timeout = ci.timeout
		}
		c.operation = ci.op
		row, ok = operationNamed(ci.op)
	} else {
		row, ok = operationOf(req.Method, req.URL.Path, t.basePath)
		if ok {
			c.operation = row.name
		}
	}
	if ok {
		c.class, c.upload, c.download, c.route = row.class, row.upload, row.download, row.path
	} else {
		c.class = classOfMethod(req.Method)
	}
	return c
}

// Do sends req, retrying as the retry table allows. The returned
// response's body is limited in size, and holds the attempt's timeout open
// until it is closed.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	c := t.callOf(req)
	var end func(CallResult)
	if t.obs != nil {
		ctx, ci := t.observed(req.Context(), c, req.Method, req.URL.Path)
		ctx, end = t.obs.call(ctx, ci)
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, attempts, err := t.do(req, c)
	if c.info != nil || end != nil {
		last := resp
		var ie *interruptedError
		if last == nil && errors.As(err, &ie) {
			last = ie.resp
		}
		if c.info != nil {
			*c.info = ResponseInfo{Operation: c.op, Attempts: attempts, Elapsed: time.Since(start)}
			if last != nil {
				c.info.fill(last.StatusCode, last.Header)
			}
		}
		if end != nil {
			r := CallResult{Attempts: attempts, Err: err}
			if last != nil {
				r.StatusCode = last.StatusCode
			}
			end(r)
		}
	}
	return resp, err
}

func (t *transport) do(req *http.Request, c call) (*http.Response, int, error) {
	ctx := req.Context()
	hasBody := req.Body != nil && req.Body != http.NoBody
	canReplay := !hasBody || req.GetBody != nil
	attempts := t.retry.MaxAttempts
	if !canReplay {
		attempts = 1
	}
	// covered is when the last wait between two attempts ended, by the
	// transport's clock: the gate need not hold this call past it.
	var covered time.Time
	share := t.shared && c.own
	if share {
		t.setHeaders(req.Header)
	}
	gateSleep := t.sleep
	if t.obs != nil {
		gateSleep = t.gateSleep
	}
	for attempt := 1; ; attempt++ {
		last := attempt >= attempts
		// The client-wide gate: while the platform's Retry-After is in
		// force, every request of the client waits here.
		if err := t.gate.wait(ctx, gateSleep, covered); err != nil {
			if attempt == 1 && hasBody {
				closeReqBody(req) // attempt 1 would have sent, and so closed, it
			}
			// Matches ErrRateLimited: the platform's limit, not this call's
			// own answer, kept the request from being sent.
			return nil, attempt - 1, fmt.Errorf("%w: waiting out the platform's Retry-After: %w", ErrRateLimited, err)
		}
		a, err := t.attempt(ctx, req, c, attempt, hasBody, last, share)
		if err != nil {
			return nil, attempt, err
		}
		if ctx.Err() != nil {
			a.release()
			closeResp(a.resp)
			err := a.err
			if err == nil {
				err = ctx.Err()
			}
			return nil, attempt, err
		}
		if c.operation != "" {
			// Only the platform's operations close the gate: a
			// Retry-After from another path (a health check through
			// Raw, a proxy's page) speaks for that path only.
			t.gate.observe(a.resp)
		}
		d := t.retry.decide(c.class, a.attemptOutcome, attempt, last, time.Now(), deadlineOf(ctx))
		if d.refused != "" {
			t.logRetry(ctx, "istari retry refused", c, req, attempt+1, d.refused, 0)
		}
		wait := d.wait
		if !d.retry {
			return t.final(a, c, attempt)
		}

		// Keep the server's answer through the wait, so that a wait the
		// caller's context ends still returns it.
		var kept *http.Response
		if a.resp != nil {
			kept = keepAnswer(a.resp)
		}
		a.release()
		closeResp(a.resp)
		t.logRetry(ctx, "istari retry", c, req, attempt+1, d.reason, wait)
		t.obs.retry(ctx, attempt+1, d.reason, wait)
		covered = time.Now().Add(wait)
		if err := t.sleep(ctx, wait); err != nil {
			if kept != nil {
				return nil, attempt, &interruptedError{resp: kept, err: err}
			}
			return nil, attempt, fmt.Errorf("after %d attempts, waiting to retry (%s): %w (last attempt: %w)", attempt, d.reason, err, a.err)
		}
	}
}

// outlasts reports whether waiting d would end after ctx's deadline.
func outlasts(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// deadlineOf returns ctx's deadline, or the zero time when it has none.
func deadlineOf(ctx context.Context) time.Time {
	dl, _ := ctx.Deadline()
	return dl
}

// final returns the outcome of the last attempt of a call.
func (t *transport) final(a *attemptResult, c call, attempt int) (*http.Response, int, error) {
	if err := a.err; err != nil {
		a.release()
		switch {
		case a.stalled:
			err = fmt.Errorf("attempt %d of an upload stalled: %w", attempt, err)
		case a.timedOut:
			err = fmt.Errorf("attempt %d timed out after %s: %w", attempt, c.timeout, err)
		}
		if attempt > 1 {
			err = fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		return nil, attempt, err
	}
	if bb, ok := a.resp.Body.(*bufferedBody); ok {
		bb.cancel = a.release
		if c.ci != nil {
			c.ci.answer = bb.data
		}
	} else {
		a.resp.Body = &cancelOnClose{ReadCloser: a.resp.Body, cancel: a.release}
	}
	return a.resp, attempt, nil
}

// attemptResult is one attempt: its outcome, and how to release its timer.
type attemptResult struct {
	attemptOutcome
	stalled bool
	release func()
}

// attempt sends one attempt of req, built afresh from req as the caller
// built it. err is an error that ends the call before anything is sent.
func (t *transport) attempt(ctx context.Context, req *http.Request, c call, n int, hasBody, last, share bool) (*attemptResult, error) {
	// The attempt's context says which operation and attempt it is, for
	// the editors, the middleware and the RoundTripper.
	var actx context.Context = &attemptContext{Context: ctx, info: attemptInfo{op: c.operation, n: n}}
	release := func() {}
	var stall *stallTimer
	switch {
	case c.timeout > 0 && (c.upload || c.download):
		cctx, cancel := context.WithCancelCause(actx)
		stall = newStallTimer(c.timeout, cancel)
		actx, release = cctx, func() { stall.stop(); cancel(nil) }
	case c.timeout > 0:
		cctx, cancel := context.WithTimeout(actx, c.timeout)
		actx, release = cctx, cancel
	}
	// Only a write that may be retried needs to know what was sent (see
	// sendTrace); the others are spared the trace's cost.
	var tr *sendTrace
	if c.class == classUnsafe && !last {
		tr = new(sendTrace)
		actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
			GetConn:          func(string) { tr.gettingConn.Store(true) },
			GotConn:          func(httptrace.GotConnInfo) { tr.gotConn.Store(true) },
			WroteHeaderField: func(string, []string) { tr.wrote.Store(true) },
			WroteHeaders:     func() { tr.wrote.Store(true) },
		})
	}

	// Each attempt starts from the request as built: a fresh copy of its
	// header and URL, which the SDK's headers and the editors then change;
	// or, when nothing can change them, the request itself (see shared),
	// whose header do has set once.
	var r *http.Request
	if share {
		r = req.WithContext(actx)
	} else {
		r = req.Clone(actx)
		t.setHeaders(r.Header)
	}
	if hasBody && n > 1 {
		body, err := req.GetBody()
		if err != nil {
			release()
			return nil, fmt.Errorf("reopen request body for attempt %d: %w", n, err)
		}
		r.Body = body
	}
	for _, edit := range t.editors {
		if err := edit(actx, r); err != nil {
			closeReqBody(r)
			release()
			return nil, fmt.Errorf("request editor: %w", err)
		}
	}
	if stall != nil && r.Body != nil && r.Body != http.NoBody {
		r.Body = &progressReader{ReadCloser: r.Body, stall: stall}
		// A 307 or 308 sends the body again from GetBody: its bytes are
		// progress too.
		if getBody := r.GetBody; getBody != nil {
			r.GetBody = func() (io.ReadCloser, error) {
				b, err := getBody()
				if err != nil {
					return nil, err
				}
				return &progressReader{ReadCloser: b, stall: stall}, nil
			}
		}
	}

	start := time.Now()
	resp, err := t.send(r)
	switch {
	case err != nil && resp != nil: // a middleware's, or a refused redirect's (closed)
		closeResp(resp)
		resp = nil
	case err == nil && resp == nil:
		err = errNoAnswer
	case err == nil && resp.Body == nil:
		resp.Body = http.NoBody
	}
	if err == nil {
		resp, err = t.limit(resp, stall, c.download)
	}
	a := &attemptResult{attemptOutcome: attemptOutcome{resp: resp, err: err}, release: release}
	if err != nil {
		a.resp = nil
		a.timedOut = ctx.Err() == nil && actx.Err() != nil
		a.stalled = stall != nil && errors.Is(context.Cause(actx), errStalled)
	}
	if tr != nil {
		a.wrote = tr.wrote.Load()
		a.connecting = tr.gettingConn.Load() && !tr.gotConn.Load()
	}
	t.logAttempt(ctx, c.op, r, a.resp, err, n, time.Since(start))
	return a, nil
}

// setHeaders sets the SDK's headers: the token, and the User-Agent.
func (t *transport) setHeaders(h http.Header) {
	if t.auth != "" {
		h["Authorization"] = []string{string(t.auth)}
	}
	h["User-Agent"] = []string{t.userAgent}
}

// sendTrace is what an attempt's httptrace saw: wrote tells whether any of
// the request reached the connection; gettingConn and gotConn, whether a
// standard transport was still getting a connection (dialing, resolving,
// in the TLS handshake) when the attempt ended, so that nothing can have
// been sent.
type sendTrace struct {
	wrote, gettingConn, gotConn atomic.Bool
}

// limit wraps resp's body in its limit: the client's for a 2xx answer,
// 64 KiB for any other. A 2xx answer is read now, within the attempt, into
// a buffer that never grows past the limit (see readCapped), so that
//   - a reset or a timeout in the middle of its body is retried like one
//     before the status line, where the call may be retried;
//   - an oversized answer costs at most the limit in memory, also for a
//     Raw call, whose generated parser would otherwise grow its own buffer
//     by doubling.
//
// A download's 2xx answer is left to the caller to read, within the limit.
func (t *transport) limit(resp *http.Response, stall *stallTimer, download bool) (*http.Response, error) {
	limit := int64(maxErrorBody)
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if ok {
		limit = t.maxBody
		if resp.ContentLength > limit {
			_ = resp.Body.Close() // unread: it is too large
			return nil, &tooLargeError{limit: limit, status: resp.StatusCode}
		}
	}
	lb := &limitedBody{rc: resp.Body, limit: limit, stall: stall}
	resp.Body = lb
	if ok && !download {
		bb, err := t.bufs.bufferBody(lb, resp.ContentLength, limit)
		if err != nil {
			var tl *tooLargeError
			if errors.As(err, &tl) {
				tl.status = resp.StatusCode
			}
			return nil, err
		}
		resp.Body = bb
	}
	return resp, nil
}

// keepAnswer copies the status, header and (capped) body of an answer that
// is about to be retried.
func keepAnswer(resp *http.Response) *http.Response {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	kept := &http.Response{
		Status: resp.Status, StatusCode: resp.StatusCode, Header: resp.Header, Request: resp.Request,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	return kept
}

// interruptedError is a call whose wait before a retry the caller's context
// ended. It keeps the server's last answer, which the facade turns into an
// *APIError.
type interruptedError struct {
	resp *http.Response
	err  error
}

func (e *interruptedError) Error() string {
	return fmt.Sprintf("waiting to retry after status %d: %v", e.resp.StatusCode, e.err)
}

func (e *interruptedError) Unwrap() error { return e.err }

// logRetry logs a retry about to be made ("istari retry") or one the
// policy refused ("istari retry refused"), with the attempt it would be.
func (t *transport) logRetry(ctx context.Context, msg string, c call, r *http.Request, attempt int, reason string, wait time.Duration) {
	if !t.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, msg,
		slog.String("operation", string(c.op)), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("attempt", attempt), slog.String("reason", reason), slog.Duration("wait", wait))
}

func (t *transport) logAttempt(ctx context.Context, op Operation, r *http.Request, resp *http.Response, err error, attempt int, dur time.Duration) {
	if !t.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("operation", string(op)), slog.String("method", r.Method), slog.String("path", r.URL.Path),
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

// guardRedirects returns a copy of hc whose redirects never carry anything
// of the SDK's or the caller's to another origin (scheme, host and port):
// the standard library drops credentials only when the host changes, keeps
// them for another port, for a switch from https to http and for a
// subdomain, and keeps every other header everywhere, among them those a
// RequestEditor adds (a signature, an API key) and the Referer it sets to
// the previous URL, query included. So a hop to another origin carries no
// header at all, and a request with a body, or any method but GET and HEAD,
// is not sent there: the redirect ends the call with an error that names
// it (a 307 or 308 would replay the body, and a 301, 302 or 303 would turn
// a write into a GET whose answer is not the write's). Every hop is compared
// with the first request, since net/http copies the first request's headers
// anew at each hop. A chain of more than 10 redirects ends with an error,
// whatever hc says; hc's own CheckRedirect, if any, runs afterwards.
func guardRedirects(hc *http.Client) *http.Client {
	g := *hc
	next := hc.CheckRedirect
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errTooManyRedirects
		}
		if len(via) > 0 && !sameOrigin(req.URL, via[0].URL) {
			first := via[0]
			if carriesBody(first) || (first.Method != http.MethodGet && first.Method != http.MethodHead) {
				status := 0
				if req.Response != nil {
					status = req.Response.StatusCode
				}
				return &redirectError{status: status, method: first.Method, to: origin(req.URL)}
			}
			req.Header = make(http.Header)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &g
}

// carriesBody reports whether r has a body.
func carriesBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

// errCrossOriginRedirect matches the error of a request that a redirect
// would have sent, body and all, to another origin.
var errCrossOriginRedirect = errors.New("redirect to another origin refused")

// redirectError is a redirect of a request with a body, or of a write, to
// another origin. It matches errCrossOriginRedirect.
type redirectError struct {
	status int
	method string
	to     string // the other origin
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("%v: a %d answer to %s redirects it to %s; a write or a request with a body goes to the base URL's origin only",
		errCrossOriginRedirect, e.status, e.method, e.to)
}

func (e *redirectError) Is(target error) bool { return target == errCrossOriginRedirect }

// origin is u's scheme, host and port, without its path, query or user
// info.
func origin(u *url.URL) string { return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() }

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
