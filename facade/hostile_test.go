package facade_test

// The hostile-server suite: servers that misbehave in ways the fault matrix
// does not plan for. Each case is one way an outside attacker (or a broken
// proxy) could make the SDK hang, loop, eat memory, leak a secret or take
// a wrong answer for a right one.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
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

// hugeServer answers every request with status and a body of size bytes
// (endless when size < 0), written 64 KiB at a time without a
// Content-Length, until the client goes away.
func hugeServer(t *testing.T, status int, size int64) *httptest.Server {
	chunk := bytes.Repeat([]byte(" "), 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		for sent := int64(0); size < 0 || sent < size; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestTooLargeAnswerKeepsItsStatus checks that the DecodeError of an
// oversized 2xx answer carries the answer's own status, whether its
// Content-Length gave it away or its body ran past the limit.
func TestTooLargeAnswerKeepsItsStatus(t *testing.T) {
	for _, declared := range []bool{true, false} {
		t.Run(fmt.Sprintf("Content-Length declared %v", declared), func(t *testing.T) {
			body := bytes.Repeat([]byte(" "), 2<<20)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if declared {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			c, err := facade.NewClient(srv.URL, facade.WithRetry(facade.NoRetry()), facade.WithMaxResponseBytes(1<<20))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			_, err = c.GetJob(testCtx(t), "j")
			var de *facade.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, http.StatusCreated, de.StatusCode)
			assert.ErrorIs(t, err, facade.ErrResponseTooLarge)
			assert.Contains(t, err.Error(), "unexpected 201 answer")
		})
	}
}

// peakHeapGrowth runs fn and returns how far the heap grew above where it
// was before, sampled every millisecond: live and not yet collected bytes
// alike, which is what a process's memory limit sees.
func peakHeapGrowth(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	p := max(peak.Load(), ms.HeapAlloc)
	if p < base {
		return 0
	}
	return p - base
}

// TestHostileHugeAnswers: a 300 MiB answer, 2xx or 5xx, through the facade
// and through Raw, and an endless one, each end with an error while the
// heap stays bounded. The numbers are printed (go test -run
// TestHostileHugeAnswers -v ./facade/).
func TestHostileHugeAnswers(t *testing.T) {
	const answer = 300 << 20
	const mib = 1 << 20
	cases := []struct {
		name   string
		status int
		size   int64
		raw    bool
		retry  facade.RetryPolicy
		limit  uint64
	}{
		{"GetJob 300 MiB 200", 200, answer, false, facade.DefaultRetryPolicy(), 100 * mib},
		{"GetJob 300 MiB 200, no retry", 200, answer, false, facade.NoRetry(), 100 * mib},
		{"GetJob 300 MiB 500", 500, answer, false, facade.DefaultRetryPolicy(), 100 * mib},
		{"GetJob endless 200", 200, -1, false, facade.NoRetry(), 100 * mib},
		{"Raw GetJobWithResponse 300 MiB 200", 200, answer, true, facade.DefaultRetryPolicy(), 160 * mib},
		{"Raw GetJobWithResponse 300 MiB 200, no retry", 200, answer, true, facade.NoRetry(), 160 * mib},
		{"Raw GetJobWithResponse 300 MiB 500", 500, answer, true, facade.DefaultRetryPolicy(), 160 * mib},
		{"Raw GetJobWithResponse endless 200", 200, -1, true, facade.NoRetry(), 160 * mib},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := hugeServer(t, tc.status, tc.size)
			c, err := facade.NewClient(srv.URL, facade.WithRetry(tc.retry))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			// Reading 64 MiB takes seconds under -race on a busy machine.
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			var callErr error
			grew := peakHeapGrowth(func() {
				if tc.raw {
					_, callErr = c.Raw().GetJobWithResponse(ctx, "j")
				} else {
					_, callErr = c.GetJob(ctx, "j")
				}
			})
			t.Logf("%s: heap grew by %.1f MiB (limit %d MiB)", tc.name, float64(grew)/mib, tc.limit/mib)
			require.Error(t, callErr)
			switch {
			case tc.status == 200:
				assert.ErrorIs(t, callErr, facade.ErrResponseTooLarge)
				assert.Contains(t, callErr.Error(), "limit of 64 MiB")
			case tc.raw:
				assert.ErrorIs(t, callErr, facade.ErrResponseTooLarge)
				assert.Contains(t, callErr.Error(), "limit of 64 KiB")
			default: // the facade keeps the first 64 KiB of an error answer
				var ae *facade.APIError
				require.ErrorAs(t, callErr, &ae)
				assert.Len(t, ae.Body, 64<<10)
			}
			assert.Less(t, grew, tc.limit)
		})
	}
}

