package facade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
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
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
	"github.com/istari-go/sdk/internal/leakcheck"
)

// The tests of "what is checked is what is sent": a parameters file is read
// once per attempt, exactly its size, and a pass that finds invalid JSON or
// a file of another size fails before the closing boundary, so that no
// server ever receives a complete request for it.

const paramsField = "AddJobParams.ParametersFile"

// jsonArray returns a well-formed JSON document of about size bytes, an
// array of small numbers: its digit at any even offset past the first
// bracket, replaced by 'x', makes it invalid.
func jsonArray(size int) []byte {
	n := max((size-2)/2, 1)
	b := make([]byte, 0, 2*n+1)
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '1')
	}
	return append(b, ']')
}

// uploadServer is an in-memory platform with a client that retries nothing
// and is bounded in time; both are closed, and every goroutine checked, when
// the test ends.
func uploadServer(t *testing.T, opts ...facade.Option) (*istaritest.Server, *facade.Client) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	srv := istaritest.NewServer()
	return srv, leakCheckedClient(t, srv.URL, srv.Close, ignore, append([]facade.Option{facade.WithToken(srv.Token)}, opts...)...)
}

// leakCheckedClient returns a client of the server at url that retries
// nothing. When the test ends it closes the client's idle connections, then
// the server (closeServer), and checks that no goroutine is left but those
// in ignore.
func leakCheckedClient(t *testing.T, url string, closeServer func(), ignore goleak.Option, opts ...facade.Option) *facade.Client {
	t.Helper()
	c, err := facade.NewClient(url, append([]facade.Option{facade.WithRetry(facade.NoRetry())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		c.CloseIdleConnections()
		closeServer()
		leakcheck.VerifyNone(t, ignore)
	})
	return c
}

// callCtx bounds an upload test's call: uploads of several MiB get 10 s.
func callCtx(t *testing.T) context.Context { return testCtxWithin(t, 10*time.Second) }

// assertNoScanner fails if a goroutine of an upload's JSON check is still
// running: none may outlive its call. The call waits for each worker to
// mark itself done before it returns, but the worker's exit after that may
// lag while the scheduler runs others: under -race on a loaded 2-core CI
// machine a worker stood runnable at its last line for over 200 ms. A
// worker that really outlived its call would never exit, so the check waits
// up to leakcheck.Patience, and a passing check returns as soon as the
// workers are gone.
func assertNoScanner(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(leakcheck.Patience)
	for {
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "jsonvalid.(*Pipeline).work") {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("a scanner goroutine outlived its call:\n%s", stacks)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// assertFileError checks that err is the ValidationError of a file that
// failed its pass: the field, the path and the reason.
func assertFileError(t *testing.T, err error, field, path, reason string) {
	t.Helper()
	var ve *facade.ValidationError
	require.ErrorAs(t, err, &ve, "error %v", err)
	assert.Equal(t, field, ve.Field)
	assert.Equal(t, path, ve.Value)
	assert.Contains(t, ve.Reason, reason)
	assert.ErrorIs(t, err, facade.ErrInvalidInput)
}

// progressAt returns a progress callback that runs fn once, at its k-th
// call; it is the hook the tests use to change a file at a known point of
// the upload.
func progressAt(k int, fn func()) facade.CallOption {
	calls := 0
	return facade.WithUploadProgress(func(_, _ int64) {
		if calls == k {
			fn()
		}
		calls++
	})
}

// TestUploadRewrittenToInvalidNeverBecomesJob rewrites a parameters file,
// in place and to the same size, into invalid JSON at every point of the
// upload (every progress call, at two places in the file), on the
// pipelined pass. Each call either fails with the file's ValidationError or
// creates a job whose file is the valid JSON that was read: never a job of
// invalid JSON.
func TestUploadRewrittenToInvalidNeverBecomesJob(t *testing.T) {
	srv, c := uploadServer(t)
	orig := jsonArray(320 << 10) // over one ring chunk, under istaritest.MaxKeptFileSize, so its bytes are kept
	path := writeFile(t, "p.json", string(orig))
	var failed, created int
	for _, at := range []struct {
		name string
		off  int64
	}{{"middle", int64(len(orig)/2) &^ 1}, {"end", int64(len(orig) - 2)}} {
		for k := 0; ; k++ {
			require.NoError(t, os.WriteFile(path, orig, 0o600))
			rewrite := func() {
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.WriteAt([]byte{'x'}, at.off)
				require.NoError(t, err)
				require.NoError(t, f.Close())
			}
			job, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0, progressAt(k, rewrite))
			assertNoScanner(t)
			if err != nil {
				assertFileError(t, err, paramsField, path, "is not valid JSON")
				failed++
				continue
			}
			created++
			ups := srv.Uploads(job.ID)
			require.Len(t, ups, 1)
			assert.True(t, json.Valid(ups[0].Content), "%s, rewritten at call %d: a job of invalid JSON", at.name, k)
			assert.True(t, bytes.Equal(orig, ups[0].Content), "the bytes checked are the bytes sent")
			if b, _ := os.ReadFile(path); bytes.Equal(b, orig) {
				break // the callback was never reached: every point was tried
			}
		}
	}
	assert.Len(t, srv.Jobs(), created, "only the calls that succeeded created a job")
	assert.Positive(t, failed, "some rewrites were caught")
	t.Logf("%d rewrites caught, %d made after their bytes were read (those jobs hold the valid bytes read)", failed, created)
}

// TestUploadRewrittenToInvalidLargeFile rewrites the end of a parameters
// file above the in-memory threshold into invalid JSON after a range of
// delays, through AddJob itself, against a server that accepts a request
// only when its multipart body is complete and records whether the file it
// got was valid JSON: none may be invalid.
func TestUploadRewrittenToInvalidLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 9 MiB files")
	}
	var accepted, acceptedInvalid atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		content, err := readFilePart(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		accepted.Add(1)
		if !json.Valid(content) {
			acceptedInvalid.Add(1)
		}
		writeJSON(w, http.StatusCreated, sampleJob("job-1"))
	}))
	c := leakCheckedClient(t, srv.URL, srv.Close, goleak.IgnoreCurrent())
	orig := jsonArray(facade.SmallFileMax + 1<<20)
	path := writeFile(t, "big.json", string(orig))
	var failed, ok int
	for _, delay := range []time.Duration{0, time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond} {
		require.NoError(t, os.WriteFile(path, orig, 0o600))
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(delay)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if assert.NoError(t, err) {
				_, err = f.WriteAt([]byte{'x'}, int64(len(orig)-2))
				assert.NoError(t, err)
				assert.NoError(t, f.Close())
			}
		})
		_, err := c.AddJob(callCtx(t), facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path})
		assertNoScanner(t)
		wg.Wait()
		if err != nil {
			assertFileError(t, err, paramsField, path, "is not valid JSON")
			failed++
		} else {
			ok++
		}
	}
	assert.Zero(t, acceptedInvalid.Load(), "the server received a complete request with invalid JSON")
	assert.EqualValues(t, ok, accepted.Load())
	t.Logf("%d rewrites caught, %d made after the upload; %d requests complete", failed, ok, accepted.Load())
}

