// Command quickstart runs the README's quick start: it starts the in-memory
// platform in this process, submits a job, lets a small agent run it, and
// waits for the job to end. It needs no account:
//
//	go run ./examples/quickstart
//
// Against a real platform, replace istaritest with
// facade.NewClientFromEnv(), which reads ISTARI_REGISTRY_URL and
// ISTARI_REGISTRY_AUTH_TOKEN.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	srv := istaritest.NewServer() // the in-memory platform
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token), facade.WithTimeout(30*time.Second))
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()

	// Submit a job: a function to run on a model, with its parameters.
	job, err := c.AddJob(ctx, facade.AddJobParams{
		ModelID:    "model-1",
		Function:   "@istari:extract",
		Parameters: map[string]any{"format": "step"},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "added job", job.ID)

	// A small agent claims the job and runs it.
	agentCtx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- c.RunAgent(agentCtx, facade.AgentOptions{AgentID: "agent-1", MinInterval: 50 * time.Millisecond},
			func(ctx context.Context, run *facade.JobRun) error {
				run.SetMessage("extracted " + run.Job.Function.Name)
				return nil
			})
	}()

	// Wait for the job to end, printing each status on the way.
	job, err = c.WaitForJob(ctx, job.ID, facade.WaitOptions{
		MinInterval: 50 * time.Millisecond,
		OnStatus:    func(st facade.JobStatus) { fmt.Fprintln(out, "status:", st.Name, st.Message) },
	})
	stopAgent()
	if aerr := <-agentDone; err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "job ended", job.Status())
	return job.Err() // nil when Completed, a *facade.JobFailedError otherwise
}