// TestHostileErrorBodyCappedInAPIError: the facade keeps the first 64 KiB
// of a huge error answer in its *APIError rather than failing on its size.
func TestHostileErrorBodyCappedInAPIError(t *testing.T) {
	srv := hugeServer(t, 404, 10<<20)
	c, err := facade.NewClient(srv.URL, facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.GetJob(testCtx(t), "j")
	var ae *facade.APIError
	require.ErrorAs(t, err, &ae)
	assert.Len(t, ae.Body, 64<<10)
}

// TestHostileGzipBomb: a small compressed answer that inflates past the
// limit is refused: decompressed bytes count.
func TestHostileGzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	require.NoError(t, err)
	zeros := make([]byte, 1<<20)
	for range 100 { // 100 MiB inflated
		_, err := zw.Write(zeros)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(bomb.Len()))
		_, _ = w.Write(bomb.Bytes())
	}))
	t.Cleanup(srv.Close)
	t.Logf("gzip bomb: %d KiB compressed, 100 MiB inflated", bomb.Len()>>10)
	for _, raw := range []bool{false, true} {
		c, err := facade.NewClient(srv.URL, facade.WithRetry(facade.NoRetry()), facade.WithMaxResponseBytes(8<<20))
		require.NoError(t, err)
		if raw {
			_, err = c.Raw().GetJobWithResponse(testCtx(t), "j")
		} else {
			_, err = c.GetJob(testCtx(t), "j")
		}
		c.CloseIdleConnections()
		require.Error(t, err, "raw=%v", raw)
		assert.ErrorIs(t, err, facade.ErrResponseTooLarge, "raw=%v", raw)
		assert.Contains(t, err.Error(), "limit of 8 MiB", "raw=%v", raw)
	}
}

// lyingPager answers list requests as a server that gets paging wrong
// would; it counts the requests.
func lyingPager(t *testing.T, answer func(page, size int) gen.PageJob) (*recorder, *atomic.Int32) {
	var n atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		n.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		writeJSON(w, 200, answer(page, size))
	})
	return srv, &n
}

func jobsNamed(from, to int) []gen.Job {
	jobs := []gen.Job{}
	for i := from; i < to; i++ {
		jobs = append(jobs, sampleJob(fmt.Sprintf("job-%d", i), gen.JobStatusNamePending))
	}
	return jobs
}