// readFilePart reads a multipart request to its closing boundary and
// returns the file part; a body that ends before it is an error.
func readFilePart(r *http.Request) ([]byte, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var file []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF { // bare: the closing boundary was read
			return file, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		if p.FormName() == "file" {
			file = b
		}
	}
}

// TestUploadFileChangesSize grows and shrinks a file at every point of its
// upload, for AddJob's pipelined pass and for UpdateJob's stream. A change
// caught fails the call with an error saying the file changed size, and
// creates nothing; a change made after the file was read leaves the job
// with the bytes read.
func TestUploadFileChangesSize(t *testing.T) {
	srv, c := uploadServer(t)
	orig := jsonArray(300 << 10)
	base, err := c.AddJob(callCtx(t), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err)
	changes := []struct {
		name   string
		change func(*os.File) error
	}{
		{"grows", func(f *os.File) error { _, err := f.WriteAt([]byte("  "), int64(len(orig))); return err }},
		{"shrinks", func(f *os.File) error { return f.Truncate(int64(len(orig)) / 3) }},
		{"is emptied", func(f *os.File) error { return f.Truncate(0) }},
	}
	ops := []struct {
		name, field string
		call        func(path string, opt facade.CallOption) (string, error)
	}{
		{"AddJob", paramsField, func(path string, opt facade.CallOption) (string, error) {
			job, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0, opt)
			if err != nil {
				return "", err
			}
			return job.ID, nil
		}},
		{"UpdateJob", "UpdateJobParams.Path", func(path string, opt facade.CallOption) (string, error) {
			job, err := c.UpdateJob(callCtx(t), base.ID, facade.UpdateJobParams{Path: path}, opt)
			if err != nil {
				return "", err
			}
			return job.ID, nil
		}},
	}
	for _, op := range ops {
		for _, ch := range changes {
			t.Run(op.name+"/"+ch.name, func(t *testing.T) {
				path := writeFile(t, "p.json", string(orig))
				jobsBefore, uploadsBefore := len(srv.Jobs()), len(srv.Uploads(base.ID))
				var failed, ok int
				for k := 0; ; k++ {
					require.NoError(t, os.WriteFile(path, orig, 0o600))
					reached := false
					id, err := op.call(path, progressAt(k, func() {
						reached = true
						f, err := os.OpenFile(path, os.O_WRONLY, 0)
						require.NoError(t, err)
						require.NoError(t, ch.change(f))
						require.NoError(t, f.Close())
					}))
					assertNoScanner(t)
					if err != nil {
						assertFileError(t, err, op.field, path, "changed size while being uploaded")
						assert.ErrorIs(t, err, facade.ErrInvalidInput)
						failed++
					} else {
						ok++
						ups := srv.Uploads(id)
						assert.True(t, bytes.Equal(orig, ups[len(ups)-1].Content), "the job holds the bytes read")
					}
					if !reached {
						break
					}
				}
				assert.Positive(t, failed, "some changes were caught")
				if op.name == "AddJob" {
					assert.Equal(t, jobsBefore+ok, len(srv.Jobs()), "a caught change created no job")
				} else {
					assert.Equal(t, uploadsBefore+ok, len(srv.Uploads(base.ID)), "a caught change added no revision")
				}
				t.Logf("%d changes caught, %d made after the file was read", failed, ok)
			})
		}
	}
}

