package facade_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// progressServer answers GetJob with the job's status history growing by
// one entry of path per poll, then staying at the last.
func progressServer(t *testing.T, path []gen.JobStatusName, polls *atomic.Int32) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		n := int(polls.Add(1))
		writeJSON(w, 200, sampleJob("job-1", path[:min(n, len(path))]...))
	})
}

func TestWaitForJobReachesEachTerminalStatus(t *testing.T) {
	for _, final := range []gen.JobStatusName{gen.JobStatusNameCompleted, gen.JobStatusNameFailed, gen.JobStatusNameCanceled} {
		t.Run(string(final), func(t *testing.T) {
			path := []gen.JobStatusName{gen.JobStatusNamePending, gen.JobStatusNameClaimed, gen.JobStatusNameRunning, gen.JobStatusNameRunning, final}
			var polls atomic.Int32
			srv := progressServer(t, path, &polls)
			c, _ := newClient(t, srv.baseURL())
			var seen []facade.JobStatusName
			job, err := c.WaitForJob(testCtx(t), "job-1", facade.WaitOptions{
				MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond,
				OnStatus: func(st facade.JobStatus) { seen = append(seen, st.Name) },
			})
			require.NoError(t, err)
			assert.Equal(t, facade.JobStatusName(final), job.Status())
			assert.EqualValues(t, len(path), polls.Load(), "one poll per step, none after the terminal status")
			want := make([]facade.JobStatusName, len(path))
			for i, s := range path {
				want[i] = facade.JobStatusName(s)
			}
			assert.Equal(t, want, seen, "OnStatus sees each history entry once, in order")
		})
	}
}

func TestWaitForJobContextEnds(t *testing.T) {
	var polls atomic.Int32
	srv := progressServer(t, []gen.JobStatusName{gen.JobStatusNamePending, gen.JobStatusNameRunning}, &polls)
	c, _ := newClient(t, srv.baseURL())
	// 500 ms leaves a loaded machine time for the two polls that reach
	// Running; the job never ends, so the wait ends with ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.WaitForJob(ctx, "job-1", facade.WaitOptions{MinInterval: 5 * time.Millisecond, MaxInterval: 10 * time.Millisecond})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "last status Running")
	assert.Less(t, time.Since(start), 30*time.Second, "a hang guard: the wait ends with ctx")
}

func TestWaitForJobStopsOnError(t *testing.T) {
	var polls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		polls.Add(1)
		writeJSON(w, 404, map[string]string{"detail": "Job not found"})
	})
	c, _ := newClient(t, srv.baseURL())
	_, err := c.WaitForJob(testCtx(t), "job-1", facade.WaitOptions{MinInterval: time.Millisecond})
	assert.ErrorIs(t, err, facade.ErrNotFound)
	assert.EqualValues(t, 1, polls.Load())
}

func TestWaitForJobRetryable(t *testing.T) {
	var polls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if polls.Add(1) < 3 {
			writeJSON(w, 500, map[string]string{"detail": "flaky"})
			return
		}
		writeJSON(w, 200, sampleJob("job-1", gen.JobStatusNameCompleted))
	})
	c, _ := newClient(t, srv.baseURL())
	job, err := c.WaitForJob(testCtx(t), "job-1", facade.WaitOptions{
		MinInterval: time.Millisecond,
		Retryable:   func(err error) bool { return true },
	})
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusCompleted, job.Status())
	assert.EqualValues(t, 3, polls.Load())
}

// TestWaitForJobSeesEntriesBetweenPolls serves a history that grows by
// several entries between two polls, and by none on some polls: OnStatus
// still gets every entry once, in order, with its job, message and agent.
func TestWaitForJobSeesEntriesBetweenPolls(t *testing.T) {
	full := []gen.JobStatusName{gen.JobStatusNamePending, gen.JobStatusNameClaimed, gen.JobStatusNameRunning, gen.JobStatusNameCompleted}
	lengths := []int{1, 1, 4} // Claimed, Running and Completed all arrive at the third poll
	var polls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		n := int(polls.Add(1))
		writeJSON(w, 200, sampleJob("job-1", full[:lengths[min(n, len(lengths))-1]]...))
	})
	c, _ := newClient(t, srv.baseURL())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seen []facade.JobStatus
	job, err := c.WaitForJob(ctx, "job-1", facade.WaitOptions{
		MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
		OnStatus: func(st facade.JobStatus) { seen = append(seen, st) },
	})
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusCompleted, job.Status())
	require.Len(t, seen, 4)
	for i, st := range seen {
		assert.Equal(t, facade.JobStatusName(full[i]), st.Name)
		assert.Equal(t, fmt.Sprintf("job-1-s%d", i), st.ID)
		assert.Equal(t, "job-1", st.JobID)
		assert.Equal(t, "agent-1", st.AgentID)
		assert.Equal(t, "step", st.Message)
	}
}
