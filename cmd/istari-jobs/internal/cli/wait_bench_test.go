package cli

import (
	"sync"
	"testing"

	"github.com/istari-go/sdk/facade"
)

// BenchmarkWaitMany compares `istari-jobs wait` on 20,000 Completed jobs
// of one model with WaitForJobs on the same jobs: the command's own work
// (the progress counts, one line per status) must stay a small share.
// Setting up the jobs takes a while: run it on its own, with -benchtime=3x.
func BenchmarkWaitMany(b *testing.B) {
	const n = 20_000
	e := newEnv(b)
	params := make([]facade.AddJobParams, n)
	for i := range params {
		params[i] = facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]any{}}
	}
	ids := make([]string, n)
	for i, r := range e.c.AddJobs(b.Context(), params, facade.BatchOptions{}) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		ids[i] = r.Job.ID
	}
	var wg sync.WaitGroup
	next := make(chan string)
	for range 8 {
		wg.Go(func() {
			for id := range next {
				if _, err := e.c.UpdateJobStatus(b.Context(), id, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()

	b.Run("WaitForJobs", func(b *testing.B) {
		for b.Loop() {
			jobs, err := e.c.WaitForJobs(b.Context(), ids, facade.WaitOptions{OnStatus: func(facade.JobStatus) {}})
			if err != nil || len(jobs) != n {
				b.Fatal(err)
			}
		}
	})
	b.Run("istari-jobs wait", func(b *testing.B) {
		args := append([]string{"-o", "jsonl", "wait"}, ids...)
		for b.Loop() {
			if r := e.run(args...); r.code != 0 {
				b.Fatal(r.stderr)
			}
		}
	})
}
