package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// TestUsageErrors checks that bad flags and values exit 2, with a message
// that names the flag or argument, and that nothing reaches the platform.
func TestUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	bad := writeFile(t, "bad.json", `{"mode": fast}`)
	dir := t.TempDir()
	add := []string{"add", "--model", "m", "--function", "f"}
	tests := []struct {
		name string
		args []string
		vars map[string]string // replaces the environment when set
		want []string          // substrings of stderr
	}{
		{"unknown command", []string{"bogus"}, nil, []string{`unknown command "bogus"`}},
		{"unknown flag", []string{"list", "--bogus"}, nil, []string{"unknown flag: --bogus"}},
		{"bad int", []string{"list", "--page", "x"}, nil, []string{`invalid argument "x" for "--page"`}},
		{"bad duration", []string{"get", "j", "--timeout", "soon"}, nil, []string{`"--timeout"`}},
		{"bad os", append(add, "--os", "Windows 12"), nil, []string{`invalid --os "Windows 12": must be one of "Windows 10"`}},
		{"missing model", []string{"add", "--function", "f"}, nil, []string{`required flag(s) "model" not set`}},
		{"missing function", []string{"add", "--model", "m"}, nil, []string{`required flag(s) "function" not set`}},
		{"empty model", []string{"add", "--model", "", "--function", "f"}, nil, []string{"invalid --model: must not be empty"}},
		{"blank function", []string{"add", "--model", "m", "--function", " "}, nil, []string{"invalid --function"}},
		{"param without value", append(add, "--param", "novalue"), nil, []string{`invalid --param "novalue": want KEY=VALUE`}},
		{"param without key", append(add, "--param", "=1"), nil, []string{`invalid --param "=1"`}},
		{"param and file", append(add, "--param", "a=1", "--parameters-file", bad), nil, []string{"--param and --parameters-file cannot be used together"}},
		{"missing parameters file", append(add, "--parameters-file", missing), nil, []string{`invalid --parameters-file "` + missing + `": does not exist`}},
		{"parameters file not JSON", append(add, "--parameters-file", bad), nil, []string{`invalid --parameters-file "` + bad + `": is not valid JSON`}},
		{"parameters file is a directory", append(add, "--parameters-file", dir), nil, []string{`invalid --parameters-file`, "directory"}},
		{"bad source", append(add, "--source", ":input"), nil, []string{`invalid --source ":input": want REVISION_ID[:RELATIONSHIP]`}},
		{"agent and pool", append(add, "--agent", "a", "--agent-pool", "p"), nil, []string{"--agent and --agent-pool cannot be used together"}},
		{"no job id", []string{"get"}, nil, []string{"get takes exactly one JOB_ID argument, got 0"}},
		{"two job ids", []string{"archive", "a", "b"}, nil, []string{"archive takes exactly one JOB_ID argument, got 2"}},
		{"empty job id", []string{"get", ""}, nil, []string{"invalid JOB_ID: must not be empty"}},
		{"dot job id", []string{"unassign", ".."}, nil, []string{`invalid JOB_ID ".."`}},
		{"bad list status", []string{"list", "--status", "Runing"}, nil, []string{`invalid --status "Runing": must be one of "Created"`}},
		{"bad archive status", []string{"list-model", "--model", "m", "--archive-status", "gone"}, nil, []string{`invalid --archive-status "gone": must be one of "active", "archived", "all"`}},
		{"page zero", []string{"list", "--page", "0"}, nil, []string{"invalid --page 0: must be 1 or more"}},
		{"size too big", []string{"list", "--size", "101"}, nil, []string{`invalid --size "101": must be from 0 to 100`}},
		{"negative size", []string{"list-model", "--model", "m", "--size", "-1"}, nil, []string{`invalid --size "-1"`}},
		{"all with count", []string{"list", "--all", "--size", "0"}, nil, []string{"invalid --size 0"}},
		{"list-model without model", []string{"list-model"}, nil, []string{"list-model needs a MODEL_ID argument"}},
		{"list-model model and --model", []string{"list-model", "m1", "--model", "m2"}, nil, []string{"MODEL_ID and --model cannot be used together"}},
		{"list-model two models", []string{"list-model", "m1", "m2"}, nil, []string{"list-model takes one MODEL_ID argument, got 2"}},
		{"list-model empty model", []string{"list-model", ""}, nil, []string{"invalid MODEL_ID: must not be empty"}},
		{"list-model dot model", []string{"list-model", ".."}, nil, []string{`invalid MODEL_ID ".."`}},
		{"list-model empty --model", []string{"list-model", "--model", ""}, nil, []string{"invalid --model: must not be empty"}},
		{"status missing", []string{"status", "j"}, nil, []string{`required flag(s) "status" not set`}},
		{"status bad", []string{"status", "j", "--status", "Done"}, nil, []string{`invalid --status "Done"`}},
		{"assign neither", []string{"assign", "j"}, nil, []string{"assign needs --agent or --agent-pool"}},
		{"assign both", []string{"assign", "j", "--agent", "a", "--agent-pool", "p"}, nil, []string{"--agent and --agent-pool cannot be used together"}},
		{"quiet and output", []string{"list", "-q", "-o", "json"}, nil, []string{"--quiet and --output cannot be used together"}},
		{"update without file", []string{"update", "j"}, nil, []string{`required flag(s) "file" not set`}},
		{"update missing file", []string{"update", "j", "--file", missing}, nil, []string{`invalid --file "` + missing + `": does not exist`}},
		{"update directory", []string{"update", "j", "--file", dir}, nil, []string{"invalid --file", "directory"}},
		{"negative wait timeout", []string{"wait", "j", "--wait-timeout", "-1s"}, nil, []string{"invalid --wait-timeout -1s"}},
		{"negative interval", []string{"wait", "j", "--interval", "-1s"}, nil, []string{"invalid --interval -1s"}},
		{"negative timeout", []string{"--timeout", "-1s", "get", "j"}, nil, []string{"invalid --timeout -1s"}},
		{"bad output", []string{"-o", "yaml", "get", "j"}, nil, []string{`invalid --output "yaml": must be "table", "json" or "jsonl"`}},
		{"token flag", []string{"--token", secretToken, "get", "j"}, nil, []string{"--token is not accepted", "process list", "--token-file"}},
		{"token flag after command", []string{"list", "--token=" + secretToken}, nil, []string{"--token is not accepted"}},
		{"bad url flag", []string{"--url", "ftp://registry", "get", "j"}, nil, []string{`invalid --url "ftp://registry"`}},
		{"bad url variable", []string{"get", "j"}, map[string]string{envURL: "registry.example.com", envToken: secretToken},
			[]string{`invalid ISTARI_REGISTRY_URL "registry.example.com"`}},
		{"http to a remote host", []string{"--url", "http://registry.example.com", "get", "j"}, nil, []string{"invalid --url", "--insecure-http"}},
		{"no url", []string{"get", "j"}, map[string]string{envToken: secretToken}, []string{"no registry URL: set ISTARI_REGISTRY_URL or pass --url"}},
		{"no token", []string{"get", "j"}, map[string]string{envURL: "https://registry.example.com"}, []string{"no token: set ISTARI_REGISTRY_AUTH_TOKEN or pass --token-file"}},
		{"missing token file", []string{"--token-file", missing, "get", "j"}, nil, []string{`invalid --token-file "` + missing + `"`}},
		{"demo without model", []string{"demo"}, nil, []string{"needs --model MODEL_ID"}},
		{"demo negative jobs", []string{"demo", "--jobs", "-1"}, nil, []string{"invalid --jobs -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.vars != nil {
				e.vars = tt.vars
			}
			r := e.run(tt.args...)
			assert.Equal(t, ExitUsage, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stdout)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.True(t, strings.HasPrefix(r.stderr, "istari-jobs: "), r.stderr)
			assert.Contains(t, r.stderr, "--help' for usage.")
			assert.NotContains(t, r.stderr, secretToken)
			assert.Zero(t, e.srv.Requests().Total, "a request was sent")
		})
	}
}