// TestHostilePaging: each server below gets paging wrong; the iterator
// makes at most pages+1 requests (pages as the first answer says, or as
// ceil(total/size) says when that is smaller) and ends, with prefetch on
// and off.
func TestHostilePaging(t *testing.T) {
	cases := []struct {
		name string
		// answer gives the page; the iterator asks for size 2.
		answer       func(page, size int) gen.PageJob
		maxRequests  int32
		wantIDs      int
		wantDecodeEr bool
	}{
		{"ignores page (answers page 1 of 3)", func(_, size int) gen.PageJob {
			return gen.PageJob{Items: jobsNamed(0, 2), Total: 6, Page: 1, Size: 2, Pages: 3}
		}, 4, 2, true},
		{"echoes page 0", func(_, _ int) gen.PageJob {
			return gen.PageJob{Items: jobsNamed(0, 2), Total: 6, Page: 0, Size: 2, Pages: 3}
		}, 4, 0, true},
		{"pages 2147483647, total 3", func(page, _ int) gen.PageJob {
			return gen.PageJob{Items: jobsNamed(2*(page-1), min(2*page, 3)), Total: 3, Page: page, Size: 2, Pages: 2147483647}
		}, 3, 0, true},
		{"claims more pages but sends empty ones", func(page, _ int) gen.PageJob {
			items := []gen.Job{}
			if page == 1 {
				items = jobsNamed(0, 2)
			}
			return gen.PageJob{Items: items, Total: 2000, Page: page, Size: 2, Pages: 1000}
		}, 6, 2, true}, // an empty page its own total contradicts is an error: 2 requests, or 6 with 4 pages prefetched
		{"an empty first page that claims jobs", func(page, _ int) gen.PageJob {
			return gen.PageJob{Items: []gen.Job{}, Total: 6, Page: page, Size: 2, Pages: 3}
		}, 1, 0, true},
		{"the list shrinks to one page during the walk", func(page, _ int) gen.PageJob {
			if page == 1 {
				return gen.PageJob{Items: jobsNamed(0, 2), Total: 2000, Page: 1, Size: 2, Pages: 1000}
			}
			return gen.PageJob{Items: []gen.Job{}, Total: 2, Page: page, Size: 2, Pages: 1}
		}, 6, 2, false}, // the first empty page ends the walk: 2 requests, or 6 with 4 pages prefetched
		{"sends more items than the size", func(page, _ int) gen.PageJob {
			return gen.PageJob{Items: jobsNamed(0, 5), Total: 10, Page: page, Size: 2, Pages: 5}
		}, 6, 0, true},
		{"total grows on every page", func(page, _ int) gen.PageJob {
			total := 4 + 2*page
			return gen.PageJob{Items: jobsNamed(2*(page-1), 2*page), Total: total, Page: page, Size: 2, Pages: (total + 1) / 2}
		}, 4, 6, false},
		{"repeats items across pages (a job added meanwhile)", func(page, _ int) gen.PageJob {
			// Offset paging after one job was added in front: page 2
			// repeats the last job of page 1.
			from := 2*(page-1) - min(page-1, 1)
			return gen.PageJob{Items: jobsNamed(from, from+2), Total: 6, Page: page, Size: 2, Pages: 3}
		}, 4, 5, false},
	}
	for _, tc := range cases {
		for _, prefetch := range []int{0, 4} {
			t.Run(fmt.Sprintf("%s/prefetch=%d", tc.name, prefetch), func(t *testing.T) {
				srv, n := lyingPager(t, tc.answer)
				c, ct := newClient(t, srv.baseURL(), withPrefetch(prefetch))
				ct.quiet = true // some of these answers break the contract
				var ids []string
				var iterErr error
				for job, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: 2}) {
					if err != nil {
						iterErr = err
						break
					}
					ids = append(ids, job.ID)
				}
				assert.LessOrEqual(t, n.Load(), tc.maxRequests, "requests")
				seen := map[string]bool{}
				for _, id := range ids {
					assert.False(t, seen[id], "%s yielded twice", id)
					seen[id] = true
				}
				if tc.wantDecodeEr {
					var de *facade.DecodeError
					require.ErrorAs(t, iterErr, &de)
					assert.NotEmpty(t, de.Field)
					assert.LessOrEqual(t, len(ids), tc.wantIDs+2)
				} else {
					require.NoError(t, iterErr)
					assert.Len(t, ids, tc.wantIDs)
				}
			})
		}
	}
}

