package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// demoFunction is the function the demo's jobs run.
const demoFunction = "@istari:extract"

// lockedWriter serializes the writes of the demo's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

// demo holds one demo run.
type demo struct {
	a      *app
	c      *facade.Client
	out    *lockedWriter
	model  string
	agent  string
	local  bool
	bulk   int
	params string
}

func (a *app) demoCommand() *cobra.Command {
	var (
		model, agent string
		bulk         int
	)
	cmd := &cobra.Command{
		Use:   "demo [--model MODEL_ID]",
		Short: "Walk one job through its life, step by step",
		Long: `Walk one job through its life with the SDK, printing each step: add it with a
parameters file, get and list it, let an agent move it from Claimed to
Completed while WaitForJob waits, archive and restore it, then iterate a few
hundred jobs with AllJobs.

With no registry configured it starts an in-memory platform inside the
process. With ISTARI_REGISTRY_URL and ISTARI_REGISTRY_AUTH_TOKEN (or --url and
--token-file) it runs against that platform instead and needs --model; it then
adds one job, and iterates the model's existing jobs rather than adding more.`,
		Example: `  istari-jobs demo
  ISTARI_REGISTRY_URL=https://registry.example.com istari-jobs demo --token-file ~/.istari-token --model 7d0c...`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if bulk < 0 {
				return usageErr("invalid --jobs %d: must not be negative", bulk)
			}
			d := &demo{a: a, out: &lockedWriter{w: a.stdout}, model: model, agent: agent, bulk: bulk}
			base, source := a.registry()
			if base == "" {
				srv := istaritest.NewServer()
				defer srv.Close()
				c, err := a.clientFor(srv.URL, "--url", srv.Token)
				if err != nil {
					return err
				}
				d.c, d.local = c, true
				if d.model == "" {
					d.model = "demo-model"
				}
				d.out.printf("No %s set: running against an in-memory platform at %s.\n\n", envURL, srv.URL)
			} else {
				// The client checks the URL first, so that what is printed
				// is the facade's form of it, which carries no credentials.
				c, err := a.client()
				if err != nil {
					return err
				}
				if d.model == "" {
					return usageErr("demo against %s (from %s) needs --model MODEL_ID, a model you may add jobs to", registryURL(c), source)
				}
				d.c = c
				d.out.printf("Running against the platform at %s (from %s), on model %s.\n\n", registryURL(c), source, d.model)
			}
			return d.run()
		}),
	}
	cmd.Flags().StringVar(&model, "model", "", "the model to add the demo's jobs to (required against a real platform)")
	cmd.Flags().StringVar(&agent, "agent", "demo-agent", "the agent id the demo assigns and reports statuses as")
	cmd.Flags().IntVar(&bulk, "jobs", 300, "how many jobs to add for AllJobs (in-memory platform only)")
	return cmd
}

