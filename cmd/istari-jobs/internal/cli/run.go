package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade"
)

func (a *app) runCommand() *cobra.Command {
	var (
		f addFlags
		w waitFlags
	)
	cmd := &cobra.Command{
		Use:   "run --model MODEL_ID --function NAME [flags]",
		Short: "Add a job, wait until it ends, and fail unless it completed",
		Long: `Add a job as add does, then wait for it as wait does (its status changes are
shown on standard error), and print it. The exit code says how it ended: 0
Completed, 4 Failed or Canceled (the job is still printed, and its last status
message goes to standard error), 3 when --wait-timeout passes first (the
message names the job, which may still be running). --wait-timeout bounds the
whole run, the upload included.`,
		Example: `  istari-jobs run --model 7d0c... --function @istari:extract --param mode=fast --wait-timeout 30m
  istari-jobs run --model 7d0c... --function @istari:mesh --source REVISION_ID:load_geometry_file -o json`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if err := w.check(); err != nil {
				return err
			}
			p, err := f.job(a)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := w.context(a)
			defer cancel()
			progress, uploaded := a.uploadProgress(f.paramsFile)
			lines := a.newStatusLines()
			o := w.options()
			o.OnStatus = func(st facade.JobStatus) {
				uploaded() // the job was added: the upload is over
				lines.show(st)
			}
			job, err := c.RunJob(ctx, p, o, progress...)
			uploaded()
			lines.end()
			var failed *facade.JobFailedError
			switch {
			case errors.As(err, &failed):
				if perr := a.printJob(job); perr != nil {
					return perr
				}
				return &exitError{code: ExitJobFailed, err: errors.New(strings.TrimPrefix(failed.Error(), "facade: "))}
			case err != nil && job == nil && w.timedOut(a, ctx):
				return &exitError{code: ExitTimeout, err: fmt.Errorf(
					"timed out after %s adding the job (it may have been added: see istari-jobs list)", w.timeout)}
			case err != nil && job != nil:
				last := func(string) string { return lines.lastSeen(job.Status()) }
				if serr := w.stopped(a, ctx, unfinished([]string{job.ID}, last)); serr != nil {
					return serr // timed out or interrupted while waiting
				}
				// Waiting failed after the job was added: say which job,
				// and why, as for any other command.
				cause := err
				if u := errors.Unwrap(err); u != nil {
					cause = u // RunJob's error wraps the wait's
				}
				var ee *exitError
				if !errors.As(a.classify(cause), &ee) {
					return err
				}
				return &exitError{code: ee.code, err: fmt.Errorf("job %s was added, but waiting for it failed: %w", job.ID, ee.err)}
			case err != nil:
				return err
			}
			return a.printJob(job)
		}),
	}
	f.register(cmd)
	w.register(cmd.Flags())
	cmd.Flags().BoolVarP(&a.quiet, "quiet", "q", false, "print the job's id only")
	markExclusive(cmd, "quiet", "output")
	return cmd
}
