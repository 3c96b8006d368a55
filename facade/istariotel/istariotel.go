// Package istariotel reports a facade.Client's calls to OpenTelemetry:
// traces, metrics and trace-context propagation. It is a consumer of the
// facade's public hooks ([facade.Observer] and [facade.Middleware]), and a
// program that does not import it does not build OpenTelemetry.
//
// With [WithTelemetry], a client makes
//   - one INTERNAL span per call, named after the operation ("GetJob"),
//     with istari.operation, istari.job.id and istari.model.id when the
//     call names them, http.response.status_code (the last answer's),
//     istari.attempts, and error.type when the call failed;
//   - under it, one CLIENT span per HTTP attempt, named after the method,
//     following OpenTelemetry's HTTP client conventions:
//     http.request.method, url.full (with its user info and query values
//     masked as the SDK's errors mask them), server.address, server.port,
//     http.response.status_code, http.request.resend_count from the second
//     attempt on, and error.type;
//   - an event on the call's span for each retry ("istari.retry", with
//     istari.retry.reason, istari.retry.wait in seconds and
//     istari.retry.attempt) and each wait at the rate-limit gate
//     ("istari.rate_limit.hold", with istari.rate_limit.wait in seconds);
//   - a parent span for AddJobs, WaitForJobs, WaitForJob and the iterators
//     AllJobs and AllModelJobs, under which their calls run;
//   - the propagator's headers (traceparent, tracestate, baggage) on every
//     attempt, so that the platform's traces can join the caller's.
//
// And these metrics, all with istari.operation:
//   - http.client.request.duration (histogram, s), per attempt, with
//     http.request.method, server.address, server.port,
//     http.response.status_code and error.type;
//   - istari.client.retries (counter), with istari.retry.reason;
//   - istari.client.rate_limit.wait (histogram, s), the gate's holds;
//   - istari.client.upload.size (histogram, By), the bytes of the request
//     body each attempt of AddJob and UpdateJob handed to the connection;
//   - istari.client.concurrency (up-down counter), the calls a batch
//     (AddJobs) has in flight.
//
// No span, event, attribute or metric holds the token, a URL's user info
// or query values, or an error's text: error.type is a status code or a
// short class ("timeout", "canceled", "rate_limited", …).
package istariotel

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/internal/urlmask"
)

// scopeName is the instrumentation scope of the tracer and the meter.
const scopeName = "github.com/istari-go/sdk/facade/istariotel"

// Config says where telemetry goes. A nil field means OpenTelemetry's
// global one (otel.GetTracerProvider, otel.GetMeterProvider,
// otel.GetTextMapPropagator), read when [WithTelemetry] is called; the
// globals follow a provider set later with otel.SetTracerProvider and the
// like.
type Config struct {
	// TracerProvider makes the spans.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics.
	MeterProvider metric.MeterProvider
	// Propagator writes the trace context into each request's header.
	Propagator propagation.TextMapPropagator
}

// WithTelemetry returns an option that makes a client report its calls
// as the package documentation says.
func WithTelemetry(cfg Config) facade.Option {
	return facade.WithObserver(newTelemetry(cfg).observer())
}

// telemetry is what one WithTelemetry reports to.
type telemetry struct {
	tracer      trace.Tracer
	prop        propagation.TextMapPropagator
	duration    metric.Float64Histogram
	retries     metric.Int64Counter
	holds       metric.Float64Histogram
	uploads     metric.Int64Histogram
	concurrency metric.Int64UpDownCounter
}

// Attribute keys beyond OpenTelemetry's conventions.
const (
	keyOperation   = attribute.Key("istari.operation")
	keyJobID       = attribute.Key("istari.job.id")
	keyModelID     = attribute.Key("istari.model.id")
	keyAttempts    = attribute.Key("istari.attempts")
	keyRetryReason = attribute.Key("istari.retry.reason")
	keyRetryWait   = attribute.Key("istari.retry.wait")
	keyRetryNext   = attribute.Key("istari.retry.attempt")
	keyHoldWait    = attribute.Key("istari.rate_limit.wait")
)

// OpenTelemetry's HTTP client conventions.
const (
	keyMethod      = attribute.Key("http.request.method")
	keyStatus      = attribute.Key("http.response.status_code")
	keyResendCount = attribute.Key("http.request.resend_count")
	keyURL         = attribute.Key("url.full")
	keyAddress     = attribute.Key("server.address")
	keyPort        = attribute.Key("server.port")
	keyErrorType   = attribute.Key("error.type")
)