// TestURLCredentialsNotEchoed checks that the secrets a URL may carry (a
// password, a user name that is a token, query values) never show in the
// error that refuses it, from --url or from the environment.
func TestURLCredentialsNotEchoed(t *testing.T) {
	for _, tt := range []struct{ url, secret string }{
		{"https://alice:hunter2@registry.example.com", "hunter2"},
		{"https://ghp_s3cr3t@registry.example.com", "ghp_s3cr3t"},
		{"https://registry.example.com/?sig=s3cr3t-sig", "s3cr3t-sig"},
	} {
		t.Run(tt.secret, func(t *testing.T) {
			e := newEnv(t)
			r := e.run("--url", tt.url, "get", "j")
			assert.Equal(t, ExitUsage, r.code)
			assert.Contains(t, r.stderr, "invalid --url")
			assert.NotContains(t, r.stderr, tt.secret)

			e.vars[envURL] = tt.url
			r = e.run("get", "j")
			assert.Equal(t, ExitUsage, r.code)
			assert.Contains(t, r.stderr, "invalid "+envURL)
			assert.NotContains(t, r.stderr, tt.secret)
		})
	}
}

// TestAPIErrors checks that the platform's errors exit 1 with the detail on
// standard error.
func TestAPIErrors(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("m")

	r := e.run("get", "no-such-job")
	assert.Equal(t, ExitAPI, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "istari-jobs: GetJob failed: 404 Not Found (GET /api/v2/jobs/no-such-job): Job no-such-job not found\n", r.stderr)

	require.Equal(t, 0, e.run("archive", j.ID).code)
	r = e.run("archive", j.ID)
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "ArchiveJob failed: 409 Conflict")

	r = e.run("restore", "no-such-job", "--reason", "x")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "404 Not Found")

	tokenFile := writeFile(t, "token", "not-a-known-token\n")
	r = e.run("--token-file", tokenFile, "list")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "401 Unauthorized")
	assert.NotContains(t, r.stderr, "not-a-known-token")

	e.srv.FailOperation(istaritest.OpListJobs, 1, 403, 0)
	r = e.run("list")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "ListJobs failed: 403 Forbidden")
}

