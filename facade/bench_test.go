package facade_test

// Benchmarks of the facade against the generated client and a hand-written
// net/http + encoding/json client, all on the same loopback server. "make
// bench" runs them (see the Makefile for the -benchtime of each group) and
// prints the ratios with internal/benchratio. The upload and WaitForJob
// benchmarks need the package's internals and sit in bench_internal_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

const benchToken = "bench-token"

// benchStatuses is the status history of the benchmarks' jobs: 8 entries.
var benchStatuses = []gen.JobStatusName{
	gen.JobStatusNamePending, gen.JobStatusNameClaimed, gen.JobStatusNameValidating, gen.JobStatusNameRunning,
	gen.JobStatusNameUploading, gen.JobStatusNameRunning, gen.JobStatusNameUploading, gen.JobStatusNameCompleted,
}

// benchServer is an httptest server that answers GetJob and ListJobs with
// bytes encoded once, so that the benchmarks measure the clients. It counts
// the connections it accepts.
type benchServer struct {
	*httptest.Server
	job, page []byte
	warmJob   []byte // the job "warmup", which the warm-up asks for
	newConns  atomic.Int64
	// Requests for the job "warmup" wait until warmN of them have arrived,
	// so that a warm-up of warmN concurrent calls opens warmN connections.
	warmN    int64
	warmed   atomic.Int64
	released chan struct{}
}

func newBenchServer(tb testing.TB, warmN int) *benchServer {
	tb.Helper()
	s := &benchServer{warmN: int64(warmN), released: make(chan struct{})}
	var err error
	if s.job, err = json.Marshal(sampleJob("job-1", benchStatuses...)); err != nil {
		tb.Fatal(err)
	}
	if s.warmJob, err = json.Marshal(sampleJob("warmup", benchStatuses...)); err != nil {
		tb.Fatal(err)
	}
	s.page = benchPage(tb)
	jobLen, pageLen := strconv.Itoa(len(s.job)), strconv.Itoa(len(s.page))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, n := s.job, jobLen
		switch {
		case r.URL.Path == "/api/v2/jobs":
			body, n = s.page, pageLen
		case r.URL.Path == "/api/v2/jobs/warmup":
			body, n = s.warmJob, strconv.Itoa(len(s.warmJob))
			if s.warmed.Add(1) == s.warmN {
				close(s.released)
			}
			select {
			case <-s.released:
			case <-r.Context().Done():
			}
		case strings.HasPrefix(r.URL.Path, "/api/v2/jobs/"):
		default:
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{n}
		_, _ = w.Write(body)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.newConns.Add(1)
		}
	}
	s.Start()
	tb.Cleanup(s.Close)
	return s
}

// benchPage is the page of BenchmarkListJobs: 100 jobs of 8 statuses.
func benchPage(tb testing.TB) []byte {
	items := make([]gen.Job, 100)
	for i := range items {
		items[i] = sampleJob(fmt.Sprintf("job-%d", i), benchStatuses...)
	}
	page, err := json.Marshal(gen.PageJob{Items: items, Total: 1000, Page: 1, Size: 100, Pages: 10})
	if err != nil {
		tb.Fatal(err)
	}
	return page
}

// BenchmarkDecodePage decodes BenchmarkListJobs's page alone, with no HTTP:
// by the facade, into its types with the shape rules checked, and by
// encoding/json into the generated types, as the generated client does.
func BenchmarkDecodePage(b *testing.B) {
	page := benchPage(b)
	b.Run("decoder=facade", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if p, err := facade.DecodePage(page); err != nil || len(p.Items) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder=encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			var p gen.PageJob
			if err := json.Unmarshal(page, &p); err != nil || len(p.Items) != 100 {
				b.Fatal(err)
			}
		}
	})
}

// benchTransport is the transport every client of a fair comparison uses:
// the facade's default, tuned for many connections per host.
func benchTransport(tb testing.TB) *http.Transport {
	tr := facade.DefaultTransport()
	tb.Cleanup(tr.CloseIdleConnections)
	return tr
}

func newBenchFacade(tb testing.TB, baseURL string, tr http.RoundTripper, opts ...facade.Option) *facade.Client {
	tb.Helper()
	all := []facade.Option{facade.WithToken(benchToken)}
	if tr != nil {
		all = append(all, facade.WithHTTPClient(&http.Client{Transport: tr}))
	}
	c, err := facade.NewClient(baseURL, append(all, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

func newBenchGenerated(tb testing.TB, baseURL string, tr http.RoundTripper) *gen.ClientWithResponses {
	tb.Helper()
	c, err := gen.NewClientWithResponses(baseURL+"/api/v2", gen.WithHTTPClient(&http.Client{Transport: tr}),
		gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+benchToken)
			r.Header.Set("User-Agent", "bench")
			return nil
		}))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// rawClient is the baseline: what a careful programmer writes by hand with
// net/http and encoding/json.
type rawClient struct {
	hc   *http.Client
	base string
}

func (c *rawClient) get(ctx context.Context, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("User-Agent", "bench")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body) // to EOF, so the connection is reused
	return err
}

