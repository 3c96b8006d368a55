// Package cli implements the istari-jobs command: a command-line client for
// the job API of the Istari Digital Platform, built on package facade.
//
// [Run] is the whole program: it builds a fresh command tree for every call
// and keeps no global state, so tests run it in-process against
// facade/istaritest, and cmd/istari-jobs only wires it to the process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/istari-go/sdk/facade"
)

// The exit codes of istari-jobs.
const (
	// ExitOK means the command succeeded.
	ExitOK = 0
	// ExitAPI means the platform answered with an error, or could not be
	// reached; the detail is on standard error.
	ExitAPI = 1
	// ExitUsage means the command line was wrong: an unknown command or
	// flag, a missing argument, or a value that failed a check.
	ExitUsage = 2
	// ExitTimeout means wait or run gave up after --wait-timeout.
	ExitTimeout = 3
	// ExitJobFailed means the job run ran ended Failed or Canceled; its
	// last status message is on standard error.
	ExitJobFailed = 4
	// ExitInterrupted means the command was stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)

// Run runs istari-jobs with args (without the program name), reading from
// stdin and writing to stdout and stderr, and returns the process's exit
// code. getenv supplies the environment (os.Getenv in production). Ending
// ctx stops whatever the command is doing, as SIGINT does.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(ctx, args, streams{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		isTerminal: isTerminal,
	})
}

// streams is what a run talks to; tests replace isTerminal.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     func(io.Writer) bool
	// progressMin is the smallest upload that shows progress on a
	// terminal; 0 means defaultProgressMin.
	progressMin int64
	// clientOpts are added to every client's options.
	clientOpts []facade.Option
	// forced holds what must be done when the process stops at once
	// (Main); nil for Run.
	forced *cleanups
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func run(ctx context.Context, args []string, s streams) int {
	if s.getenv == nil {
		s.getenv = func(string) string { return "" }
	}
	if s.stdin == nil {
		s.stdin = strings.NewReader("")
	}
	if s.progressMin <= 0 {
		s.progressMin = defaultProgressMin
	}
	a := &app{ctx: ctx, streams: s, transport: facade.DefaultTransport()}
	a.attempts = &attemptCounter{next: a.transport}
	defer a.transport.CloseIdleConnections()

	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		// Cobra's own errors: unknown command or flag, bad arguments,
		// required flags.
		ee = cobraError(err)
	}
	a.printError(cmd, ee)
	return ee.code
}

// app holds one run's streams and global flags.
type app struct {
	ctx context.Context
	streams
	transport *http.Transport
	// attempts counts the requests of the call in progress, for the
	// message of an error after retries.
	attempts *attemptCounter
	// tokenSource says where the token came from (envToken or
	// --token-file "PATH"), for the message of a 401; "" before readToken.
	tokenSource string

	// Global flags.
	url          string
	tokenFile    string
	token        string // defined only to be refused
	timeout      time.Duration
	output       string
	quiet        bool // set by -q on add, list and list-model
	debug        bool
	insecureHTTP bool
	allowUnknown bool
}

// exitError is an error with the exit code it stands for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// cobraError returns one of cobra's own errors as a usage error on one
// line: the line breaks of its messages ("Did you mean this?") become
// spaces.
func cobraError(err error) *exitError {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	return &exitError{code: ExitUsage, err: errors.New(msg)}
}

// usageErr returns an error that exits with ExitUsage.
func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// printError writes err to standard error on one line, with a hint for
// usage errors. Every hidden character is escaped (escape), so that a
// detail from the platform cannot forge a line or change the terminal;
// cobraError has made cobra's own messages one line.
func (a *app) printError(cmd *cobra.Command, ee *exitError) {
	fmt.Fprintf(a.stderr, "istari-jobs: %s\n", escape(ee.err.Error()))
	if ee.code == ExitUsage && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}

// runE wraps a command's body so that every error it returns carries its
// exit code: usage for a failed check, 1 for the platform's errors.
func (a *app) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if err == nil {
			return nil
		}
		return a.classify(err)
	}
}

// classify turns an error from the facade into an exitError with a message
// for a person at a shell.
func (a *app) classify(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if a.ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted")}
	}
	var ve *facade.ValidationError
	if errors.As(err, &ve) {
		return &exitError{code: ExitUsage, err: errors.New(validationMessage(ve))}
	}
	msg := strings.TrimPrefix(err.Error(), "facade: ")
	var ae *facade.APIError
	if errors.As(err, &ae) {
		msg = a.describeAPIError(ae)
	}
	if n := a.attempts.count(); n > 1 && !strings.Contains(msg, "attempts") {
		msg += fmt.Sprintf(" (after %d attempts)", n)
	}
	return &exitError{code: ExitAPI, err: errors.New(msg)}
}

