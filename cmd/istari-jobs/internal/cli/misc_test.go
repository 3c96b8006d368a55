package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// allCommands returns every command of the tree, the root included.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}

// TestHelp checks that every command's help has an example, and that the
// refused --token flag is not offered.
func TestHelp(t *testing.T) {
	a := &app{ctx: t.Context()}
	root := a.rootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	e := newEnv(t)
	cmds := allCommands(root)
	require.Greater(t, len(cmds), 15)
	for _, c := range cmds {
		if c.Hidden || c.Name() == cobra.ShellCompRequestCmd || c.Name() == cobra.ShellCompNoDescRequestCmd {
			continue
		}
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"root"}, path...), " "), func(t *testing.T) {
			assert.NotEmpty(t, c.Example, "no Example")
			r := e.run(append(path, "--help")...)
			assert.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stdout, "Examples:")
			assert.NotContains(t, r.stdout, "--token ")
			assert.NotContains(t, r.stdout+r.stderr, secretToken)
		})
	}
	r := e.run()
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "Job commands:")
	r = e.run("--help")
	assert.Contains(t, r.stdout, "130 interrupted")
	assert.Contains(t, r.stdout, "-o jsonl one job per line")
	r = e.run("list", "--help")
	assert.Contains(t, r.stdout, "created (oldest first) or -created (newest first)")
	assert.Contains(t, r.stdout, "-q, --quiet")
	r = e.run("--version")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, facade.Version)
}

// TestCompletion checks the completion scripts and the completion of enum
// flags.
func TestCompletion(t *testing.T) {
	e := newEnv(t)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		r := e.run("completion", sh)
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "istari-jobs")
	}
	r := e.run(cobra.ShellCompRequestCmd, "list", "--status", "")
	assert.Equal(t, 0, r.code, r.stderr)
	for _, st := range facade.JobStatusNameValues() {
		assert.Contains(t, r.stdout, string(st)+"\n")
	}
	r = e.run(cobra.ShellCompRequestCmd, "add", "--os", "")
	assert.Contains(t, r.stdout, "Ubuntu 24.04\n")
	r = e.run(cobra.ShellCompRequestCmd, "list-model", "--sort", "")
	assert.Contains(t, r.stdout, "created\n-created\n")
	r = e.run(cobra.ShellCompRequestCmd, "--output", "")
	assert.Contains(t, r.stdout, "table\njson\njsonl\n")
	r = e.run(cobra.ShellCompRequestCmd, "li")
	assert.Contains(t, r.stdout, "list\t")
	assert.Contains(t, r.stdout, "list-model\t")
	r = e.run(cobra.ShellCompRequestCmd, "--tok")
	assert.NotContains(t, r.stdout, "--token\n")
}

// TestTokenNeverPrinted runs commands that succeed and fail, with --debug
// and with --help, and checks that the token shows in no output.
func TestTokenNeverPrinted(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("m")
	e.setStatus(j.ID, facade.JobStatusRunning, "")
	tokenFile := writeFile(t, "token", secretToken)
	params := writeFile(t, "p.json", `{"a": 1}`)
	runs := [][]string{
		{"--debug", "get", j.ID},
		{"--debug", "-o", "json", "get", j.ID},
		{"--debug", "--token-file", tokenFile, "list", "--all", "-o", "json"},
		{"--debug", "add", "--model", "m", "--function", "f", "--parameters-file", params},
		{"--debug", "update", j.ID, "--file", params},
		{"--debug", "status", j.ID, "--status", "Uploading"},
		{"--debug", "get", "no-such-job"},
		{"--debug", "archive", "no-such-job"},
		{"--debug", "wait", j.ID, "--wait-timeout", "50ms", "--interval", "10ms"},
		{"--debug", "--token", secretToken, "list"},
		{"--token=" + secretToken, "get", j.ID},
		{"--debug", "--url", "http://registry.example.com", "list"},
		{"--debug", "--url", "ftp://x", "list"},
		{"--help"},
		{"get", "--help"},
		{"--debug", "demo", "--model", "m", "--jobs", "0"},
		{"--debug", "check", "--write", "--model", "m", "--agent", "a"},
		{"--debug", "-o", "json", "check", "--job", j.ID},
	}
	for _, args := range runs {
		r := e.run(args...)
		out := r.stdout + r.stderr
		assert.NotContains(t, out, secretToken, "istari-jobs %v", args)
		assert.NotContains(t, out, "S3CRET", "istari-jobs %v", args)
		if args[0] == "--debug" && !strings.HasPrefix(args[1], "--url") && args[1] != "--token" {
			assert.Contains(t, r.stderr, "istari request", "the debug log is on standard error: %v", args)
		}
	}
}