// TestHostileWrongShape: a 2xx answer of the wrong shape is a
// *DecodeError that names the field, never an empty result.
func TestHostileWrongShape(t *testing.T) {
	job := sampleJob("job-1", gen.JobStatusNamePending)
	jobJSON, err := json.Marshal(job)
	require.NoError(t, err)
	without := func(v any, path ...string) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		var m any
		require.NoError(t, json.Unmarshal(b, &m))
		cur := m
		for i, p := range path {
			last := i == len(path)-1
			switch x := cur.(type) {
			case map[string]any:
				if last {
					delete(x, p)
				} else {
					cur = x[p]
				}
			case []any:
				k, _ := strconv.Atoi(p)
				cur = x[k]
			}
		}
		out, err := json.Marshal(m)
		require.NoError(t, err)
		return string(out)
	}
	withProducts := sampleJob("job-1", gen.JobStatusNameCompleted)
	withProducts.File.Revisions[0].Products = &[]gen.Product{{RevisionID: "out-1"}, {RevisionID: "out-2"}}
	page := gen.PageJob{Items: []gen.Job{job, job, job, job}, Total: 4, Page: 1, Size: 10, Pages: 1}
	for i := range page.Items {
		page.Items[i].ID = fmt.Sprintf("job-%d", i)
	}
	cases := []struct {
		name, body string
		list       bool
		field      string
	}{
		{"list: null", `null`, true, ""},
		{"list: {}", `{}`, true, "items"},
		{"list: status ok", `{"status":"ok"}`, true, "items"},
		{"list: data array", `{"data":[` + string(jobJSON) + `]}`, true, "items"},
		{"list: a single job", string(jobJSON), true, "items"},
		{"list: an array", `[` + string(jobJSON) + `]`, true, ""},
		{"list: items[3].function missing", without(page, "items", "3", "function"), true, "items[3].function"},
		{"list: items null", `{"items":null,"total":0,"page":1,"size":10,"pages":0}`, true, "items"},
		{"list: items [null]", `{"items":[null],"total":1,"page":1,"size":10,"pages":1}`, true, "items[0]"},
		{"list: pages missing", without(page, "pages"), true, "pages"},
		{"get: {\"id\":\"x\"}", `{"id":"x"}`, false, "created"},
		{"get: null", `null`, false, ""},
		{"get: file.revisions[0].size missing", without(job, "file", "revisions", "0", "size"), false, "file.revisions[0].size"},
		{"get: function.name missing", without(job, "function", "name"), false, "function.name"},
		{"get: status_history[0].name missing", without(job, "status_history", "0", "name"), false, "status_history[0].name"},
		{"get: created_by_id null", strings.Replace(string(jobJSON), `"created_by_id":"user-1"`, `"created_by_id":null`, 1), false, "created_by_id"},
		{"get: archive_status_history[0].created missing", without(job, "archive_status_history", "0", "created"), false, "archive_status_history[0].created"},
		{"get: a product's revision_id missing", without(withProducts, "file", "revisions", "0", "products", "1", "revision_id"), false, "file.revisions[0].products[1].revision_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tc.body)
			})
			c, ct := newClient(t, srv.baseURL())
			ct.quiet = true // these answers break the contract on purpose
			var err error
			if tc.list {
				var p *facade.JobPage
				p, err = c.ListJobs(testCtx(t), facade.ListJobsParams{})
				assert.Nil(t, p)
				var n int
				for _, e := range c.AllJobs(testCtx(t), facade.ListJobsParams{}) {
					require.Error(t, e, "AllJobs yields the error, not an empty list")
					n++
				}
				assert.Equal(t, 1, n)
			} else {
				var j *facade.Job
				j, err = c.GetJob(testCtx(t), "j")
				assert.Nil(t, j)
			}
			var de *facade.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.field, de.Field, "err = %v", err)
			if tc.field != "" {
				assert.Contains(t, err.Error(), tc.field)
			}
		})
	}

	// Nulls the spec allows stay fine.
	t.Run("nullable fields null", func(t *testing.T) {
		b := strings.NewReplacer(`"model_id":"model-1"`, `"model_id":null`, `"tool_name":"ansys"`, `"tool_name":null`,
			`"mime":"application/json"`, `"mime":null`, `"message":"step"`, `"message":null`).Replace(string(jobJSON))
		require.Contains(t, b, `"model_id":null`)
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, b)
		})
		c, _ := newClient(t, srv.baseURL())
		j, err := c.GetJob(testCtx(t), "job-1")
		require.NoError(t, err)
		assert.Equal(t, "job-1", j.ID)
	})
}

