package facade_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
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
	"github.com/istari-go/sdk/gen"
)

// addSweepJobs creates n jobs of model through c and returns their ids.
func addSweepJobs(t testing.TB, c *facade.Client, model string, n int) []string {
	t.Helper()
	ps := sweep(n)
	for i := range ps {
		ps[i].ModelID = model
	}
	ids := make([]string, n)
	for i, r := range c.AddJobs(context.Background(), ps, facade.BatchOptions{}) {
		if r.Err != nil {
			t.Fatalf("add job %d: %v", i, r.Err)
		}
		ids[i] = r.Job.ID
	}
	return ids
}

// advance moves each job through path, one status at a time, each step at
// a random moment within spread, through its own client, as one agent (so
// that its claim is followed by its own reports).
func advance(ctx context.Context, t *testing.T, c *facade.Client, ids []string, spread time.Duration, path func(i int) []facade.JobStatusName) {
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			for _, st := range path(i) {
				select {
				case <-time.After(rand.N(spread / time.Duration(len(path(i))))):
				case <-ctx.Done():
					return
				}
				if _, err := c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{Status: st, AgentID: "sweep-agent", Message: "step " + string(st)}); err != nil && ctx.Err() == nil {
					t.Errorf("update %s: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestWaitForJobsSeesEveryStatusOfEveryJob(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv := istaritest.NewServer(istaritest.WithUser("other-token", "other-user", false))
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)
	other := newSweepClient(t, srv.URL, "other-token")

	// 130 jobs of one model (two pages), 5 of another, and 2 of another
	// user, which no list of this user's shows.
	ids := addSweepJobs(t, c, "model-a", 130)
	ids = append(ids, addSweepJobs(t, c, "model-b", 5)...)
	ids = append(ids, addSweepJobs(t, other, "model-a", 2)...)
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = append(ids, ids[3]) // the same id twice

	finals := []facade.JobStatusName{facade.JobStatusCompleted, facade.JobStatusFailed, facade.JobStatusCanceled}
	driver := newSweepClient(t, srv.URL, srv.Token)
	go advance(ctx, t, driver, ids[:len(ids)-1], 400*time.Millisecond, func(i int) []facade.JobStatusName {
		return []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, finals[i%3]}
	})

	var seen []facade.JobStatus
	jobs, err := c.WaitForJobs(ctx, ids, facade.WaitOptions{
		MinInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond,
		OnStatus: func(st facade.JobStatus) { seen = append(seen, st) },
	})
	require.NoError(t, err)
	require.Len(t, jobs, len(ids))
	byJob := map[string][]facade.JobStatus{}
	for _, st := range seen {
		byJob[st.JobID] = append(byJob[st.JobID], st)
	}
	for i, j := range jobs {
		require.NotNil(t, j, "job %d", i)
		assert.Equal(t, ids[i], j.ID, "in the order of ids")
		assert.True(t, j.Status().IsTerminal(), "job %d ends %s", i, j.Status())
		final, ok := srv.Job(j.ID)
		require.True(t, ok)
		assert.Equal(t, final.StatusHistory, j.StatusHistory, "the job as it finished")
		assert.Equal(t, final.StatusHistory, byJob[j.ID], "OnStatus saw every entry of job %d once, in order", i)
	}
	assert.Same(t, jobs[3], jobs[len(jobs)-1], "the same id gets the same job")
	assert.Len(t, byJob, len(ids)-1)
}