// TestUploadProcStatus uploads /proc/self/status, which Stat reports as 0
// bytes but which has content: AddJob refuses it (it is not JSON) without
// a request, and UpdateJob sends it whole.
func TestUploadProcStatus(t *testing.T) {
	const path = "/proc/self/status"
	if _, err := os.Stat(path); err != nil {
		t.Skip("no /proc on this system")
	}
	srv, c := uploadServer(t)
	_, err := c.AddJob(callCtx(t), facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path})
	assertFileError(t, err, paramsField, path, "is not valid JSON: line 1, column 1")
	assert.Zero(t, srv.Requests().ByOperation[istaritest.OpAddJob], "nothing was sent")

	job, err := c.AddJob(callCtx(t), facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err)
	_, err = c.UpdateJob(callCtx(t), job.ID, facade.UpdateJobParams{Path: path})
	require.NoError(t, err)
	ups := srv.Uploads(job.ID)
	require.Len(t, ups, 2)
	got := ups[1]
	assert.True(t, strings.HasPrefix(string(got.Content), "Name:"), "content %q", got.Content)
	assert.True(t, strings.HasSuffix(string(got.Content), "\n"), "the whole file")
	assert.Contains(t, string(got.Content), "voluntary_ctxt_switches", "the whole file")
	assert.EqualValues(t, len(got.Content), got.Size)
}

