package facade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
	"github.com/istari-go/sdk/internal/leakcheck"
)

// agentPlatform starts istaritest behind front, a handler that may steer
// or drop answers, and returns it with a client of its default user.
func agentPlatform(t *testing.T, front func(next http.Handler) http.Handler, opts ...facade.Option) (*istaritest.Platform, *facade.Client) {
	t.Helper()
	p := istaritest.New()
	h := p.Handler()
	if front != nil {
		h = front(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	all := append([]facade.Option{facade.WithToken(istaritest.DefaultToken)}, opts...)
	c, err := facade.NewClient(srv.URL, all...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return p, c
}

func addJobs(t *testing.T, c *facade.Client, n int, edit func(i int, p *facade.AddJobParams)) []*facade.Job {
	t.Helper()
	jobs := make([]*facade.Job, n)
	for i := range jobs {
		p := facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract",
			Parameters: map[string]int{"n": i}, ExternalIdentifier: fmt.Sprint(i)}
		if edit != nil {
			edit(i, &p)
		}
		job, err := c.AddJob(context.Background(), p)
		require.NoError(t, err)
		jobs[i] = job
	}
	return jobs
}

func statuses(j *facade.Job) []string {
	var out []string
	for _, st := range j.StatusHistory {
		out = append(out, string(st.Name)+":"+st.AgentID)
	}
	return out
}

func countStatus(j *facade.Job, name facade.JobStatusName) int {
	n := 0
	for _, st := range j.StatusHistory {
		if st.Name == name {
			n++
		}
	}
	return n
}

// TestClaimJobExclusive: of 16 agents claiming one job at once, exactly one
// wins, the others get ErrConflict naming the claimant, and the platform
// records one Claimed entry.
func TestClaimJobExclusive(t *testing.T) {
	p, c := agentPlatform(t, nil)
	for round := range 10 {
		job := addJobs(t, c, 1, nil)[0]
		var (
			wg        sync.WaitGroup
			won       atomic.Int32
			conflicts atomic.Int32
			winner    atomic.Value
			details   sync.Map
		)
		start := make(chan struct{})
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				agent := fmt.Sprintf("agent-%d", g)
				got, err := c.ClaimJob(context.Background(), job.ID, facade.ClaimJobParams{AgentID: agent})
				switch {
				case err == nil:
					won.Add(1)
					winner.Store(agent)
					assert.Equal(t, facade.JobStatusClaimed, got.Status())
				case errors.Is(err, facade.ErrConflict):
					conflicts.Add(1)
					details.Store(g, err.Error())
				default:
					t.Errorf("round %d: agent %s: %v", round, agent, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, 1, won.Load(), "round %d", round)
		require.EqualValues(t, 15, conflicts.Load(), "round %d", round)
		details.Range(func(_, v any) bool {
			assert.Contains(t, v.(string), winner.Load().(string), "the conflict names the claimant")
			return true
		})
		final, _ := p.Job(job.ID)
		assert.Equal(t, 1, countStatus(final, facade.JobStatusClaimed), "round %d: %v", round, statuses(final))
	}
}

func TestClaimJobRefusedBeforeSending(t *testing.T) {
	p, c := agentPlatform(t, nil)
	for _, tc := range []struct {
		id, agent, field string
	}{
		{"", "agent-1", "jobID"},
		{"job-1", "", "ClaimJobParams.AgentID"},
	} {
		_, err := c.ClaimJob(context.Background(), tc.id, facade.ClaimJobParams{AgentID: tc.agent})
		var ve *facade.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tc.field, ve.Field)
	}
	assert.Zero(t, p.Requests().Total)
}

// dropAnswers forwards the requests that match to the platform, then drops
// the connection instead of answering: the change is applied, and its
// answer is lost.
func dropAnswers(match func(r *http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		})
	}
}

func isClaim(r *http.Request) bool {
	return r.Method == http.MethodPatch && r.URL.Query().Get("status_name") == "Claimed"
}

