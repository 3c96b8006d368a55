package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade"
)

func (a *app) waitCommand() *cobra.Command {
	var waitTimeout, interval, maxInterval time.Duration
	cmd := &cobra.Command{
		Use:   "wait JOB_ID... [flags]",
		Short: "Wait until a job is Completed, Failed or Canceled",
		Long: `Poll a job until its status is Completed, Failed or Canceled, then print it.
Each new entry of the job's status history is shown on standard error, with
its agent and message, those that came and went between two polls included:
on a terminal as one updating line, otherwise as one plain line per entry. The exit code is 3 when
--wait-timeout passes first; a job that ends Failed or Canceled still exits 0,
so check its status.`,
		Example: `  istari-jobs wait 3f2a...
  istari-jobs wait 3f2a... --wait-timeout 30m --interval 2s --max-interval 1m -o json
  istari-jobs wait 3f2a... 9c1e... 5b7d...   # many jobs, polled in bulk`,
		Args: cobra.MinimumNArgs(1),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			if waitTimeout < 0 {
				return usageErr("invalid --wait-timeout %s: must not be negative", waitTimeout)
			}
			if interval < 0 {
				return usageErr("invalid --interval %s: must not be negative", interval)
			}
			if maxInterval < 0 {
				return usageErr("invalid --max-interval %s: must not be negative", maxInterval)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx, context.CancelFunc(func() {})
			if waitTimeout > 0 {
				ctx, cancel = context.WithTimeout(a.ctx, waitTimeout)
			}
			defer cancel()
			if len(args) > 1 { // many jobs: WaitForJobs (batch.go)
				return a.waitMany(ctx, c, args, facade.WaitOptions{MinInterval: interval, MaxInterval: maxInterval}, waitTimeout)
			}

			id := args[0]
			live := a.terminal(a.stderr)
			start := time.Now()
			var (
				last  string
				shown bool
			)
			job, err := c.WaitForJob(ctx, id, facade.WaitOptions{
				MinInterval: interval,
				MaxInterval: maxInterval,
				OnStatus: func(st facade.JobStatus) {
					last = statusNameText(st.Name)
					line := fmt.Sprintf("job %s: %s", sanitize(id, false), last)
					if st.AgentID != "" {
						line += " (agent " + sanitize(st.AgentID, false) + ")"
					}
					if m := sanitize(strings.TrimSpace(st.Message), false); m != "" {
						line += ": " + m
					}
					if live {
						line += fmt.Sprintf(" (%s)", time.Since(start).Round(100*time.Millisecond))
						fmt.Fprint(a.stderr, clearLine+line)
						shown = true
						return
					}
					fmt.Fprintln(a.stderr, line)
				},
			})
			if shown {
				fmt.Fprintln(a.stderr)
			}
			if err != nil {
				if a.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					if last == "" {
						last = "none seen"
					}
					return &exitError{code: ExitTimeout, err: fmt.Errorf(
						"timed out after %s waiting for job %s (last status: %s)", waitTimeout, id, last)}
				}
				return err
			}
			return a.printJob(job)
		}),
	}
	fs := cmd.Flags()
	fs.DurationVar(&waitTimeout, "wait-timeout", 0, "give up after this long, with exit code 3 (0: wait for ever)")
	fs.DurationVar(&interval, "interval", time.Second, "the first wait between two polls; each later wait doubles")
	fs.DurationVar(&maxInterval, "max-interval", 30*time.Second, "the longest wait between two polls")
	return cmd
}
