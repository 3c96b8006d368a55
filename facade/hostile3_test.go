package facade_test

// The hostile-server suite, third round (issue 23): redirects that leak,
// answers about another job, replicas that lag, uploads that reopen their
// file, a stall timer that a redirect blinds, walks of WaitForJobs without
// end, a gate closed by a health check, and a file part strict parsers
// refuse. Each test fails on the code before the fix.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
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

// TestHostileRedirectCarriesNothingAcross: a redirect to another origin
// carries no header of the SDK's or of a request editor's (nor the Referer
// net/http would set), and a write, or any request with a body, is not
// sent there at all, whatever the redirect's status: the call fails with an
// error that names the redirect, and is not retried. A redirect within the
// origin still replays an upload.
func TestHostileRedirectCarriesNothingAcross(t *testing.T) {
	other := jobServer(t) // another origin: another port
	editor := facade.WithRequestEditor(func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Api-Key", "key-SECRET")
		return nil
	})
	newRedirected := func(t *testing.T, status int) (*facade.Client, *recorder) {
		a := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Location", other.URL+r.URL.RequestURI())
			w.WriteHeader(status)
		})
		c, err := facade.NewClient(a.URL, facade.WithToken(redirectToken), facade.WithRetry(fastRetry), editor)
		require.NoError(t, err)
		t.Cleanup(c.CloseIdleConnections)
		return c, a
	}

	t.Run("a read carries no header", func(t *testing.T) {
		c, _ := newRedirected(t, http.StatusTemporaryRedirect)
		start := other.count()
		_, err := c.GetJob(testCtx(t), "j")
		require.NoError(t, err, "a read follows the redirect")
		reqs := other.requests()[start:]
		require.Len(t, reqs, 1)
		h := reqs[0].Header
		assert.Empty(t, h.Get("X-Api-Key"), "the editor's header")
		assert.Empty(t, h.Get("Authorization"), "the token")
		assert.Empty(t, h.Get("Referer"), "the previous URL")
		assert.NotContains(t, h.Get("User-Agent"), "istari-go/", "the SDK's header")
	})

	path := writeFile(t, "new.json", `{"mesh":"fine"}`)
	writes := []struct {
		name string
		call func(ctx context.Context, c *facade.Client) error
	}{
		{"AddJob", func(ctx context.Context, c *facade.Client) error {
			_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]int{"n": 1}})
			return err
		}},
		{"UpdateJob", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJob(ctx, "j", facade.UpdateJobParams{Path: path})
			return err
		}},
		{"UpdateJobStatus", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJobStatus(ctx, "j", facade.UpdateJobStatusParams{Status: facade.JobStatusRunning, Message: "m"})
			return err
		}},
		{"RemoveJobAssignedAgent (no body)", func(ctx context.Context, c *facade.Client) error {
			_, err := c.RemoveJobAssignedAgent(ctx, "j")
			return err
		}},
	}
	for _, status := range []int{307, 308, 301, 302, 303} {
		for _, w := range writes {
			t.Run(fmt.Sprintf("%s answered %d", w.name, status), func(t *testing.T) {
				c, a := newRedirected(t, status)
				start := other.count()
				err := w.call(testCtx(t), c)
				require.Error(t, err)
				assert.ErrorContains(t, err, "redirect to another origin refused")
				assert.ErrorContains(t, err, other.URL, "the error names where the redirect leads")
				assert.Equal(t, start, other.count(), "nothing reached the other origin")
				assert.Equal(t, 1, a.count(), "not retried")
				assert.NotContains(t, err.Error(), "SECRET")
			})
		}
	}

	t.Run("an upload follows a redirect within the origin", func(t *testing.T) {
		var srv *recorder
		srv = newRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			if strings.HasPrefix(r.URL.Path, "/old/") {
				w.Header().Set("Location", srv.URL+strings.TrimPrefix(r.URL.Path, "/old"))
				w.WriteHeader(http.StatusPermanentRedirect)
				return
			}
			writeJSON(w, http.StatusCreated, sampleJob("job-1"))
		})
		c, err := facade.NewClient(srv.URL+"/old", facade.WithToken(redirectToken), facade.WithRetry(facade.NoRetry()), editor)
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		_, err = c.AddJob(testCtx(t), facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]int{"n": 1}})
		require.NoError(t, err)
		reqs := srv.requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "/api/v2/models/m/jobs", reqs[1].Path)
		assert.Equal(t, "key-SECRET", reqs[1].Header.Get("X-Api-Key"))
		assert.Equal(t, "Bearer "+redirectToken, reqs[1].Header.Get("Authorization"))
		assert.Contains(t, string(reqs[1].Body), `{"n":1}`, "the body was replayed")
	})
}

