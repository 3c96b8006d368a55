package facade_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// agentRun is what a test's agent does with the job it is given.
type agentRun struct {
	final    facade.JobStatusName
	message  string
	products []facade.Product
}

// playAgent returns an OnStatus that plays the agent of the job waited for,
// on the waiting goroutine, along legal transitions only: when it sees the
// job Pending, agent-a claims it, runs it, records the products, and ends it
// with r.final and r.message. Canceled comes from the user, as anyone may
// cancel.
func playAgent(t *testing.T, srv *istaritest.Server, r agentRun) func(facade.JobStatus) {
	t.Helper()
	agent, _ := newClient(t, srv.URL, facade.WithToken(srv.Token))
	return func(st facade.JobStatus) {
		if st.Name != facade.JobStatusPending {
			return
		}
		ctx := testCtx(t)
		steps := []facade.UpdateJobStatusParams{
			{Status: facade.JobStatusClaimed, AgentID: "agent-a"},
			{Status: facade.JobStatusRunning, AgentID: "agent-a", Message: "solver started"},
		}
		for _, p := range steps {
			_, err := agent.UpdateJobStatus(ctx, st.JobID, p)
			require.NoError(t, err)
		}
		if len(r.products) > 0 {
			require.NoError(t, srv.AddProducts(st.JobID, r.products...))
		}
		last := facade.UpdateJobStatusParams{Status: r.final, AgentID: "agent-a", Message: r.message}
		if r.final == facade.JobStatusCanceled {
			last.AgentID = ""
		}
		_, err := agent.UpdateJobStatus(ctx, st.JobID, last)
		require.NoError(t, err)
	}
}

var extract = facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]any{"format": "step"}}

func TestRunJobEachTerminalStatus(t *testing.T) {
	geometry := facade.Product{RevisionID: "rev-out", FileID: "file-out", ResourceType: "Artifact", ResourceID: "art-1", RelationshipIdentifier: "geometry"}
	for _, tc := range []struct {
		final   facade.JobStatusName
		message string
		failed  bool
	}{
		{facade.JobStatusCompleted, "", false},
		{facade.JobStatusFailed, "mesh did not converge", true},
		{facade.JobStatusCanceled, "canceled by the user", true},
	} {
		t.Run(string(tc.final), func(t *testing.T) {
			srv, c := platformClient(t)
			job, err := c.RunJob(testCtx(t), extract, facade.WaitOptions{
				MinInterval: time.Millisecond,
				OnStatus:    playAgent(t, srv, agentRun{final: tc.final, message: tc.message, products: []facade.Product{geometry}}),
			})
			require.NotNil(t, job, "the job comes back in every case")
			assert.Equal(t, tc.final, job.Status())
			assert.Equal(t, []facade.Product{geometry}, job.Products())
			assert.Equal(t, 1, srv.Requests().ByOperation[istaritest.OpAddJob], "one job added")
			if !tc.failed {
				require.NoError(t, err)
				assert.NoError(t, job.Err())
				return
			}
			var jf *facade.JobFailedError
			require.ErrorAs(t, err, &jf)
			assert.ErrorIs(t, err, facade.ErrJobFailed)
			assert.Same(t, job, jf.Job)
			assert.Equal(t, tc.final, jf.Status)
			assert.Equal(t, tc.message, jf.Message, "the last status message")
			assert.Equal(t, "facade: job "+job.ID+" ended "+string(tc.final)+": "+tc.message, err.Error())
			assert.Equal(t, err, job.Err(), "Job.Err says the same")
		})
	}
}

// expiring is a context whose deadline passes when the test calls expire,
// so that a wait times out at a known point without a timer.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring(t *testing.T) *expiring {
	return &expiring{Context: testCtx(t), done: make(chan struct{})}
}

