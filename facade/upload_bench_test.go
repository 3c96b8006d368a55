package facade

// The upload benchmarks: AddJob of a 256 MiB parameters file against the
// raw streamed multipart baseline, on unthrottled loopback and behind a
// 1 GB/s link, and the measurement behind smallFileMax.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
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

// sinkServer reads every request body to its end, in large reads and
// without keeping it, and answers with a job. With a rate, it reads no
// faster than rate bytes per second, as a server behind a link of that
// speed would.
type sinkServer struct {
	*httptest.Server
	received atomic.Int64
}

func newSinkServer(tb testing.TB, rate float64) *sinkServer {
	tb.Helper()
	s := &sinkServer{}
	job := benchJobJSON("Pending")
	bufs := sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bufs.Get().(*[]byte)
		// The wrappers hide ReadFrom and WriteTo, so that the copy uses buf.
		var body io.Reader = struct{ io.Reader }{r.Body}
		if rate > 0 {
			body = &throttledReader{r: r.Body, rate: rate, start: time.Now()}
		}
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, body, *buf)
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

// throttledReader reads from r no faster than rate bytes per second on
// average since start: after each read it sleeps until the bytes read so
// far are due.
type throttledReader struct {
	r     io.Reader
	rate  float64
	start time.Time
	n     int64
}

func (t *throttledReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	due := t.start.Add(time.Duration(float64(t.n) / t.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
	return n, err
}

// BenchmarkUpload256MiB sends a 256 MiB parameters file to a server that
// discards it, on unthrottled loopback (link=loopback) and through a server
// that reads at 1 GB/s (link=1GBps): with AddJob (the JSON check included,
// overlapped with the send); with the same body and no check; by hand as
// the same streamed multipart body (the baseline); and, on loopback, as a
// plain PUT of the file (which net/http can send with sendfile), and the
// JSON check alone. heap-MiB is the peak growth of the heap during the
// uploads, the server's share included.
func BenchmarkUpload256MiB(b *testing.B) {
	path := writeParametersFile(b, uploadSize)
	ctx := context.Background()
	rawClient := func(b *testing.B) *http.Client {
		tr := DefaultTransport()
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	for _, link := range []struct {
		name string
		rate float64
	}{{"link=loopback", 0}, {"link=1GBps", 1e9}} {
		b.Run(link.name, func(b *testing.B) {
			srv := newSinkServer(b, link.rate)
			c := newBenchUploadClient(b, srv.URL)
			b.Run("client=facade", func(b *testing.B) {
				measureUpload(b, srv, func() error {
					_, err := c.AddJob(ctx, AddJobParams{ModelID: "model-1", Function: "@istari:extract", ParametersFile: path, Description: "bench"})
					return err
				})
			})
			b.Run("client=facade-nocheck", func(b *testing.B) {
				measureUpload(b, srv, func() error { return sendUnchecked(ctx, c, path) })
			})
			b.Run("client=raw-multipart", func(b *testing.B) {
				hc := rawClient(b)
				measureUpload(b, srv, func() error { return rawMultipart(ctx, hc, srv.URL, path) })
			})
			if link.rate > 0 {
				return
			}
			b.Run("client=raw", func(b *testing.B) {
				hc := rawClient(b)
				measureUpload(b, srv, func() error {
					f, err := os.Open(path)
					if err != nil {
						return err
					}
					req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/upload", f)
					if err != nil {
						_ = f.Close()
						return err
					}
					req.ContentLength = uploadSize
					req.Header.Set("Content-Type", "application/json")
					return doDiscard(hc, req)
				})
			})
		})
	}
	b.Run("op=jsoncheck", func(b *testing.B) {
		measureUpload(b, nil, func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return jsonvalid.Validate(f)
		})
	})
}

// BenchmarkUploadThreshold measures AddJob of parameters files from 1 to
// 32 MiB, read whole and checked before the send (path=memory) or checked
// while sent (path=pipelined), on loopback. smallFileMax is where the
// pipelined pass starts to win.
func BenchmarkUploadThreshold(b *testing.B) {
	ctx := context.Background()
	srv := newSinkServer(b, 0)
	c := newBenchUploadClient(b, srv.URL)
	for _, mib := range []int{1, 2, 4, 8, 16, 32} {
		path := writeParametersFile(b, mib<<20)
		for _, mode := range []struct {
			name     string
			smallMax int64
		}{{"path=memory", 1 << 40}, {"path=pipelined", 0}} {
			b.Run(fmt.Sprintf("size=%dMiB/%s", mib, mode.name), func(b *testing.B) {
				b.SetBytes(int64(mib) << 20)
				for b.Loop() {
					up, err := parametersUpload(&AddJobParams{ModelID: "m", Function: "f", ParametersFile: path})
					if err != nil {
						b.Fatal(err)
					}
					up.smallMax = mode.smallMax
					if _, err := c.sendUpload(ctx, "AddJob", "", callConfig{}, up, addJobSender(c, up)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func newBenchUploadClient(b *testing.B, url string) *Client {
	c, err := NewClient(url, WithToken("bench-token"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.CloseIdleConnections)
	return c
}

// measureUpload runs op once per iteration and reports throughput and
// heap growth.
func measureUpload(b *testing.B, srv *sinkServer, op func() error) {
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

func addJobSender(c *Client, up *upload) func(context.Context, io.Reader, gen.RequestEditorFn) (*http.Response, error) {
	return func(ctx context.Context, body io.Reader, edit gen.RequestEditorFn) (*http.Response, error) {
		return c.api.AddJobWithBody(ctx, "model-1", up.contentType, body, edit)
	}
}

// uncheckedUpload builds AddJob's body for the file at path as
// parametersUpload does, without the JSON check.
func uncheckedUpload(path string) (*upload, error) {
	const field = "AddJobParams.ParametersFile"
	f, size, err := openRegular(field, path)
	if err != nil {
		return nil, err
	}
	up, err := newUpload([]formField{{"function", "@istari:extract"}, {"description", "bench"}}, nil, filepath.Base(path), "application/json")
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	up.field, up.path, up.file, up.size = field, path, f, size
	return up, nil
}

// sendUnchecked sends AddJob's body for path through the facade's upload
// path, without the JSON check.
func sendUnchecked(ctx context.Context, c *Client, path string) error {
	up, err := uncheckedUpload(path)
	if err != nil {
		return err
	}
	_, err = c.sendUpload(ctx, "AddJob", "", callConfig{}, up, addJobSender(c, up))
	return err
}

// rawMultipart sends the same multipart body by hand: the head, the open
// file and the tail, through io.MultiReader.
func rawMultipart(ctx context.Context, hc *http.Client, url, path string) error {
	up, err := uncheckedUpload(path)
	if err != nil {
		return err
	}
	defer up.file.Close()
	body := io.MultiReader(bytes.NewReader(up.head), up.file, bytes.NewReader(up.tail))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v2/models/model-1/jobs", body)
	if err != nil {
		return err
	}
	req.ContentLength = up.length()
	req.Header.Set("Content-Type", up.contentType)
	return doDiscard(hc, req)
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