// TestUnreachable checks that a transport failure exits 1 with its cause.
func TestUnreachable(t *testing.T) {
	e := newEnv(t)
	url := e.srv.URL
	e.srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	e.vars[envURL] = url
	e.clientOpts = []facade.Option{facade.WithRetry(facade.NoRetry())}
	r := e.runCtx(ctx, "--timeout", "2s", "archive", "j")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "ArchiveJob")
	assert.Contains(t, r.stderr, "connect")
}

// TestUnauthorizedNamesTokenSource checks that a 401 names where the token
// came from, the environment or --token-file (which wins), and never shows
// the token, for a command's error and for add --batch's results.
func TestUnauthorizedNamesTokenSource(t *testing.T) {
	const badToken = "tok-not-KNOWN-5e1d"
	file := writeFile(t, "token", badToken+"\n")
	batch := batchFile(t, `{"model_id": "m1", "function": "f"}`)
	fromEnv := "(the token came from ISTARI_REGISTRY_AUTH_TOKEN)"
	fromFile := `(the token came from --token-file "` + file + `")`
	tests := []struct {
		name     string
		envToken string
		args     []string
		want     string
		json     bool // want is in a JSON string
	}{
		{"environment", badToken, []string{"list"}, fromEnv, false},
		{"token file", "", []string{"--token-file", file, "get", "j"}, fromFile, false},
		{"token file over a good environment", secretToken, []string{"--token-file", file, "list"}, fromFile, false},
		{"add --batch", badToken, []string{"add", "--batch", batch}, fromEnv, false},
		{"add --batch -o json", "", []string{"--token-file", file, "add", "--batch", batch, "-o", "json"}, fromFile, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.vars[envToken] = tt.envToken
			r := e.run(tt.args...)
			assert.Equal(t, ExitAPI, r.code, r.stderr)
			assert.Contains(t, r.stdout+r.stderr, "401 Unauthorized")
			want := tt.want
			if tt.json {
				b, err := json.Marshal(want)
				require.NoError(t, err)
				want = string(b[1 : len(b)-1])
			}
			assert.Contains(t, r.stdout+r.stderr, want)
			assert.NotContains(t, r.stdout+r.stderr, badToken)
			assert.NotContains(t, r.stdout+r.stderr, secretToken)
		})
	}
}

