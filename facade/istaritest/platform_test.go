package istaritest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/spec"
)

// oneOfEach returns one valid request of each operation on job id.
func oneOfEach(id string) map[Operation]req {
	return map[Operation]req{
		OpAddJob:                 formReq(http.MethodPost, "/models/m/jobs", file("p.json", "application/json", "{}"), part{name: "function", value: "f"}),
		OpListJobs:               get("/jobs"),
		OpListModelJobs:          get("/models/m/jobs"),
		OpGetJob:                 get("/jobs/" + id),
		OpUpdateJob:              formReq(http.MethodPut, "/jobs/"+id, file("p.json", "application/json", "{}")),
		OpUpdateJobStatus:        {method: http.MethodPatch, path: "/jobs/" + id + "/status?status_name=Running"},
		OpUpdateJobAssignedAgent: jsonReq(http.MethodPut, "/jobs/"+id+"/assigned-agent", gen.NewJobAssignedAgent{AgentID: ptr("a")}),
		OpRemoveJobAssignedAgent: {method: http.MethodDelete, path: "/jobs/" + id + "/assigned-agent"},
		OpArchiveJob:             {method: http.MethodPatch, path: "/jobs/" + id + "/archive"},
		OpRestoreJob:             {method: http.MethodPatch, path: "/jobs/" + id + "/restore"},
		OpOpenJobFile:            get("/jobs/" + id + "/file"),
	}
}

func TestEveryOperationNeedsAToken(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	for op, rq := range oneOfEach(j.ID) {
		t.Run(string(op), func(t *testing.T) {
			for _, token := range []string{"-", "unknown"} {
				res := srv.send(rq.as(token))
				assert.Equal(t, http.StatusUnauthorized, res.status, "body %s", res.body)
				assert.NotEmpty(t, res.detail(t))
			}
		})
	}
	assert.Equal(t, []gen.Job{j}, wires(srv.Jobs()), "nothing changed")
}

func TestEveryOperationHappyPath(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	// Archive before restore, so both succeed.
	order := []Operation{OpAddJob, OpListJobs, OpListModelJobs, OpGetJob, OpUpdateJob, OpUpdateJobStatus,
		OpUpdateJobAssignedAgent, OpRemoveJobAssignedAgent, OpArchiveJob, OpRestoreJob, OpOpenJobFile}
	require.ElementsMatch(t, Operations(), order, "one constant per operation")
	reqs := oneOfEach(j.ID)
	for _, op := range order {
		res := srv.send(reqs[op])
		assert.Less(t, res.status, 300, "%s: body %s", op, res.body)
	}
	counts := srv.Requests()
	assert.Equal(t, 12, counts.Total)
	assert.Equal(t, 2, counts.ByOperation[OpAddJob])
	for _, op := range order[1:] {
		assert.Equal(t, 1, counts.ByOperation[op], op)
	}
}

func TestUnknownRoutes(t *testing.T) {
	require.Equal(t, spec.BasePath, BasePath)
	srv := newServer(t)
	cases := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope", 404},
		{http.MethodGet, "/jobs/a/b/c", 404},
		{http.MethodGet, "/models/m", 404},
		{http.MethodPost, "/jobs", 405},
		{http.MethodDelete, "/jobs/x", 405},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := srv.send(req{method: tc.method, path: tc.path})
			assert.Equal(t, tc.status, res.status)
			assert.NotEmpty(t, res.detail(t))
		})
	}
	// Outside the /api/v2 prefix.
	res, err := http.Get(srv.URL + "/jobs")
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, 404, res.StatusCode)
	assert.Equal(t, 6, srv.Requests().Total)
	assert.Empty(t, srv.Requests().ByOperation)
}

