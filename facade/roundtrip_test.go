package facade_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// platformClient starts the in-memory platform and returns a client whose
// traffic is validated against the contract in both directions.
func platformClient(t *testing.T, opts ...istaritest.ServerOption) (*istaritest.Server, *facade.Client) {
	t.Helper()
	srv := istaritest.NewServer(opts...)
	t.Cleanup(srv.Close)
	c, _ := newClient(t, srv.URL, facade.WithToken(srv.Token))
	return srv, c
}

// TestRoundTrip drives every facade method against the in-memory platform
// and checks both the results and what the platform holds.
func TestRoundTrip(t *testing.T) {
	srv, c := platformClient(t)
	ctx := testCtx(t)
	params := writeFile(t, "extract.json", `{"format":"step"}`)

	job, err := c.AddJob(ctx, facade.AddJobParams{
		ModelID: "model-1", Function: "@istari:extract", ParametersFile: params,
		ToolName: "ansys", ToolVersion: "2024", OperatingSystem: facade.OSWindows11,
		AssignedAgentPoolID: "pool-1", AgentID: "agent-0",
		Sources:     []facade.NewSource{{RevisionID: "rev-1", RelationshipIdentifier: "input"}},
		Description: "d", VersionName: "v1", ExternalIdentifier: "x-1", DisplayName: "Extract",
	})
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusPending, job.Status())
	assert.Equal(t, "model-1", job.ModelID)
	assert.Equal(t, "pool-1", job.AssignedAgentPoolID)
	rev := job.File.Revisions[0]
	assert.Equal(t, "extract", rev.Name)
	assert.Equal(t, "json", rev.Extension)
	assert.EqualValues(t, len(`{"format":"step"}`), rev.Size)
	assert.Equal(t, "Extract", rev.DisplayName)
	require.NotNil(t, rev.Sources)
	assert.Equal(t, "rev-1", (rev.Sources)[0].RevisionID)
	ups := srv.Uploads(job.ID)
	require.Len(t, ups, 1)
	assert.Equal(t, `{"format":"step"}`, string(ups[0].Content), "the file arrived byte for byte")

	got, err := c.GetJob(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, job.ID, got.ID)

	csv := writeFile(t, "mesh.csv", "a,b\n")
	got, err = c.UpdateJob(ctx, job.ID, facade.UpdateJobParams{Path: csv, Description: "second"})
	require.NoError(t, err)
	require.Len(t, got.File.Revisions, 2)
	assert.Equal(t, "csv", got.File.Revisions[1].Extension)

	got, err = c.UpdateJobAssignedAgent(ctx, job.ID, facade.AssignedAgent{AgentID: "agent-1"})
	require.NoError(t, err)
	assert.Equal(t, "agent-1", got.AssignedAgentID)
	for _, s := range []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusCompleted} {
		got, err = c.UpdateJobStatus(ctx, job.ID, facade.UpdateJobStatusParams{Status: s, AgentID: "agent-1", Message: "now " + string(s)})
		require.NoError(t, err)
		assert.Equal(t, s, got.Status())
		last, ok := got.LastStatus()
		require.True(t, ok)
		assert.Equal(t, "now "+string(s), last.Message)
	}
	got, err = c.RemoveJobAssignedAgent(ctx, job.ID)
	require.NoError(t, err)
	assert.Empty(t, got.AssignedAgentID)

	page, err := c.ListJobs(ctx, facade.ListJobsParams{Status: facade.JobStatusCompleted})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	page, err = c.ListModelJobs(ctx, "model-1", facade.ListModelJobsParams{Status: facade.JobStatusRunning})
	require.NoError(t, err)
	assert.Equal(t, 0, page.Total, "status filters match the current status only")

	got, err = c.ArchiveJob(ctx, job.ID, facade.ArchiveJobParams{Reason: "done"})
	require.NoError(t, err)
	assert.True(t, got.Archived())
	_, err = c.ArchiveJob(ctx, job.ID, facade.ArchiveJobParams{})
	assert.ErrorIs(t, err, facade.ErrConflict)
	page, err = c.ListJobs(ctx, facade.ListJobsParams{ArchiveStatus: facade.ArchiveStatusArchived})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total)
	got, err = c.RestoreJob(ctx, job.ID, facade.RestoreJobParams{})
	require.NoError(t, err)
	assert.False(t, got.Archived())
	_, err = c.RestoreJob(ctx, job.ID, facade.RestoreJobParams{})
	assert.ErrorIs(t, err, facade.ErrConflict)

	done, err := c.WaitForJob(ctx, job.ID, facade.WaitOptions{MinInterval: time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusCompleted, done.Status())

	_, err = c.GetJob(ctx, "no-such-job")
	assert.ErrorIs(t, err, facade.ErrNotFound)
	_, err = c.ListJobs(ctx, facade.ListJobsParams{AllUsers: true})
	assert.ErrorIs(t, err, facade.ErrForbidden)

	held, ok := srv.Job(job.ID)
	require.True(t, ok)
	assert.Len(t, held.StatusHistory, 4)
	assert.Len(t, held.ArchiveStatusHistory, 3)
}