// The span kinds, made once.
var (
	kindInternal = trace.WithSpanKind(trace.SpanKindInternal)
	kindClient   = trace.WithSpanKind(trace.SpanKindClient)
)

// durationBuckets are the conventions' advice for
// http.client.request.duration.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func newTelemetry(cfg Config) *telemetry {
	tp, mp, prop := cfg.TracerProvider, cfg.MeterProvider, cfg.Propagator
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	t := &telemetry{
		tracer: tp.Tracer(scopeName, trace.WithInstrumentationVersion(facade.Version)),
		prop:   prop,
	}
	m := mp.Meter(scopeName, metric.WithInstrumentationVersion(facade.Version))
	var err error
	// An instrument that cannot be made is handed to otel.Handle; the
	// one returned anyway records nothing.
	t.duration, err = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	handle(err)
	t.retries, err = m.Int64Counter("istari.client.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Retries of the Istari client's calls, by operation and reason."))
	handle(err)
	t.holds, err = m.Float64Histogram("istari.client.rate_limit.wait", metric.WithUnit("s"),
		metric.WithDescription("Waits of the Istari client's requests at its rate-limit gate, while a Retry-After from the platform is in force."))
	handle(err)
	t.uploads, err = m.Int64Histogram("istari.client.upload.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes of the request body an attempt of an upload (AddJob, UpdateJob) handed to the connection."))
	handle(err)
	t.concurrency, err = m.Int64UpDownCounter("istari.client.concurrency", metric.WithUnit("{call}"),
		metric.WithDescription("Calls a batch of the Istari client (AddJobs) has in flight."))
	handle(err)
	return t
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

func (t *telemetry) observer() facade.Observer {
	return facade.Observer{
		Call:       t.call,
		Middleware: t.attempt,
		Retry:      t.retry,
		Hold:       t.hold,
		Group:      t.group,
		InFlight:   t.inFlight,
	}
}

// call starts the span of one call.
func (t *telemetry) call(ctx context.Context, ci facade.CallInfo) (context.Context, func(facade.CallResult)) {
	name := string(ci.Operation)
	if name == "" {
		name = ci.Method
	}
	ctx, span := t.tracer.Start(ctx, name, kindInternal)
	if !span.IsRecording() {
		return ctx, func(facade.CallResult) { span.End() }
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	if ci.Operation != "" {
		attrs = append(attrs, keyOperation.String(string(ci.Operation)))
	}
	if ci.JobID != "" {
		attrs = append(attrs, keyJobID.String(ci.JobID))
	}
	if ci.ModelID != "" {
		attrs = append(attrs, keyModelID.String(ci.ModelID))
	}
	span.SetAttributes(attrs...)
	return ctx, func(r facade.CallResult) {
		span.SetAttributes(keyAttempts.Int(r.Attempts))
		if r.StatusCode != 0 {
			span.SetAttributes(keyStatus.Int(r.StatusCode))
		}
		if et := errorType(r.StatusCode, r.Err); et != "" {
			span.SetAttributes(keyErrorType.String(et))
			span.SetStatus(codes.Error, et)
		}
		span.End()
	}
}

// attempt is the middleware that makes the CLIENT span of each attempt,
// writes the trace context into the request, and measures the attempt.
func (t *telemetry) attempt(r *http.Request, next facade.MiddlewareNext) (*http.Response, error) {
	ctx := r.Context()
	op, _ := facade.OperationFromContext(ctx)
	n := facade.AttemptFromContext(ctx)
	parent := trace.SpanContextFromContext(ctx)
	ctx, span := t.tracer.Start(ctx, r.Method, kindClient)
	defer span.End()
	host, port := serverOf(r)
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 6)
		attrs = append(attrs, keyMethod.String(r.Method), keyURL.String(urlmask.Mask(r.URL)),
			keyAddress.String(host), keyPort.Int(port))
		if op != "" {
			attrs = append(attrs, keyOperation.String(string(op)))
		}
		if n > 1 {
			attrs = append(attrs, keyResendCount.Int(n-1))
		}
		span.SetAttributes(attrs...)
	}
	if span.IsRecording() || !span.SpanContext().Equal(parent) {
		// The RoundTripper sees the attempt's span; a span that records
		// nothing and only repeats its parent's is not worth a copy of the
		// request.
		r = r.WithContext(ctx)
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))

	var sent *countingBody
	if (op == facade.OpAddJob || op == facade.OpUpdateJob) && r.Body != nil && r.Body != http.NoBody && t.uploads.Enabled(ctx) {
		sent = &countingBody{ReadCloser: r.Body}
		r.Body = sent
	}
	start := time.Now()
	resp, err := next(r)
	elapsed := time.Since(start)

	status := 0
	if err == nil && resp != nil {
		status = resp.StatusCode
	}
	et := errorType(status, err)
	if span.IsRecording() {
		if status != 0 {
			span.SetAttributes(keyStatus.Int(status))
		}
		if et != "" {
			span.SetAttributes(keyErrorType.String(et))
			span.SetStatus(codes.Error, et)
		}
	}
	if t.duration.Enabled(ctx) {
		attrs := make([]attribute.KeyValue, 0, 6)
		attrs = append(attrs, keyMethod.String(r.Method), keyAddress.String(host), keyPort.Int(port))
		if op != "" {
			attrs = append(attrs, keyOperation.String(string(op)))
		}
		if status != 0 {
			attrs = append(attrs, keyStatus.Int(status))
		}
		if et != "" {
			attrs = append(attrs, keyErrorType.String(et))
		}
		t.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
	if sent != nil {
		t.uploads.Record(ctx, sent.n.Load(), metric.WithAttributeSet(attribute.NewSet(keyOperation.String(string(op)))))
	}
	return resp, err
}