// TestHostileAnswerAboutAnotherJob: every single-job answer must be about
// the job asked for; an answer about another is a *DecodeError on the
// field "id", never that job, for the waits and ClaimJob's read-back too. AddJob's answer names a
// new job, so any id goes.
func TestHostileAnswerAboutAnotherJob(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		job := sampleJob("OTHER", gen.JobStatusNameCompleted)
		if r.Method == http.MethodPost {
			writeJSON(w, http.StatusCreated, job)
			return
		}
		writeJSON(w, http.StatusOK, job)
	})
	c, _ := newClient(t, srv.baseURL())
	path := writeFile(t, "new.json", `{}`)
	fast := facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	cases := []struct {
		name string
		call func(ctx context.Context) (*facade.Job, error)
	}{
		{"GetJob", func(ctx context.Context) (*facade.Job, error) { return c.GetJob(ctx, "mine") }},
		{"UpdateJob", func(ctx context.Context) (*facade.Job, error) {
			return c.UpdateJob(ctx, "mine", facade.UpdateJobParams{Path: path})
		}},
		{"UpdateJobStatus", func(ctx context.Context) (*facade.Job, error) {
			return c.UpdateJobStatus(ctx, "mine", facade.UpdateJobStatusParams{Status: facade.JobStatusRunning})
		}},
		{"UpdateJobAssignedAgent", func(ctx context.Context) (*facade.Job, error) {
			return c.UpdateJobAssignedAgent(ctx, "mine", facade.AssignedAgent{AgentID: "a"})
		}},
		{"RemoveJobAssignedAgent", func(ctx context.Context) (*facade.Job, error) { return c.RemoveJobAssignedAgent(ctx, "mine") }},
		{"ArchiveJob", func(ctx context.Context) (*facade.Job, error) {
			return c.ArchiveJob(ctx, "mine", facade.ArchiveJobParams{})
		}},
		{"RestoreJob", func(ctx context.Context) (*facade.Job, error) {
			return c.RestoreJob(ctx, "mine", facade.RestoreJobParams{})
		}},
		{"ClaimJob", func(ctx context.Context) (*facade.Job, error) {
			return c.ClaimJob(ctx, "mine", facade.ClaimJobParams{AgentID: "agent-1"})
		}},
		{"WaitForJob", func(ctx context.Context) (*facade.Job, error) { return c.WaitForJob(ctx, "mine", fast) }},
		{"WaitForJobs", func(ctx context.Context) (*facade.Job, error) {
			jobs, err := c.WaitForJobs(ctx, []string{"mine"}, fast)
			require.Len(t, jobs, 1)
			return jobs[0], err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job, err := tc.call(testCtx(t))
			assert.Nil(t, job, "the slot of the job waited for stays empty")
			var de *facade.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "id", de.Field)
			assert.Contains(t, err.Error(), `"OTHER"`)
			assert.Contains(t, err.Error(), `"mine"`)
		})
	}
	job, err := c.AddJob(testCtx(t), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err)
	assert.Equal(t, "OTHER", job.ID, "AddJob's answer names the new job")
}

// jobWithout returns the sample job id with the given history and no model,
// so that WaitForJobs polls it with GetJob alone.
func jobWithout(id string, hist []gen.JobStatus) gen.Job {
	j := sampleJob(id)
	j.ModelID = nil
	j.StatusHistory = &hist
	return j
}