// TestClaimJobLostAnswer: a claim the platform applied, whose answer was
// lost, is settled by reading the job back and is not sent again; one the
// platform refused keeps its error.
func TestClaimJobLostAnswer(t *testing.T) {
	var dropped atomic.Int32
	p, c := agentPlatform(t, dropAnswers(func(r *http.Request) bool {
		if isClaim(r) && r.URL.Query().Get("agent_id") == "agent-a" {
			dropped.Add(1)
			return true
		}
		return false
	}))
	job := addJobs(t, c, 1, nil)[0]
	got, err := c.ClaimJob(context.Background(), job.ID, facade.ClaimJobParams{AgentID: "agent-a"})
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusClaimed, got.Status())
	assert.EqualValues(t, 1, dropped.Load(), "the claim was sent once")
	final, _ := p.Job(job.ID)
	assert.Equal(t, 1, countStatus(final, facade.JobStatusClaimed), "%v", statuses(final))

	// Claimed by agent-b first: agent-a's lost claim was refused, and the
	// read-back shows someone else's claim, so the transport error stands.
	other := addJobs(t, c, 1, nil)[0]
	_, err = c.ClaimJob(context.Background(), other.ID, facade.ClaimJobParams{AgentID: "agent-b"})
	require.NoError(t, err)
	_, err = c.ClaimJob(context.Background(), other.ID, facade.ClaimJobParams{AgentID: "agent-a"})
	require.Error(t, err)
	var ae *facade.APIError
	assert.False(t, errors.As(err, &ae), "the answer was lost, so there is no APIError: %v", err)
}

func TestOpenJobFile(t *testing.T) {
	p, c := agentPlatform(t, nil)
	ctx := context.Background()
	job := addJobs(t, c, 1, func(_ int, a *facade.AddJobParams) { a.Parameters = map[string]string{"mesh": "fine"} })[0]
	read := func(id string, opts ...facade.CallOption) ([]byte, error) {
		rc, err := c.OpenJobFile(ctx, id, opts...)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	got, err := read(job.ID)
	require.NoError(t, err)
	assert.JSONEq(t, `{"mesh":"fine"}`, string(got))

	path := writeFile(t, "v2.json", `{"mesh":"coarse"}`)
	_, err = c.UpdateJob(ctx, job.ID, facade.UpdateJobParams{Path: path})
	require.NoError(t, err)
	got, err = read(job.ID)
	require.NoError(t, err)
	assert.Equal(t, `{"mesh":"coarse"}`, string(got), "the latest revision's bytes")

	_, err = read("no-such-job")
	assert.ErrorIs(t, err, facade.ErrNotFound)
	_, err = read("")
	assert.ErrorIs(t, err, facade.ErrInvalidInput)
	assert.Equal(t, 3, p.Requests().ByOperation[istaritest.OpOpenJobFile], "file reads sent")
}

// TestOpenJobFileStreams: a large file is read in constant memory, and the
// response limit applies as a stream limit.
func TestOpenJobFileStreams(t *testing.T) {
	const size = 256 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithMaxResponseBytes(size))
	require.NoError(t, err)
	defer c.CloseIdleConnections()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := c.OpenJobFile(context.Background(), "job-1")
	require.NoError(t, err)
	buf := make([]byte, 64<<10)
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	runtime.ReadMemStats(&after)
	assert.EqualValues(t, size, n)
	grew := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("allocated %.1f MiB to read %d MiB", float64(grew)/(1<<20), size>>20)
	assert.Less(t, grew, int64(8<<20), "bytes allocated while reading the file")

	small, err := facade.NewClient(srv.URL, facade.WithMaxResponseBytes(1<<20))
	require.NoError(t, err)
	defer small.CloseIdleConnections()
	rc, err = small.OpenJobFile(context.Background(), "job-1")
	require.NoError(t, err)
	n, err = io.Copy(io.Discard, rc)
	_ = rc.Close()
	assert.ErrorIs(t, err, facade.ErrResponseTooLarge)
	assert.EqualValues(t, 1<<20, n, "the limit's bytes, and no more")
}

