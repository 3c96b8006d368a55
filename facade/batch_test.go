package facade_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// sweep returns n add requests whose function names tell them apart.
func sweep(n int) []facade.AddJobParams {
	ps := make([]facade.AddJobParams, n)
	for i := range ps {
		ps[i] = facade.AddJobParams{ModelID: "model-1", Function: sweepFunction(i), Parameters: map[string]any{"i": i}}
	}
	return ps
}

func sweepFunction(i int) string { return fmt.Sprintf("@sweep:job-%03d", i) }

// checkCreatedOnce fails unless the platform holds exactly one job for each
// successful result, and the result's job is that one.
func checkCreatedOnce(t *testing.T, srv *istaritest.Server, res []facade.JobResult) {
	t.Helper()
	byFunction := map[string][]string{}
	for _, j := range srv.Jobs() {
		byFunction[j.Function.Name] = append(byFunction[j.Function.Name], j.ID)
	}
	for i, r := range res {
		if r.Err != nil {
			continue
		}
		got := byFunction[sweepFunction(i)]
		if assert.Len(t, got, 1, "input %d is created exactly once", i) {
			assert.Equal(t, got[0], r.Job.ID, "result %d is the job of input %d", i, i)
		}
	}
}

func newSweepClient(t *testing.T, url, token string, opts ...facade.Option) *facade.Client {
	t.Helper()
	c, err := facade.NewClient(url, append([]facade.Option{facade.WithToken(token)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestAddJobsInputOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := istaritest.NewServer(istaritest.WithLatency(time.Millisecond))
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)

	params := sweep(40)
	params[7].Function = ""             // refused before sending
	params[23].ModelID = ".."           // refused before sending
	params[31].OperatingSystem = "BeOS" // refused before sending

	var (
		calls     int // not atomic: the race detector checks that calls never overlap
		reported  = make([]int, len(params))
		onResults []facade.JobResult
	)
	res := c.AddJobs(ctx, params, facade.BatchOptions{Concurrency: 5, OnResult: func(i int, r facade.JobResult) {
		calls++
		reported[i]++
		onResults = append(onResults, r)
	}})

	require.Len(t, res, len(params), "one result per input")
	assert.Equal(t, len(params), calls)
	for i, n := range reported {
		assert.Equal(t, 1, n, "OnResult reports input %d once", i)
	}
	for i, r := range res {
		switch i {
		case 7, 23, 31:
			assert.Nil(t, r.Job, "input %d", i)
			assert.ErrorIs(t, r.Err, facade.ErrInvalidInput, "input %d", i)
		default:
			require.NoError(t, r.Err, "input %d", i)
			assert.Equal(t, sweepFunction(i), r.Job.Function.Name, "result %d belongs to input %d", i, i)
		}
	}
	assert.Equal(t, len(params)-3, len(srv.Jobs()))
	assert.Equal(t, len(params)-3, srv.Requests().ByOperation[istaritest.OpAddJob], "nothing is sent twice")
	checkCreatedOnce(t, srv, res)
	assert.Len(t, onResults, len(params))

	assert.Empty(t, c.AddJobs(ctx, nil, facade.BatchOptions{}), "no input, no result")
}

// inFlightServer answers every addJob and records the most requests it
// held at once. The first wave of requests (the first want) is held until
// want are in flight, or for at most a second, so that a loaded machine
// cannot hide a worker.
func inFlightServer(t *testing.T, want int32) (*httptest.Server, *atomic.Int32) {
	var cur, peak, arrived atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if arrived.Add(1) <= want {
			for deadline := time.Now().Add(time.Second); cur.Load() < want && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		writeJSON(w, http.StatusCreated, sampleJob("job-1"))
	}))
	t.Cleanup(srv.Close)
	return srv, &peak
}

func TestAddJobsConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		inputs      int
		want        int32
	}{
		{"default", 0, 24, facade.DefaultBatchConcurrency},
		{"three", 3, 12, 3},
		{"one", 1, 4, 1},
		{"fewer inputs than workers", 8, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv, peak := inFlightServer(t, tc.want)
			c := newSweepClient(t, srv.URL, "tok")
			res := c.AddJobs(ctx, sweep(tc.inputs), facade.BatchOptions{Concurrency: tc.concurrency})
			for i, r := range res {
				require.NoError(t, r.Err, "input %d", i)
			}
			assert.Equal(t, tc.want, peak.Load(), "requests in flight at once")
		})
	}
}

