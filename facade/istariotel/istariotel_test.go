package istariotel_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istariotel"
	"github.com/istari-go/sdk/facade/istaritest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fastRetry retries at once, so that the tests do not wait.
var fastRetry = facade.RetryPolicy{MaxAttempts: 4, MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, NoJitter: true}

// otelHarness is a client with telemetry into an in-memory span recorder
// and a manual metric reader.
type otelHarness struct {
	c      *facade.Client
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
}

func newHarness(t *testing.T, baseURL, token string, opts ...facade.Option) *otelHarness {
	t.Helper()
	h := &otelHarness{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() {
		_ = h.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	all := append([]facade.Option{
		facade.WithToken(token),
		facade.WithRetry(fastRetry),
		istariotel.WithTelemetry(istariotel.Config{TracerProvider: h.tp, MeterProvider: mp, Propagator: propagation.TraceContext{}}),
	}, opts...)
	c, err := facade.NewClient(baseURL, all...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	h.c = c
	return h
}

// addJob adds a job through a client without telemetry.
func addJob(t *testing.T, srv *istaritest.Server) *facade.Job {
	t.Helper()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	job, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]int{"k": 1}})
	require.NoError(t, err)
	return job
}

func (h *otelHarness) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range h.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func (h *otelHarness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrOf(kvs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestGetJobRetried: a GetJob answered 503 and then 200 is one call span
// with two CLIENT attempt spans under it, the second with resend count 1,
// a retry event, two points of http.client.request.duration and one retry
// counted.
func TestGetJobRetried(t *testing.T) {
	srv := istaritest.NewServer()
	defer srv.Close()
	job := addJob(t, srv)
	h := newHarness(t, srv.URL, srv.Token)
	srv.FailOperation(istaritest.OpGetJob, 1, http.StatusServiceUnavailable, 0)

	_, err := h.c.GetJob(context.Background(), job.ID)
	require.NoError(t, err)

	calls := h.named("GetJob")
	require.Len(t, calls, 1)
	call := calls[0]
	assert.Equal(t, trace.SpanKindInternal, call.SpanKind())
	attrs := call.Attributes()
	for key, want := range map[string]attribute.Value{
		"istari.operation":          attribute.StringValue("GetJob"),
		"istari.job.id":             attribute.StringValue(job.ID),
		"istari.attempts":           attribute.IntValue(2),
		"http.response.status_code": attribute.IntValue(200),
	} {
		got, ok := attrOf(attrs, key)
		assert.True(t, ok, "call span lacks %s", key)
		assert.Equal(t, want, got, key)
	}
	_, hasErr := attrOf(attrs, "error.type")
	assert.False(t, hasErr, "a call that succeeded has no error.type")

	attempts := h.named("GET")
	require.Len(t, attempts, 2)
	for i, a := range attempts {
		assert.Equal(t, trace.SpanKindClient, a.SpanKind())
		assert.Equal(t, call.SpanContext().SpanID(), a.Parent().SpanID(), "attempt %d is under the call", i+1)
		assert.Equal(t, call.SpanContext().TraceID(), a.SpanContext().TraceID())
		method, _ := attrOf(a.Attributes(), "http.request.method")
		assert.Equal(t, "GET", method.AsString())
		full, _ := attrOf(a.Attributes(), "url.full")
		assert.Equal(t, srv.URL+istaritest.BasePath+"/jobs/"+job.ID, full.AsString())
		addr, _ := attrOf(a.Attributes(), "server.address")
		assert.Equal(t, "127.0.0.1", addr.AsString())
		_, hasPort := attrOf(a.Attributes(), "server.port")
		assert.True(t, hasPort)
	}
	status0, _ := attrOf(attempts[0].Attributes(), "http.response.status_code")
	assert.Equal(t, int64(503), status0.AsInt64())
	et, _ := attrOf(attempts[0].Attributes(), "error.type")
	assert.Equal(t, "503", et.AsString())
	_, resent := attrOf(attempts[0].Attributes(), "http.request.resend_count")
	assert.False(t, resent, "the first attempt has no resend count")
	resend, ok := attrOf(attempts[1].Attributes(), "http.request.resend_count")
	assert.True(t, ok)
	assert.Equal(t, int64(1), resend.AsInt64())
	status1, _ := attrOf(attempts[1].Attributes(), "http.response.status_code")
	assert.Equal(t, int64(200), status1.AsInt64())

	events := call.Events()
	require.Len(t, events, 1)
	assert.Equal(t, "istari.retry", events[0].Name)
	reason, _ := attrOf(events[0].Attributes, "istari.retry.reason")
	assert.Equal(t, "status 503", reason.AsString())
	next, _ := attrOf(events[0].Attributes, "istari.retry.attempt")
	assert.Equal(t, int64(2), next.AsInt64())
	_, hasWait := attrOf(events[0].Attributes, "istari.retry.wait")
	assert.True(t, hasWait)

	ms := h.metrics(t)
	dur, ok := ms["http.client.request.duration"].Data.(metricdata.Histogram[float64])
	require.True(t, ok, "http.client.request.duration is a float histogram")
	assert.Equal(t, "s", ms["http.client.request.duration"].Unit)
	require.Len(t, dur.DataPoints, 2, "one point per status")
	statuses := map[int64]uint64{}
	for _, dp := range dur.DataPoints {
		st, _ := dp.Attributes.Value("http.response.status_code")
		op, _ := dp.Attributes.Value("istari.operation")
		assert.Equal(t, "GetJob", op.AsString())
		statuses[st.AsInt64()] += dp.Count
	}
	assert.Equal(t, map[int64]uint64{503: 1, 200: 1}, statuses)

	retries, ok := ms["istari.client.retries"].Data.(metricdata.Sum[int64])
	require.True(t, ok)
	require.Len(t, retries.DataPoints, 1)
	assert.Equal(t, int64(1), retries.DataPoints[0].Value)
	r, _ := retries.DataPoints[0].Attributes.Value("istari.retry.reason")
	assert.Equal(t, "status 503", r.AsString())
}

// TestAddJobsParentSpan: AddJobs of 10 is one AddJobs span with the 10
// AddJob call spans under it; the batch's concurrency goes back to 0 and
// each upload's bytes are measured.
func TestAddJobsParentSpan(t *testing.T) {
	srv := istaritest.NewServer()
	defer srv.Close()
	h := newHarness(t, srv.URL, srv.Token)
	params := make([]facade.AddJobParams, 10)
	for i := range params {
		params[i] = facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]int{"i": i}}
	}
	for i, r := range h.c.AddJobs(context.Background(), params, facade.BatchOptions{Concurrency: 4}) {
		require.NoError(t, r.Err, "job %d", i)
	}

	parents := h.named("AddJobs")
	require.Len(t, parents, 1)
	parent := parents[0]
	assert.False(t, parent.Parent().IsValid(), "AddJobs is the root here")
	calls := h.named("AddJob")
	require.Len(t, calls, 10)
	for _, c := range calls {
		assert.Equal(t, parent.SpanContext().SpanID(), c.Parent().SpanID())
		assert.Equal(t, parent.SpanContext().TraceID(), c.SpanContext().TraceID())
		model, _ := attrOf(c.Attributes(), "istari.model.id")
		assert.Equal(t, "model-1", model.AsString())
	}
	assert.Len(t, h.named("POST"), 10, "one attempt span per job")

	ms := h.metrics(t)
	conc, ok := ms["istari.client.concurrency"].Data.(metricdata.Sum[int64])
	require.True(t, ok)
	require.Len(t, conc.DataPoints, 1)
	assert.Equal(t, int64(0), conc.DataPoints[0].Value, "every call in flight has ended")
	size, ok := ms["istari.client.upload.size"].Data.(metricdata.Histogram[int64])
	require.True(t, ok)
	require.Len(t, size.DataPoints, 1)
	assert.Equal(t, uint64(10), size.DataPoints[0].Count)
	assert.Positive(t, size.DataPoints[0].Sum)
}

