package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade"
)

// The limits of what agent keeps of a command's output.
const (
	agentStdoutMessage = 200     // bytes of the last stdout line, the Completed message
	agentStderrMessage = 1 << 10 // bytes of stderr's end, the Failed message
	agentKillAfter     = 5 * time.Second
)

func (a *app) agentCommand() *cobra.Command {
	var (
		o         facade.AgentOptions
		functions []string
	)
	cmd := &cobra.Command{
		Use:   "agent --agent-id ID [flags] -- COMMAND [ARG...]",
		Short: "Run a command for each job this agent claims",
		Long: `agent claims Pending jobs, as the platform's agents do, and runs COMMAND once
for each: in a fresh temporary directory holding the job's file under its own
name, with {input} in the arguments replaced by that file's path, {tmpdir} by
the directory, and ISTARI_JOB_ID set to the job's id.

It claims jobs assigned to --agent-id, to --pool, or to nobody, whose function
is one of --function (any when none is given). Claims are refereed by the
platform, so several agents never run the same job.

Exit status 0 completes the job, with the last non-empty line of the command's
standard output as its message (at most 200 bytes). Any other exit fails it,
with the last 1 KiB of standard error. A job canceled on the platform stops its
command (SIGTERM, then SIGKILL 5s later).

SIGINT or SIGTERM stops claiming, gives running commands --grace to finish,
then stops them and fails their jobs with "agent stopped"; agent exits 0 after
such a stop. The directory is removed after each job.`,
		Example: `  istari-jobs agent --agent-id agent-7 --function @istari:extract -- ./extract.sh {input} {tmpdir}
  istari-jobs agent --agent-id agent-7 --pool cad-pool --concurrency 4 -- python run.py --params {input}`,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash != 0 || len(args) == 0 {
				if dash > 0 {
					return usageErr("unexpected %q before --: give the COMMAND after --", args[0])
				}
				return usageErr("missing COMMAND: give it after --, as in: istari-jobs agent --agent-id ID -- ./run.sh {input}")
			}
			o.Functions = functions
			c, err := a.client()
			if err != nil {
				return err
			}
			return c.RunAgent(a.ctx, o, func(ctx context.Context, run *facade.JobRun) error {
				return a.runJobCommand(ctx, run, args)
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.AgentID, "agent-id", "", "this agent's `ID` (required)")
	f.StringVar(&o.PoolID, "pool", "", "also claim jobs assigned to this agent pool `ID`")
	f.StringArrayVar(&functions, "function", nil, "claim only jobs running this function `NAME` (repeatable)")
	f.IntVar(&o.Concurrency, "concurrency", 1, "commands to run at once")
	f.DurationVar(&o.Grace, "grace", 30*time.Second, "how long running commands may go on after SIGINT or SIGTERM")
	f.DurationVar(&o.MinInterval, "min-interval", time.Second, "the first wait between polls for work while idle")
	f.DurationVar(&o.MaxInterval, "max-interval", 30*time.Second, "the longest wait between polls for work while idle")
	_ = cmd.MarkFlagRequired("agent-id")
	return cmd
}

// runJobCommand runs the agent's command for one job.
func (a *app) runJobCommand(ctx context.Context, run *facade.JobRun, command []string) error {
	dir, err := os.MkdirTemp("", "istari-job-*")
	if err != nil {
		return fmt.Errorf("agent: temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, jobFileName(run.Job))
	if err := saveJobFile(ctx, run, input); err != nil {
		return err
	}
	args := make([]string, len(command))
	for i, arg := range command {
		args[i] = strings.NewReplacer("{input}", input, "{tmpdir}", dir).Replace(arg)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ISTARI_JOB_ID="+run.Job.ID)
	var stdout lastLine
	stderr := &tail{max: agentStderrMessage}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("agent: start %s: %w", args[0], err)
	}
	// The command's process group outlives istari-jobs: a second signal,
	// which stops istari-jobs at once, kills it first.
	defer a.forced.add(func() { kill(cmd.Process) })()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// The job was canceled on the platform, or the grace period ended.
		terminate(cmd.Process)
		t := time.NewTimer(agentKillAfter)
		select {
		case err = <-done:
		case <-t.C:
			kill(cmd.Process)
			err = <-done
		}
		t.Stop()
	}
	if err != nil {
		var ee *exec.ExitError
		if msg := strings.TrimSpace(stderr.String()); msg != "" && errors.As(err, &ee) {
			return errors.New(msg)
		}
		return fmt.Errorf("%s: %w", args[0], err)
	}
	run.SetMessage(cut(stdout.last(), agentStdoutMessage))
	return nil
}

// jobFileName is the name of the job's file in its directory: the name
// the file was uploaded with, or parameters.json.
func jobFileName(j *facade.Job) string {
	name := "parameters.json"
	if revs := j.File.Revisions; len(revs) > 0 {
		r := revs[len(revs)-1]
		n := r.Name
		if r.Extension != "" {
			n += "." + r.Extension
		}
		if b := filepath.Base(filepath.Clean("/" + n)); b != "/" && b != "." && b != "" {
			name = b
		}
	}
	return name
}

func saveJobFile(ctx context.Context, run *facade.JobRun, path string) error {
	rc, err := run.OpenFile(ctx)
	if err != nil {
		return fmt.Errorf("agent: read the job's file: %w", err)
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		return fmt.Errorf("agent: save the job's file: %w", err)
	}
	return f.Close()
}

// cut returns s cut to at most n bytes, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// lastLine keeps the last non-empty line written to it.
type lastLine struct {
	line, partial []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if len(l.partial) > 4*agentStdoutMessage {
				l.partial = l.partial[:4*agentStdoutMessage] // only the start is kept
			}
			break
		}
		l.partial = append(l.partial, p[:i]...)
		if len(bytes.TrimSpace(l.partial)) > 0 {
			l.line = append(l.line[:0], l.partial...)
		}
		l.partial, p = l.partial[:0], p[i+1:]
	}
	return n, nil
}

func (l *lastLine) last() string {
	if len(bytes.TrimSpace(l.partial)) > 0 {
		return strings.TrimSpace(string(l.partial))
	}
	return strings.TrimSpace(string(l.line))
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