func TestFaults(t *testing.T) {
	t.Run("FailNext", func(t *testing.T) {
		srv := newServer(t)
		srv.FailNext(2, http.StatusServiceUnavailable, 1500*time.Millisecond)
		for i := range 2 {
			res := srv.send(formReq(http.MethodPost, "/models/m/jobs", file("p.json", "", "{}"), part{name: "function", value: "f"}))
			require.Equal(t, 503, res.status, "request %d", i)
			assert.Equal(t, "2", res.header.Get("Retry-After"))
			assert.Contains(t, res.detail(t), "503")
		}
		assert.Empty(t, srv.Jobs(), "a failed request changes nothing")
		assert.Equal(t, 200, srv.send(get("/jobs")).status)
		srv.addJob("m")
		assert.Len(t, srv.Jobs(), 1)
		assert.Equal(t, 3, srv.Requests().ByOperation[OpAddJob], "failed requests are counted")
	})
	t.Run("FailOperation", func(t *testing.T) {
		srv := newServer(t)
		j := srv.addJob("m")
		srv.FailOperation(OpArchiveJob, 1, http.StatusTooManyRequests, 3*time.Second)
		assert.Equal(t, 200, srv.send(get("/jobs/"+j.ID)).status, "other operations pass")
		res := srv.send(req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/archive"})
		assert.Equal(t, 429, res.status)
		assert.Equal(t, "3", res.header.Get("Retry-After"))
		got, _ := srv.Job(j.ID)
		assert.False(t, archived(got), "state unchanged")
		assert.Equal(t, 200, srv.send(req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/archive"}).status)
	})
	t.Run("WithFault option, no Retry-After, custom detail", func(t *testing.T) {
		srv := newServer(t, WithFault(Fault{Operation: OpGetJob, Count: 1, Status: 502, Detail: "bad gateway"}))
		res := srv.send(get("/jobs/x"))
		assert.Equal(t, 502, res.status)
		assert.Empty(t, res.header.Get("Retry-After"))
		assert.Equal(t, "bad gateway", res.detail(t))
		assert.Equal(t, 404, srv.send(get("/jobs/x")).status)
	})
	t.Run("faults apply before auth, in order", func(t *testing.T) {
		srv := newServer(t)
		srv.InjectFault(Fault{Count: 1, Status: 500})
		srv.InjectFault(Fault{Count: 1, Status: 503})
		assert.Equal(t, 500, srv.send(get("/jobs").as("-")).status)
		assert.Equal(t, 503, srv.send(get("/jobs")).status)
		assert.Equal(t, 200, srv.send(get("/jobs")).status)
	})
	t.Run("odd statuses", func(t *testing.T) {
		srv := newServer(t)
		srv.FailNext(1, 200, 0)
		assert.Equal(t, 500, srv.send(get("/jobs")).status, "a non-error status means 500")
		srv.FailNext(1, 422, 0)
		res := srv.send(get("/jobs"))
		assert.Equal(t, 422, res.status)
		assert.NotEmpty(t, res.locs(t), "a 422 fault keeps the validation-error shape")
		srv.FailOperation(OpGetJob, 1, 409, 0)
		assert.Equal(t, 409, srv.send(get("/jobs/x")).status)
		srv.FailNext(0, 500, 0)
		assert.Equal(t, 200, srv.send(get("/jobs")).status, "a fault of 0 requests fails none")
	})
	t.Run("ClearFaults", func(t *testing.T) {
		srv := newServer(t)
		srv.FailNext(5, 500, 0)
		srv.ClearFaults()
		assert.Equal(t, 200, srv.send(get("/jobs")).status)
	})
	t.Run("unknown routes are never failed", func(t *testing.T) {
		srv := newServer(t)
		srv.FailNext(1, 500, 0)
		assert.Equal(t, 404, srv.send(get("/nope")).status)
		assert.Equal(t, 500, srv.send(get("/jobs")).status)
	})
}

func TestLatency(t *testing.T) {
	const d = 400 * time.Millisecond
	srv := newServer(t, WithLatency(d))
	start := time.Now()
	j := srv.addJob("m")
	assert.GreaterOrEqual(t, time.Since(start), d)

	// A request whose context ends while it waits changes nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := srv.do(ctx, req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/archive"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), d)

	srv.SetLatency(0)
	start = time.Now()
	assert.Equal(t, 200, srv.send(get("/jobs/"+j.ID)).status)
	assert.Less(t, time.Since(start), d)
	// The abandoned request has ended by now (its handler saw the
	// cancellation); the job was not archived.
	require.Eventually(t, func() bool { return srv.Requests().ByOperation[OpArchiveJob] == 1 }, time.Second, time.Millisecond)
	got, _ := srv.Job(j.ID)
	assert.False(t, archived(got))
}

func TestConcurrentUse(t *testing.T) {
	srv := newServer(t)
	const n = 100
	var wg sync.WaitGroup
	var failures atomic.Int64
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			check := func(res response, err error, want int) bool {
				if err != nil || res.status != want {
					failures.Add(1)
					return false
				}
				return true
			}
			res, err := srv.do(context.Background(), formReq(http.MethodPost, "/models/m/jobs",
				file("p.json", "application/json", fmt.Sprintf(`{"i":%d}`, i)), part{name: "function", value: "f"}))
			if !check(res, err, 201) {
				return
			}
			var j gen.Job
			if json.Unmarshal(res.body, &j) != nil {
				failures.Add(1)
				return
			}
			ids[i] = j.ID
			res, err = srv.do(context.Background(), req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=Running"})
			check(res, err, 200)
			if i%2 == 0 {
				res, err = srv.do(context.Background(), req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/archive"})
				check(res, err, 200)
			}
			if i%10 == 0 { // a few big lists: each answer is checked against the contract
				res, err = srv.do(context.Background(), get("/jobs?size=100&archive_status=all"))
			} else {
				res, err = srv.do(context.Background(), get("/jobs/"+j.ID))
			}
			check(res, err, 200)
			_ = srv.Jobs()
			_ = srv.Requests()
		})
	}
	wg.Wait()
	require.Zero(t, failures.Load())

	jobs := srv.Jobs()
	require.Len(t, jobs, n)
	archivedCount := 0
	for _, j := range jobs {
		assert.Equal(t, gen.JobStatusNameRunning, status(j))
		assert.Len(t, j.StatusHistory, 2)
		if archived(j) {
			archivedCount++
		}
	}
	assert.Equal(t, n/2, archivedCount)
	for i, id := range ids {
		j, ok := srv.Job(id)
		require.True(t, ok)
		assert.Equal(t, i%2 == 0, archived(j))
		assert.Equal(t, fmt.Sprintf(`{"i":%d}`, i), string(srv.Uploads(id)[0].Content))
	}
	p := srv.send(get("/jobs?size=100&archive_status=all")).page(t)
	assert.Equal(t, n, p.Total)
	c := srv.Requests()
	assert.Equal(t, n, c.ByOperation[OpAddJob])
	assert.Equal(t, n/2, c.ByOperation[OpArchiveJob])
}

func TestMaxBodySize(t *testing.T) {
	srv := newServer(t, WithMaxBodySize(1024))
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs",
		file("p.json", "application/json", strings.Repeat("x", 2048)), part{name: "function", value: "f"}))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	assert.NotEmpty(t, res.detail(t))
	assert.Empty(t, srv.Jobs())
	srv.addJob("m")
}

