package facade_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// idPlatform is an in-memory platform behind a front that gives every
// answer its own X-Request-Id ("req-N", in the order the requests
// arrive) and remembers which page each list request asked for.
type idPlatform struct {
	*istaritest.Platform
	URL string

	n      atomic.Int64
	mu     sync.Mutex
	pageOf map[string]int // request id -> page asked for
	last   string         // the id of the last request that arrived
}

func newIDPlatform(t *testing.T) *idPlatform {
	t.Helper()
	ip := &idPlatform{Platform: istaritest.New(), pageOf: map[string]int{}}
	h := ip.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req-" + strconv.FormatInt(ip.n.Add(1), 10)
		w.Header().Set("X-Request-Id", id)
		ip.mu.Lock()
		ip.last = id
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/jobs") {
			ip.pageOf[id], _ = strconv.Atoi(r.URL.Query().Get("page"))
		}
		ip.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ip.URL = srv.URL
	return ip
}

func (ip *idPlatform) page(requestID string) int {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return ip.pageOf[requestID]
}

func (ip *idPlatform) lastRequest() string {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return ip.last
}

// callOptions are every CallOption of the facade, by the name of the
// function that makes it; TestEveryCallOptionIsTested keeps the list whole.
func callOptions(info *facade.ResponseInfo, progress *atomic.Int64) map[string]facade.CallOption {
	return map[string]facade.CallOption{
		"WithRequestTimeout": facade.WithRequestTimeout(time.Minute),
		"WithResponseInfo":   facade.WithResponseInfo(info),
		"WithUploadProgress": facade.WithUploadProgress(func(int64, int64) { progress.Add(1) }),
	}
}

// TestEveryCallOptionIsTested: every exported function of the package
// that returns a CallOption is in callOptions, so that a new option cannot
// skip TestCallOptionsOfManyRequestMethods.
func TestEveryCallOptionIsTested(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var found []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
				continue
			}
			if id, ok := fn.Type.Results.List[0].Type.(*ast.Ident); ok && id.Name == "CallOption" {
				found = append(found, fn.Name.Name)
			}
		}
	}
	var listed []string
	for name := range callOptions(nil, nil) {
		listed = append(listed, name)
	}
	slices.Sort(found)
	slices.Sort(listed)
	assert.Equal(t, found, listed, "callOptions must list every CallOption of the facade")
}

