package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/istari-go/sdk/facade"
)

// waitFlags are the flags of a wait, shared by wait and run.
type waitFlags struct {
	timeout, interval, maxInterval time.Duration
}

func (w *waitFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&w.timeout, "wait-timeout", 0, "give up after this long, with exit code 3 (0: wait for ever)")
	fs.DurationVar(&w.interval, "interval", time.Second, "the first wait between two polls; each later wait doubles")
	fs.DurationVar(&w.maxInterval, "max-interval", 30*time.Second, "the longest wait between two polls")
}

// check refuses negative durations, naming the flag.
func (w *waitFlags) check() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"--wait-timeout", w.timeout}, {"--interval", w.interval}, {"--max-interval", w.maxInterval}} {
		if f.d < 0 {
			return usageErr("invalid %s %s: must not be negative", f.name, f.d)
		}
	}
	return nil
}

// options returns the wait options the flags give.
func (w *waitFlags) options() facade.WaitOptions {
	return facade.WaitOptions{MinInterval: w.interval, MaxInterval: w.maxInterval}
}

// context returns the run's context, bounded by --wait-timeout when set.
func (w *waitFlags) context(a *app) (context.Context, context.CancelFunc) {
	if w.timeout > 0 {
		return context.WithTimeout(a.ctx, w.timeout)
	}
	return a.ctx, func() {}
}

// timedOut reports whether ctx ended because --wait-timeout passed (and not
// because the run was interrupted).
func (w *waitFlags) timedOut(a *app, ctx context.Context) bool {
	return a.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// stopped returns the error of a wait that ctx ended before the jobs did,
// saying what it was waiting for (unfinished's "job X (last status: S)"):
// ExitInterrupted when the run was interrupted, ExitTimeout when
// --wait-timeout passed; nil when ctx has not ended.
func (w *waitFlags) stopped(a *app, ctx context.Context, waitingFor string) error {
	switch {
	case a.ctx.Err() != nil:
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted while waiting for %s", waitingFor)}
	case w.timedOut(a, ctx):
		return &exitError{code: ExitTimeout, err: fmt.Errorf("timed out after %s waiting for %s", w.timeout, waitingFor)}
	}
	return nil
}

// maxListedIDs is how many ids of the unfinished jobs a message lists.
const maxListedIDs = 3

// unfinished describes the jobs a wait for ids stopped before: for one,
// "job ID (last status: S)"; for many, "N of M jobs (last statuses: 2
// Pending, 1 Running; still waiting: ID, ID, ID and 4 more)". last returns
// a job's last status as shown, or "" when the job is finished.
func unfinished(ids []string, last func(id string) string) string {
	if len(ids) == 1 {
		return fmt.Sprintf("job %s (last status: %s)", ids[0], last(ids[0]))
	}
	var waiting []string
	counts := map[string]int{}
	for _, id := range ids {
		if st := last(id); st != "" {
			waiting = append(waiting, id)
			counts[st]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %s (last statuses: ", len(waiting), plural(len(ids), "job"))
	for i, st := range slices.Sorted(maps.Keys(counts)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", counts[st], st)
	}
	b.WriteString("; still waiting: ")
	b.WriteString(strings.Join(waiting[:min(len(waiting), maxListedIDs)], ", "))
	if n := len(waiting) - maxListedIDs; n > 0 {
		fmt.Fprintf(&b, " and %d more", n)
	}
	b.WriteString(")")
	return b.String()
}

// statusLines shows each new status entry of one job on standard error,
// with its agent and message: on a terminal as one updating line,
// otherwise as one plain line per entry.
type statusLines struct {
	a     *app
	live  bool
	start time.Time
	shown bool
	// last is the last status shown, "" before the first.
	last string
}

func (a *app) newStatusLines() *statusLines {
	return &statusLines{a: a, live: a.terminal(a.stderr), start: time.Now()}
}

// show is a WaitOptions.OnStatus.
func (s *statusLines) show(st facade.JobStatus) {
	s.last = statusNameText(st.Name)
	line := fmt.Sprintf("job %s: %s", escape(st.JobID), s.last)
	if st.AgentID != "" {
		line += " (agent " + escape(st.AgentID) + ")"
	}
	if m := escape(strings.TrimSpace(st.Message)); m != "" {
		line += ": " + m
	}
	if s.live {
		line += fmt.Sprintf(" (%s)", time.Since(s.start).Round(100*time.Millisecond))
		fmt.Fprint(s.a.stderr, clearLine+line)
		s.shown = true
		return
	}
	fmt.Fprintln(s.a.stderr, line)
}

// end ends the updating line, if one was drawn.
func (s *statusLines) end() {
	if s.shown {
		fmt.Fprintln(s.a.stderr)
		s.shown = false
	}
}

// lastSeen is the last status shown; before the first, known when it is
// set (the status a job was added with), else "none seen".
func (s *statusLines) lastSeen(known facade.JobStatusName) string {
	switch {
	case s.last != "":
		return s.last
	case known != "":
		return statusNameText(known)
	}
	return "none seen"
}

func (a *app) waitCommand() *cobra.Command {
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "wait JOB_ID... [flags]",
		Short: "Wait until a job is Completed, Failed or Canceled",
		Long: `Poll a job until its status is Completed, Failed or Canceled, then print it.
Each new entry of the job's status history is shown on standard error, with
its agent and message, those that came and went between two polls included:
on a terminal as one updating line, otherwise as one plain line per entry. The exit code is 3 when
--wait-timeout passes first; a job that ends Failed or Canceled still exits 0,
so check its status (run exits 4 instead).`,
		Example: `  istari-jobs wait 3f2a...
  istari-jobs wait 3f2a... --wait-timeout 30m --interval 2s --max-interval 1m -o json
  istari-jobs wait 3f2a... 9c1e... 5b7d...   # many jobs, polled in bulk`,
		Args: cobra.MinimumNArgs(1),
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			if err := w.check(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := w.context(a)
			defer cancel()
			if len(args) > 1 { // many jobs: WaitForJobs (batch.go)
				return a.waitMany(ctx, c, args, &w)
			}

			id := args[0]
			lines := a.newStatusLines()
			o := w.options()
			o.OnStatus = lines.show
			job, err := c.WaitForJob(ctx, id, o)
			lines.end()
			if err != nil {
				if serr := w.stopped(a, ctx, unfinished(args, func(string) string { return lines.lastSeen("") })); serr != nil {
					return serr
				}
				return err
			}
			return a.printJob(job)
		}),
	}
	w.register(cmd.Flags())
	return cmd
}