// attemptCounter is a RoundTripper that counts the requests sent since the
// last successful answer: when a call fails, the attempts it made.
type attemptCounter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *attemptCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	resp, err := c.next.RoundTrip(req)
	if err == nil && resp.StatusCode < 300 {
		c.n.Store(0)
	}
	return resp, err
}

// count returns the requests sent since the last successful answer.
func (c *attemptCounter) count() int64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}

// describeAPIError is apiMessage, with where the token came from when the
// platform refused it (401), so that a user knows which token to fix.
func (a *app) describeAPIError(e *facade.APIError) string {
	msg := apiMessage(e)
	if e.StatusCode == http.StatusUnauthorized && a.tokenSource != "" {
		msg += " (the token came from " + a.tokenSource + ")"
	}
	return msg
}

// apiMessage renders a platform error: what failed, the status, and the
// server's detail.
func apiMessage(e *facade.APIError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed: %d %s", e.Operation, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Method != "" {
		fmt.Fprintf(&b, " (%s %s)", e.Method, e.Path)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", escape(e.RequestID))
	}
	return b.String()
}

// fieldFlags maps the stable Field of a facade.ValidationError to the flag,
// argument or variable a user of istari-jobs set it with. A field not in
// the table is shown as the facade names it.
var fieldFlags = map[string]string{
	"jobID":                             "JOB_ID",
	"modelID":                           "--model",
	"WithTimeout":                       "--timeout",
	"WaitOptions":                       "--interval",
	"AssignedAgent":                     "--agent or --agent-pool",
	"AddJobParams.ModelID":              "--model",
	"AddJobParams.Function":             "--function",
	"AddJobParams.Parameters":           "--param",
	"AddJobParams.ParametersFile":       "--parameters-file",
	"AddJobParams.OperatingSystem":      "--os",
	"AddJobParams.Sources":              "--source",
	"UpdateJobParams.Path":              "--file",
	"UpdateJobParams.Sources":           "--source",
	"UpdateJobStatusParams.Status":      "--status",
	"ListJobsParams.ModelID":            "--model",
	"ListJobsParams.Status":             "--status",
	"ListJobsParams.ArchiveStatus":      "--archive-status",
	"ListJobsParams.Page":               "--page",
	"ListJobsParams.Size":               "--size",
	"ListJobsParams.CountOnly":          "--size",
	"ListJobsParams.Sort":               "--sort",
	"ListModelJobsParams.Status":        "--status",
	"ListModelJobsParams.ArchiveStatus": "--archive-status",
	"ListModelJobsParams.Page":          "--page",
	"ListModelJobsParams.Size":          "--size",
	"ListModelJobsParams.CountOnly":     "--size",
	"ListModelJobsParams.Sort":          "--sort",
	"OS":                                "--os",
	"JobStatusName":                     "--status",
	"ArchiveStatus":                     "--archive-status",
	"ISTARI_REGISTRY_URL":               envURL,
	"ISTARI_REGISTRY_AUTH_TOKEN":        envToken,
}

// optionFlags maps the facade options an error's reason may name to the
// flags that set them here; the message adds the flag as a hint.
var optionFlags = []struct{ option, flag string }{
	{"WithInsecureHTTP()", "--insecure-http"},
	{"WithLenientEnums()", "--allow-unknown-values"},
	{"WithToken", envToken + " or --token-file"},
}

// flagForField returns the flag, argument or variable for a
// facade.ValidationError's Field. An indexed field such as
// "AddJobParams.Sources[2].RevisionID" maps through its list,
// "AddJobParams.Sources".
func flagForField(field string) string {
	if f, ok := fieldFlags[field]; ok {
		return f
	}
	if i := strings.IndexByte(field, '['); i >= 0 {
		if f, ok := fieldFlags[field[:i]]; ok {
			return f
		}
	}
	return field
}

// validationMessage renders a facade.ValidationError in terms of the
// command line: `invalid --os "Windows 12": must be one of ...`.
func validationMessage(ve *facade.ValidationError) string {
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(flagForField(ve.Field))
	if ve.Value != "" {
		// The facade redacts what may be secret, such as a URL's password.
		fmt.Fprintf(&b, " %q", ve.Value)
	}
	b.WriteString(": ")
	b.WriteString(ve.Reason)
	for _, o := range optionFlags {
		if strings.Contains(ve.Reason, o.option) {
			fmt.Fprintf(&b, " (in istari-jobs, %s is %s)", o.option, o.flag)
		}
	}
	return b.String()
}