func TestRoundTripUnauthorized(t *testing.T) {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := newClient(t, srv.URL, facade.WithToken("wrong-token"))
	_, err := c.GetJob(context.Background(), "j")
	assert.ErrorIs(t, err, facade.ErrUnauthorized)
}

// TestRoundTripConcurrent: 100 goroutines add, update, move and archive
// jobs at once; the platform must end with exactly what they did.
func TestRoundTripConcurrent(t *testing.T) {
	srv, c := platformClient(t)
	// 100 goroutines make some 700 contract-checked requests: under -race
	// on a loaded machine that can take longer than testCtx's few seconds,
	// so the deadline is only a hang guard.
	ctx := testCtxWithin(t, hangGuard)
	params := writeFile(t, "p.json", `{}`)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			job, err := c.AddJob(ctx, facade.AddJobParams{ModelID: fmt.Sprintf("model-%d", i%4), Function: "f"})
			if !assert.NoError(t, err) {
				return
			}
			_, err = c.UpdateJob(ctx, job.ID, facade.UpdateJobParams{Path: params})
			assert.NoError(t, err)
			for _, s := range []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusCompleted} {
				_, err = c.UpdateJobStatus(ctx, job.ID, facade.UpdateJobStatusParams{Status: s, AgentID: "agent-1"})
				assert.NoError(t, err)
			}
			if i%2 == 0 {
				_, err = c.ArchiveJob(ctx, job.ID, facade.ArchiveJobParams{})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	jobs := srv.Jobs()
	require.Len(t, jobs, 100)
	archived := 0
	for _, j := range jobs {
		assert.Len(t, j.StatusHistory, 4)
		assert.Len(t, j.File.Revisions, 2)
		if j.Archived() {
			archived++
		}
	}
	assert.Equal(t, 50, archived)
	n := 0
	for _, err := range c.AllJobs(ctx, facade.ListJobsParams{ArchiveStatus: facade.ArchiveStatusAll, Status: facade.JobStatusCompleted, Size: 7}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 100, n)
}

// TestRoundTripFaults is the test a user writes: inject a fault, run the
// code under test, and assert on what the platform holds.
func TestRoundTripFaults(t *testing.T) {
	srv, c := platformClient(t)
	c2, _ := newClient(t, srv.URL, facade.WithToken(srv.Token), facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}))
	ctx := context.Background()

	srv.FailOperation(istaritest.OpAddJob, 1, http.StatusServiceUnavailable, 0)
	_, err := c2.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f"})
	assert.ErrorIs(t, err, facade.ErrServer, "a 503 without Retry-After is not retried for a write")
	assert.Empty(t, srv.Jobs())

	srv.FailOperation(istaritest.OpAddJob, 1, http.StatusServiceUnavailable, time.Second)
	job, err := c2.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f"})
	require.NoError(t, err, "a 503 with Retry-After is retried")
	assert.Len(t, srv.Jobs(), 1, "and creates exactly one job")

	srv.FailNext(2, http.StatusBadGateway, 0)
	_, err = c2.GetJob(ctx, job.ID)
	require.NoError(t, err, "a GET is retried through two 502s")
	assert.Equal(t, 3, srv.Requests().ByOperation[istaritest.OpGetJob])

	_, err = c.GetJob(ctx, job.ID)
	require.NoError(t, err)
}

// submit stands for a user's code under test in the README's example.
func submit(ctx context.Context, c *facade.Client) (*facade.Job, error) {
	return c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]any{"mode": "fast"}})
}

// TestSubmitRetriesThroughRateLimit is the README's testing example, kept
// here so that the README stays true.
func TestSubmitRetriesThroughRateLimit(t *testing.T) {
	ctx := context.Background()
	srv := istaritest.NewServer()
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()

	// The next job creation is refused with 429 and Retry-After: 1s.
	srv.FailOperation(istaritest.OpAddJob, 1, http.StatusTooManyRequests, time.Second)

	if _, err := submit(ctx, c); err != nil { // your code under test
		t.Fatal(err)
	}
	if got := len(srv.Jobs()); got != 1 { // exactly one job, despite the retry
		t.Fatalf("platform holds %d jobs, want 1", got)
	}
	if got := srv.Requests().ByOperation[istaritest.OpAddJob]; got != 2 {
		t.Fatalf("AddJob received %d times, want 2", got)
	}
}