// TestUploadInvalidSmallFileSendsNothing checks that a parameters file up to
// the in-memory threshold is checked whole before anything is sent: an
// invalid one, even with its error in its last byte, sends no request.
func TestUploadInvalidSmallFileSendsNothing(t *testing.T) {
	srv, c := uploadServer(t)
	for _, size := range []int{16, facade.SmallFileMax} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := jsonArray(size)
			for len(b) < size {
				b = append(b, ' ') // exactly size bytes
			}
			b[len(b)-1] = 'x'
			path := writeFile(t, "p.json", string(b))
			_, err := c.AddJob(callCtx(t), facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path})
			assertFileError(t, err, paramsField, path, "is not valid JSON: line 1, column "+fmt.Sprint(size))
		})
	}
	assert.Zero(t, srv.Requests().Total, "no request was sent")
}

// TestUploadPipelinedFailureNeverCompletes checks a large invalid file on
// the wire: the server receives the body up to the error at most, never its
// closing boundary, and the caller gets the file's ValidationError, not a
// transport error.
func TestUploadPipelinedFailureNeverCompletes(t *testing.T) {
	type got struct {
		body []byte
		err  error
	}
	received := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		received <- got{b, err}
		writeJSON(w, http.StatusCreated, sampleJob("job-1"))
	}))
	c := leakCheckedClient(t, srv.URL, srv.Close, goleak.IgnoreCurrent())
	orig := jsonArray(3 << 20)
	for _, at := range []int{1, len(orig) / 2, len(orig) - 1} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			b := bytes.Clone(orig)
			b[at] = '}'
			path := writeFile(t, "p.json", string(b))
			_, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0)
			assertNoScanner(t)
			assertFileError(t, err, paramsField, path, fmt.Sprintf("is not valid JSON: line 1, column %d", at+1))
			select {
			case g := <-received:
				assert.Error(t, g.err, "the server's read of the body failed")
				// The body may hold the whole file (the scanner can be up to
				// its ring behind the send), but never the closing boundary.
				assert.False(t, bytes.HasSuffix(g.body, []byte("--\r\n")), "the closing boundary was never sent")
			case <-time.After(5 * time.Second):
				// The request never reached the handler: nothing was
				// received at all, which is as safe.
			}
		})
	}
}

// TestUploadProgressOneAtATime retries an upload whose first attempt is
// answered 503 with Retry-After before its body is read, so that the two
// attempts' body writers may overlap, with a slow progress callback: the
// callback is never called concurrently (the race detector watches its
// unsynchronized state) nor after the call returns, and the last attempt's
// report runs from its start to the whole body.
func TestUploadProgressOneAtATime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		smallMax int64
	}{{"pipelined", 1 << 20, 0}, {"in memory", 1 << 20, facade.SmallFileMax}, {"small", 100, facade.SmallFileMax}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := uploadServer(t, facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond}))
			srv.FailOperation(istaritest.OpAddJob, 1, http.StatusServiceUnavailable, time.Second)
			path := writeFile(t, "p.json", string(jsonArray(tc.size)))
			var (
				sent     []int64 // written by the callback only, without a lock
				total    int64
				returned atomic.Bool
				late     atomic.Int64
			)
			_, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, tc.smallMax,
				facade.WithUploadProgress(func(s, tot int64) {
					if returned.Load() {
						late.Add(1)
					}
					sent = append(sent, s)
					total = tot
					time.Sleep(20 * time.Microsecond)
				}))
			returned.Store(true)
			require.NoError(t, err)
			assertNoScanner(t)
			time.Sleep(20 * time.Millisecond)
			assert.Zero(t, late.Load(), "the callback ran after the call returned")
			assert.Equal(t, 2, srv.Requests().ByOperation[istaritest.OpAddJob], "the first attempt was retried")
			require.NotEmpty(t, sent)
			last := 0 // where the last attempt's report starts
			for i := 1; i < len(sent); i++ {
				if sent[i] < sent[i-1] {
					last = i
				}
			}
			assert.Equal(t, total, sent[len(sent)-1], "the whole body was reported")
			assert.LessOrEqual(t, sent[last], int64(64<<10), "a retry's report starts again from 0")
		})
	}
}