// TestNoControlCharactersOffTerminal checks that output that is not a
// terminal holds plain lines only.
func TestNoControlCharactersOffTerminal(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("m")
	e.setStatus(j.ID, facade.JobStatusCompleted, "done \x1b[2J\rand \x07 more")
	ctl := regexp.MustCompile(`[\x00-\x08\x0b-\x1f\x7f]`)
	for _, args := range [][]string{
		{"get", j.ID},
		{"list", "--all"},
		{"wait", j.ID},
		{"-o", "json", "get", j.ID},
		{"demo", "--jobs", "20"},
	} {
		vars := e.vars
		if args[0] == "demo" {
			e.vars = map[string]string{}
		}
		r := e.run(args...)
		e.vars = vars
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		assert.False(t, ctl.MatchString(r.stdout), "%v: stdout %q", args, r.stdout)
		assert.False(t, ctl.MatchString(r.stderr), "%v: stderr %q", args, r.stderr)
	}
}

// TestDemo runs the demo on its own in-memory platform.
func TestDemo(t *testing.T) {
	e := newEnv(t)
	e.vars = map[string]string{}
	start := time.Now()
	r := e.run("demo")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Empty(t, r.stderr)
	for _, want := range []string{
		"No ISTARI_REGISTRY_URL set: running against an in-memory platform at http://127.0.0.1:",
		"[1/6] AddJob         added job ",
		"with parameters.json (52 bytes); status Pending",
		"[2/6] GetJob ",
		"ListModelJobs  model demo-model has 1 job; the new one is listed, Pending",
		"[3/6] AssignAgent    job assigned to agent demo-agent",
		`reported Claimed    "picked up"`,
		`reported Completed  "done"`,
		"WaitForJob     saw Completed",
		"[4/6] WaitForJob     returned Completed after ",
		"[5/6] ArchiveJob     job is Completed [archived]",
		"ListJobs       1 job archived on model demo-model",
		"RestoreJob     job is Completed again",
		"[6/6] AddJob         added 300 jobs to model demo-bulk-model",
		"AllJobs        iterated 300 jobs, 100 a page, in ",
		"Done in ",
	} {
		assert.Contains(t, r.stdout, want)
	}
}

// TestDemoAgainstPlatform runs the demo against a platform named by the
// environment.
func TestDemoAgainstPlatform(t *testing.T) {
	e := newEnv(t)
	e.addJob("shared-model")
	r := e.run("demo", "--model", "shared-model")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Running against the platform at "+e.srv.URL+" (from ISTARI_REGISTRY_URL), on model shared-model.")
	assert.Contains(t, r.stdout, "model shared-model has 2 jobs; the new one is listed, Pending")
	assert.Contains(t, r.stdout, "[6/6] AllJobs        iterating the jobs of model shared-model")
	assert.Contains(t, r.stdout, "iterated 2 jobs")
	assert.Len(t, e.srv.Jobs(), 2, "the demo adds one job to a real platform")
}

// TestServe runs serve, uses the platform it starts, and stops it; with
// --any-status-transition, the platform accepts Completed → Pending, which
// it refuses by default.
func TestServe(t *testing.T) {
	for _, anyStatus := range []bool{false, true} {
		t.Run(fmt.Sprintf("any-status-transition=%v", anyStatus), func(t *testing.T) { testServe(t, anyStatus) })
	}
}