func TestAddJobsUnderRateLimitCreatesEachOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A burst as large as the concurrency: after each Retry-After the
	// bucket holds enough for every request in flight.
	srv := istaritest.NewServer(istaritest.WithRateLimit(50, 5))
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)

	res := c.AddJobs(ctx, sweep(16), facade.BatchOptions{Concurrency: 5})
	for i, r := range res {
		require.NoError(t, r.Err, "input %d", i)
	}
	assert.Positive(t, srv.RateLimited(), "the limit was reached")
	assert.Equal(t, 16, len(srv.Jobs()), "every job, once")
	checkCreatedOnce(t, srv, res)
	assert.Equal(t, 16+srv.RateLimited(), srv.Requests().ByOperation[istaritest.OpAddJob],
		"each input was sent once, plus once more for each 429")
}

// arrival is one request as a timingServer saw it.
type arrival struct {
	at     time.Time // when it arrived
	done   time.Time // when its answer was written
	status int
}

// timingServer serves h and records when each request arrived and when its
// answer left.
type timingServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []arrival
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func newTimingServer(t *testing.T, h http.Handler) *timingServer {
	ts := &timingServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := arrival{at: time.Now()}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		a.done, a.status = time.Now(), sw.status
		ts.mu.Lock()
		ts.seen = append(ts.seen, a)
		ts.mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *timingServer) arrivals() []arrival {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.seen)
}

// refusal returns the one answer with status, and how many requests arrived
// between from and to after it left.
func (ts *timingServer) refusal(t *testing.T, status int, from, to time.Duration) (arrival, int) {
	t.Helper()
	var refused []arrival
	all := ts.arrivals()
	for _, a := range all {
		if a.status == status {
			refused = append(refused, a)
		}
	}
	require.Len(t, refused, 1, "one answer %d", status)
	r := refused[0]
	n := 0
	for _, a := range all {
		if a.at.After(r.done.Add(from)) && a.at.Before(r.done.Add(to)) {
			n++
		}
	}
	return r, n
}

func TestGateHoldsEveryRequestOfTheClient(t *testing.T) {
	t.Run("AddJobs workers wait out another worker's 429", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p := istaritest.NewServer(istaritest.WithLatency(2 * time.Millisecond))
		defer p.Close()
		ts := newTimingServer(t, p.Handler())
		c := newSweepClient(t, ts.URL, p.Token)

		// Once three jobs are created, the next creation is refused with
		// Retry-After: 1s.
		var created atomic.Int32
		res := c.AddJobs(ctx, sweep(30), facade.BatchOptions{Concurrency: 4, OnResult: func(int, facade.JobResult) {
			if created.Add(1) == 3 {
				p.FailOperation(istaritest.OpAddJob, 1, http.StatusTooManyRequests, time.Second)
			}
		}})
		for i, r := range res {
			require.NoError(t, r.Err, "input %d", i)
		}
		checkCreatedOnce(t, p, res)
		// Requests already on their way when the 429 left may still
		// arrive; none may be sent once the client has read it.
		_, during := ts.refusal(t, http.StatusTooManyRequests, 200*time.Millisecond, 900*time.Millisecond)
		assert.Zero(t, during, "requests that arrived during the Retry-After window")
	})

	t.Run("a 503 with Retry-After holds the client's other calls", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p := istaritest.NewServer()
		defer p.Close()
		ts := newTimingServer(t, p.Handler())
		c := newSweepClient(t, ts.URL, p.Token, facade.WithRetry(facade.NoRetry()))

		p.FailOperation(istaritest.OpGetJob, 1, http.StatusServiceUnavailable, time.Second)
		_, err := c.GetJob(ctx, "job-1")
		require.ErrorIs(t, err, facade.ErrServer, "no retry: the 503 is the answer")
		start := time.Now()
		_, err = c.ListJobs(ctx, facade.ListJobsParams{})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 800*time.Millisecond, "the next call waited out the Retry-After")
		refused, during := ts.refusal(t, http.StatusServiceUnavailable, 0, 900*time.Millisecond)
		assert.Zero(t, during)
		all := ts.arrivals()
		assert.GreaterOrEqual(t, all[len(all)-1].at.Sub(refused.done), 900*time.Millisecond)
	})

	t.Run("a wait on the gate ends with ctx, or at once past its deadline", func(t *testing.T) {
		p := istaritest.NewServer()
		defer p.Close()
		c := newSweepClient(t, p.URL, p.Token, facade.WithRetry(facade.NoRetry()))
		p.FailNext(1, http.StatusTooManyRequests, time.Hour)
		_, err := c.GetJob(context.Background(), "job-1")
		require.ErrorIs(t, err, facade.ErrRateLimited)

		// The hold (an hour) outlasts ctx's deadline, so the call ends at
		// once, well before the deadline: a call that waited for it would
		// take 3 s. (A shorter deadline made the margin a matter of the
		// machine's load.)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err = c.GetJob(ctx, "job-1")
		assert.ErrorIs(t, err, facade.ErrRateLimited)
		assert.Less(t, time.Since(start), time.Second, "ends before the deadline")
		assert.NoError(t, ctx.Err())

		// A ctx cancelled while the call waits on the gate ends it too.
		cctx, ccancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, ccancel)
		_, err = c.GetJob(cctx, "job-1")
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, facade.ErrRateLimited)
		assert.Equal(t, 1, p.Requests().Total, "nothing sent while the gate is closed")

		other := newSweepClient(t, p.URL, p.Token)
		_, err = other.ListJobs(context.Background(), facade.ListJobsParams{})
		assert.NoError(t, err, "the gate belongs to one client")
	})
}

func TestAddJobsCancelReturnsPartialResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	deadline, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	srv := istaritest.NewServer(istaritest.WithLatency(20 * time.Millisecond))
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)

	const n, workers = 60, 3
	var calls int
	done := make(chan []facade.JobResult)
	go func() {
		done <- c.AddJobs(ctx, sweep(n), facade.BatchOptions{Concurrency: workers, OnResult: func(i int, r facade.JobResult) {
			calls++
			if calls == 6 {
				cancel()
			}
		}})
	}()
	var res []facade.JobResult
	select {
	case res = <-done:
	case <-deadline.Done():
		t.Fatal("AddJobs did not return after its context was cancelled")
	}

	require.Len(t, res, n)
	assert.Equal(t, n, calls, "OnResult reports the inputs not started too")
	var ok, notStarted, inFlight int
	for i, r := range res {
		switch {
		case r.Err == nil:
			ok++
			assert.Equal(t, sweepFunction(i), r.Job.Function.Name)
		case errors.Is(r.Err, context.Canceled) && r.Err == context.Canceled:
			notStarted++
			assert.Nil(t, r.Job)
		default:
			inFlight++
			assert.ErrorIs(t, r.Err, context.Canceled, "input %d", i)
		}
	}
	assert.GreaterOrEqual(t, ok, 6)
	assert.LessOrEqual(t, inFlight, workers)
	assert.Positive(t, notStarted)
	assert.Equal(t, n, ok+notStarted+inFlight)
	// The platform holds every reported job; an interrupted request may
	// or may not have created one.
	jobs := len(srv.Jobs())
	assert.GreaterOrEqual(t, jobs, ok)
	assert.LessOrEqual(t, jobs, ok+inFlight)
	checkCreatedOnce(t, srv, res)

	// A context already ended starts nothing.
	res = c.AddJobs(ctx, sweep(4), facade.BatchOptions{})
	for _, r := range res {
		assert.Equal(t, context.Canceled, r.Err)
	}
}

// TestAddJobsConcurrencyNeverPastMax: against the in-memory platform,
// through bursts of 429s that halve a batch's concurrency and the runs of
// successes that grow it back, the requests in flight never pass
// BatchOptions.Concurrency, as counted by a front in front of the
// platform. (TestAddJobsConcurrency holds a hand-written server's requests
// until the first wave is in flight; this one counts across the
// adaptation.)
func TestAddJobsConcurrencyNeverPastMax(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	p := istaritest.New(istaritest.WithLatency(2 * time.Millisecond))
	h := p.Handler()
	var cur, peak atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n := cur.Add(1)
			defer cur.Add(-1)
			for pk := peak.Load(); n > pk && !peak.CompareAndSwap(pk, n); pk = peak.Load() {
			}
		}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c := newSweepClient(t, ts.URL, istaritest.DefaultToken,
		facade.WithRetry(facade.RetryPolicy{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}))

	const maxInFlight, n = 4, 120
	// 429s without Retry-After: each halves the concurrency, and nothing
	// holds the gate; a second burst comes once the batch has grown back.
	p.FailOperation(istaritest.OpAddJob, 3, http.StatusTooManyRequests, 0)
	var done atomic.Int32
	res := c.AddJobs(ctx, sweep(n), facade.BatchOptions{Concurrency: maxInFlight, OnResult: func(int, facade.JobResult) {
		if done.Add(1) == n/2 {
			p.FailOperation(istaritest.OpAddJob, 3, http.StatusTooManyRequests, 0)
		}
	}})
	for i, r := range res {
		require.NoError(t, r.Err, "input %d", i)
	}
	assert.LessOrEqual(t, peak.Load(), int32(maxInFlight), "requests in flight at once")
	assert.Equal(t, n+6, p.Requests().ByOperation[istaritest.OpAddJob], "each 429 was retried once, and nothing else")
}