// TestHostileOnStatusNamesTheJobWaitedOn: JobStatus.JobID in OnStatus is
// the job being waited on, not the job_id the server wrote in the entry.
func TestHostileOnStatusNamesTheJobWaitedOn(t *testing.T) {
	hist := []gen.JobStatus{
		{ID: "s0", Created: fixedTime, JobID: "OTHER", Name: gen.JobStatusNamePending},
		{ID: "s1", Created: fixedTime, JobID: "OTHER", Name: gen.JobStatusNameCompleted},
	}
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, http.StatusOK, jobWithout("mine", hist))
	})
	c, _ := newClient(t, srv.baseURL())
	for _, many := range []bool{false, true} {
		var got []string
		o := facade.WaitOptions{MinInterval: time.Millisecond, OnStatus: func(st facade.JobStatus) { got = append(got, st.JobID) }}
		var err error
		if many {
			_, err = c.WaitForJobs(testCtx(t), []string{"mine"}, o)
		} else {
			_, err = c.WaitForJob(testCtx(t), "mine", o)
		}
		require.NoError(t, err)
		assert.Equal(t, []string{"mine", "mine"}, got, "WaitForJobs: %v", many)
	}
}

// TestHostileLaggingReplicas: polls answered by replicas that lag, or by a
// history whose last reported entry dropped out, report each entry once,
// in order.
func TestHostileLaggingReplicas(t *testing.T) {
	const (
		P = gen.JobStatusNamePending
		C = gen.JobStatusNameClaimed
		R = gen.JobStatusNameRunning
		V = gen.JobStatusNameValidating
		U = gen.JobStatusNameUploading
		D = gen.JobStatusNameCompleted
	)
	cases := []struct {
		name  string
		polls [][]gen.JobStatusName
		want  []facade.JobStatusName
	}{
		{"a replica lags behind", [][]gen.JobStatusName{{P, C, R}, {P, C}, {P, C, R}, {P, C}, {P, C, R, D}},
			[]facade.JobStatusName{facade.JobStatusPending, facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusCompleted}},
		{"the last entry reported drops out", [][]gen.JobStatusName{{C, V}, {R, U}, {R, U, D}},
			[]facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusValidating, facade.JobStatusRunning, facade.JobStatusUploading, facade.JobStatusCompleted}},
	}
	for _, tc := range cases {
		for _, many := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/WaitForJobs=%v", tc.name, many), func(t *testing.T) {
				var polls atomic.Int32
				srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
					names := tc.polls[min(int(polls.Add(1)), len(tc.polls))-1]
					hist := make([]gen.JobStatus, len(names))
					for i, n := range names {
						// An entry's id is its own whatever the poll.
						hist[i] = gen.JobStatus{ID: "st-" + string(n), Created: fixedTime, JobID: "job-1", Name: n}
					}
					writeJSON(w, http.StatusOK, jobWithout("job-1", hist))
				})
				c, _ := newClient(t, srv.baseURL())
				var seen []facade.JobStatusName
				o := facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
					OnStatus: func(st facade.JobStatus) { seen = append(seen, st.Name) }}
				var err error
				if many {
					_, err = c.WaitForJobs(testCtx(t), []string{"job-1"}, o)
				} else {
					_, err = c.WaitForJob(testCtx(t), "job-1", o)
				}
				require.NoError(t, err)
				assert.EqualValues(t, len(tc.polls), polls.Load())
				assert.Equal(t, tc.want, seen)
			})
		}
	}
}

// filePart returns the content of the part named "file" of a multipart
// body.
func filePart(t *testing.T, contentType string, body []byte) []byte {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		require.NoError(t, err, "no file part")
		if p.FormName() == "file" {
			b, err := io.ReadAll(p)
			require.NoError(t, err)
			return b
		}
	}
}

