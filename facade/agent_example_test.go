package facade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

func ExampleClient_RunAgent() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	job, _ := c.AddJob(context.Background(), facade.AddJobParams{
		ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]any{"format": "step"}})

	ctx, stop := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() {
		err := c.RunAgent(ctx, facade.AgentOptions{
			AgentID:     "agent-7",
			Functions:   []string{"@istari:extract"},
			Concurrency: 4,
		}, func(ctx context.Context, run *facade.JobRun) error {
			f, err := run.OpenFile(ctx) // the job's parameters
			if err != nil {
				return err
			}
			defer f.Close()
			var params struct{ Format string }
			if err := json.NewDecoder(f).Decode(&params); err != nil {
				return err // the job fails with this message
			}
			run.SetMessage("extracted as " + params.Format)
			return nil // the job completes
		})
		agentDone <- err
	}()

	done, err := c.WaitForJob(context.Background(), job.ID, facade.WaitOptions{MinInterval: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	stop() // the agent stops claiming, and its handlers get their grace period
	if err := <-agentDone; err != nil {
		log.Fatal(err)
	}
	last, _ := done.LastStatus()
	fmt.Println(last.Name, last.AgentID, last.Message)
	// Output: Completed agent-7 extracted as step
}

func ExampleClient_ClaimJob() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()
	job, _ := c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"})

	if _, err := c.ClaimJob(ctx, job.ID, facade.ClaimJobParams{AgentID: "agent-x"}); err != nil {
		log.Fatal(err)
	}
	// A second claim loses: the platform referees claims.
	_, err := c.ClaimJob(ctx, job.ID, facade.ClaimJobParams{AgentID: "agent-y"})
	fmt.Println(errors.Is(err, facade.ErrConflict))
	// Output: true
}