// TestCallOptionsOfManyRequestMethods passes every CallOption to every
// method that makes more than one request, under -race, with their
// requests running concurrently where the method runs them so. An option
// is either refused with a ValidationError that names it, before anything
// is sent, or does what CallOption's doc says for that method.
func TestCallOptionsOfManyRequestMethods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	ip := newIDPlatform(t)
	setup := newSweepClient(t, ip.URL, istaritest.DefaultToken)
	var ids []string
	for _, r := range setup.AddJobs(ctx, sweep(10), facade.BatchOptions{}) {
		require.NoError(t, r.Err)
		_, err := setup.UpdateJobStatus(ctx, r.Job.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted})
		require.NoError(t, err)
		ids = append(ids, r.Job.ID)
	}
	fast := facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: time.Millisecond, Retryable: func(error) bool { return true }}
	c := newSweepClient(t, ip.URL, istaritest.DefaultToken, facade.WithPrefetch(4))

	// The iterators walk the 10 completed jobs, 2 a page; the batches add
	// jobs that stay Pending.
	//
	// Each method returns the error it ended with and, for the iterators,
	// checks in its loop that the info describes the page of each job.
	methods := map[string]func(t *testing.T, info *facade.ResponseInfo, opt facade.CallOption) error{
		"AddJobs": func(t *testing.T, _ *facade.ResponseInfo, opt facade.CallOption) error {
			res := c.AddJobs(ctx, sweep(16), facade.BatchOptions{Concurrency: 8}, opt)
			var errs []error
			for _, r := range res {
				errs = append(errs, r.Err)
			}
			return errors.Join(errs...)
		},
		"AllJobs": func(t *testing.T, info *facade.ResponseInfo, opt facade.CallOption) error {
			return walk(t, ip, info, c.AllJobs(ctx, facade.ListJobsParams{ModelID: "model-1", Status: facade.JobStatusCompleted, Size: 2}, opt))
		},
		"AllModelJobs": func(t *testing.T, info *facade.ResponseInfo, opt facade.CallOption) error {
			return walk(t, ip, info, c.AllModelJobs(ctx, "model-1", facade.ListModelJobsParams{Status: facade.JobStatusCompleted, Size: 2}, opt))
		},
		"WaitForJob": func(t *testing.T, _ *facade.ResponseInfo, opt facade.CallOption) error {
			// The first poll fails and is waited out, so the info has a
			// first answer to be overwritten by the last.
			ip.FailOperation(istaritest.OpGetJob, 1, http.StatusInternalServerError, 0)
			defer ip.ClearFaults()
			_, err := c.WaitForJob(ctx, ids[0], fast, opt)
			return err
		},
		"WaitForJobs": func(t *testing.T, _ *facade.ResponseInfo, opt facade.CallOption) error {
			ip.FailOperation(istaritest.OpListModelJobs, 1, http.StatusInternalServerError, 0)
			defer ip.ClearFaults()
			_, err := c.WaitForJobs(ctx, ids, fast, opt)
			return err
		},
		"RunJob": func(t *testing.T, _ *facade.ResponseInfo, opt facade.CallOption) error {
			// A stand-in agent completes the jobs of run-model while
			// RunJob waits.
			actx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { completeJobs(actx, setup, "run-model") })
			defer func() { stop(); wg.Wait() }()
			_, err := c.RunJob(ctx, facade.AddJobParams{ModelID: "run-model", Function: "f", Parameters: map[string]any{"k": 1}}, fast, opt)
			return err
		},
	}
	// refused[method] lists the options the method refuses; the others it
	// takes.
	refused := map[string][]string{
		"AddJobs":      {"WithResponseInfo", "WithUploadProgress"},
		"AllJobs":      {"WithUploadProgress"},
		"AllModelJobs": {"WithUploadProgress"},
		"WaitForJob":   {"WithUploadProgress"},
		"WaitForJobs":  {"WithUploadProgress"},
		"RunJob":       {},
	}
	for method, call := range methods {
		for name := range callOptions(nil, nil) {
			t.Run(method+"/"+name, func(t *testing.T) {
				var info facade.ResponseInfo
				var progress atomic.Int64
				opt := callOptions(&info, &progress)[name]
				before := ip.Requests().Total
				err := call(t, &info, opt)
				if slices.Contains(refused[method], name) {
					var ve *facade.ValidationError
					require.ErrorAs(t, err, &ve)
					assert.Equal(t, name, ve.Field)
					assert.Equal(t, before, ip.Requests().Total, "nothing is sent")
					assert.Zero(t, info, "a refused call fills no info")
					assert.Zero(t, progress.Load())
					return
				}
				require.NoError(t, err)
				assert.Greater(t, ip.Requests().Total, before+1, "the method made more than one request")
				if name == "WithUploadProgress" {
					assert.Positive(t, progress.Load(), "RunJob reports its upload")
				}
				if name != "WithResponseInfo" {
					return
				}
				assert.Equal(t, http.StatusOK, info.StatusCode)
				switch method {
				case "AllJobs", "AllModelJobs":
					assert.Equal(t, 5, ip.page(info.RequestID), "after the loop, the info is the last page's")
				case "RunJob":
					// The stand-in agent's requests interleave: the info is a
					// poll's, the last kind of request RunJob makes.
				default:
					assert.Equal(t, ip.lastRequest(), info.RequestID, "the info is the last request's")
				}
				want := map[string][]facade.Operation{
					"AllJobs": {facade.OpListJobs}, "AllModelJobs": {facade.OpListModelJobs}, "WaitForJob": {facade.OpGetJob},
					"WaitForJobs": {facade.OpGetJob, facade.OpListModelJobs}, "RunJob": {facade.OpGetJob},
				}[method]
				assert.Contains(t, want, info.Operation)
			})
		}
	}
}

// completeJobs completes every Pending job of model until ctx ends, as an
// agent would.
func completeJobs(ctx context.Context, c *facade.Client, model string) {
	for ctx.Err() == nil {
		page, err := c.ListModelJobs(ctx, model, facade.ListModelJobsParams{Status: facade.JobStatusPending})
		if err == nil {
			for _, j := range page.Items {
				_, _ = c.UpdateJobStatus(ctx, j.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted})
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Millisecond):
		}
	}
}

// walk runs an iterator to its end and checks, for each job, that info
// describes the answer of the page the job came from: page p of size 2
// holds the jobs numbered 2(p-1) and 2(p-1)+1.
func walk(t *testing.T, ip *idPlatform, info *facade.ResponseInfo, seq func(func(*facade.Job, error) bool)) error {
	n := 0
	for _, err := range seq {
		if err != nil {
			return err
		}
		if info.RequestID != "" { // WithResponseInfo is the option under test
			assert.Equal(t, n/2+1, ip.page(info.RequestID), "job %d: the info is its page's", n)
		}
		n++
	}
	assert.Equal(t, 10, n)
	return nil
}