func TestWaitForJobsCost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv := istaritest.NewServer()
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)
	ids := addSweepJobs(t, c, "model-a", 200)
	addSweepJobs(t, c, "model-a", 100) // newer, not waited on: page 1
	addSweepJobs(t, c, "model-b", 20)

	// Newest first, model-a's pages hold the 100 newer jobs, then
	// ids[100:200], then ids[0:100]. Each wait stops after five rounds on a
	// fake clock.
	var rounds atomic.Int32
	waiter := newSweepClient(t, srv.URL, srv.Token)
	var stop context.CancelFunc
	facade.SetClientSleep(waiter, func(ctx context.Context, d time.Duration) error {
		if rounds.Add(1) == 5 {
			stop()
		}
		return ctx.Err()
	})
	wait := func() ([]*facade.Job, map[istaritest.Operation]int, error) {
		var wctx context.Context
		wctx, stop = context.WithCancel(ctx)
		defer stop()
		rounds.Store(0)
		before := srv.Requests().ByOperation
		jobs, err := waiter.WaitForJobs(wctx, ids, facade.WaitOptions{})
		after := srv.Requests().ByOperation
		for op, n := range before {
			after[op] -= n
		}
		return jobs, after, err
	}

	jobs, sent, err := wait()
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "200 of 200 jobs not finished")
	require.Len(t, jobs, 200)
	for _, j := range jobs {
		assert.Nil(t, j, "none finished")
	}
	// Each round walks all 3 pages, down to the oldest job waited on; the
	// first round also asks for one job, to learn its model.
	assert.Equal(t, 1, sent[istaritest.OpGetJob])
	assert.Equal(t, 5*3, sent[istaritest.OpListModelJobs])

	// Jobs that finish drop out: with the oldest 150 done, a round stops
	// at page 2, where it has seen the 50 still waited on.
	driver := newSweepClient(t, srv.URL, srv.Token)
	for _, id := range ids[:150] {
		_, err := driver.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted})
		require.NoError(t, err)
	}
	jobs, sent, err = wait()
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "50 of 200 jobs not finished")
	for i, j := range jobs {
		assert.Equal(t, i < 150, j != nil, "job %d finished", i)
	}
	// Round 1: a GetJob and all 3 pages, since it cannot know yet which
	// jobs are done; rounds 2 to 5: 2 pages each.
	assert.Equal(t, 1, sent[istaritest.OpGetJob])
	assert.Equal(t, 3+4*2, sent[istaritest.OpListModelJobs])
}

func TestWaitForJobsCancelReturnsFinishedJobs(t *testing.T) {
	srv := istaritest.NewServer()
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token)
	ids := addSweepJobs(t, c, "model-a", 6)
	for _, id := range ids[:3] {
		_, err := c.UpdateJobStatus(context.Background(), id, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	jobs, err := c.WaitForJobs(ctx, ids, facade.WaitOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "3 of 6 jobs not finished")
	assert.Less(t, time.Since(start), 3*time.Second)
	require.Len(t, jobs, 6)
	for i, j := range jobs {
		if i < 3 {
			require.NotNil(t, j)
			assert.Equal(t, facade.JobStatusCompleted, j.Status())
		} else {
			assert.Nil(t, j)
		}
	}
}

func TestWaitForJobsErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := istaritest.NewServer()
	defer srv.Close()
	c := newSweepClient(t, srv.URL, srv.Token, facade.WithRetry(facade.NoRetry()))
	ids := addSweepJobs(t, c, "model-a", 3)
	fast := facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}

	jobs, err := c.WaitForJobs(ctx, nil, fast)
	assert.NoError(t, err)
	assert.Empty(t, jobs)

	before := srv.Requests().Total
	_, err = c.WaitForJobs(ctx, []string{ids[0], ""}, fast)
	var ve *facade.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "ids[1]", ve.Field)
	_, err = c.WaitForJobs(ctx, ids, facade.WaitOptions{MinInterval: -1})
	assert.ErrorIs(t, err, facade.ErrInvalidInput)
	assert.Equal(t, before, srv.Requests().Total, "nothing sent")

	// An unknown job ends the wait, with the jobs finished so far.
	_, err = c.UpdateJobStatus(ctx, ids[0], facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted})
	require.NoError(t, err)
	jobs, err = c.WaitForJobs(ctx, []string{ids[0], "no-such-job"}, fast)
	assert.ErrorIs(t, err, facade.ErrNotFound)
	assert.Contains(t, err.Error(), "no-such-job")
	require.Len(t, jobs, 2)
	assert.NotNil(t, jobs[0])
	assert.Nil(t, jobs[1])

	// A failing list ends the wait unless Retryable accepts it.
	srv.FailOperation(istaritest.OpListModelJobs, 1, http.StatusInternalServerError, 0)
	_, err = c.WaitForJobs(ctx, ids, fast)
	assert.ErrorIs(t, err, facade.ErrServer)

	srv.FailOperation(istaritest.OpListModelJobs, 2, http.StatusInternalServerError, 0)
	srv.FailOperation(istaritest.OpGetJob, 1, http.StatusBadGateway, 0)
	var retried atomic.Int32
	go func() {
		time.Sleep(30 * time.Millisecond)
		for _, id := range ids[1:] {
			_, _ = c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{Status: facade.JobStatusFailed})
		}
	}()
	jobs, err = c.WaitForJobs(ctx, ids, facade.WaitOptions{
		MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond,
		Retryable: func(err error) bool { retried.Add(1); return errors.Is(err, facade.ErrServer) },
	})
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusFailed, jobs[2].Status())
	assert.EqualValues(t, 3, retried.Load(), "each failure was offered to Retryable")
}