// retry records a retry on the call's span and in istari.client.retries.
func (t *telemetry) retry(ctx context.Context, attempt int, reason string, wait time.Duration) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("istari.retry", trace.WithAttributes(
			keyRetryReason.String(reason), keyRetryWait.Float64(wait.Seconds()), keyRetryNext.Int(attempt)))
	}
	if t.retries.Enabled(ctx) {
		op, _ := facade.OperationFromContext(ctx)
		t.retries.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(keyOperation.String(string(op)), keyRetryReason.String(reason))))
	}
}

// hold records a wait at the rate-limit gate on the call's span and in
// istari.client.rate_limit.wait.
func (t *telemetry) hold(ctx context.Context, wait time.Duration) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("istari.rate_limit.hold", trace.WithAttributes(keyHoldWait.Float64(wait.Seconds())))
	}
	if t.holds.Enabled(ctx) {
		op, _ := facade.OperationFromContext(ctx)
		t.holds.Record(ctx, wait.Seconds(), metric.WithAttributeSet(attribute.NewSet(keyOperation.String(string(op)))))
	}
}

// group starts the parent span of a method that makes many calls.
func (t *telemetry) group(ctx context.Context, op facade.Operation) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, string(op), kindInternal,
		trace.WithAttributes(keyOperation.String(string(op))))
	return ctx, func(err error) {
		if et := errorType(0, err); et != "" {
			span.SetAttributes(keyErrorType.String(et))
			span.SetStatus(codes.Error, et)
		}
		span.End()
	}
}

// inFlight counts a batch's calls in flight.
func (t *telemetry) inFlight(ctx context.Context, op facade.Operation, delta int) {
	if t.concurrency.Enabled(ctx) {
		t.concurrency.Add(ctx, int64(delta), metric.WithAttributeSet(attribute.NewSet(keyOperation.String(string(op)))))
	}
}

// countingBody counts the bytes the HTTP client reads from a request's
// body, from the goroutine that writes the request.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// serverOf returns the host and port a request goes to.
func serverOf(r *http.Request) (string, int) {
	host := r.URL.Hostname()
	if p, err := strconv.Atoi(r.URL.Port()); err == nil {
		return host, p
	}
	if r.URL.Scheme == "http" {
		return host, 80
	}
	return host, 443
}

// errorType is the error.type of an outcome: the status code of an
// answer of 400 or more, a short class of an error, or "" for success. It
// never holds an error's text, which may hold a URL.
func errorType(status int, err error) string {
	switch {
	case err == nil && status >= 400:
		return strconv.Itoa(status)
	case err == nil:
		return ""
	}
	var (
		apiErr *facade.APIError
		decErr *facade.DecodeError
		valErr *facade.ValidationError
		netErr net.Error
		tlsErr *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, facade.ErrRateLimited):
		return "rate_limited"
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.StatusCode)
	case errors.As(err, &decErr):
		return "decode"
	case errors.As(err, &valErr):
		return "validation"
	case errors.Is(err, facade.ErrResponseTooLarge):
		return "response_too_large"
	case errors.As(err, &tlsErr):
		return "tls"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &netErr):
		return "network"
	}
	return "_OTHER"
}