func TestListJobsAgentFilters(t *testing.T) {
	_, c := agentPlatform(t, nil)
	ctx := context.Background()
	addJobs(t, c, 4, func(i int, p *facade.AddJobParams) {
		switch i {
		case 0:
			p.AssignedAgentID = "agent-a"
		case 1:
			p.AssignedAgentPoolID = "pool-x"
		case 2:
			p.DisplayName = "Wing Mesh"
		}
	})
	ids := func(p *facade.JobPage, err error) []string {
		require.NoError(t, err)
		var out []string
		for _, j := range p.Items {
			out = append(out, j.File.Revisions[len(j.File.Revisions)-1].ExternalIdentifier)
		}
		return out
	}
	assert.Equal(t, []string{"0"}, ids(c.ListJobs(ctx, facade.ListJobsParams{AssignedAgentID: "agent-a"})))
	assert.Equal(t, []string{"1"}, ids(c.ListJobs(ctx, facade.ListJobsParams{AssignedAgentPoolID: "pool-x"})))
	assert.Equal(t, []string{"2"}, ids(c.ListJobs(ctx, facade.ListJobsParams{Name: "wing"})))
	assert.Equal(t, []string{"1"}, ids(c.ListModelJobs(ctx, "model-1", facade.ListModelJobsParams{AssignedAgentPoolID: "pool-x"})))
	assert.Empty(t, ids(c.ListModelJobs(ctx, "model-1", facade.ListModelJobsParams{AssignedAgentID: "agent-z"})))
}

// TestPendingTimeout: a job no agent claims ends the waits with ErrNoAgent,
// quoting the platform's message; a job that is claimed in time does not.
func TestPendingTimeout(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		job := sampleJob("job-1", "Pending")
		(*job.StatusHistory)[0].Message = ptr("None agent available")
		if strings.HasSuffix(r.URL.Path, "/jobs") {
			writeJSON(w, 200, map[string]any{"items": []any{job}, "total": 1, "page": 1, "size": 100, "pages": 1})
			return
		}
		writeJSON(w, 200, job)
	})
	c, _ := newClient(t, rec.baseURL())
	o := facade.WaitOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond, PendingTimeout: 100 * time.Millisecond}
	_, err := c.WaitForJob(context.Background(), "job-1", o)
	require.ErrorIs(t, err, facade.ErrNoAgent)
	assert.Contains(t, err.Error(), `"None agent available"`)
	assert.Contains(t, err.Error(), "job-1")

	jobs, err := c.WaitForJobs(context.Background(), []string{"job-1"}, o)
	require.ErrorIs(t, err, facade.ErrNoAgent)
	assert.Equal(t, []*facade.Job{nil}, jobs)

	o.PendingTimeout = -time.Second
	_, err = c.WaitForJob(context.Background(), "job-1", o)
	assert.ErrorIs(t, err, facade.ErrInvalidInput)
}

var fastAgent = facade.AgentOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond}

// runAgents runs n agents until stop is closed, and returns their errors.
func runAgents(ctx context.Context, c *facade.Client, opts []facade.AgentOptions, h facade.JobHandler) func() []error {
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.RunAgent(ctx, o, h)
		}()
	}
	return func() []error { wg.Wait(); return errs }
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 60*time.Second, 5*time.Millisecond, "gave up waiting until %s", what) // a hang guard
}

func allEnded(p *istaritest.Platform, n int) func() bool {
	return func() bool {
		done := 0
		for _, j := range p.Jobs() {
			if j.Status().IsTerminal() {
				done++
			}
		}
		return done >= n
	}
}