// TestHostileEditorsDoNotPileUp: each attempt starts from the request as
// built, so an editor that adds a header and a query value adds exactly
// one of each to every attempt.
func TestHostileEditorsDoNotPileUp(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1) <= 2 {
			writeJSON(w, 503, map[string]string{"detail": "again"})
			return
		}
		writeJSON(w, 200, sampleJob("j"))
	})
	var n atomic.Int32
	c, ct := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithRequestEditor(func(_ context.Context, r *http.Request) error {
		k := n.Add(1)
		r.Header.Add("X-Signature", "sig-"+strconv.Itoa(int(k)))
		q := r.URL.Query()
		q.Add("sig", strconv.Itoa(int(k)))
		r.URL.RawQuery = q.Encode()
		return nil
	}))
	ct.quiet = true // the query parameter is not in the spec
	_, err := c.GetJob(testCtx(t), "j")
	require.NoError(t, err)
	reqs := srv.requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, []string{"sig-" + strconv.Itoa(i+1)}, r.Header.Values("X-Signature"), "attempt %d", i+1)
		assert.Equal(t, "sig="+strconv.Itoa(i+1), r.Query, "attempt %d", i+1)
		assert.Len(t, r.Header.Values("Authorization"), 1)
	}
}

// TestHostilePermanentErrorsNotRetried: errors that would happen again are
// never retried, even on a GET.
func TestHostilePermanentErrorsNotRetried(t *testing.T) {
	t.Run("redirect to ftp://", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
		})
		c, ct := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry))
		ct.quiet = true // a redirect is not in the contract
		_, err := c.GetJob(testCtx(t), "j")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "unsupported protocol scheme")
		assert.Equal(t, 1, srv.count())
	})
	t.Run("redirect loop", func(t *testing.T) {
		var srv *recorder
		srv = newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			http.Redirect(w, r, srv.URL+r.URL.Path, http.StatusFound)
		})
		c, ct := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry))
		ct.quiet = true // a redirect is not in the contract
		_, err := c.GetJob(testCtx(t), "j")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "stopped after 10 redirects")
		assert.Equal(t, 10, srv.count(), "10 requests (the 10th redirect is not followed), in one attempt")
	})
	t.Run("x509 failure", func(t *testing.T) {
		var conns atomic.Int32
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		c, err := facade.NewClient(srv.URL, facade.WithRetry(fastRetry)) // the test CA is not trusted
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		_, err = c.GetJob(testCtx(t), "j")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "certificate")
		assert.NotContains(t, err.Error(), "attempts")
		require.Eventually(t, func() bool { return conns.Load() >= 1 }, time.Second, time.Millisecond)
		assert.EqualValues(t, 1, conns.Load(), "one handshake")
	})
	t.Run("invalid header value", func(t *testing.T) {
		srv := jobServer(t)
		var n atomic.Int32
		c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry), facade.WithRequestEditor(func(_ context.Context, r *http.Request) error {
			n.Add(1)
			r.Header.Set("X-Bad", "a\r\nb")
			return nil
		}))
		_, err := c.GetJob(testCtx(t), "j")
		require.Error(t, err)
		assert.EqualValues(t, 1, n.Load(), "one attempt")
		assert.Equal(t, 0, srv.count())
	})
	t.Run("answer too large", func(t *testing.T) {
		srv := hugeServer(t, 200, 2<<20)
		c, err := facade.NewClient(srv.URL, facade.WithRetry(fastRetry), facade.WithMaxResponseBytes(1<<20),
			facade.WithRequestEditor(func(context.Context, *http.Request) error { return nil }))
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		var info facade.ResponseInfo
		_, err = c.GetJob(testCtx(t), "j", facade.WithResponseInfo(&info))
		assert.ErrorIs(t, err, facade.ErrResponseTooLarge)
		assert.Equal(t, 1, info.Attempts)
	})
}