func (c *rawClient) getJob(ctx context.Context, id string) (*gen.Job, error) {
	var j gen.Job
	if err := c.get(ctx, "/api/v2/jobs/"+url.PathEscape(id), &j); err != nil {
		return nil, err
	}
	return &j, nil
}

func (c *rawClient) listJobs(ctx context.Context, page, size int) (*gen.PageJob, error) {
	var p gen.PageJob
	if err := c.get(ctx, "/api/v2/jobs?page="+strconv.Itoa(page)+"&size="+strconv.Itoa(size), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// BenchmarkGetJob is one GetJob call, with a job of 8 statuses, through each
// client on the same tuned transport.
func BenchmarkGetJob(b *testing.B) {
	ctx := context.Background()
	b.Run("client=facade", func(b *testing.B) {
		srv := newBenchServer(b, 0)
		c := newBenchFacade(b, srv.URL, benchTransport(b))
		for b.Loop() {
			j, err := c.GetJob(ctx, "job-1")
			if err != nil || j.ID != "job-1" {
				b.Fatal(j, err)
			}
		}
	})
	b.Run("client=generated", func(b *testing.B) {
		srv := newBenchServer(b, 0)
		c := newBenchGenerated(b, srv.URL, benchTransport(b))
		for b.Loop() {
			r, err := c.GetJobWithResponse(ctx, "job-1")
			if err != nil || r.JSON200 == nil || r.JSON200.ID != "job-1" {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("client=raw", func(b *testing.B) {
		srv := newBenchServer(b, 0)
		c := &rawClient{hc: &http.Client{Transport: benchTransport(b)}, base: srv.URL}
		for b.Loop() {
			j, err := c.getJob(ctx, "job-1")
			if err != nil || j.ID != "job-1" {
				b.Fatal(j, err)
			}
		}
	})
}

// BenchmarkListJobs is one ListJobs call answered with a page of 100 jobs of
// 8 statuses each (about 190 KB of JSON).
func BenchmarkListJobs(b *testing.B) {
	ctx := context.Background()
	b.Run("client=facade", func(b *testing.B) {
		srv := newBenchServer(b, 0)
		b.SetBytes(int64(len(srv.page)))
		c := newBenchFacade(b, srv.URL, benchTransport(b))
		for b.Loop() {
			p, err := c.ListJobs(ctx, facade.ListJobsParams{Page: 1, Size: 100})
			if err != nil || len(p.Items) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("client=generated", func(b *testing.B) {
		srv := newBenchServer(b, 0)
		b.SetBytes(int64(len(srv.page)))
		c := newBenchGenerated(b, srv.URL, benchTransport(b))
		page, size := 1, 100
		for b.Loop() {
			r, err := c.ListJobsWithResponse(ctx, &gen.ListJobsParams{Page: &page, Size: &size})
			if err != nil || r.JSON200 == nil || len(r.JSON200.Items) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("client=raw", func(b *testing.B) {
		srv := newBenchServer(b, 0)
		b.SetBytes(int64(len(srv.page)))
		c := &rawClient{hc: &http.Client{Transport: benchTransport(b)}, base: srv.URL}
		for b.Loop() {
			p, err := c.listJobs(ctx, 1, 100)
			if err != nil || len(p.Items) != 100 {
				b.Fatal(err)
			}
		}
	})
}

// Concurrency: benchWorkers goroutines share benchRequests GetJob calls per
// benchmark operation.
const (
	benchWorkers  = 64
	benchRequests = 20000
)

// runConcurrent warms the client up with benchWorkers concurrent calls,
// which open benchWorkers connections, and then makes n calls from
// benchWorkers goroutines. It returns the first error.
func runConcurrent(n int, call func(id string) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range benchWorkers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := call("job-1"); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

func warmUp(call func(id string) error) error {
	errs := make(chan error, benchWorkers)
	for range benchWorkers {
		go func() { errs <- call("warmup") }()
	}
	var err error
	for range benchWorkers {
		err = errors.Join(err, <-errs)
	}
	return err
}

func benchConcurrent(b *testing.B, srv *benchServer, call func(id string) error) {
	b.Helper()
	if err := warmUp(call); err != nil {
		b.Fatal(err)
	}
	warm := srv.newConns.Load()
	srv.newConns.Store(0)
	for b.Loop() {
		if err := runConcurrent(benchRequests, call); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRequests)*float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(srv.newConns.Load())/float64(b.N), "new-conns/op")
	b.ReportMetric(float64(warm), "warmup-conns")
}

// BenchmarkGetJobConcurrent makes 20,000 GetJob calls per operation from 64
// goroutines: through the facade on its default transport, through the
// facade on http.DefaultTransport's settings (2 idle connections per host),
// and through the hand-written client on the tuned transport.
func BenchmarkGetJobConcurrent(b *testing.B) {
	ctx := context.Background()
	b.Run("client=facade", func(b *testing.B) {
		srv := newBenchServer(b, benchWorkers)
		c := newBenchFacade(b, srv.URL, nil) // facade.DefaultTransport
		benchConcurrent(b, srv, func(id string) error { _, err := c.GetJob(ctx, id); return err })
	})
	b.Run("client=facade-stdtransport", func(b *testing.B) {
		srv := newBenchServer(b, benchWorkers)
		tr := http.DefaultTransport.(*http.Transport).Clone() // MaxIdleConnsPerHost 2
		b.Cleanup(tr.CloseIdleConnections)
		c := newBenchFacade(b, srv.URL, tr)
		benchConcurrent(b, srv, func(id string) error { _, err := c.GetJob(ctx, id); return err })
	})
	b.Run("client=raw", func(b *testing.B) {
		srv := newBenchServer(b, benchWorkers)
		c := &rawClient{hc: &http.Client{Transport: benchTransport(b)}, base: srv.URL}
		benchConcurrent(b, srv, func(id string) error { _, err := c.getJob(ctx, id); return err })
	})
}

// listServer serves total jobs, named job-0 to job-<total-1>, in pages of
// size, each encoded once, after a delay of latency(page) per page.
type listServer struct {
	*httptest.Server
	pages     [][]byte
	size      int
	requests  atomic.Int64
	cancelled atomic.Int64
}

func newListServer(tb testing.TB, total, size int, latency func(page int) time.Duration) *listServer {
	tb.Helper()
	s := &listServer{size: size}
	npages := (total + size - 1) / size
	for p := 1; p <= npages; p++ {
		items := make([]gen.Job, 0, size)
		for i := (p - 1) * size; i < min(p*size, total); i++ {
			items = append(items, sampleJob("job-"+strconv.Itoa(i), gen.JobStatusNamePending))
		}
		body, err := json.Marshal(gen.PageJob{Items: items, Total: total, Page: p, Size: size, Pages: npages})
		if err != nil {
			tb.Fatal(err)
		}
		s.pages = append(s.pages, body)
	}
	empty, _ := json.Marshal(gen.PageJob{Items: []gen.Job{}, Total: total, Size: size, Pages: npages})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if size, _ := strconv.Atoi(r.URL.Query().Get("size")); size != s.size {
			http.Error(w, "unexpected size", http.StatusBadRequest)
			return
		}
		if d := latency(page); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				s.cancelled.Add(1)
				return
			}
		}
		body := empty
		if page >= 1 && page <= len(s.pages) {
			body = s.pages[page-1]
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	tb.Cleanup(s.Close)
	return s
}

// Long lists: AllJobs over listJobs jobs in pages of 100, with listLatency
// per page.
const (
	listJobs    = 10000
	listLatency = 5 * time.Millisecond
)

// BenchmarkAllJobs10k iterates over 10,000 jobs (100 pages) from a server
// that takes 5 ms per page, with a consumer that does nothing, at several
// prefetch depths: 0 is strictly sequential paging.
func BenchmarkAllJobs10k(b *testing.B) {
	ids := make([]string, listJobs)
	for i := range ids {
		ids[i] = "job-" + strconv.Itoa(i)
	}
	for _, tc := range []struct {
		name string
		opts []facade.Option
	}{
		{"prefetch=0", []facade.Option{facade.WithPrefetch(facade.NoPrefetch)}},
		{"prefetch=1", []facade.Option{facade.WithPrefetch(1)}},
		{"prefetch=default", nil},
		{"prefetch=4", []facade.Option{facade.WithPrefetch(4)}},
		{"prefetch=8", []facade.Option{facade.WithPrefetch(8)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newListServer(b, listJobs, 100, func(int) time.Duration { return listLatency })
			c := newBenchFacade(b, srv.URL, benchTransport(b), tc.opts...)
			srv.requests.Store(0)
			for b.Loop() {
				n := 0
				for job, err := range c.AllJobs(context.Background(), facade.ListJobsParams{}) {
					if err != nil {
						b.Fatal(err)
					}
					if n >= len(ids) || job.ID != ids[n] {
						b.Fatalf("item %d is %s: out of order", n, job.ID)
					}
					n++
				}
				if n != listJobs {
					b.Fatalf("%d items, want %d", n, listJobs)
				}
			}
			b.ReportMetric(float64(srv.requests.Load())/float64(b.N), "pages/op")
		})
	}
}