func TestGeneratedClient(t *testing.T) {
	srv := newServer(t)
	c, err := gen.NewClientWithResponses(srv.URL+BasePath, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+srv.Token)
		return nil
	}))
	require.NoError(t, err)
	ctx := context.Background()
	j := srv.addJob("m1")

	got, err := c.GetJobWithResponse(ctx, j.ID)
	require.NoError(t, err)
	require.NotNil(t, got.JSON200)
	assert.Equal(t, j.ID, got.JSON200.ID)

	st, err := c.UpdateJobStatusWithResponse(ctx, j.ID, &gen.UpdateJobStatusParams{StatusName: gen.JobStatusNameClaimed, AgentID: ptr("a")},
		gen.JobStatusMessage{Message: ptr("mine")})
	require.NoError(t, err)
	require.NotNil(t, st.JSON200, "body %s", st.Body)
	assert.Equal(t, gen.JobStatusNameClaimed, status(*st.JSON200))

	list, err := c.ListJobsWithResponse(ctx, &gen.ListJobsParams{ModelID: ptr("m1"), StatusName: ptr(gen.JobStatusNameClaimed), Size: ptr(1)})
	require.NoError(t, err)
	require.NotNil(t, list.JSON200)
	assert.Equal(t, 1, list.JSON200.Total)

	arch, err := c.ArchiveJobWithResponse(ctx, j.ID, gen.Archive{Reason: ptr("r")})
	require.NoError(t, err)
	require.NotNil(t, arch.JSON200)
	again, err := c.ArchiveJobWithResponse(ctx, j.ID, gen.Archive{})
	require.NoError(t, err)
	require.NotNil(t, again.JSON409)

	bad, err := c.ListModelJobsWithResponse(ctx, "m1", &gen.ListModelJobsParams{Page: ptr(0)})
	require.NoError(t, err)
	require.NotNil(t, bad.JSON422)
	loc, err := bad.JSON422.Detail[0].Loc[1].AsValidationErrorItemLoc0()
	require.NoError(t, err)
	assert.Equal(t, "page", loc)

	missing, err := c.GetJobWithResponse(ctx, "nope")
	require.NoError(t, err)
	require.NotNil(t, missing.JSON404)
}