func testServe(t *testing.T, anyStatus bool) {
	e := newEnv(t)
	tokenOut := filepath.Join(t.TempDir(), "token")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	args := []string{"serve", "--addr", "127.0.0.1:0", "--write-token-file", tokenOut}
	if anyStatus {
		args = append(args, "--any-status-transition")
	}
	go func() {
		done <- run(ctx, args, streams{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }})
	}()
	urlRE := regexp.MustCompile(`export ISTARI_REGISTRY_URL=(\S+)`)
	var base string
	require.Eventually(t, func() bool {
		m := urlRE.FindStringSubmatch(stdout.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 5*time.Second, 10*time.Millisecond)
	_, err := url.Parse(base)
	require.NoError(t, err)
	out := stdout.String()
	assert.Contains(t, out, "In-memory Istari platform listening on "+base)
	assert.Contains(t, out, "export ISTARI_REGISTRY_AUTH_TOKEN=istaritest-token")
	assert.Contains(t, out, "--token-file "+tokenOut)
	tok, err := os.ReadFile(tokenOut)
	require.NoError(t, err)
	assert.Equal(t, "istaritest-token\n", string(tok))

	e.vars = map[string]string{}
	r := e.run("--url", base, "--token-file", tokenOut, "add", "--model", "m", "--function", "f", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	id := jobID(t, r.stdout)
	r = e.run("--url", base, "--token-file", tokenOut, "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "1 job in all")
	r = e.run("--url", base, "--token-file", tokenOut, "status", id, "--status", "Completed")
	require.Equal(t, 0, r.code, r.stderr)
	r = e.run("--url", base, "--token-file", tokenOut, "status", id, "--status", "Pending")
	if anyStatus {
		assert.Equal(t, 0, r.code, r.stderr)
	} else {
		assert.NotEqual(t, 0, r.code)
		assert.Contains(t, r.stderr, "409")
	}

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
	assert.Contains(t, stdout.String(), "Stopped.")
}

// TestServeBadAddress checks that serve fails on an address it cannot use.
func TestServeBadAddress(t *testing.T) {
	e := newEnv(t)
	r := e.run("serve", "--addr", "256.0.0.1:99999")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "cannot listen on --addr 256.0.0.1:99999")
}

// TestParseHelpers covers the flag parsers directly.
func TestParseHelpers(t *testing.T) {
	p, err := parseParams([]string{"a=1", "b=x", "a=2", "c=k=v"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"a": jsonNumber("2"), "b": "x", "c": "k=v"}, p)

	s, err := parseSources([]string{"r1", "r2:rel", "r3:a:b"})
	require.NoError(t, err)
	assert.Equal(t, []facade.NewSource{{RevisionID: "r1"}, {RevisionID: "r2", RelationshipIdentifier: "rel"},
		{RevisionID: "r3", RelationshipIdentifier: "a:b"}}, s)

	assert.Equal(t, "--os", flagForField("AddJobParams.OperatingSystem"))
	assert.Equal(t, "--source", flagForField("UpdateJobParams.Sources[2].RevisionID"))
	assert.Equal(t, "--status", flagForField("ListModelJobsParams.Status"))
	assert.Equal(t, "--size", flagForField("ListJobsParams.CountOnly"))
	assert.Equal(t, "JOB_ID", flagForField("jobID"))
	assert.Equal(t, "Other.Field", flagForField("Other.Field"))

	assert.Equal(t, "GetJob failed: 429 Too Many Requests (GET /api/v2/jobs/j): slow down (retry after 2s) (request id r-1\\x1b)",
		apiMessage(&facade.APIError{Operation: "GetJob", StatusCode: 429, Method: "GET", Path: "/api/v2/jobs/j",
			Detail: "slow down", RetryAfter: 2 * time.Second, RequestID: "r-1\x1b"}))
	assert.Equal(t, "--page", flagForField("ListModelJobsParams.Page"))
}

func jsonNumber(s string) any { return json.Number(s) }

// TestRun checks the exported entry point with ordinary writers, which are
// not terminals.
func TestRun(t *testing.T) {
	var stdout, stderr strings.Builder
	code := Run(t.Context(), []string{"--version"}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout.String(), facade.Version)
	assert.False(t, isTerminal(&stdout))
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f))

	code = Run(t.Context(), []string{"get", "j"}, nil, &stdout, &stderr, func(string) string { return "" })
	assert.Equal(t, ExitUsage, code)
}
