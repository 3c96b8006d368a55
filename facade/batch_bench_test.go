package facade_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// The sizes of the "Many jobs" benchmarks (issue 13).
const (
	sweepJobs      = 1000
	sweepSpread    = 2 * time.Second // the jobs finish over this long
	waitLatency    = 2 * time.Millisecond
	addLatency     = 5 * time.Millisecond
	sweepRate      = 200 // requests a second, for WithRateLimit
	sweepBurst     = 20
	sweepDrivers   = 16 // goroutines that report the jobs' statuses
	sweepMinPoll   = 50 * time.Millisecond
	sweepMaxPoll   = 200 * time.Millisecond
	sweepCountUnit = "req/op"
)

// newSweepPlatform starts a platform holding n Pending jobs of one model,
// created without latency, then sets latency; it returns the platform and
// the ids in creation order.
func newSweepPlatform(b *testing.B, n int, latency time.Duration) (*istaritest.Server, []string) {
	b.Helper()
	srv := istaritest.NewServer()
	b.Cleanup(srv.Close)
	c := newBenchFacade(b, srv.URL, benchTransport(b), facade.WithToken(srv.Token))
	ids := make([]string, n)
	for i, r := range c.AddJobs(context.Background(), sweep(n), facade.BatchOptions{Concurrency: 16}) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		ids[i] = r.Job.ID
	}
	srv.SetLatency(latency)
	return srv, ids
}

