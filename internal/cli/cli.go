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
	// ExitTimeout means wait gave up after --wait-timeout.
	ExitTimeout = 3
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
		ee = &exitError{code: ExitUsage, err: err}
	}
	a.printError(cmd, ee)
	return ee.code
}

// app holds one run's streams and global flags.
type app struct {
	ctx context.Context
	streams
	transport *http.Transport

	// Global flags.
	url          string
	tokenFile    string
	token        string // defined only to be refused
	timeout      time.Duration
	output       string
	debug        bool
	insecureHTTP bool
}

// exitError is an error with the exit code it stands for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr returns an error that exits with ExitUsage.
func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// printError writes err to standard error, with a hint for usage errors.
func (a *app) printError(cmd *cobra.Command, ee *exitError) {
	msg := sanitize(ee.err.Error(), true)
	fmt.Fprintf(a.stderr, "istari-jobs: %s\n", msg)
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
	var ae *facade.APIError
	if errors.As(err, &ae) {
		return &exitError{code: ExitAPI, err: errors.New(apiMessage(ae))}
	}
	return &exitError{code: ExitAPI, err: errors.New(strings.TrimPrefix(err.Error(), "facade: "))}
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
	return b.String()
}

// flagForField maps a facade.ValidationError's Field to the flag, argument
// or variable the user set it with.
func flagForField(field string) string {
	name := field
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		name = field[i+1:]
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if strings.Contains(field, ".Sources[") {
		return "--source"
	}
	switch {
	case field == "jobID":
		return "JOB_ID"
	case field == "modelID" || name == "ModelID":
		return "--model"
	case field == "baseURL":
		return "--url"
	case field == "WithTimeout":
		return "--timeout"
	case field == "WaitOptions":
		return "--interval"
	case field == "AssignedAgent":
		return "--agent or --agent-pool"
	case field == "UpdateJobParams.Path":
		return "--file"
	case field == "AddJobParams.Parameters":
		return "--param"
	case field == "OS":
		return "--os"
	case field == "JobStatusName":
		return "--status"
	}
	switch name {
	case "Function":
		return "--function"
	case "OperatingSystem":
		return "--os"
	case "Sources":
		return "--source"
	case "ParametersFile":
		return "--parameters-file"
	case "StatusName", "Status":
		return "--status"
	case "ArchiveStatus":
		return "--archive-status"
	case "Page":
		return "--page"
	case "Size", "CountOnly":
		return "--size"
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
	return b.String()
}
