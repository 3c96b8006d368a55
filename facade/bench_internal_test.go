package facade

// Benchmarks and tests that need the package's internals: uploads with and
// without the JSON check, and WaitForJob on a fake clock. The benchmarks of
// the public surface are in bench_test.go.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/jsonvalid"
)

// uploadSize is the size of the parameters file of the upload benchmarks.
const uploadSize = 256 << 20

// writeParametersFile writes a well-formed JSON file of size bytes: an
// array of records with nested objects, arrays, strings, numbers, booleans
// and nulls, so that the JSON check does representative work.
func writeParametersFile(tb testing.TB, size int) string {
	tb.Helper()
	var chunk strings.Builder
	for i := 0; chunk.Len() < 64<<10; i++ {
		fmt.Fprintf(&chunk, `{"id":%d,"name":"part-%06d","description":"mesh \"refined\" near the wing root, café",`+
			`"active":%t,"owner":null,"score":%g,"params":{"tolerance":1e-6,"max_iter":%d,`+
			`"matrix":[[1.5,-2.25,3e-9],[0.125,%d,-7]],"units":"mm","tags":["thermal","stress"]}},`+"\n",
			i, i, i%2 == 0, float64(i)*0.37, i*13, i)
	}
	path := filepath.Join(tb.TempDir(), "parameters.json")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	const head, tail = "[\n", `{"id":-1,"last":true}` + "\n]\n"
	_, _ = w.WriteString(head)
	n := len(head) + len(tail)
	for ; n+chunk.Len() <= size; n += chunk.Len() {
		_, _ = w.WriteString(chunk.String())
	}
	_, _ = w.WriteString(strings.Repeat(" ", max(size-n, 0))) // exactly size bytes
	_, _ = w.WriteString(tail)
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// benchJobJSON is a job with one status, as the upload and wait servers send.
func benchJobJSON(status string) []byte {
	return []byte(`{"id":"job-1","created":"2026-11-30T12:00:00Z","created_by_id":"user-1","comments":[],` +
		`"archive_status_history":[{"id":"a0","created":"2026-11-30T12:00:00Z","name":"Active"}],` +
		`"file":{"id":"f","created":"2026-11-30T12:00:00Z","archive_status_history":[],"revisions":[]},` +
		`"function":{"name":"@istari:extract"},` +
		`"status_history":[{"id":"s0","job_id":"job-1","created":"2026-11-30T12:00:00Z","name":"` + status + `"}]}`)
}

// sinkServer reads every request body to its end, in large reads and
// without keeping it, and answers with a job.
type sinkServer struct {
	*httptest.Server
	received atomic.Int64
}

func newSinkServer(tb testing.TB) *sinkServer {
	tb.Helper()
	s := &sinkServer{}
	job := benchJobJSON("Pending")
	bufs := sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bufs.Get().(*[]byte)
		// The wrappers hide ReadFrom and WriteTo, so that the copy uses buf.
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{r.Body}, *buf)
		bufs.Put(buf)
		s.received.Add(n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(job)
	}))
	tb.Cleanup(s.Close)
	return s
}

