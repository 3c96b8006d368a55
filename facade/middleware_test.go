package facade_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// seen is what a hook saw of one attempt.
type seen struct {
	Where   string
	Op      facade.Operation
	OK      bool
	Attempt int
}

type seenLog struct {
	mu  sync.Mutex
	all []seen
}

func (l *seenLog) add(where string, ctx context.Context) {
	op, ok := facade.OperationFromContext(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, seen{where, op, ok, facade.AttemptFromContext(ctx)})
}

func (l *seenLog) get() []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seen(nil), l.all...)
}

// TestMiddlewareSeesOperationAndAttempt: middleware, request editors and
// the RoundTripper see the operation and the attempt on every attempt, and
// middleware runs in the order given, after the SDK's headers.
func TestMiddlewareSeesOperationAndAttempt(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		if calls.Add(1) == 1 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "later"})
			return
		}
		writeJSON(w, http.StatusOK, sampleJob("j"))
	})
	var log seenLog
	var order []string
	mw := func(name string) facade.Middleware {
		return func(r *http.Request, next facade.MiddlewareNext) (*http.Response, error) {
			log.add("middleware "+name, r.Context())
			assert.Equal(t, "Bearer secret-token-value", r.Header.Get("Authorization"), "the SDK's headers are set first")
			assert.Equal(t, "yes", r.Header.Get("X-Edited"), "the editors run first")
			order = append(order, name+" in")
			resp, err := next(r)
			order = append(order, name+" out")
			return resp, err
		}
	}
	rt := newContractTransport(t)
	c, err := facade.NewClient(srv.baseURL(),
		facade.WithToken("secret-token-value"),
		facade.WithRetry(fastRetry),
		facade.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			log.add("roundtripper", r.Context())
			return rt.RoundTrip(r)
		})}),
		facade.WithRequestEditor(func(ctx context.Context, r *http.Request) error {
			log.add("editor", ctx)
			r.Header.Set("X-Edited", "yes")
			return nil
		}),
		facade.WithMiddleware(mw("a"), mw("b")),
	)
	require.NoError(t, err)

	_, err = c.GetJob(context.Background(), "j")
	require.NoError(t, err)
	var want []seen
	for n := 1; n <= 2; n++ {
		for _, where := range []string{"editor", "middleware a", "middleware b", "roundtripper"} {
			want = append(want, seen{where, facade.OpGetJob, true, n})
		}
	}
	assert.Equal(t, want, log.get())
	assert.Equal(t, []string{"a in", "b in", "b out", "a out", "a in", "b in", "b out", "a out"}, order)

	// The same holds for a request of the raw client, by its route.
	log = seenLog{}
	_, err = c.Raw().GetJobWithResponse(context.Background(), "j")
	require.NoError(t, err)
	for _, s := range log.get() {
		assert.Equal(t, seen{s.Where, facade.OpGetJob, true, 1}, s)
	}

	// Outside a call there is nothing to see.
	op, ok := facade.OperationFromContext(context.Background())
	assert.False(t, ok)
	assert.Equal(t, facade.Operation(""), op)
	assert.Zero(t, facade.AttemptFromContext(context.Background()))
}

// TestMiddlewareAnswerIsRetried: an answer or error of middleware's own goes
// through the retry table like the server's.
func TestMiddlewareAnswerIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(r *http.Request) (*http.Response, error)
	}{
		{"a 503 of its own", func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"detail":"busy"}`)), Request: r}, nil
		}},
		{"an error", func(*http.Request) (*http.Response, error) { return nil, errors.New("middleware: connection refused") }},
		{"no answer at all", func(*http.Request) (*http.Response, error) { return nil, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := jobServer(t)
			var attempts atomic.Int32
			c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithMiddleware(
				func(r *http.Request, next facade.MiddlewareNext) (*http.Response, error) {
					attempts.Add(1)
					if facade.AttemptFromContext(r.Context()) == 1 {
						return tc.first(r)
					}
					return next(r)
				}))
			var info facade.ResponseInfo
			job, err := c.GetJob(context.Background(), "job-1", facade.WithResponseInfo(&info))
			require.NoError(t, err)
			assert.Equal(t, "job-1", job.ID)
			assert.Equal(t, int32(2), attempts.Load())
			assert.Equal(t, 2, info.Attempts)
			assert.Equal(t, 1, srv.count(), "only the second attempt reached the server")
		})
	}

	t.Run("a 404 of its own is the call's error", func(t *testing.T) {
		srv := jobServer(t)
		c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithMiddleware(
			func(r *http.Request, _ facade.MiddlewareNext) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"detail":"gone"}`)), Request: r}, nil
			}))
		_, err := c.GetJob(context.Background(), "job-1")
		require.ErrorIs(t, err, facade.ErrNotFound)
		assert.Zero(t, srv.count())
	})

	t.Run("its answer is limited as the server's", func(t *testing.T) {
		srv := jobServer(t)
		c, _ := newClient(t, srv.baseURL(), facade.WithMaxResponseBytes(1024), facade.WithMiddleware(
			func(r *http.Request, _ facade.MiddlewareNext) (*http.Response, error) {
				h := http.Header{"Content-Type": {"application/json"}}
				return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(`{"id":"` + strings.Repeat("x", 4096) + `"}`)), Request: r, ContentLength: -1}, nil
			}))
		_, err := c.GetJob(context.Background(), "job-1")
		require.ErrorIs(t, err, facade.ErrResponseTooLarge)
	})
}