func (e *expiring) expire()                     { e.once.Do(func() { close(e.done) }) }
func (e *expiring) Done() <-chan struct{}       { return e.done }
func (e *expiring) Deadline() (time.Time, bool) { return time.Time{}, false }
func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestRunJobWaitFailsAfterAdding: once the job exists, a failed wait
// returns the job as added and an error that names it and wraps the cause.
func TestRunJobWaitFailsAfterAdding(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		_, c := platformClient(t)
		ctx := newExpiring(t)
		job, err := c.RunJob(ctx, extract, facade.WaitOptions{
			MinInterval: time.Millisecond,
			OnStatus:    func(facade.JobStatus) { ctx.expire() }, // no agent takes the job
		})
		require.Error(t, err)
		require.NotNil(t, job)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, facade.ErrJobFailed)
		assert.Contains(t, err.Error(), "job "+job.ID+" was added")
		assert.Contains(t, err.Error(), "last status Pending")
		assert.Equal(t, facade.JobStatusPending, job.Status())
	})
	t.Run("no agent", func(t *testing.T) {
		_, c := platformClient(t)
		// Any wait is longer than a nanosecond: the first poll ends it.
		job, err := c.RunJob(testCtx(t), extract, facade.WaitOptions{MinInterval: time.Millisecond, PendingTimeout: time.Nanosecond})
		require.Error(t, err)
		require.NotNil(t, job)
		assert.ErrorIs(t, err, facade.ErrNoAgent, "WaitOptions.PendingTimeout applies")
		assert.Contains(t, err.Error(), "job "+job.ID+" was added")
	})
	t.Run("poll fails", func(t *testing.T) {
		srv, c := platformClient(t)
		srv.FailOperation(istaritest.OpGetJob, 1, http.StatusInternalServerError, 0)
		job, err := c.RunJob(testCtx(t), extract, facade.WaitOptions{MinInterval: time.Millisecond})
		require.Error(t, err)
		require.NotNil(t, job)
		assert.ErrorIs(t, err, facade.ErrServer)
		var apiErr *facade.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, facade.OpGetJob, apiErr.Operation)
		assert.Contains(t, err.Error(), "job "+job.ID+" was added")
		held := srv.Jobs()
		require.Len(t, held, 1)
		assert.Equal(t, held[0].ID, job.ID, "the job named is the one on the platform")
	})
}

// TestRunJobRefusesInputBeforeSending: bad parameters or wait options come
// back as the *ValidationError itself, and no request is sent.
func TestRunJobRefusesInputBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     facade.AddJobParams
		o     facade.WaitOptions
		field string
	}{
		{"no function", facade.AddJobParams{ModelID: "model-1"}, facade.WaitOptions{}, "AddJobParams.Function"},
		{"unknown OS", facade.AddJobParams{ModelID: "model-1", Function: "f", OperatingSystem: "Windows 12"}, facade.WaitOptions{}, "AddJobParams.OperatingSystem"},
		{"negative interval", extract, facade.WaitOptions{MinInterval: -time.Second}, "WaitOptions"},
		{"negative pending timeout", extract, facade.WaitOptions{PendingTimeout: -time.Second}, "WaitOptions.PendingTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := platformClient(t)
			job, err := c.RunJob(testCtx(t), tc.p, tc.o)
			assert.Nil(t, job)
			ve, ok := err.(*facade.ValidationError)
			require.True(t, ok, "a *facade.ValidationError, not wrapped: %T %v", err, err)
			assert.Equal(t, tc.field, ve.Field)
			assert.Zero(t, srv.Requests().Total, "nothing sent")
		})
	}
}

func TestJobErr(t *testing.T) {
	job := func(hist ...facade.JobStatus) *facade.Job { return &facade.Job{ID: "job-1", StatusHistory: hist} }
	st := func(name facade.JobStatusName, msg string) facade.JobStatus {
		return facade.JobStatus{Name: name, Message: msg}
	}
	for _, tc := range []struct {
		name string
		job  *facade.Job
		want *facade.JobFailedError
	}{
		{"nil job", nil, nil},
		{"no history", job(), nil},
		{"pending", job(st(facade.JobStatusPending, "None agent available")), nil},
		{"running", job(st(facade.JobStatusPending, ""), st(facade.JobStatusRunning, "")), nil},
		{"completed", job(st(facade.JobStatusRunning, ""), st(facade.JobStatusCompleted, "done")), nil},
		{"unknown status", job(st("Paused", "")), nil},
		{"failed", job(st(facade.JobStatusRunning, "started"), st(facade.JobStatusFailed, "out of memory")),
			&facade.JobFailedError{Status: facade.JobStatusFailed, Message: "out of memory"}},
		{"canceled", job(st(facade.JobStatusPending, ""), st(facade.JobStatusCanceled, "")),
			&facade.JobFailedError{Status: facade.JobStatusCanceled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.job.Err()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			tc.want.Job = tc.job
			assert.Equal(t, tc.want, err)
			assert.ErrorIs(t, err, facade.ErrJobFailed)
			assert.False(t, errors.Is(err, facade.ErrInvalidInput))
			assert.True(t, strings.HasPrefix(err.Error(), "facade: job job-1 ended "+string(tc.want.Status)), err.Error())
		})
	}
}