// TestIteratorAndWaitParentSpans: the pages of AllJobs, and the polls of
// WaitForJobs, run under one span of the method.
func TestIteratorAndWaitParentSpans(t *testing.T) {
	srv := istaritest.NewServer()
	defer srv.Close()
	job := addJob(t, srv)
	h := newHarness(t, srv.URL, srv.Token)
	ctx := context.Background()

	for _, err := range h.c.AllJobs(ctx, facade.ListJobsParams{}) {
		require.NoError(t, err)
	}
	all := h.named("AllJobs")
	require.Len(t, all, 1)
	pages := h.named("ListJobs")
	require.NotEmpty(t, pages)
	for _, p := range pages {
		assert.Equal(t, all[0].SpanContext().SpanID(), p.Parent().SpanID())
	}

	_, err := h.c.UpdateJobStatus(ctx, job.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusCanceled})
	require.NoError(t, err)
	_, err = h.c.WaitForJobs(ctx, []string{job.ID}, facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: time.Millisecond})
	require.NoError(t, err)
	waits := h.named("WaitForJobs")
	require.Len(t, waits, 1)
	var under int
	for _, s := range h.spans.Ended() {
		if s.Parent().SpanID() == waits[0].SpanContext().SpanID() {
			under++
		}
	}
	assert.Positive(t, under, "WaitForJobs's calls run under its span")
}