// TestHostileTokens: a token with a control character or surrounding
// space is refused at construction, and the error does not repeat it; one
// trailing line break, as a token file ends with, is trimmed instead.
func TestHostileTokens(t *testing.T) {
	for _, tok := range []string{"pat-SECRET\r\nX-Injected: 1", "pat-SECRET\n\n", "pat-SECRET\r", "pat-SECRET\n\r", " pat-SECRET\n", "pat-SECRET \n",
		" pat-SECRET", "pat-SECRET ", "pat\x00SECRET", "pat\x7fSECRET", "pat\tSECRET"} {
		_, err := facade.NewClient("https://registry.example.com", facade.WithToken(tok))
		require.Error(t, err, "%q", tok)
		assert.ErrorIs(t, err, facade.ErrInvalidInput)
		assert.NotContains(t, err.Error(), "SECRET")
		assert.Contains(t, err.Error(), "WithToken")
	}
	getenv := func(tok string) func(string) string {
		return func(k string) string {
			return map[string]string{"ISTARI_REGISTRY_URL": "https://registry.example.com", "ISTARI_REGISTRY_AUTH_TOKEN": tok}[k]
		}
	}
	_, err := facade.NewClientFromEnv(facade.WithEnv(getenv("pat\x01SECRET")))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRET")
	assert.Contains(t, err.Error(), "ISTARI_REGISTRY_AUTH_TOKEN")
	_, err = facade.NewClientFromEnv(facade.WithEnv(getenv("pat-SECRET")))
	assert.NoError(t, err)

	srv := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, 200, sampleJob("j")) })
	for _, tok := range []string{"pat-SECRET\n", "pat-SECRET\r\n"} {
		c, err := facade.NewClient(srv.baseURL(), facade.WithToken(tok))
		require.NoError(t, err, "%q", tok)
		_, err = c.GetJob(testCtx(t), "j")
		require.NoError(t, err)
		c.CloseIdleConnections()
		reqs := srv.requests()
		assert.Equal(t, "Bearer pat-SECRET", reqs[len(reqs)-1].Header.Get("Authorization"), "%q is sent without its line break", tok)
	}
}

// TestHostileBaseURLSecrets: a base URL's user info and query values are
// masked in its errors.
func TestHostileBaseURLSecrets(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://ghp_SECRET@registry.example.com", "https://***@registry.example.com"},
		{"https://user:SECRET@registry.example.com/x", "https://***@registry.example.com/x"},
		{"https://registry.example.com/?sig=SECRET&exp=SECRET2", "https://registry.example.com/?sig=***&exp=***"},
		{"https://registry.example.com/#SECRET", "https://registry.example.com/#***"},
		{"ftp://ghp_SECRET@registry.example.com/?sig=SECRET", "ftp://***@registry.example.com/?sig=***"},
	} {
		_, err := facade.NewClient(tc.url)
		require.Error(t, err, tc.url)
		assert.NotContains(t, err.Error(), "SECRET", tc.url)
		assert.Contains(t, err.Error(), tc.want, tc.url)
	}
}

// TestHostileRetryAfter: a Retry-After longer than MaxRetryAfter, or than
// the caller's deadline, ends the call at once with the server's answer.
func TestHostileRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy facade.RetryPolicy
		ra     string
		ctx    time.Duration
	}{
		{"3600 s with MaxInterval 0", facade.RetryPolicy{MaxAttempts: 4}, "3600", 0},
		{"61 s, past the default MaxRetryAfter", facade.RetryPolicy{}, "61", 0},
		{"2 s, MaxRetryAfter 1 s", facade.RetryPolicy{MaxRetryAfter: time.Second}, "2", 0},
		{"30 s, deadline in 2 s", facade.RetryPolicy{}, "30", 2 * time.Second},
		{"HTTP date in an hour", facade.RetryPolicy{}, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Retry-After", tc.ra)
				w.Header().Set("X-Correlation-Id", "corr-1")
				writeJSON(w, 429, map[string]string{"detail": "slow down"})
			})
			c, _ := newClient(t, srv.baseURL(), facade.WithRetry(tc.policy))
			ctx := testCtx(t)
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			start := time.Now()
			var info facade.ResponseInfo
			_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f"}, facade.WithResponseInfo(&info))
			assert.Less(t, time.Since(start), time.Second, "ends at once")
			assert.ErrorIs(t, err, facade.ErrRateLimited)
			var ae *facade.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "slow down", ae.Detail)
			assert.Equal(t, "corr-1", ae.RequestID)
			assert.Positive(t, ae.RetryAfter)
			assert.Equal(t, 1, srv.count())
			assert.Equal(t, facade.ResponseInfo{Operation: facade.OpAddJob, StatusCode: 429, Header: info.Header, RequestID: "corr-1", Attempts: 1, Elapsed: info.Elapsed}, info)
		})
	}
}