// TestUploadRetryRescans rewrites the file into invalid JSON between two
// attempts: the second attempt checks what it sends again, and fails.
func TestUploadRetryRescans(t *testing.T) {
	for _, smallMax := range []int64{0, facade.SmallFileMax} {
		t.Run(fmt.Sprint(smallMax), func(t *testing.T) {
			attempts := 0
			var path string
			orig := jsonArray(1 << 20)
			srv, c := uploadServer(t,
				facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond}),
				facade.WithRequestEditor(func(_ context.Context, _ *http.Request) error {
					if attempts++; attempts == 2 {
						b := bytes.Clone(orig)
						b[len(b)/2&^1+1] = 'x'
						return os.WriteFile(path, b, 0o600)
					}
					return nil
				}))
			srv.FailOperation(istaritest.OpAddJob, 1, http.StatusServiceUnavailable, time.Second)
			path = writeFile(t, "p.json", string(orig))
			_, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, smallMax)
			if smallMax == 0 {
				assertFileError(t, err, paramsField, path, "is not valid JSON")
				assert.Empty(t, srv.Jobs())
				return
			}
			// A file read whole is sent from memory on every attempt: the
			// bytes checked once are the bytes sent each time.
			require.NoError(t, err)
			jobs := srv.Jobs()
			require.Len(t, jobs, 1)
			assert.True(t, bytes.Equal(orig, srv.Uploads(jobs[0].ID)[0].Content), "the bytes checked are the bytes sent")
		})
	}
}

// TestUploadRetryFileGone removes the file between two attempts: the retry
// reads the file the call opened, which its removal does not take away, so
// the job gets the file as it was when the call began.
func TestUploadRetryFileGone(t *testing.T) {
	var path string
	attempts := 0
	srv, c := uploadServer(t,
		facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond}),
		facade.WithRequestEditor(func(_ context.Context, _ *http.Request) error {
			if attempts++; attempts == 1 {
				return os.Remove(path)
			}
			return nil
		}))
	srv.FailOperation(istaritest.OpAddJob, 1, http.StatusServiceUnavailable, time.Second)
	orig := jsonArray(1 << 20)
	path = writeFile(t, "p.json", string(orig))
	_, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0)
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	assert.NoFileExists(t, path)
	jobs := srv.Jobs()
	require.Len(t, jobs, 1)
	assert.True(t, bytes.Equal(orig, srv.Uploads(jobs[0].ID)[0].Content), "the file the call opened")
}

// TestUploadEarlyAnswerIsAnError checks a server that answers 201 as soon as
// it has the headers, without reading the body: it cannot have the file it
// says it made a job of, so AddJob returns a DecodeError that says so (and
// names the job, when the answer is one), never the job as if the upload had
// succeeded. That holds for a valid file and for one whose error comes late
// in it.
func TestUploadEarlyAnswerIsAnError(t *testing.T) {
	// Larger than what loopback's socket buffers take before the answer.
	orig := jsonArray(16 << 20)
	bad := bytes.Clone(orig)
	bad[len(bad)-2] = '}'
	for _, answer := range []struct {
		name string
		body any
		job  string // what the error says of the job
	}{{"a job", sampleJob("job-1"), "it reports job job-1"}, {"not a job", []int{}, ""}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusCreated, answer.body)
		}))
		c := leakCheckedClient(t, srv.URL, srv.Close, goleak.IgnoreCurrent())
		for name, content := range map[string][]byte{"valid": orig, "invalid at its end": bad} {
			t.Run(answer.name+"/"+name, func(t *testing.T) {
				path := writeFile(t, "p.json", string(content))
				job, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0)
				assert.Nil(t, job)
				var de *facade.DecodeError
				require.ErrorAs(t, err, &de)
				assert.Equal(t, http.StatusCreated, de.StatusCode)
				assert.Contains(t, de.Reason, "before it had the whole file")
				if answer.job != "" {
					assert.Contains(t, de.Reason, answer.job)
				} else {
					assert.NotContains(t, de.Reason, "reports job")
				}
				assertNoScanner(t)
			})
		}
	}
}