// TestWaitInterrupted checks that an interrupted wait (or run) exits 130
// and says which jobs it waited for and their last statuses: for many, the
// counts by status and at most a few ids. The context ends when a request
// repeats one already answered, in the second round of polls, so that every
// job has been seen once.
func TestWaitInterrupted(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env) []string // the job ids
		args  func(ids []string) []string
		want  func(ids []string) string // the last line of stderr
	}{
		{"one job", func(e *env) []string {
			j := e.addJob("m")
			e.setStatus(j.ID, facade.JobStatusRunning, "still going")
			return []string{j.ID}
		}, func(ids []string) []string { return []string{"wait", ids[0]} },
			func(ids []string) string {
				return "istari-jobs: interrupted while waiting for job " + ids[0] + " (last status: Running)"
			}},
		{"many jobs", func(e *env) []string {
			done, running, pending := e.addJob("m").ID, e.addJob("m").ID, e.addJob("m").ID
			e.setStatus(done, facade.JobStatusCompleted, "")
			e.setStatus(running, facade.JobStatusRunning, "")
			return []string{done, running, pending}
		}, func(ids []string) []string { return append([]string{"wait"}, ids...) },
			func(ids []string) string {
				return "istari-jobs: interrupted while waiting for 2 of 3 jobs (last statuses: 1 Pending, 1 Running; still waiting: " +
					ids[1] + ", " + ids[2] + ")"
			}},
		{"more jobs than are listed", func(e *env) []string {
			var ids []string
			for range 5 {
				ids = append(ids, e.addJob("m").ID)
			}
			e.setStatus(ids[4], facade.JobStatusRunning, "")
			return ids
		}, func(ids []string) []string { return append([]string{"wait"}, ids...) },
			func(ids []string) string {
				return "istari-jobs: interrupted while waiting for 5 of 5 jobs (last statuses: 4 Pending, 1 Running; still waiting: " +
					ids[0] + ", " + ids[1] + ", " + ids[2] + " and 2 more)"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ids := tt.setup(e)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a hang guard
			defer cancel()
			e.clientOpts = []facade.Option{facade.WithMiddleware(cancelOnRepeat(cancel))}
			r := e.runCtx(ctx, append(tt.args(ids), "--interval", "1ms")...)
			assert.Equal(t, ExitInterrupted, r.code, r.stderr)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			assert.Equal(t, tt.want(ids), lines[len(lines)-1])
			assert.NotContains(t, r.stderr, secretToken)
		})
	}
}

// cancelOnRepeat returns a middleware that calls cancel when a request
// repeats an earlier one (method and URL): the first poll of what it asks
// has been answered and handled.
func cancelOnRepeat(cancel context.CancelFunc) facade.Middleware {
	seen := map[string]bool{}
	return func(req *http.Request, next facade.MiddlewareNext) (*http.Response, error) {
		k := req.Method + " " + req.URL.String()
		if seen[k] {
			cancel()
		}
		seen[k] = true
		return next(req)
	}
}

// TestWaitTimeout checks that wait exits 3 when --wait-timeout passes.
func TestWaitTimeout(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("m")
	e.setStatus(j.ID, facade.JobStatusRunning, "still going")
	start := time.Now()
	r := e.run("wait", j.ID, "--wait-timeout", "150ms", "--interval", "10ms", "--max-interval", "20ms")
	assert.Equal(t, ExitTimeout, r.code, r.stderr)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "job "+j.ID+": Running: still going\n")
	assert.Contains(t, r.stderr, "istari-jobs: timed out after 150ms waiting for job "+j.ID+" (last status: Running)")
}