// finishOverTime completes the jobs, in random order, evenly over spread,
// through its own client and sweepDrivers goroutines. It returns when all
// are reported.
func finishOverTime(b *testing.B, srv *istaritest.Server, ids []string, spread time.Duration) {
	c := newBenchFacade(b, srv.URL, benchTransport(b), facade.WithToken(srv.Token))
	order := rand.Perm(len(ids))
	next := make(chan string)
	var wg sync.WaitGroup
	for range sweepDrivers {
		wg.Go(func() {
			for id := range next {
				if _, err := c.UpdateJobStatus(context.Background(), id, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	start := time.Now()
	for k, i := range order {
		time.Sleep(time.Until(start.Add(spread * time.Duration(k+1) / time.Duration(len(ids)))))
		next <- ids[i]
	}
	close(next)
	wg.Wait()
}

// pollRequests counts the requests a wait makes.
func pollRequests(srv *istaritest.Server) int {
	n := srv.Requests().ByOperation
	return n[istaritest.OpGetJob] + n[istaritest.OpListModelJobs]
}

// BenchmarkWaitForJobs1000 waits for 1,000 jobs of one model that finish,
// in random order, evenly over 2 s, on istaritest with 2 ms latency:
// WaitForJobs (wait=bulk) against 1,000 concurrent WaitForJob loops
// (wait=each), with the same WaitOptions. req/op counts the waiting
// requests; sec/op is the wall time from the start until every job is seen
// finished.
func BenchmarkWaitForJobs1000(b *testing.B) {
	opts := facade.WaitOptions{MinInterval: sweepMinPoll, MaxInterval: sweepMaxPoll}
	for _, tc := range []struct {
		name string
		wait func(ctx context.Context, c *facade.Client, ids []string) error
	}{
		{"wait=bulk", func(ctx context.Context, c *facade.Client, ids []string) error {
			_, err := c.WaitForJobs(ctx, ids, opts)
			return err
		}},
		{"wait=each", func(ctx context.Context, c *facade.Client, ids []string) error {
			var wg sync.WaitGroup
			errs := make(chan error, len(ids))
			for _, id := range ids {
				wg.Go(func() {
					if _, err := c.WaitForJob(ctx, id, opts); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			return <-errs
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var requests int
			for b.Loop() {
				b.StopTimer()
				srv, ids := newSweepPlatform(b, sweepJobs, waitLatency)
				c := newBenchFacade(b, srv.URL, benchTransport(b), facade.WithToken(srv.Token))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				before := pollRequests(srv)
				b.StartTimer()

				done := make(chan struct{})
				go func() {
					defer close(done)
					finishOverTime(b, srv, ids, sweepSpread)
				}()
				err := tc.wait(ctx, c, ids)

				b.StopTimer()
				<-done
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				requests += pollRequests(srv) - before
				srv.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(requests)/float64(b.N), sweepCountUnit)
		})
	}
}

// statusLog is a RoundTripper that records the time and status of every
// answer, to count 429s before and after the batch adapted.
type statusLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []statusAt
}

type statusAt struct {
	at     time.Time
	status int
}

func (s *statusLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		s.log = append(s.log, statusAt{time.Now(), resp.StatusCode})
		s.mu.Unlock()
	}
	return resp, err
}

// throttling returns the share of 429 answers in percent, over all answers
// and over those after the first Retry-After window (1 s after the first
// 429), when the batch has adapted.
func (s *statusLog) throttling() (all, adapted float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	var n, n429, m, m429 int
	for _, e := range s.log {
		n++
		if e.status == http.StatusTooManyRequests {
			n429++
			if first.IsZero() {
				first = e.at
			}
		}
		if !first.IsZero() && e.at.After(first.Add(time.Second)) {
			m++
			if e.status == http.StatusTooManyRequests {
				m429++
			}
		}
	}
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	return pct(n429, n), pct(m429, m)
}

// BenchmarkAddJobs1000 adds 1,000 jobs on istaritest with 5 ms latency:
// AddJobs at the default concurrency (submit=batch) against a loop of
// AddJob (submit=sequential), and AddJobs under WithRateLimit(200, 20)
// (submit=batch-ratelimited). Every job must be created exactly once;
// jobs/s is the throughput, 429-pct the share of 429 answers, and
// 429-pct-adapted that share after the first Retry-After window.
func BenchmarkAddJobs1000(b *testing.B) {
	for _, tc := range []struct {
		name    string
		limited bool
		add     func(ctx context.Context, c *facade.Client, ps []facade.AddJobParams) []facade.JobResult
	}{
		{"submit=sequential", false, func(ctx context.Context, c *facade.Client, ps []facade.AddJobParams) []facade.JobResult {
			res := make([]facade.JobResult, len(ps))
			for i, p := range ps {
				res[i].Job, res[i].Err = c.AddJob(ctx, p)
			}
			return res
		}},
		{"submit=batch", false, func(ctx context.Context, c *facade.Client, ps []facade.AddJobParams) []facade.JobResult {
			return c.AddJobs(ctx, ps, facade.BatchOptions{})
		}},
		{"submit=batch-ratelimited", true, func(ctx context.Context, c *facade.Client, ps []facade.AddJobParams) []facade.JobResult {
			return c.AddJobs(ctx, ps, facade.BatchOptions{})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var all, adapted float64
			params := sweep(sweepJobs)
			for b.Loop() {
				b.StopTimer()
				opts := []istaritest.ServerOption{istaritest.WithLatency(addLatency)}
				if tc.limited {
					opts = append(opts, istaritest.WithRateLimit(sweepRate, sweepBurst))
				}
				srv := istaritest.NewServer(opts...)
				log := &statusLog{next: benchTransport(b)}
				c := newBenchFacade(b, srv.URL, log, facade.WithToken(srv.Token))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				b.StartTimer()

				res := tc.add(ctx, c, params)

				b.StopTimer()
				cancel()
				for i, r := range res {
					if r.Err != nil {
						b.Fatalf("job %d: %v", i, r.Err)
					}
				}
				if n := len(srv.Jobs()); n != sweepJobs {
					b.Fatalf("the platform holds %d jobs, want %d: each exactly once", n, sweepJobs)
				}
				a, d := log.throttling()
				all += a
				adapted += d
				srv.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(sweepJobs)*float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			if tc.limited {
				b.ReportMetric(all/float64(b.N), "429-pct")
				b.ReportMetric(adapted/float64(b.N), "429-pct-adapted")
			}
		})
	}
}