func (d *demo) run() error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(d.a.ctx, time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "istari-jobs-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d.params = filepath.Join(dir, "parameters.json")
	params := []byte(`{"mode": "fast", "pages": [1, 2, 3], "units": "SI"}` + "\n")
	if err := os.WriteFile(d.params, params, 0o600); err != nil {
		return err
	}

	job, err := d.addAndGet(ctx, len(params))
	if err != nil {
		return err
	}
	if err := d.lifecycle(ctx, job.ID); err != nil {
		return err
	}
	if err := d.archive(ctx, job.ID); err != nil {
		return err
	}
	if err := d.iterate(ctx); err != nil {
		return err
	}
	d.out.printf("\nDone in %s.\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// addAndGet is steps 1 and 2: add the job, get it and list it.
func (d *demo) addAndGet(ctx context.Context, size int) (*facade.Job, error) {
	job, err := d.c.AddJob(ctx, facade.AddJobParams{
		ModelID: d.model, Function: demoFunction, ParametersFile: d.params,
		ToolName: "demo-tool", ToolVersion: "1.0", OperatingSystem: facade.OSUbuntu2404,
		Description: "added by istari-jobs demo", DisplayName: "demo job",
	})
	if err != nil {
		return nil, err
	}
	d.out.printf("[1/6] AddJob         added job %s: %s on model %s, with %s (%d bytes); status %s\n",
		escape(job.ID), escape(job.Function.Name), escape(d.model), filepath.Base(d.params), size, statusText(job))

	got, err := d.c.GetJob(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	d.out.printf("[2/6] GetJob         job %s is %s, created %s\n", escape(got.ID), statusText(got), got.Created.UTC().Format(time.RFC3339))
	page, err := d.c.ListModelJobs(ctx, d.model, facade.ListModelJobsParams{Sort: "-created", Size: 5})
	if err != nil {
		return nil, err
	}
	found := "not on the first page"
	for _, j := range page.Items {
		if j.ID == job.ID {
			found = "listed, " + statusText(j)
		}
	}
	d.out.printf("      ListModelJobs  model %s has %s; the new one is %s\n", d.model, plural(page.Total, "job"), found)
	return got, nil
}

// agentSteps are the statuses an agent reports, with their messages.
var agentSteps = []struct {
	status  facade.JobStatusName
	message string
}{
	{facade.JobStatusClaimed, "picked up"},
	{facade.JobStatusValidating, "checking the parameters"},
	{facade.JobStatusRunning, "extracting pages 1-3"},
	{facade.JobStatusUploading, "uploading 3 artifacts"},
	{facade.JobStatusCompleted, "done"},
}

// lifecycle is steps 3 and 4: an agent moves the job to Completed while
// WaitForJob waits for it.
func (d *demo) lifecycle(ctx context.Context, id string) error {
	job, err := d.c.UpdateJobAssignedAgent(ctx, id, facade.AssignedAgent{AgentID: d.agent})
	if err != nil {
		return err
	}
	d.out.printf("[3/6] AssignAgent    job assigned to agent %s; the agent now works while WaitForJob polls\n", escape(agentText(job)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	agentErr := make(chan error, 1)
	go func() {
		agentErr <- d.runAgent(ctx, id)
	}()

	start := time.Now()
	done, err := d.c.WaitForJob(ctx, id, facade.WaitOptions{
		MinInterval: 10 * time.Millisecond,
		MaxInterval: 20 * time.Millisecond,
		OnStatus: func(st facade.JobStatus) {
			d.out.printf("      WaitForJob     saw %s\n", statusNameText(st.Name))
		},
	})
	if err != nil {
		cancel()
		if aerr := <-agentErr; aerr != nil {
			return aerr
		}
		return err
	}
	if err := <-agentErr; err != nil {
		return err
	}
	d.out.printf("[4/6] WaitForJob     returned %s after %s\n", statusText(done), time.Since(start).Round(time.Millisecond))
	return nil
}

// runAgent reports agentSteps, a little apart, as the agent would.
func (d *demo) runAgent(ctx context.Context, id string) error {
	for _, s := range agentSteps {
		t := time.NewTimer(40 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if _, err := d.c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{
			Status: s.status, AgentID: d.agent, Message: s.message,
		}); err != nil {
			return err
		}
		d.out.printf("      agent          reported %-10s %q\n", s.status, s.message)
	}
	return nil
}

// archive is step 5: archive the job, list the archived jobs, restore it.
func (d *demo) archive(ctx context.Context, id string) error {
	job, err := d.c.ArchiveJob(ctx, id, facade.ArchiveJobParams{Reason: "demo finished"})
	if err != nil {
		return err
	}
	d.out.printf("[5/6] ArchiveJob     job is %s\n", statusText(job))
	page, err := d.c.ListJobs(ctx, facade.ListJobsParams{ModelID: d.model, ArchiveStatus: facade.ArchiveStatusArchived})
	if err != nil {
		return err
	}
	d.out.printf("      ListJobs       %s archived on model %s\n", plural(page.Total, "job"), d.model)
	job, err = d.c.RestoreJob(ctx, id, facade.RestoreJobParams{Reason: "demo: bring it back"})
	if err != nil {
		return err
	}
	d.out.printf("      RestoreJob     job is %s again\n", statusText(job))
	return nil
}

// iterate is step 6: AllJobs over a few hundred jobs.
func (d *demo) iterate(ctx context.Context) error {
	p := facade.ListJobsParams{ModelID: d.model}
	if d.local {
		p.ModelID = "demo-bulk-model"
		start := time.Now()
		if err := d.addMany(ctx, p.ModelID); err != nil {
			return err
		}
		d.out.printf("[6/6] AddJob         added %s to model %s in %s, 8 at a time\n",
			plural(d.bulk, "job"), p.ModelID, time.Since(start).Round(time.Millisecond))
	} else {
		d.out.printf("[6/6] AllJobs        iterating the jobs of model %s\n", d.model)
	}
	start := time.Now()
	n := 0
	for _, err := range d.c.AllJobs(ctx, p) {
		if err != nil {
			return err
		}
		n++
	}
	d.out.printf("      AllJobs        iterated %s, 100 a page, in %s\n", plural(n, "job"), time.Since(start).Round(time.Millisecond))
	return nil
}

// addMany adds d.bulk small jobs to model, 8 at a time.
func (d *demo) addMany(ctx context.Context, model string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		next     = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				_, err := d.c.AddJob(ctx, facade.AddJobParams{
					ModelID: model, Function: demoFunction, Parameters: map[string]int{"index": i},
				})
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range d.bulk {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return firstErr
}