// TestWaitFollowsStatus checks that wait reports each change, on plain
// lines off a terminal and on one updating line on a terminal.
func TestWaitFollowsStatus(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "terminal"}[terminal], func(t *testing.T) {
			e := newEnv(t)
			e.terminal = terminal
			j := e.addJob("m")
			done := make(chan struct{})
			go func() {
				defer close(done)
				for _, st := range []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusFailed} {
					time.Sleep(60 * time.Millisecond)
					_, err := e.c.UpdateJobStatus(context.Background(), j.ID, facade.UpdateJobStatusParams{Status: st, AgentID: "agent-1", Message: "step \x1b[31m" + string(st)})
					assert.NoError(t, err)
				}
			}()
			r := e.run("wait", j.ID, "--interval", "10ms", "--max-interval", "10ms")
			<-done
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stdout, "Failed")
			for _, st := range []string{"Pending", "Claimed", "Running", "Failed"} {
				assert.Contains(t, r.stderr, "job "+j.ID+": "+st)
			}
			assert.Contains(t, r.stderr, `step \x1b[31mRunning`, "control characters from the platform are escaped")
			if terminal {
				assert.Contains(t, r.stderr, clearLine)
				assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one updating line: %q", r.stderr)
			} else {
				assert.NotContains(t, r.stderr, "\r")
				assert.NotContains(t, r.stderr, "\x1b")
				assert.Equal(t, 4, strings.Count(r.stderr, "\n"), "%q", r.stderr)
			}
		})
	}
}

// TestUploadProgress checks that add and update show upload progress on a
// terminal, in bytes out of the total, and nothing off a terminal.
func TestUploadProgress(t *testing.T) {
	big := `{"data": "` + strings.Repeat("x", 300<<10) + `"}`
	path := writeFile(t, "big.json", big)
	for _, terminal := range []bool{false, true} {
		e := newEnv(t)
		e.terminal = terminal
		e.progressMin = 64 << 10
		r := e.run("add", "--model", "m", "--function", "f", "--parameters-file", path, "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		id := jobID(t, r.stdout)
		r2 := e.run("update", id, "--file", path, "-o", "json")
		require.Equal(t, 0, r2.code, r2.stderr)
		for _, stderr := range []string{r.stderr, r2.stderr} {
			if !terminal {
				assert.Empty(t, stderr)
				continue
			}
			assert.Contains(t, stderr, clearLine+"uploading big.json: ")
			assert.Regexp(t, `uploading big\.json: (\d+) / (\d+) bytes \(100%\)`, stderr)
			assert.True(t, strings.HasSuffix(stderr, clearLine), "the line is cleared at the end: %q", stderr[max(0, len(stderr)-40):])
		}
		assert.Len(t, e.srv.Uploads(id), 2)
	}

	// A small file shows no progress, even on a terminal.
	e := newEnv(t)
	e.terminal = true
	small := writeFile(t, "small.json", `{}`)
	r := e.run("add", "--model", "m", "--function", "f", "--parameters-file", small)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
}

func jobID(t *testing.T, stdout string) string {
	t.Helper()
	m := uuidRE.FindString(stdout)
	require.NotEmpty(t, m, "no job id in %q", stdout)
	idx := strings.Index(stdout, `"id": "`)
	require.GreaterOrEqual(t, idx, 0)
	// The job's own id is the top-level "id" field: the last "id" at two
	// spaces of indentation.
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, `  "id": "`) {
			return strings.TrimSuffix(strings.TrimPrefix(line, `  "id": "`), `",`)
		}
	}
	t.Fatalf("no top-level id in %q", stdout)
	return ""
}

