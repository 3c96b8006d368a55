package facade_test

import (
	"context"
	"fmt"
	"log"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// A design sweep: ten jobs submitted together and waited for together. The
// README's "Many jobs" section shows the body of this example from its
// first var on (TestREADMEGoBlocksAreTested keeps the two equal).
func ExampleClient_AddJobs() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()

	var params []facade.AddJobParams
	for _, mesh := range []float64{0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256} {
		params = append(params, facade.AddJobParams{
			ModelID: "model-1", Function: "@istari:extract",
			Parameters: map[string]any{"mesh_mm": mesh},
		})
	}
	results := c.AddJobs(ctx, params, facade.BatchOptions{Concurrency: 8})
	var ids []string
	for i, r := range results { // in input order, one per input
		if r.Err != nil {
			log.Printf("mesh %v: %v", params[i].Parameters, r.Err)
			continue
		}
		ids = append(ids, r.Job.ID)
	}

	finishAll(ctx, c, ids) // agents run the jobs

	jobs, err := c.WaitForJobs(ctx, ids, facade.WaitOptions{
		OnStatus: func(st facade.JobStatus) { /* st.JobID says whose */ },
	})
	if err != nil {
		log.Fatal(err) // jobs still holds those that finished
	}
	done := map[facade.JobStatusName]int{}
	for _, j := range jobs {
		done[j.Status()]++
	}
	fmt.Println(len(jobs), "jobs:", done[facade.JobStatusCompleted], "completed,", done[facade.JobStatusFailed], "failed")
	// Output: 10 jobs: 9 completed, 1 failed
}

// finishAll stands for the agents that run the jobs: all complete but the
// last, which fails.
func finishAll(ctx context.Context, c *facade.Client, ids []string) {
	for i, id := range ids {
		st := facade.JobStatusCompleted
		if i == len(ids)-1 {
			st = facade.JobStatusFailed
		}
		if _, err := c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{Status: st}); err != nil {
			log.Fatal(err)
		}
	}
}