// TestHostileStalledUpload: an upload's attempt ends when nothing moves
// for the timeout, but not while the answer keeps arriving.
func TestHostileStalledUpload(t *testing.T) {
	job, err := json.Marshal(sampleJob("job-1"))
	require.NoError(t, err)
	trickle := func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fl := w.(http.Flusher)
		for i := 0; i < len(job); i += len(job) / 8 {
			_, _ = w.Write(job[i:min(i+len(job)/8, len(job))])
			fl.Flush()
			time.Sleep(60 * time.Millisecond)
		}
	}
	srv := newRecorder(t, trickle)
	// A plain client: the contract transport would read the whole answer
	// before the SDK sees any of it.
	c, err := facade.NewClient(srv.baseURL(), facade.WithTimeout(400*time.Millisecond), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	start := time.Now()
	_, err = c.AddJob(testCtx(t), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err, "an answer that keeps arriving is not a stall")
	assert.Greater(t, time.Since(start), 400*time.Millisecond, "longer than the timeout in all")

	hang := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	})
	c, err = facade.NewClient(hang.baseURL(), facade.WithTimeout(100*time.Millisecond), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	_, err = c.AddJob(testCtx(t), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stalled")
	assert.Contains(t, err.Error(), "no progress for 100ms")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestHostileResponseInfo: WithResponseInfo is filled on success and on
// failure, and a transport error after retries counts its attempts.
func TestHostileResponseInfo(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("X-Request-Id", "req-"+strconv.Itoa(int(calls.Add(1))))
		if strings.HasSuffix(r.URL.Path, "/missing") {
			writeJSON(w, 404, map[string]string{"detail": "no such job"})
			return
		}
		if calls.Load() == 1 {
			writeJSON(w, 503, map[string]string{"detail": "again"})
			return
		}
		writeJSON(w, 200, sampleJob("j"))
	})
	c, _ := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry))
	var info facade.ResponseInfo
	_, err := c.GetJob(testCtx(t), "j", facade.WithResponseInfo(&info))
	require.NoError(t, err)
	assert.Equal(t, 200, info.StatusCode)
	assert.Equal(t, "req-2", info.RequestID)
	assert.Equal(t, 2, info.Attempts)
	assert.Positive(t, info.Elapsed)
	assert.Equal(t, "application/json", info.Header.Get("Content-Type"))

	_, err = c.GetJob(testCtx(t), "missing", facade.WithResponseInfo(&info))
	var ae *facade.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 404, info.StatusCode)
	assert.Equal(t, "req-3", info.RequestID)
	assert.Equal(t, "req-3", ae.RequestID)
	assert.Equal(t, "req-3", ae.Header.Get("X-Request-Id"))
	assert.Equal(t, 1, info.Attempts)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c, err = facade.NewClient("http://"+addr, facade.WithRetry(fastRetry))
	require.NoError(t, err)
	_, err = c.GetJob(testCtx(t), "j", facade.WithResponseInfo(&info))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "after 4 attempts")
	assert.Equal(t, facade.ResponseInfo{Operation: facade.OpGetJob, Attempts: 4, Elapsed: info.Elapsed}, info)
}

// TestHostileRawRetriesByOperation: a Raw request is retried as the
// operation it matches: a POST to /models/{id}/jobs is AddJob, and is not
// retried on a 502; a PUT to /jobs/{id}/assigned-agent is idempotent, and
// is.
func TestHostileRawRetriesByOperation(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1) == 1 {
			writeJSON(w, 502, map[string]string{"detail": "bad gateway"})
			return
		}
		writeJSON(w, 200, sampleJob("j"))
	})
	c, ct := newClient(t, srv.baseURL(), facade.WithRetry(fastRetry))
	ct.quiet = true // the raw AddJob's form is empty
	agent := "a"
	resp, err := c.Raw().UpdateJobAssignedAgentWithResponse(testCtx(t), "j", gen.NewJobAssignedAgent{AgentID: &agent})
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode())
	assert.EqualValues(t, 2, calls.Load())

	calls.Store(0)
	resp2, err := c.Raw().AddJobWithBodyWithResponse(testCtx(t), "m", "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"))
	require.NoError(t, err)
	assert.Equal(t, 502, resp2.StatusCode())
	assert.EqualValues(t, 1, calls.Load())
}