// TestRunAgentDrains: two agents of concurrency 4 drain 120 jobs; each job
// runs exactly once, with one Claimed entry, and each handler reads its own
// job's parameters.
func TestRunAgentDrains(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	p, c := agentPlatform(t, nil)
	jobs := addJobs(t, c, 120, nil)
	var (
		mu   sync.Mutex
		runs = map[string]int{}
	)
	h := func(ctx context.Context, run *facade.JobRun) error {
		mu.Lock()
		runs[run.Job.ID]++
		mu.Unlock()
		rc, err := run.OpenFile(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		var params struct{ N int }
		if err := json.NewDecoder(rc).Decode(&params); err != nil {
			return err
		}
		revs := run.Job.File.Revisions
		if want := revs[len(revs)-1].ExternalIdentifier; fmt.Sprint(params.N) != want {
			return fmt.Errorf("read the parameters of job %d, want %s", params.N, want)
		}
		return run.Report(ctx, facade.JobStatusUploading, "writing results")
	}
	ctx, cancel := context.WithCancel(context.Background())
	o1, o2 := fastAgent, fastAgent
	o1.AgentID, o1.Concurrency = "agent-1", 4
	o2.AgentID, o2.Concurrency = "agent-2", 4
	wait := runAgents(ctx, c, []facade.AgentOptions{o1, o2}, h)
	waitUntil(t, "every job ended", allEnded(p, len(jobs)))
	cancel()
	for _, err := range wait() {
		assert.NoError(t, err)
	}
	for _, j := range jobs {
		final, _ := p.Job(j.ID)
		assert.Equal(t, facade.JobStatusCompleted, final.Status(), "%v", statuses(final))
		assert.Equal(t, 1, countStatus(final, facade.JobStatusClaimed), "%v", statuses(final))
		assert.Equal(t, 1, runs[j.ID], "runs of %s", j.ID)
		claimed := final.StatusHistory[1].AgentID
		for _, st := range final.StatusHistory[1:] {
			assert.Equal(t, claimed, st.AgentID, "every report comes from the claimant: %v", statuses(final))
		}
	}
}

// TestRunAgentOutcomes: a handler's error fails its job with the error's
// text, cleaned; a panic fails its job and the agent goes on; the functions
// and assignments an agent does not serve are left alone.
func TestRunAgentOutcomes(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	var (
		mu   sync.Mutex
		logs bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, c := agentPlatform(t, nil, facade.WithLogger(logger))
	jobs := addJobs(t, c, 6, func(i int, a *facade.AddJobParams) {
		switch i {
		case 3:
			a.Function = "@istari:other"
		case 4:
			a.AssignedAgentID = "agent-z"
		case 5:
			a.AssignedAgentPoolID = "pool-1"
		}
	})
	h := func(ctx context.Context, run *facade.JobRun) error {
		switch run.Job.File.Revisions[0].ExternalIdentifier {
		case "0":
			return errors.New("mesh failed:\n\x1b[31mbad element\x1b[0m " + strings.Repeat("x", 2000))
		case "1":
			panic("out of licenses")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := fastAgent
	o.AgentID, o.PoolID, o.Functions = "agent-1", "pool-1", []string{"@istari:extract"}
	wait := runAgents(ctx, c, []facade.AgentOptions{o}, h)
	waitUntil(t, "jobs 0, 1, 2 and 5 ended", func() bool {
		for _, i := range []int{0, 1, 2, 5} {
			if j, _ := p.Job(jobs[i].ID); !j.Status().IsTerminal() {
				return false
			}
		}
		return true
	})
	cancel()
	require.NoError(t, wait()[0])

	final := func(i int) facade.JobStatus {
		j, _ := p.Job(jobs[i].ID)
		st, _ := j.LastStatus()
		return st
	}
	failed := final(0)
	assert.Equal(t, facade.JobStatusFailed, failed.Name)
	assert.True(t, strings.HasPrefix(failed.Message, "mesh failed: [31mbad element[0m xxx"), failed.Message)
	assert.LessOrEqual(t, len(failed.Message), 1024)
	assert.Equal(t, facade.JobStatusFailed, final(1).Name)
	assert.Contains(t, final(1).Message, "panicked: out of licenses")
	assert.Equal(t, facade.JobStatusCompleted, final(2).Name)
	assert.Equal(t, facade.JobStatusPending, final(3).Name, "another function")
	assert.Equal(t, facade.JobStatusPending, final(4).Name, "assigned to another agent")
	assert.Equal(t, facade.JobStatusCompleted, final(5).Name, "assigned to the agent's pool")

	id := jobs[2].ID
	for _, msg := range []string{"istari agent claimed", "istari agent started", "istari agent ended"} {
		mu.Lock()
		n := strings.Count(logs.String(), `msg="`+msg+`" job=`+id)
		mu.Unlock()
		assert.Equal(t, 1, n, msg)
	}
}

// TestRunAgentCancelOnPlatform: a job canceled on the platform cancels its
// handler's ctx, and nothing is reported over Canceled.
func TestRunAgentCancelOnPlatform(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	p, c := agentPlatform(t, nil)
	job := addJobs(t, c, 1, nil)[0]
	started, causes := make(chan struct{}), make(chan error, 1)
	h := func(ctx context.Context, run *facade.JobRun) error {
		close(started)
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := fastAgent
	o.AgentID = "agent-1"
	wait := runAgents(ctx, c, []facade.AgentOptions{o}, h)
	<-started
	_, err := c.UpdateJobStatus(context.Background(), job.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusCanceled, Message: "user canceled"})
	require.NoError(t, err)
	select {
	case cause := <-causes:
		assert.ErrorContains(t, cause, "canceled on the platform")
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("the handler's ctx was not canceled")
	}
	cancel()
	require.NoError(t, wait()[0])
	final, _ := p.Job(job.ID)
	assert.Equal(t, []string{"Pending:", "Claimed:agent-1", "Running:agent-1", "Canceled:"}, statuses(final))
}

// TestRunAgentShutdown: handlers in flight finish within the grace period
// and their end is reported; past it, their ctx ends and their jobs fail
// with "agent stopped"; RunAgent returns nil either way, and claims nothing
// once ctx has ended.
func TestRunAgentShutdown(t *testing.T) {
	for _, tc := range []struct {
		name       string
		grace      time.Duration
		want       facade.JobStatusName
		wantReason string
	}{
		{"within grace", 30 * time.Second, facade.JobStatusCompleted, ""},
		{"past grace", 50 * time.Millisecond, facade.JobStatusFailed, "agent stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { leakcheck.VerifyNone(t) })
			p, c := agentPlatform(t, nil)
			job := addJobs(t, c, 1, nil)[0]
			started, release := make(chan struct{}), make(chan struct{})
			var sawCause atomic.Value
			h := func(ctx context.Context, run *facade.JobRun) error {
				close(started)
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					sawCause.Store(context.Cause(ctx).Error())
					return nil // returns nil, but too late: the job is failed
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			o := fastAgent
			o.AgentID, o.Grace = "agent-1", tc.grace
			wait := runAgents(ctx, c, []facade.AgentOptions{o}, h)
			<-started
			cancel()
			later := addJobs(t, c, 1, nil)[0]
			if tc.want == facade.JobStatusCompleted {
				time.Sleep(50 * time.Millisecond)
				close(release)
			}
			require.NoError(t, wait()[0])
			final, _ := p.Job(job.ID)
			st, _ := final.LastStatus()
			assert.Equal(t, tc.want, st.Name, "%v", statuses(final))
			assert.Equal(t, tc.wantReason, st.Message)
			if tc.wantReason != "" {
				assert.Equal(t, "agent stopped", sawCause.Load())
			}
			untouched, _ := p.Job(later.ID)
			assert.Equal(t, []string{"Pending:"}, statuses(untouched), "no claim after ctx ended")
		})
	}
}

// TestRunAgentReleases: a job claimed as ctx ends, before its handler
// started, is released to Pending and can be claimed again.
func TestRunAgentReleases(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The platform applies the claim, and ctx ends as its answer is sent.
	p, c := agentPlatform(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			if isClaim(r) {
				cancel()
			}
		})
	})
	job := addJobs(t, c, 1, nil)[0]
	var ran atomic.Bool
	o := fastAgent
	o.AgentID = "agent-1"
	err := c.RunAgent(ctx, o, func(context.Context, *facade.JobRun) error { ran.Store(true); return nil })
	require.NoError(t, err)
	assert.False(t, ran.Load())
	final, _ := p.Job(job.ID)
	assert.Equal(t, []string{"Pending:", "Claimed:agent-1", "Pending:agent-1"}, statuses(final))
	_, err = c.ClaimJob(context.Background(), job.ID, facade.ClaimJobParams{AgentID: "agent-2"})
	assert.NoError(t, err, "a released job can be claimed again")
}

// TestRunAgentLostClaimAnswer: a claim the platform applied, whose answer
// was lost, still runs its job, once.
func TestRunAgentLostClaimAnswer(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	var dropped atomic.Int32
	p, c := agentPlatform(t, dropAnswers(func(r *http.Request) bool {
		return isClaim(r) && dropped.Add(1) == 1
	}))
	job := addJobs(t, c, 1, nil)[0]
	var runs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	o := fastAgent
	o.AgentID = "agent-1"
	wait := runAgents(ctx, c, []facade.AgentOptions{o}, func(context.Context, *facade.JobRun) error { runs.Add(1); return nil })
	waitUntil(t, "the job ended", allEnded(p, 1))
	cancel()
	require.NoError(t, wait()[0])
	final, _ := p.Job(job.ID)
	assert.Equal(t, []string{"Pending:", "Claimed:agent-1", "Running:agent-1", "Completed:agent-1"}, statuses(final))
	assert.EqualValues(t, 1, runs.Load())
}

func TestRunAgentErrors(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	p, c := agentPlatform(t, nil)
	h := func(context.Context, *facade.JobRun) error { return nil }
	for _, tc := range []struct {
		o     facade.AgentOptions
		h     facade.JobHandler
		field string
	}{
		{facade.AgentOptions{}, h, "AgentOptions.AgentID"},
		{facade.AgentOptions{AgentID: "a", Concurrency: -1}, h, "AgentOptions.Concurrency"},
		{facade.AgentOptions{AgentID: "a", Grace: -time.Second}, h, "AgentOptions.Grace"},
		{facade.AgentOptions{AgentID: "a", MinInterval: -time.Second}, h, "AgentOptions"},
		{facade.AgentOptions{AgentID: "a", Functions: []string{" "}}, h, "AgentOptions.Functions[0]"},
		{facade.AgentOptions{AgentID: "a"}, nil, "h"},
	} {
		err := c.RunAgent(context.Background(), tc.o, tc.h)
		var ve *facade.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tc.field, ve.Field)
	}
	assert.Zero(t, p.Requests().Total, "nothing sent")

	// A refused credential ends the agent with the platform's error.
	bad, err := facade.NewClient(c.BaseURL(), facade.WithToken("wrong-token"))
	require.NoError(t, err)
	defer bad.CloseIdleConnections()
	o := fastAgent
	o.AgentID = "agent-1"
	err = bad.RunAgent(context.Background(), o, h)
	assert.ErrorIs(t, err, facade.ErrUnauthorized)

	// Report refuses the statuses that end a job.
	run := &facade.JobRun{Job: &facade.Job{ID: "job-1"}}
	err = run.Report(context.Background(), facade.JobStatusCompleted, "")
	assert.ErrorIs(t, err, facade.ErrInvalidInput)
}

// TestRunAgentIdle: an idle agent lists once per poll and backs off to at
// most one request per MaxInterval.
func TestRunAgentIdle(t *testing.T) {
	t.Cleanup(func() { leakcheck.VerifyNone(t) })
	p, c := agentPlatform(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	o := facade.AgentOptions{AgentID: "agent-1", MinInterval: 50 * time.Millisecond, MaxInterval: 50 * time.Millisecond}
	require.NoError(t, c.RunAgent(ctx, o, func(context.Context, *facade.JobRun) error { return nil }))
	n := p.Requests().Total
	assert.LessOrEqual(t, n, 600/50+1, "requests while idle")
	assert.Positive(t, n)
	assert.Equal(t, n, p.Requests().ByOperation[istaritest.OpListJobs], "only lists")
}