// uploadCalls are the uploads whose retries must read the file the call
// opened: UpdateJob, and AddJob with a file checked as it is sent (the
// pass a file over facade.SmallFileMax takes).
var uploadCalls = []struct {
	name string
	call func(ctx context.Context, c *facade.Client, path string) error
}{
	{"UpdateJob", func(ctx context.Context, c *facade.Client, path string) error {
		_, err := c.UpdateJob(ctx, "job-1", facade.UpdateJobParams{Path: path})
		return err
	}},
	{"AddJob", func(ctx context.Context, c *facade.Client, path string) error {
		_, err := facade.AddJobWithSmallMax(ctx, c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0)
		return err
	}},
}

// retryOnceServer answers the first request 503 with "Retry-After: 0"
// after running between (with the request's file part), and every later
// one with the job, recording each request's file part.
func retryOnceServer(t *testing.T, between func()) (*recorder, func() [][]byte) {
	var (
		mu    sync.Mutex
		files [][]byte
	)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		files = append(files, filePart(t, r.Header.Get("Content-Type"), body))
		n := len(files)
		mu.Unlock()
		if n == 1 {
			between()
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "again"})
			return
		}
		writeJSON(w, http.StatusCreated, sampleJob("job-1"))
	})
	return srv, func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), files...)
	}
}

// TestHostileUploadReadsTheFileItOpened: a file swapped for another of the
// same size while the first attempt waits for its answer is not what the
// retry sends: every attempt reads the file the call opened.
func TestHostileUploadReadsTheFileItOpened(t *testing.T) {
	orig := jsonArray(1 << 20)
	swapped := bytes.ReplaceAll(orig, []byte("1"), []byte("2"))
	for _, uc := range uploadCalls {
		t.Run(uc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "p.json")
			require.NoError(t, os.WriteFile(path, orig, 0o600))
			srv, files := retryOnceServer(t, func() {
				other := filepath.Join(dir, "other.json")
				require.NoError(t, os.WriteFile(other, swapped, 0o600))
				require.NoError(t, os.Rename(other, path))
			})
			c, err := facade.NewClient(srv.baseURL(), facade.WithRetry(fastRetry))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			require.NoError(t, uc.call(callCtx(t), c, path))
			got := files()
			require.Len(t, got, 2, "one retry")
			for i, f := range got {
				assert.True(t, bytes.Equal(orig, f), "attempt %d sent the file the call opened", i+1)
			}
		})
	}
}

// smallBuffers makes a connection's socket buffers small, so that a writer
// sees the pace its reader sets rather than filling megabytes of buffers
// at once.
func smallBuffers(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(16 << 10)
		_ = tc.SetWriteBuffer(16 << 10)
	}
}

// smallBufferListener gives every connection it accepts small buffers.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		smallBuffers(c)
	}
	return c, err
}

// TestHostileUploadStallAfterRedirect: an upload behind a same-origin 307
// sends its body again, and those bytes are progress for the stall timer:
// a 4 MiB upload that the server reads steadily over seconds is no stall,
// although it lasts longer than the timeout.
func TestHostileUploadStallAfterRedirect(t *testing.T) {
	const size = 4 << 20
	path := writeFile(t, "big.bin", strings.Repeat("x", size))
	var received atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/old/") {
			w.Header().Set("Location", strings.TrimPrefix(r.URL.Path, "/old"))
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		buf := make([]byte, 16<<10)
		for {
			n, err := r.Body.Read(buf)
			received.Add(int64(n))
			if err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond) // about 1.6 MB/s: over 2 s in all
		}
		writeJSON(w, http.StatusOK, sampleJob(jobIDOf(r, "job-1")))
	}))
	srv.Listener = smallBufferListener{srv.Listener}
	srv.Start()
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			smallBuffers(c)
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	c, err := facade.NewClient(srv.URL+"/old", facade.WithHTTPClient(&http.Client{Transport: tr}),
		facade.WithTimeout(time.Second), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	_, err = c.UpdateJob(testCtxWithin(t, 60*time.Second), "job-1", facade.UpdateJobParams{Path: path})
	require.NoError(t, err, "bytes kept flowing after the redirect")
	assert.Greater(t, received.Load(), int64(size))
}