// TestTraceparentJoinsCallersTrace: the server receives a traceparent of
// the caller's trace, whose parent is the attempt's span.
func TestTraceparentJoinsCallersTrace(t *testing.T) {
	p := istaritest.New()
	var (
		mu      sync.Mutex
		parents []string
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("Traceparent"))
		mu.Unlock()
		p.Handler().ServeHTTP(w, r)
	}))
	defer hs.Close()
	h := newHarness(t, hs.URL, istaritest.DefaultToken)

	ctx, root := h.tp.Tracer("caller").Start(context.Background(), "handle request")
	_, err := h.c.GetJob(ctx, "no-such-job")
	root.End()
	var apiErr *facade.APIError
	require.ErrorAs(t, err, &apiErr, "a 404 is an answer")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, parents, 1)
	tc := propagation.TraceContext{}
	sc := trace.SpanContextFromContext(tc.Extract(context.Background(), propagation.HeaderCarrier{"Traceparent": {parents[0]}}))
	require.True(t, sc.IsValid(), "traceparent %q", parents[0])
	assert.Equal(t, root.SpanContext().TraceID(), sc.TraceID(), "the server joins the caller's trace")
	attempts := h.named("GET")
	require.Len(t, attempts, 1)
	assert.Equal(t, attempts[0].SpanContext().SpanID(), sc.SpanID(), "its parent is the attempt's span")
	calls := h.named("GetJob")
	require.Len(t, calls, 1)
	assert.Equal(t, root.SpanContext().SpanID(), calls[0].Parent().SpanID())
	et, _ := attrOf(calls[0].Attributes(), "error.type")
	assert.Equal(t, "404", et.AsString())
}

