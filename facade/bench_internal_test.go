package facade

// Benchmarks and tests that need the package's internals: WaitForJob on a
// fake clock. The upload benchmarks are in upload_bench_test.go, and those
// of the public surface in bench_test.go.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchJobJSON is a job with one status, as the upload and wait servers send.
func benchJobJSON(status string) []byte {
	return []byte(`{"id":"job-1","created":"2026-11-30T12:00:00Z","created_by_id":"user-1","comments":[],` +
		`"archive_status_history":[{"id":"a0","created":"2026-11-30T12:00:00Z","name":"Active"}],` +
		`"file":{"id":"f","created":"2026-11-30T12:00:00Z","archive_status_history":[],"revisions":[]},` +
		`"function":{"name":"@istari:extract"},` +
		`"status_history":[{"id":"s0","job_id":"job-1","created":"2026-11-30T12:00:00Z","name":"` + status + `"}]}`)
}

// fakeSleep replaces transport.sleep: it records each wait and returns at
// once, so that a WaitForJob of minutes runs in microseconds.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeSleep) take() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.waits
	f.waits = nil
	return w
}

// pollServer answers GetJob with Running until the doneAfter-th poll since
// the last reset, which answers Completed.
type pollServer struct {
	*httptest.Server
	polls atomic.Int64
}

func newPollServer(tb testing.TB, doneAfter int64) *pollServer {
	tb.Helper()
	s := &pollServer{}
	running, completed := benchJobJSON("Running"), benchJobJSON("Completed")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := running
		if s.polls.Add(1) >= doneAfter {
			body = completed
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func newFakeClockClient(tb testing.TB, url string) (*Client, *fakeSleep) {
	tb.Helper()
	tr := DefaultTransport()
	tb.Cleanup(tr.CloseIdleConnections)
	c, err := NewClient(url, WithToken("bench-token"), WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		tb.Fatal(err)
	}
	fs := &fakeSleep{}
	c.tr.sleep = fs.sleep
	return c, fs
}

// waitPolls is how many polls the waited-for job takes to complete.
const waitPolls = 10

// BenchmarkWaitForJob waits, with the default WaitOptions, for a job that
// completes on the 10th poll, on a fake clock: polls/op counts the
// requests, wakeups/op the waits between them, and waited-s/op the time the
// waits would have taken on a real clock.
func BenchmarkWaitForJob(b *testing.B) {
	srv := newPollServer(b, waitPolls)
	c, fs := newFakeClockClient(b, srv.URL)
	var wakeups int
	var waited time.Duration
	srv.polls.Store(0)
	total := int64(0)
	for b.Loop() {
		srv.polls.Store(0)
		job, err := c.WaitForJob(context.Background(), "job-1", WaitOptions{})
		if err != nil || job.Status() != JobStatusCompleted {
			b.Fatal(job, err)
		}
		total += srv.polls.Load()
		for _, d := range fs.take() {
			wakeups++
			waited += d
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "polls/op")
	b.ReportMetric(float64(wakeups)/float64(b.N), "wakeups/op")
	b.ReportMetric(waited.Seconds()/float64(b.N), "waited-s/op")
}

// TestWaitForJobBackoffSchedule checks, on a fake clock, WaitForJob's
// schedule with the default WaitOptions (1 s doubling up to 30 s): one
// request per poll, one wake-up between two polls, and wait n drawn from
// [d/2, d] where d = min(1s·2ⁿ, 30s). Run with -v to see the schedule.
func TestWaitForJobBackoffSchedule(t *testing.T) {
	const polls = 12
	srv := newPollServer(t, polls)
	c, fs := newFakeClockClient(t, srv.URL)
	for run := range 3 { // three draws of the jitter
		srv.polls.Store(0)
		job, err := c.WaitForJob(context.Background(), "job-1", WaitOptions{})
		if err != nil || job.Status() != JobStatusCompleted {
			t.Fatal(job, err)
		}
		if got := srv.polls.Load(); got != polls {
			t.Fatalf("%d polls, want %d", got, polls)
		}
		waits := fs.take()
		if len(waits) != polls-1 {
			t.Fatalf("%d wake-ups, want %d", len(waits), polls-1)
		}
		var total time.Duration
		var sched []string
		for i, w := range waits {
			d := min(time.Second<<i, 30*time.Second)
			if w < d/2 || w > d {
				t.Errorf("wait %d is %s, want within [%s, %s]", i+1, w, d/2, d)
			}
			total += w
			sched = append(sched, fmt.Sprintf("%s (of %s)", w.Round(time.Millisecond), d))
		}
		t.Logf("run %d: %d polls, %d wake-ups, %s waited: %s", run+1, polls, len(waits), total.Round(time.Millisecond), strings.Join(sched, ", "))
	}
}