// TestHostileWaitForJobsModelNotListable: a model whose list answers 403
// or 404 does not end the wait: its jobs are polled with GetJob, which may
// read them, and the list is not asked again.
func TestHostileWaitForJobsModelNotListable(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var (
				lists atomic.Int32
				mu    sync.Mutex
				polls = map[string]int{}
			)
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if strings.HasSuffix(r.URL.Path, "/models/model-1/jobs") {
					lists.Add(1)
					writeJSON(w, status, map[string]string{"detail": "not for you"})
					return
				}
				id := jobIDOf(r, "")
				mu.Lock()
				polls[id]++
				n := polls[id]
				mu.Unlock()
				st := []gen.JobStatusName{gen.JobStatusNamePending, gen.JobStatusNameRunning}
				if n > 1 {
					st = append(st, gen.JobStatusNameCompleted)
				}
				writeJSON(w, http.StatusOK, sampleJob(id, st...))
			})
			c, _ := newClient(t, srv.baseURL())
			jobs, err := c.WaitForJobs(testCtx(t), []string{"a", "b"}, facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
			require.NoError(t, err)
			require.Len(t, jobs, 2)
			for _, j := range jobs {
				require.NotNil(t, j)
				assert.Equal(t, facade.JobStatusCompleted, j.Status())
			}
			assert.EqualValues(t, 1, lists.Load(), "the list is asked once")
		})
	}
}

// TestHostileWaitForJobsWalkIsBounded: a walk that looks only for jobs of
// unknown model (the job GetJob found there is done) stops after a few
// pages, instead of going through the model's whole history for a job of
// another model; a walk bounded by a job GetJob found stops within ten
// pages of what its jobs need, however many pages of newer jobs the server
// claims; and a walk whose job has no creation time counts as unbounded.
func TestHostileWaitForJobsWalkIsBounded(t *testing.T) {
	olderJobs := func(page int) []gen.Job { // 3,000 jobs older than "new"
		items := []gen.Job{}
		for i := (page - 1) * 100; i < min(page*100, 3000); i++ {
			j := sampleJob(fmt.Sprintf("old-%d", i))
			j.Created = fixedTime.Add(-time.Duration(i+1) * time.Second)
			items = append(items, j)
		}
		return items
	}
	newerJobs := func(page int) []gen.Job { // unrelated jobs, all newer
		items := make([]gen.Job, 100)
		for i := range items {
			items[i] = sampleJob(fmt.Sprintf("newer-%d-%d", page, i))
			items[i].Created = fixedTime.Add(365 * 24 * time.Hour)
		}
		return items
	}
	cases := []struct {
		name     string
		created  time.Time // of the job "new"
		running  int       // how many GetJobs of "new" answer Running before Completed
		items    func(page int) []gen.Job
		total    int
		maxLists int32
	}{
		{"3,000 older jobs, no bound", fixedTime, 0, olderJobs, 3000, 3},
		{"10 million pages of newer jobs, a bound", fixedTime, 1, newerJobs, 1_000_000_000, 2 * 11},
		{"10 million pages, a job without a creation time", time.Time{}, 1, newerJobs, 1_000_000_000, 2 * 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lists, gets atomic.Int32
			// "new" is Running for its first tc.running GetJobs, and
			// Completed from then on, in the lists too.
			newJob := func() gen.Job {
				st := gen.JobStatusNameCompleted
				if int(gets.Load()) < tc.running {
					st = gen.JobStatusNameRunning
				}
				j := sampleJob("new", gen.JobStatusNamePending, st)
				j.Created = tc.created
				return j
			}
			srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/models/model-1/jobs"):
					if lists.Add(1) > 50 {
						writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "enough"})
						return
					}
					var page int
					_, _ = fmt.Sscan(r.URL.Query().Get("page"), &page)
					items := tc.items(page)
					if page == 1 {
						items = append([]gen.Job{newJob()}, items...)[:min(len(items)+1, 100)]
					}
					writeJSON(w, http.StatusOK, gen.PageJob{Items: items, Total: tc.total + 1, Page: page, Size: 100, Pages: (tc.total + 100) / 100})
				case strings.HasSuffix(r.URL.Path, "/models/model-2/jobs"):
					writeJSON(w, http.StatusOK, gen.PageJob{Items: []gen.Job{}, Total: 0, Page: 1, Size: 100, Pages: 0})
				case jobIDOf(r, "") == "new":
					j := newJob()
					gets.Add(1)
					writeJSON(w, http.StatusOK, j)
				default: // a job of another model
					j := sampleJob(jobIDOf(r, ""), gen.JobStatusNameCompleted)
					j.ModelID = ptr("model-2")
					writeJSON(w, http.StatusOK, j)
				}
			})
			c, ct := newClient(t, srv.baseURL())
			ct.quiet = true // the pages' totals are not what their items say
			jobs, err := c.WaitForJobs(testCtx(t), []string{"new", "k"}, facade.WaitOptions{MinInterval: time.Millisecond})
			require.NoError(t, err)
			require.Len(t, jobs, 2)
			assert.NotNil(t, jobs[0])
			assert.NotNil(t, jobs[1])
			assert.LessOrEqual(t, lists.Load(), tc.maxLists, "list requests of model-1")
			t.Logf("%d list requests of model-1", lists.Load())
		})
	}
}