// TestTokenFile checks that --token-file wins over the environment.
func TestTokenFile(t *testing.T) {
	e := newEnv(t)
	e.vars[envToken] = "wrong-token"
	r := e.run("list")
	assert.Equal(t, ExitAPI, r.code)
	path := writeFile(t, "token", secretToken+"\n")
	r = e.run("--token-file", path, "list")
	assert.Equal(t, 0, r.code, r.stderr)

	require.NoError(t, os.WriteFile(path, []byte("\n"), 0o600))
	r = e.run("--token-file", path, "list")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "the file is empty")

	// Control characters are refused, and the token is never repeated.
	require.NoError(t, os.WriteFile(path, []byte(secretToken+"\x7f\n"), 0o600))
	r = e.run("--token-file", path, "list")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "control characters")
	e.vars[envToken] = secretToken + "\r\nX-Injected: 1"
	r = e.run("list")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "invalid ISTARI_REGISTRY_AUTH_TOKEN: the token holds control characters")
	assert.NotContains(t, r.stderr, secretToken)
	assert.Equal(t, 2, e.srv.Requests().Total, "only the first two lists were sent")
}

// TestAllowUnknownValues checks that an enum value the SDK does not list is
// refused with a pointer to --allow-unknown-values, and that the flag sends
// it (the in-memory platform, which knows only the spec's values, then
// refuses it with 422).
func TestAllowUnknownValues(t *testing.T) {
	e := newEnv(t)
	add := []string{"add", "--model", "m", "--function", "f", "--os", "Plan 9"}
	r := e.run(add...)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `invalid --os "Plan 9": must be one of`)
	assert.Contains(t, r.stderr, "--allow-unknown-values")
	assert.Zero(t, e.srv.Requests().Total)

	r = e.run(append([]string{"--allow-unknown-values"}, add...)...)
	assert.Equal(t, ExitAPI, r.code, r.stderr)
	assert.Contains(t, r.stderr, "422")
	assert.Equal(t, 1, e.srv.Requests().Total)

	// A known value keeps the SDK's spelling; clean text is still required.
	r = e.run("--allow-unknown-values", "list", "--status", "running")
	assert.Equal(t, 0, r.code, r.stderr)
	r = e.run("--allow-unknown-values", "add", "--model", "m", "--function", "f", "--os", "Plan 9\x1b")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "invalid --os")
	assert.Contains(t, r.stderr, "control characters")
}

// TestWaitShowsEveryEntry checks that wait shows every status-history entry
// once, in order, with its agent, also when they all came before the first
// poll.
func TestWaitShowsEveryEntry(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("m")
	for _, st := range []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusCompleted} {
		_, err := e.c.UpdateJobStatus(t.Context(), j.ID, facade.UpdateJobStatusParams{Status: st, AgentID: "agent-7"})
		require.NoError(t, err)
	}
	r := e.run("wait", j.ID, "--interval", "10ms")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "job "+j.ID+": Pending\n"+
		"job "+j.ID+": Claimed (agent agent-7)\n"+
		"job "+j.ID+": Running (agent agent-7)\n"+
		"job "+j.ID+": Completed (agent agent-7)\n", r.stderr)
}

// TestErrorNamesAttempts checks that an error after retries says how many
// attempts were made, for an error answer and for no answer at all.
func TestErrorNamesAttempts(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("m")
	e.vars["ISTARI_CLIENT_RETRY_MAX_ATTEMPTS"] = "3"
	e.vars["ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS"] = "1"
	e.vars["ISTARI_CLIENT_RETRY_MAX_INTERVAL_MILLIS"] = "2"
	e.srv.FailOperation(istaritest.OpGetJob, 3, http.StatusServiceUnavailable, 0)
	r := e.run("get", j.ID)
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "503 Service Unavailable")
	assert.Contains(t, r.stderr, "after 3 attempts")

	r = e.run("get", j.ID)
	require.Equal(t, 0, r.code, r.stderr)
	e.srv.FailOperation(istaritest.OpGetJob, 1, http.StatusNotFound, 0)
	r = e.run("get", j.ID)
	assert.Equal(t, ExitAPI, r.code)
	assert.NotContains(t, r.stderr, "attempts", "one attempt is not counted")

	url := e.srv.URL
	e.srv.Close()
	e.vars[envURL] = url
	r = e.run("get", j.ID)
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "after 3 attempts")
}
