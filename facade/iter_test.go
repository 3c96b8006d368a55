package facade_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// pagingServer serves total jobs named job-0, job-1, ... in pages, as the
// platform's page arithmetic does, and counts the pages asked for.
func pagingServer(t *testing.T, total int, fetched *atomic.Int32) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		fetched.Add(1)
		q := r.URL.Query()
		page, size := 1, 10
		if v := q.Get("page"); v != "" {
			page, _ = strconv.Atoi(v)
		}
		if v := q.Get("size"); v != "" {
			size, _ = strconv.Atoi(v)
		}
		pages := 0
		if size > 0 {
			pages = (total + size - 1) / size
		}
		items := []gen.Job{}
		for i := (page - 1) * size; size > 0 && i < page*size && i < total; i++ {
			items = append(items, sampleJob(fmt.Sprintf("job-%d", i), gen.JobStatusNamePending))
		}
		writeJSON(w, 200, gen.PageJob{Items: items, Total: total, Page: page, Size: size, Pages: pages})
	})
}

func TestAllJobs(t *testing.T) {
	for _, tc := range []struct {
		total, size, prefetch, wantFetches int
	}{
		{0, 10, 1, 1},
		{1, 10, 1, 1},
		{50, 10, 1, 5},
		{50, 10, 0, 5},
		{50, 10, 4, 5},
		{250, 0, 1, 3}, // the iterators ask for 100 when no size is set
	} {
		t.Run(fmt.Sprintf("total=%d size=%d prefetch=%d", tc.total, tc.size, tc.prefetch), func(t *testing.T) {
			var fetched atomic.Int32
			srv := pagingServer(t, tc.total, &fetched)
			c, _ := newClient(t, srv.baseURL(), withPrefetch(tc.prefetch))
			var ids []string
			for job, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: tc.size}) {
				require.NoError(t, err)
				ids = append(ids, job.ID)
			}
			require.Len(t, ids, tc.total)
			for i, id := range ids {
				assert.Equal(t, fmt.Sprintf("job-%d", i), id, "items keep their order")
			}
			assert.EqualValues(t, tc.wantFetches, fetched.Load())
		})
	}
}

func TestAllModelJobs(t *testing.T) {
	var fetched atomic.Int32
	srv := pagingServer(t, 23, &fetched)
	c, _ := newClient(t, srv.baseURL())
	n := 0
	for job, err := range c.AllModelJobs(testCtx(t), "model-1", facade.ListModelJobsParams{Size: 5, Status: facade.JobStatusPending}) {
		require.NoError(t, err)
		require.NotNil(t, job)
		n++
	}
	assert.Equal(t, 23, n)
	for _, r := range srv.requests() {
		assert.Equal(t, mountPrefix+"/api/v2/models/model-1/jobs", r.Path)
	}
}

func TestAllJobsStopsFetchingWhenTheLoopBreaks(t *testing.T) {
	var fetched atomic.Int32
	srv := pagingServer(t, 1000, &fetched)
	c, _ := newClient(t, srv.baseURL(), facade.WithPrefetch(1))
	n := 0
	for _, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: 10}) {
		require.NoError(t, err)
		n++
		if n == 15 { // in the middle of page 2
			break
		}
	}
	// Page 1, page 2, and at most the one page prefetched behind page 2.
	assert.LessOrEqual(t, fetched.Load(), int32(3))
	time.Sleep(20 * time.Millisecond)
	assert.LessOrEqual(t, fetched.Load(), int32(3), "nothing is fetched after the loop ends")
}

func TestAllJobsYieldsAnErrorOnceAndStops(t *testing.T) {
	var calls atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1) == 2 {
			writeJSON(w, 500, map[string]string{"detail": "boom"})
			return
		}
		writeJSON(w, 200, gen.PageJob{Items: []gen.Job{sampleJob("a")}, Total: 3, Page: 1, Size: 1, Pages: 3})
	})
	c, _ := newClient(t, srv.baseURL(), facade.WithPrefetch(facade.NoPrefetch))
	var items, errs int
	for job, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: 1}) {
		if err != nil {
			errs++
			assert.ErrorIs(t, err, facade.ErrServer)
			assert.Nil(t, job)
			continue
		}
		items++
	}
	assert.Equal(t, 1, items)
	assert.Equal(t, 1, errs)
	assert.EqualValues(t, 2, calls.Load())
}