// TestHostileGateOnlyForOperations: a Retry-After on a path that is no
// operation of the platform (a health check through Raw) holds that
// request only; an operation's, even through Raw, holds every request of
// the client.
func TestHostileGateOnlyForOperations(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.HasSuffix(r.URL.Path, "/health") || jobIDOf(r, "") == "throttled" {
			w.Header().Set("Retry-After", "50") // longer than testCtx's deadline
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"detail": "slow down"})
			return
		}
		writeJSON(w, http.StatusOK, sampleJob(jobIDOf(r, "job-1")))
	})
	c, err := facade.NewClient(srv.baseURL(), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()

	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, c.BaseURL()+"/health", nil)
	require.NoError(t, err)
	resp, err := c.Raw().ClientInterface.(*gen.Client).Client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	_, err = c.GetJob(testCtx(t), "job-1")
	require.NoError(t, err, "the health check's Retry-After holds no operation")

	raw, err := c.Raw().GetJobWithResponse(testCtx(t), "throttled")
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, raw.StatusCode())
	before := srv.count()
	_, err = c.GetJob(testCtx(t), "job-1")
	assert.ErrorIs(t, err, facade.ErrRateLimited, "an operation's Retry-After holds the client")
	assert.Equal(t, before, srv.count(), "nothing sent while the gate is closed")
}

// TestHostileFilePartForStrictParsers: the file part's Content-Disposition
// is written as curl, browsers and Go's CreateFormFile write it, name first
// and both quoted, which strict parsers (Prism) accept; a file name with a
// quote, a backslash or a line break stays within its header line.
func TestHostileFilePartForStrictParsers(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	_, err := c.AddJob(testCtx(t), facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]int{"n": 1}})
	require.NoError(t, err)
	body := string(srv.requests()[srv.count()-1].Body)
	assert.Contains(t, body, "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"parameters.json\"\r\n")

	if runtime.GOOS == "windows" {
		return // no such file names there
	}
	name := "we\"ird\\name\r\nX-Injected: 1.json"
	path := writeFile(t, name, `{}`)
	_, err = c.UpdateJob(testCtx(t), "job-1", facade.UpdateJobParams{Path: path})
	require.NoError(t, err)
	got := srv.requests()[srv.count()-1]
	assert.Contains(t, string(got.Body), "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"we\\\"ird\\\\name%0D%0AX-Injected: 1.json\"\r\n")
	_, params, err := mime.ParseMediaType(got.ContentType)
	require.NoError(t, err)
	mr := multipart.NewReader(bytes.NewReader(got.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		assert.Empty(t, p.Header.Get("X-Injected"), "a header smuggled in by the file name")
		if p.FormName() == "file" {
			assert.Equal(t, "we\"ird\\name%0D%0AX-Injected: 1.json", p.FileName())
		}
	}
}