// TestMiddlewareEditsDoNotPileUp: each attempt's middleware starts from the
// request as the SDK built it.
func TestMiddlewareEditsDoNotPileUp(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1) < 3 {
			writeJSON(w, http.StatusBadGateway, map[string]string{"detail": "later"})
			return
		}
		writeJSON(w, http.StatusOK, gen.PageJob{Items: []gen.Job{}, Total: 0, Page: 1, Size: 10, Pages: 0})
	})
	c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithMiddleware(
		func(r *http.Request, next facade.MiddlewareNext) (*http.Response, error) {
			r.Header.Add("X-Stamp", "s")
			q := r.URL.Query()
			q.Add("tag", "t")
			r.URL.RawQuery = q.Encode()
			return next(r)
		}))
	_, err := c.ListJobs(context.Background(), facade.ListJobsParams{Size: 10})
	require.NoError(t, err)
	reqs := srv.requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, []string{"s"}, r.Header.Values("X-Stamp"), "attempt %d", i+1)
		assert.Equal(t, 1, strings.Count(r.Query, "tag=t"), "attempt %d: %s", i+1, r.Query)
	}
}

// TestObserverSeesCalls: an Observer's functions see each call with its
// operation and ids, each retry with its reason, and the result; the
// context Call returns is the one the attempts run in.
func TestObserverSeesCalls(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case calls.Add(1) == 1:
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "later"})
		case strings.HasSuffix(r.URL.Path, "/jobs"):
			writeJSON(w, http.StatusOK, gen.PageJob{Items: []gen.Job{}, Total: 0, Page: 1, Size: 10, Pages: 0})
		default:
			writeJSON(w, http.StatusOK, sampleJob("job-1"))
		}
	})
	type mark struct{}
	var (
		mu     sync.Mutex
		events []string
	)
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithObserver(facade.Observer{
		Call: func(ctx context.Context, ci facade.CallInfo) (context.Context, func(facade.CallResult)) {
			note("call " + string(ci.Operation) + " " + ci.Method + " job=" + ci.JobID + " model=" + ci.ModelID)
			return context.WithValue(ctx, mark{}, "marked"), func(r facade.CallResult) {
				note("end attempts=" + itoa(r.Attempts) + " status=" + itoa(r.StatusCode))
			}
		},
		Middleware: func(r *http.Request, next facade.MiddlewareNext) (*http.Response, error) {
			note("attempt " + itoa(facade.AttemptFromContext(r.Context())) + " " + r.Context().Value(mark{}).(string))
			return next(r)
		},
		Retry: func(ctx context.Context, attempt int, reason string, wait time.Duration) {
			op, _ := facade.OperationFromContext(ctx)
			note("retry " + string(op) + " " + itoa(attempt) + " " + reason)
		},
	}))
	_, err := c.GetJob(context.Background(), "job-1")
	require.NoError(t, err)
	_, err = c.ListModelJobs(context.Background(), "model-9", facade.ListModelJobsParams{Size: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"call GetJob GET job=job-1 model=",
		"attempt 1 marked",
		"retry GetJob 2 status 503",
		"attempt 2 marked",
		"end attempts=2 status=200",
		"call ListModelJobs GET job= model=model-9",
		"attempt 1 marked",
		"end attempts=1 status=200",
	}, events)
}