// TestNoSecretInTelemetry: whatever a request carries (the token, user info
// or query values an editor adds, the query of a list), and whatever
// happens (retries, a rate-limit hold, a transport error whose text holds
// the URL), no span, event, attribute or metric holds a secret.
func TestNoSecretInTelemetry(t *testing.T) {
	const (
		token    = "tok-3f9a1c-very-secret"
		sig      = "sig-77d2-secret"
		password = "pw-0b1e-secret"
		status   = "Running" // a query value of ListJobs
	)
	secrets := []string{token, sig, password, "user-secret"}
	srv := istaritest.NewServer(istaritest.WithUser(token, "u-1", false))
	defer srv.Close()
	job := addJob(t, srv)
	sign := facade.WithRequestEditor(func(_ context.Context, r *http.Request) error {
		q := r.URL.Query()
		q.Set("sig", sig)
		r.URL.RawQuery = q.Encode()
		r.URL.User = url.UserPassword("user-secret", password)
		return nil
	})
	h := newHarness(t, srv.URL, token, sign)
	ctx := context.Background()

	// A retry, and a list whose query holds values.
	srv.FailOperation(istaritest.OpGetJob, 1, http.StatusServiceUnavailable, 0)
	_, err := h.c.GetJob(ctx, job.ID)
	require.NoError(t, err)
	_, err = h.c.ListJobs(ctx, facade.ListJobsParams{Status: facade.JobStatusRunning})
	require.NoError(t, err)

	// A 429 with Retry-After closes the client's gate for a second: the
	// next call waits there (a hold).
	held := newHarness(t, srv.URL, token, sign, facade.WithRetry(facade.NoRetry()))
	srv.FailOperation(istaritest.OpListJobs, 1, http.StatusTooManyRequests, time.Second)
	_, err = held.c.ListJobs(ctx, facade.ListJobsParams{Status: facade.JobStatusRunning})
	require.ErrorIs(t, err, facade.ErrRateLimited)
	_, err = held.c.GetJob(ctx, job.ID)
	require.NoError(t, err)

	// A transport error: its text holds the URL, with the query.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	down := newHarness(t, deadURL+istaritest.BasePath, token, sign, facade.WithRetry(facade.NoRetry()))
	_, err = down.c.GetJob(ctx, job.ID)
	require.Error(t, err)
	require.Contains(t, err.Error(), sig, "the error's text holds the secret, so the check below can fail")

	var sawURL, sawRetry, sawHold, sawNetwork bool
	for _, hh := range []*otelHarness{h, held, down} {
		for _, s := range hh.spans.Ended() {
			texts := []string{s.Name(), s.Status().Description}
			texts = append(texts, kvTexts(s.Attributes())...)
			for _, e := range s.Events() {
				texts = append(texts, e.Name)
				texts = append(texts, kvTexts(e.Attributes)...)
				sawRetry = sawRetry || e.Name == "istari.retry"
				sawHold = sawHold || e.Name == "istari.rate_limit.hold"
			}
			if u, ok := attrOf(s.Attributes(), "url.full"); ok {
				sawURL = true
				assert.Contains(t, u.AsString(), "sig=***", "the query's values are masked")
				assert.Contains(t, u.AsString(), "://***@", "the user info is masked")
			}
			if et, ok := attrOf(s.Attributes(), "error.type"); ok && et.AsString() == "network" {
				sawNetwork = true
			}
			assertNoSecret(t, "span "+s.Name(), texts, append(secrets, status))
		}
		for name, m := range hh.metrics(t) {
			assertNoSecret(t, "metric "+name, append([]string{name}, metricTexts(m)...), append(secrets, status))
		}
	}
	assert.True(t, sawURL && sawRetry && sawHold && sawNetwork,
		"the check saw a url.full (%v), a retry (%v), a hold (%v) and a transport error (%v)", sawURL, sawRetry, sawHold, sawNetwork)
}

func assertNoSecret(t *testing.T, where string, texts, secrets []string) {
	t.Helper()
	for _, s := range texts {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s carries %q: %q", where, secret, s)
			}
		}
	}
}

func kvTexts(kvs []attribute.KeyValue) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, string(kv.Key)+"="+kv.Value.String())
	}
	return out
}

func metricTexts(m metricdata.Metrics) []string {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	}
	out := []string{m.Description, m.Unit}
	for _, s := range sets {
		out = append(out, kvTexts(s.ToSlice())...)
	}
	return out
}

// TestErrorTypeHasNoText: a call that fails with a transport error gets a
// short error.type and a span status without the error's text.
func TestErrorTypeHasNoText(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1", "tok", facade.WithRetry(facade.NoRetry()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.c.GetJob(ctx, "j")
	require.True(t, errors.Is(err, context.Canceled), "err = %v", err)
	calls := h.named("GetJob")
	require.Len(t, calls, 1)
	et, _ := attrOf(calls[0].Attributes(), "error.type")
	assert.Equal(t, "canceled", et.AsString())
	assert.Equal(t, "canceled", calls[0].Status().Description)
}
