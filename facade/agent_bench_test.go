package facade_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// The size of BenchmarkAgents (issue 19).
const (
	agentBenchJobs        = 1000
	agentBenchAgents      = 4
	agentBenchConcurrency = 8
	agentBenchLatency     = 2 * time.Millisecond
)

// BenchmarkAgents: 4 agents of concurrency 8 drain 1,000 Pending jobs of a
// platform answering after 2 ms. It reports the jobs drained a second, the
// platform requests per job (lists, claims, reports and cancellation polls,
// lost races included), and the races lost per job.
func BenchmarkAgents(b *testing.B) {
	for range b.N {
		b.StopTimer()
		p := istaritest.New()
		var requests, lost, ended atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			rw := &statusRecorder{ResponseWriter: w}
			p.Handler().ServeHTTP(rw, r)
			switch q := r.URL.Query().Get("status_name"); {
			case q == "Claimed" && rw.status == http.StatusConflict:
				lost.Add(1)
			case q == "Completed" && rw.status == http.StatusOK:
				ended.Add(1)
			}
		}))
		c := newBenchFacade(b, srv.URL, benchTransport(b), facade.WithToken(istaritest.DefaultToken))
		for _, r := range c.AddJobs(context.Background(), sweep(agentBenchJobs), facade.BatchOptions{Concurrency: 16}) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		p.SetLatency(agentBenchLatency)
		requests.Store(0)
		var done atomic.Int64
		h := func(context.Context, *facade.JobRun) error { done.Add(1); return nil }
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		for i := range agentBenchAgents {
			wg.Go(func() {
				o := facade.AgentOptions{AgentID: "agent-" + itoa(i), Concurrency: agentBenchConcurrency,
					MinInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond}
				if err := c.RunAgent(ctx, o, h); err != nil {
					b.Error(err)
				}
			})
		}
		for ended.Load() < agentBenchJobs {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		n := requests.Load()
		cancel()
		wg.Wait()
		srv.Close()
		if got := done.Load(); got != agentBenchJobs {
			b.Fatalf("%d handlers ran for %d jobs", got, agentBenchJobs)
		}
		b.ReportMetric(float64(agentBenchJobs)/elapsed.Seconds(), "jobs/s")
		b.ReportMetric(float64(n)/agentBenchJobs, "req/job")
		b.ReportMetric(float64(lost.Load())/agentBenchJobs, "lost/job")
	}
}

// statusRecorder remembers the status an answer was written with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