func TestHandlerMountedElsewhere(t *testing.T) {
	v, err := spec.NewValidator()
	require.NoError(t, err)
	var checked atomic.Int64
	p := New(WithUser("t2", "u2", false), withMiddleware(checkResponses(t, v, &checked)))
	mux := http.NewServeMux()
	mux.Handle("/istari/", http.StripPrefix("/istari", p.Handler()))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	r, _ := http.NewRequest(http.MethodGet, hs.URL+"/istari"+BasePath+"/jobs", nil)
	r.Header.Set("Authorization", "Bearer t2")
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	assert.Equal(t, 200, res.StatusCode)
	assert.EqualValues(t, 1, checked.Load())
}

func TestOptionsIgnoreNonsense(t *testing.T) {
	srv := newServer(t, nil, WithUser("", "x", true), WithUser("t", "", true),
		WithLatency(-time.Second), WithClock(nil), WithMaxBodySize(-1))
	srv.AddUser("", "", true)
	srv.SetLatency(-1)
	assert.Equal(t, 200, srv.send(get("/jobs")).status)
	assert.Equal(t, 401, srv.send(get("/jobs").as("t")).status)
	assert.Equal(t, 401, srv.send(req{method: http.MethodGet, path: "/jobs", auth: "Bearer"}).status)
}

// FuzzHandler sends arbitrary requests: the platform must never panic, and
// every answer must conform to the contract.
func FuzzHandler(f *testing.F) {
	f.Add("GET", "/api/v2/jobs?page=1&size=0", "", []byte(nil))
	f.Add("PATCH", "/api/v2/jobs/x/status?status_name=Running", "application/json", []byte(`{"message":"m"}`))
	f.Add("PUT", "/api/v2/jobs/x/assigned-agent", "application/json", []byte(`{"agent_id":"a","agent_pool_id":"p"}`))
	f.Add("POST", "/api/v2/models/m/jobs", "multipart/form-data; boundary=X",
		[]byte("--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.json\"\r\n\r\n{}\r\n--X\r\nContent-Disposition: form-data; name=\"function\"\r\n\r\nf\r\n--X--\r\n"))
	f.Add("POST", "/api/v2/models/m/jobs", "multipart/form-data; boundary=X", []byte("--X\r\nbroken"))
	f.Add("PUT", "/api/v2/jobs/%25zz", "multipart/form-data", []byte("x"))
	f.Add("DELETE", "/api/v2/jobs/x/archive", "", []byte(nil))
	f.Add("GET", "/api/v2/jobs?sort=-created&page=9223372036854775807&size=100", "", []byte(nil))
	v, err := spec.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	// One platform for every input: loading the contract is the slow part.
	p := New()
	f.Fuzz(func(t *testing.T, method, target, ctype string, body []byte) {
		var checked atomic.Int64
		h := checkResponses(t, v, &checked)(p.Handler())
		r, err := http.NewRequest(method, "http://istari.test"+target, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.Header.Set("Authorization", "Bearer "+DefaultToken)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		// Every answer went through the contract check above, and is
		// either a success or an error in the platform's error shape.
		assert.EqualValues(t, 1, checked.Load(), "the answer was checked against the contract")
		if rec.Code < 200 || rec.Code > 299 {
			var e struct {
				Detail json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.Detail) == 0 {
				t.Errorf("%s %s: a %d answer without a detail: %s", method, target, rec.Code, rec.Body.Bytes())
			}
			assert.GreaterOrEqual(t, rec.Code, 400, "%s %s: an answer that is neither success nor error", method, target)
		}
	})
}

// TestUnknownOperationPanics: a fault for an operation that does not exist
// would never fire, so the test that sets it would pass for the wrong
// reason. Naming one panics, and the message lists the valid names.
func TestUnknownOperationPanics(t *testing.T) {
	srv := newServer(t)
	for _, name := range []Operation{"addJob", "addjob", "GetJobs", " GetJob", "ClaimJob", "getJobFile"} {
		assert.PanicsWithValue(t,
			`istaritest: "`+string(name)+`" is not an operation; use one of the Op constants: AddJob, GetJob, UpdateJob, ListJobs, ListModelJobs, UpdateJobStatus, UpdateJobAssignedAgent, RemoveJobAssignedAgent, ArchiveJob, RestoreJob, OpenJobFile`,
			func() { srv.FailOperation(name, 1, 500, 0) }, name)
		assert.Panics(t, func() { srv.InjectFault(Fault{Operation: name, Count: 1}) }, name)
	}
	for _, op := range Operations() {
		assert.NotPanics(t, func() { srv.FailOperation(op, 1, 500, 0) })
	}
	srv.ClearFaults()
}