// TestProductsAgainstThePlatform: the products an agent records are the
// latest revision's, reach the client as sent, marshal back to the wire form
// byte for byte, and become sources.
func TestProductsAgainstThePlatform(t *testing.T) {
	srv, c := platformClient(t)
	ctx := testCtx(t)
	job, err := c.AddJob(ctx, extract)
	require.NoError(t, err)
	assert.Nil(t, job.Products(), "none yet")

	prods := []facade.Product{
		{RevisionID: "rev-geo", FileID: "file-geo", ResourceType: "Artifact", ResourceID: "art-geo", RelationshipIdentifier: "geometry"},
		{RevisionID: "rev-log", RelationshipIdentifier: "log"},
	}
	require.NoError(t, srv.AddProducts(job.ID, prods[0]))
	require.NoError(t, srv.AddProducts(job.ID, prods[1]))
	got, err := c.GetJob(ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, prods, got.Products())

	raw, err := c.Raw().GetJobWithResponse(ctx, job.ID)
	require.NoError(t, err)
	require.Contains(t, string(raw.Body), `"products":[`)
	out, err := json.Marshal(got)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSuffix(string(raw.Body), "\n"), string(out), "json.Marshal gives the wire form")
	var back facade.Job
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, prods, back.Products())

	assert.Equal(t, facade.NewSource{RevisionID: "rev-geo", RelationshipIdentifier: "load_geometry_file"},
		got.Products()[0].AsSource("load_geometry_file"))
	assert.Equal(t, facade.NewSource{RevisionID: "rev-log"}, got.Products()[1].AsSource(""))

	// A new revision of the job's file has no products of its own.
	updated, err := c.UpdateJob(ctx, job.ID, facade.UpdateJobParams{Path: writeFile(t, "v2.json", `{}`)})
	require.NoError(t, err)
	assert.Nil(t, updated.Products())
	assert.Equal(t, prods, updated.File.Revisions[0].Products, "the older revision keeps its own")

	// Once the job has ended, its products no longer change.
	_, err = c.UpdateJobStatus(ctx, job.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusCanceled})
	require.NoError(t, err)
	err = srv.AddProducts(job.ID, facade.Product{RevisionID: "late"})
	assert.ErrorContains(t, err, "Canceled")
	held, _ := srv.Job(job.ID)
	assert.Nil(t, held.Products())
	assert.ErrorContains(t, srv.AddProducts("no-such-job"), "not found")
}

// TestChaining runs a job, and a second one whose source is the first one's
// product, as a cookbook pipeline does.
func TestChaining(t *testing.T) {
	srv, c := platformClient(t)
	ctx := testCtx(t)
	geometry := facade.Product{RevisionID: "rev-geo", FileID: "file-geo", ResourceType: "Artifact", ResourceID: "art-geo", RelationshipIdentifier: "geometry"}
	first, err := c.RunJob(ctx, extract, facade.WaitOptions{
		MinInterval: time.Millisecond,
		OnStatus:    playAgent(t, srv, agentRun{final: facade.JobStatusCompleted, products: []facade.Product{geometry}}),
	})
	require.NoError(t, err)
	require.Len(t, first.Products(), 1)

	second, err := c.RunJob(ctx, facade.AddJobParams{
		ModelID: "model-1", Function: "@istari:mesh",
		Sources: []facade.NewSource{first.Products()[0].AsSource("load_geometry_file")},
	}, facade.WaitOptions{
		MinInterval: time.Millisecond,
		OnStatus:    playAgent(t, srv, agentRun{final: facade.JobStatusCompleted}),
	})
	require.NoError(t, err)
	srcs := second.File.Revisions[0].Sources
	require.Len(t, srcs, 1)
	assert.NotEmpty(t, srcs[0].ID)
	srcs[0].ID = ""
	assert.Equal(t, facade.Source{RevisionID: "rev-geo", RelationshipIdentifier: "load_geometry_file",
		FileID: "file-geo", ResourceType: "Artifact", ResourceID: "art-geo"}, srcs[0],
		"the platform describes the source from the product")
}