// TestUploadEarlyErrorAnswerIsAnAPIError checks that an error answer sent
// before the body was read, as a server refusing the token does, is the
// APIError it is, not taken for an incomplete upload.
func TestUploadEarlyErrorAnswerIsAnAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "bad token"})
	}))
	c := leakCheckedClient(t, srv.URL, srv.Close, goleak.IgnoreCurrent())
	path := writeFile(t, "p.json", string(jsonArray(16<<20)))
	_, err := facade.AddJobWithSmallMax(callCtx(t), c, facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path}, 0)
	var ae *facade.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.StatusCode)
	assert.ErrorIs(t, err, facade.ErrUnauthorized)
	assertNoScanner(t)
}

// TestUploadCutInClosingBoundaryIsRefused: the facade's own upload body,
// cut inside its closing boundary on the way to the in-memory platform
// (with a Content-Length that matches the cut), is refused with a 422 that
// matches ErrBadRequest, and creates no job or revision. (istaritest's
// TestTruncatedMultipartChangesNothing sends hand-built bodies; this one
// cuts what AddJob and UpdateJob send.)
func TestUploadCutInClosingBoundaryIsRefused(t *testing.T) {
	ctx := testCtx(t)
	srv := istaritest.NewServer()
	defer srv.Close()
	plain := newSweepClient(t, srv.URL, srv.Token)
	existing, err := plain.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "new.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"k":1}`), 0o600))

	// The closing boundary is "\r\n--" + boundary + "--\r\n"; each cut drops
	// the end of it.
	for name, drop := range map[string]func(boundary string) int{
		"without the final dashes": func(string) int { return 4 },
		"with one final dash":      func(string) int { return 3 },
		"in the boundary":          func(b string) int { return 4 + len(b)/2 },
	} {
		t.Run(name, func(t *testing.T) {
			cutter := &cutTransport{base: http.DefaultTransport, drop: drop}
			c := newSweepClient(t, srv.URL, srv.Token, facade.WithHTTPClient(&http.Client{Transport: cutter}), facade.WithRetry(facade.NoRetry()))
			before := len(srv.Jobs())
			_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]any{"k": 1}})
			var ae *facade.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
			assert.ErrorIs(t, err, facade.ErrBadRequest)
			assert.Len(t, srv.Jobs(), before, "no job was created")

			_, err = c.UpdateJob(ctx, existing.ID, facade.UpdateJobParams{Path: file})
			require.ErrorIs(t, err, facade.ErrBadRequest)
			job, _ := srv.Job(existing.ID)
			assert.Len(t, job.File.Revisions, 1, "no revision was added")
			assert.Equal(t, int32(2), cutter.cut.Load(), "both bodies were cut")
		})
	}
}

// cutTransport sends each multipart request with the end of its body
// dropped (drop bytes, given the boundary) and a Content-Length to match.
type cutTransport struct {
	base http.RoundTripper
	drop func(boundary string) int
	cut  atomic.Int32
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return c.base.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	closing := "\r\n--" + params["boundary"] + "--\r\n"
	if !strings.HasSuffix(string(body), closing) {
		return nil, fmt.Errorf("the body does not end with its closing boundary")
	}
	body = body[:len(body)-c.drop(params["boundary"])]
	c.cut.Add(1)
	cut := r.Clone(r.Context())
	cut.Body, cut.ContentLength, cut.GetBody = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	return c.base.RoundTrip(cut)
}