// TestAddJobsPerJobInfoAndProgress: each JobResult carries the answer to
// its own AddJob, and OnUploadProgress reports every upload with its
// input's index, its calls never overlapping one another or OnResult's.
func TestAddJobsPerJobInfoAndProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	ip := newIDPlatform(t)
	c := newSweepClient(t, ip.URL, istaritest.DefaultToken)

	const n = 24
	var (
		inside  atomic.Int32 // callbacks running now
		overlap atomic.Bool
		mu      sync.Mutex // only for the maps; the batch must not need it
		final   = map[int]int64{}
		totals  = map[int]int64{}
	)
	enter := func() {
		if inside.Add(1) > 1 {
			overlap.Store(true)
		}
		time.Sleep(100 * time.Microsecond) // widen the window for an overlap
	}
	leave := func() { inside.Add(-1) }
	res := c.AddJobs(ctx, sweep(n), facade.BatchOptions{
		Concurrency: 8,
		OnUploadProgress: func(i int, sent, total int64) {
			enter()
			defer leave()
			mu.Lock()
			defer mu.Unlock()
			final[i], totals[i] = sent, total
		},
		OnResult: func(int, facade.JobResult) {
			enter()
			defer leave()
		},
	})
	assert.False(t, overlap.Load(), "callbacks of the batch overlapped")
	seen := map[string]bool{}
	for i, r := range res {
		require.NoError(t, r.Err, "input %d", i)
		assert.Equal(t, facade.OpAddJob, r.Info.Operation, "input %d", i)
		assert.Equal(t, http.StatusCreated, r.Info.StatusCode, "input %d", i)
		assert.Equal(t, 1, r.Info.Attempts, "input %d", i)
		assert.False(t, seen[r.Info.RequestID], "input %d shares its info with another", i)
		seen[r.Info.RequestID] = true
		_, held := ip.Job(r.Job.ID)
		assert.True(t, held, "input %d", i)
		require.Contains(t, final, i, "input %d reported no progress", i)
		assert.Equal(t, totals[i], final[i], "input %d: the last report is the whole body", i)
		assert.Positive(t, totals[i], "input %d", i)
	}
	assert.Len(t, final, n)

	// A negative concurrency is refused in every result, with nothing sent.
	before := ip.Requests().Total
	called := 0
	res = c.AddJobs(ctx, sweep(3), facade.BatchOptions{Concurrency: -1, OnResult: func(int, facade.JobResult) { called++ }})
	for _, r := range res {
		var ve *facade.ValidationError
		require.ErrorAs(t, r.Err, &ve)
		assert.Equal(t, "BatchOptions.Concurrency", ve.Field)
	}
	assert.Equal(t, 3, called, "OnResult is called for every input")
	assert.Equal(t, before, ip.Requests().Total)
}

// TestSingleCallRefusesUploadProgress: a method that uploads nothing
// refuses WithUploadProgress before sending, as the many-request methods
// do; AddJob and UpdateJob take it.
func TestSingleCallRefusesUploadProgress(t *testing.T) {
	ctx := testCtx(t)
	srv := istaritest.NewServer()
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)
	var calls atomic.Int64
	progress := facade.WithUploadProgress(func(int64, int64) { calls.Add(1) })
	job, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f"}, progress)
	require.NoError(t, err)
	assert.Positive(t, calls.Load())
	before := srv.Requests().Total
	for name, call := range map[string]func() error{
		"GetJob":        func() error { _, err := c.GetJob(ctx, job.ID, progress); return err },
		"ListJobs":      func() error { _, err := c.ListJobs(ctx, facade.ListJobsParams{}, progress); return err },
		"ListModelJobs": func() error { _, err := c.ListModelJobs(ctx, "m", facade.ListModelJobsParams{}, progress); return err },
		"UpdateJobStatus": func() error {
			_, err := c.UpdateJobStatus(ctx, job.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusRunning}, progress)
			return err
		},
		"UpdateJobAssignedAgent": func() error {
			_, err := c.UpdateJobAssignedAgent(ctx, job.ID, facade.AssignedAgent{AgentID: "a"}, progress)
			return err
		},
		"RemoveJobAssignedAgent": func() error { _, err := c.RemoveJobAssignedAgent(ctx, job.ID, progress); return err },
		"ArchiveJob":             func() error { _, err := c.ArchiveJob(ctx, job.ID, facade.ArchiveJobParams{}, progress); return err },
		"RestoreJob":             func() error { _, err := c.RestoreJob(ctx, job.ID, facade.RestoreJobParams{}, progress); return err },
		"ClaimJob": func() error {
			_, err := c.ClaimJob(ctx, job.ID, facade.ClaimJobParams{AgentID: "a"}, progress)
			return err
		},
		"OpenJobFile": func() error {
			f, err := c.OpenJobFile(ctx, job.ID, progress)
			if err == nil {
				_ = f.Close()
			}
			return err
		},
	} {
		err := call()
		var ve *facade.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.Equal(t, "WithUploadProgress", ve.Field, name)
		assert.Contains(t, ve.Error(), fmt.Sprintf("%s uploads no file", name))
	}
	assert.Equal(t, before, srv.Requests().Total, "nothing is sent")
}