func TestAllJobsHonoursContext(t *testing.T) {
	var fetched atomic.Int32
	srv := pagingServer(t, 100, &fetched)
	c, _ := newClient(t, srv.baseURL())
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var gotErr error
	n := 0
	for _, err := range c.AllJobs(ctx, facade.ListJobsParams{Size: 10}) {
		if err != nil {
			gotErr = err
			break
		}
		if n++; n == 10 {
			cancel()
		}
	}
	assert.ErrorIs(t, gotErr, context.Canceled)
}

// testCtx is the context of a test that iterates, polls or waits: a
// deadline of a few seconds, so that a regression fails instead of hanging.
func testCtx(t *testing.T) context.Context { return testCtxWithin(t, 5*time.Second) }

// hangGuard is the deadline of a test that does much work (a hundred
// goroutines' round trips, say): long enough that no load on the machine
// reaches it, so that it ends only a test that hangs, and never asserts
// how fast the work ran.
const hangGuard = 2 * time.Minute

// testCtxWithin is testCtx with a deadline of d, for tests that move more
// bytes or do more work.
func testCtxWithin(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// shiftingServer serves a list of total jobs, size a page, newest first.
// Once it has answered page 1, shift new jobs are added in front of the
// list, as jobs created during a walk are: every job moves shift places
// down, and a job of page 1 reappears on a later page. It counts how many
// of its answers' items were such repeats.
func shiftingServer(t *testing.T, total, size, shift int) (*recorder, *atomic.Int32) {
	var shifted atomic.Bool
	var repeats atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		n, moved := total, 0
		if page > 1 && shifted.Load() {
			n, moved = total+shift, shift
		}
		items := []gen.Job{}
		for i := (page - 1) * size; i < page*size && i < n; i++ {
			id := fmt.Sprintf("new-%d", i)
			if i >= moved {
				id = fmt.Sprintf("job-%d", i-moved)
				if page > 1 && i-moved < size {
					repeats.Add(1) // a job of page 1, served again
				}
			}
			items = append(items, sampleJob(id, gen.JobStatusNamePending))
		}
		if page == 1 {
			shifted.Store(true) // before the answer: later pages see the shift
		}
		writeJSON(w, 200, gen.PageJob{Items: items, Total: n, Page: page, Size: size, Pages: (n + size - 1) / size})
	})
	return srv, &repeats
}

// TestAllJobsCatchesRepeatsAcrossPages: when the list shifts by more than
// one page during a walk, a job seen on page 1 and served again pages
// later is yielded once, as long as it comes back within the pages the
// iterator remembers, the prefetch depth plus 2; one that comes back a
// page past them is yielded twice, as AllJobs' doc says.
func TestAllJobsCatchesRepeatsAcrossPages(t *testing.T) {
	const total, size = 30, 2 // 15 pages
	for _, prefetch := range []int{0, 4} {
		window := max(prefetch, 1) + 2 // the pages remembered
		for _, tc := range []struct {
			name  string
			shift int // jobs added in front, after page 1
			twice bool
		}{
			// A job of page 1 comes back window-1 pages later: the last
			// page still remembered.
			{fmt.Sprintf("shift of %d pages", window-1), size * (window - 1), false},
			// One page further: forgotten, and yielded again.
			{fmt.Sprintf("shift of %d pages", window), size * window, true},
		} {
			t.Run(fmt.Sprintf("prefetch=%d/%s", prefetch, tc.name), func(t *testing.T) {
				srv, repeats := shiftingServer(t, total, size, tc.shift)
				c, _ := newClient(t, srv.baseURL(), withPrefetch(prefetch))
				seen := map[string]int{}
				n := 0
				for job, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: size}) {
					require.NoError(t, err)
					seen[job.ID]++
					n++
				}
				require.Positive(t, repeats.Load(), "the server served jobs of earlier pages again")
				var twice []string
				for id, k := range seen {
					if k > 1 {
						twice = append(twice, id)
					}
				}
				if tc.twice {
					assert.NotEmpty(t, twice, "a repeat past the window is not remembered: the window is the prefetch depth plus 2, not more")
				} else {
					assert.Empty(t, twice, "a job yielded twice, though it came back within the pages remembered")
					assert.Equal(t, n, len(seen))
				}
			})
		}
	}
}