// heapPeak samples the bytes of live and not yet collected heap objects
// while it runs, without stopping the world.
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	base uint64
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func readHeap() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{}), base: readHeap()}
	h.peak = h.base
	go func() {
		defer close(h.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			h.peak = max(h.peak, readHeap())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// growthMiB stops the sampling and returns the peak growth over the heap at
// the start, in MiB.
func (h *heapPeak) growthMiB() float64 {
	close(h.stop)
	<-h.done
	h.peak = max(h.peak, readHeap())
	return float64(h.peak-h.base) / (1 << 20)
}

// BenchmarkUpload256MiB sends a 256 MiB parameters file to a server that
// discards it: with AddJob (the JSON check, then the streamed multipart
// body); with the same body but no JSON check; by hand as the same
// streamed multipart body and as a plain PUT of the file (which net/http
// can send with sendfile); and the JSON check alone. heap-MiB is the peak
// growth of the heap during the uploads, the server's share included.
func BenchmarkUpload256MiB(b *testing.B) {
	ctx := context.Background()
	params := func(path string) AddJobParams {
		return AddJobParams{ModelID: "model-1", Function: "@istari:extract", ParametersFile: path, Description: "bench"}
	}
	newFacade := func(b *testing.B, srv *sinkServer) *Client {
		c, err := NewClient(srv.URL, WithToken("bench-token"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.CloseIdleConnections)
		return c
	}
	rawClient := func(b *testing.B) *http.Client {
		tr := DefaultTransport()
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	// measure runs op once per iteration and reports throughput and heap.
	measure := func(b *testing.B, path string, srv *sinkServer, op func() error) {
		b.SetBytes(uploadSize)
		if srv != nil {
			srv.received.Store(0)
		}
		h := startHeapPeak()
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(h.growthMiB(), "heap-MiB")
		if srv != nil && srv.received.Load() < int64(b.N)*uploadSize {
			b.Fatalf("the server received %d bytes, want at least %d", srv.received.Load(), int64(b.N)*uploadSize)
		}
	}

	b.Run("client=facade", func(b *testing.B) {
		path := writeParametersFile(b, uploadSize)
		srv := newSinkServer(b)
		c := newFacade(b, srv)
		measure(b, path, srv, func() error {
			_, err := c.AddJob(ctx, params(path))
			return err
		})
	})
	b.Run("client=facade-nocheck", func(b *testing.B) {
		path := writeParametersFile(b, uploadSize)
		srv := newSinkServer(b)
		c := newFacade(b, srv)
		measure(b, path, srv, func() error {
			up, err := uncheckedUpload(path)
			if err != nil {
				return err
			}
			_, err = c.sendUpload(ctx, "AddJob", nil, up, func(ctx context.Context, body io.Reader, edit gen.RequestEditorFn) (*http.Response, error) {
				return c.api.AddJobWithBody(ctx, "model-1", up.contentType, body, edit)
			})
			return err
		})
	})
	b.Run("client=raw-multipart", func(b *testing.B) {
		path := writeParametersFile(b, uploadSize)
		srv := newSinkServer(b)
		hc := rawClient(b)
		measure(b, path, srv, func() error {
			up, err := uncheckedUpload(path)
			if err != nil {
				return err
			}
			body, err := up.open()
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/v2/models/model-1/jobs", body)
			if err != nil {
				return err
			}
			req.ContentLength = up.length()
			req.Header.Set("Content-Type", up.contentType)
			return doDiscard(hc, req)
		})
	})
	b.Run("client=raw", func(b *testing.B) {
		path := writeParametersFile(b, uploadSize)
		srv := newSinkServer(b)
		hc := rawClient(b)
		measure(b, path, srv, func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/upload", f)
			if err != nil {
				_ = f.Close()
				return err
			}
			st, err := f.Stat()
			if err != nil {
				_ = f.Close()
				return err
			}
			req.ContentLength = st.Size()
			req.Header.Set("Content-Type", "application/json")
			return doDiscard(hc, req)
		})
	})
	b.Run("op=jsoncheck", func(b *testing.B) {
		path := writeParametersFile(b, uploadSize)
		measure(b, path, nil, func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return jsonvalid.Validate(f)
		})
	})
}

// uncheckedUpload builds AddJob's body for the file at path as
// parametersUpload does, without the JSON check.
func uncheckedUpload(path string) (*upload, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	up, err := newUpload([]formField{{"function", "@istari:extract"}, {"description", "bench"}}, nil, filepath.Base(path), "application/json")
	if err != nil {
		return nil, err
	}
	up.path, up.size = path, st.Size()
	return up, nil
}

func doDiscard(hc *http.Client, req *http.Request) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
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