// TestWaitForJobsWalkStops holds the two stops of WaitForJobs' walk on a
// hand-written server of 1,000 jobs of one model, newest first, 100 a page
// (TestWaitForJobsCost holds them against istaritest): a walk stops once it
// has seen every job waited on, and at the first page that reaches jobs
// older than the oldest one waited on, even when a job waited on is never
// listed.
func TestWaitForJobsWalkStops(t *testing.T) {
	const total = 1000
	created := func(i int) time.Time { return fixedTime.Add(-time.Duration(i) * time.Minute) } // job-i, newest first
	job := func(id string, at time.Time, st gen.JobStatusName) gen.Job {
		j := sampleJob(id, gen.JobStatusNamePending, st)
		j.Created = at
		return j
	}
	// unlisted is a job of the model that no page shows (another user's,
	// say), created between job-249 and job-250: on page 3.
	const unlisted = "unlisted"
	var unlistedGets atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch id := path.Base(r.URL.Path); {
		case id == "jobs":
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			assert.Equal(t, "-created", r.URL.Query().Get("sort"))
			items := []gen.Job{}
			for i := (page - 1) * 100; i < page*100 && i < total; i++ {
				items = append(items, job(fmt.Sprintf("job-%d", i), created(i), gen.JobStatusNameCompleted))
			}
			writeJSON(w, 200, gen.PageJob{Items: items, Total: total, Page: page, Size: 100, Pages: total / 100})
		case id == unlisted:
			st := gen.JobStatusNameRunning
			if unlistedGets.Add(1) >= 3 {
				st = gen.JobStatusNameCompleted
			}
			writeJSON(w, 200, job(unlisted, created(249).Add(-30*time.Second), st))
		default:
			i, _ := strconv.Atoi(strings.TrimPrefix(id, "job-"))
			writeJSON(w, 200, job(id, created(i), gen.JobStatusNameCompleted))
		}
	})
	c, _ := newClient(t, srv.baseURL())
	fast := facade.WaitOptions{MinInterval: time.Millisecond, MaxInterval: time.Millisecond}
	count := func(from int) (gets, lists int) {
		for _, rq := range srv.requests()[from:] {
			if strings.HasSuffix(rq.Path, "/jobs") {
				lists++
			} else {
				gets++
			}
		}
		return gets, lists
	}

	// Seen every job: one GetJob learns the model of job-5, and the walk
	// stops at page 3, where it has seen job-150 and job-210.
	jobs, err := c.WaitForJobs(testCtxWithin(t, hangGuard), []string{"job-5", "job-150", "job-210"}, fast)
	require.NoError(t, err)
	require.Len(t, jobs, 3)
	gets, lists := count(0)
	assert.Equal(t, 1, gets)
	assert.Equal(t, 3, lists, "pages 1 to 3 of 10")

	// Older than the oldest: round 1 learns the model with a GetJob; rounds
	// 2 and 3 walk to page 3, whose last job is older than it, then poll it
	// with GetJob, which answers Completed the third time.
	from := len(srv.requests())
	jobs, err = c.WaitForJobs(testCtxWithin(t, hangGuard), []string{unlisted}, fast)
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusCompleted, jobs[0].Status())
	gets, lists = count(from)
	assert.Equal(t, 3, gets)
	assert.Equal(t, 2*3, lists, "two walks of 3 pages, not of 10")
}
