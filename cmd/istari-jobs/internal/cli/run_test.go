package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// playAgent makes the platform's agent run the job on the first poll of
// run's wait: a request editor of the command's client claims the job as
// agent-a, runs it, records products, and ends it with final and message
// (Canceled comes from the user, as anyone may cancel). It runs on the
// command's goroutine, before the poll is sent, along legal transitions.
func (e *env) playAgent(final facade.JobStatusName, message string, products ...facade.Product) {
	var once sync.Once
	e.clientOpts = append(e.clientOpts, facade.WithRequestEditor(func(ctx context.Context, r *http.Request) error {
		_, id, ok := strings.Cut(r.URL.Path, "/jobs/")
		if r.Method != http.MethodGet || !ok || id == "" || strings.Contains(id, "/") {
			return nil
		}
		once.Do(func() {
			for _, p := range []facade.UpdateJobStatusParams{
				{Status: facade.JobStatusClaimed, AgentID: "agent-a"},
				{Status: facade.JobStatusRunning, AgentID: "agent-a", Message: "solver started"},
			} {
				_, err := e.c.UpdateJobStatus(ctx, id, p)
				require.NoError(e.t, err)
			}
			if len(products) > 0 {
				require.NoError(e.t, e.srv.AddProducts(id, products...))
			}
			last := facade.UpdateJobStatusParams{Status: final, AgentID: "agent-a", Message: message}
			if final == facade.JobStatusCanceled {
				last.AgentID = ""
			}
			_, err := e.c.UpdateJobStatus(ctx, id, last)
			require.NoError(e.t, err)
		})
		return nil
	}))
}

var runArgs = []string{"run", "--model", "model-1", "--function", "@istari:extract", "--param", "mode=fast", "--interval", "1ms"}

func TestRunExitCodes(t *testing.T) {
	geometry := facade.Product{RevisionID: "rev-geo", ResourceType: "Artifact", ResourceID: "art-geo", RelationshipIdentifier: "geometry"}
	for _, tc := range []struct {
		final   facade.JobStatusName
		message string
		code    int
	}{
		{facade.JobStatusCompleted, "3 parts", ExitOK},
		{facade.JobStatusFailed, "mesh did not converge", ExitJobFailed},
		{facade.JobStatusCanceled, "no longer needed", ExitJobFailed},
	} {
		t.Run(string(tc.final), func(t *testing.T) {
			e := newEnv(t)
			e.playAgent(tc.final, tc.message, geometry)
			r := e.run(append(runArgs, "-o", "json")...)
			require.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)

			jobs := e.srv.Jobs()
			require.Len(t, jobs, 1, "one job added")
			id := jobs[0].ID
			var printed facade.Job
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &printed), "the job is printed in every case: %s", r.stdout)
			assert.Equal(t, id, printed.ID)
			assert.Equal(t, tc.final, printed.Status())
			assert.Equal(t, []facade.Product{geometry}, printed.Products())

			assert.Contains(t, r.stderr, "job "+id+": Pending\n", "the statuses are shown as wait shows them")
			assert.Contains(t, r.stderr, "job "+id+": "+string(tc.final))
			if tc.code == ExitOK {
				assert.NotContains(t, r.stderr, "istari-jobs:")
				return
			}
			assert.True(t, strings.HasSuffix(r.stderr, "istari-jobs: job "+id+" ended "+string(tc.final)+": "+tc.message+"\n"),
				"the last message ends stderr: %q", r.stderr)
		})
	}
}

// stallUntilDone makes every request of method wait, before it is sent,
// until its context ends.
func (e *env) stallUntilDone(method string) {
	e.clientOpts = append(e.clientOpts, facade.WithRequestEditor(func(ctx context.Context, r *http.Request) error {
		if r.Method == method {
			<-ctx.Done()
		}
		return nil
	}))
}

func TestRunTimesOut(t *testing.T) {
	t.Run("after adding", func(t *testing.T) {
		e := newEnv(t)
		e.stallUntilDone(http.MethodGet) // the first poll outlasts --wait-timeout
		r := e.run(append(runArgs, "--wait-timeout", "1s")...)
		assert.Equal(t, ExitTimeout, r.code, "stderr: %s", r.stderr)
		jobs := e.srv.Jobs()
		require.Len(t, jobs, 1)
		assert.Contains(t, r.stderr, "istari-jobs: timed out after 1s waiting for job "+jobs[0].ID+" (last status: Pending)")
		assert.Empty(t, r.stdout)
	})
	t.Run("while adding", func(t *testing.T) {
		e := newEnv(t)
		e.stallUntilDone(http.MethodPost)
		r := e.run(append(runArgs, "--wait-timeout", "1ms")...)
		assert.Equal(t, ExitTimeout, r.code, "stderr: %s", r.stderr)
		assert.Contains(t, r.stderr, "istari-jobs: timed out after 1ms adding the job (it may have been added")
		assert.Empty(t, e.srv.Jobs())
	})
}

// TestRunInterrupted checks that run, interrupted while it waits, says which
// job it added and its last status, as wait does.
func TestRunInterrupted(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a hang guard
	defer cancel()
	e.clientOpts = []facade.Option{facade.WithMiddleware(cancelOnRepeat(cancel))}
	r := e.runCtx(ctx, append(runArgs, "--interval", "1ms")...)
	assert.Equal(t, ExitInterrupted, r.code, "stderr: %s", r.stderr)
	jobs := e.srv.Jobs()
	require.Len(t, jobs, 1)
	assert.True(t, strings.HasSuffix(r.stderr, "istari-jobs: interrupted while waiting for job "+jobs[0].ID+" (last status: Pending)\n"), r.stderr)
}

func TestRunWaitFailsAfterAdding(t *testing.T) {
	e := newEnv(t)
	e.clientOpts = []facade.Option{facade.WithRetry(facade.NoRetry())}
	e.srv.FailOperation(istaritest.OpGetJob, 1, http.StatusInternalServerError, 0)
	r := e.run(runArgs...)
	assert.Equal(t, ExitAPI, r.code, "stderr: %s", r.stderr)
	jobs := e.srv.Jobs()
	require.Len(t, jobs, 1)
	assert.Contains(t, r.stderr, "istari-jobs: job "+jobs[0].ID+" was added, but waiting for it failed: GetJob failed: 500")
}

func TestRunRefusesBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad os", []string{"--os", "Windows 12"}, `invalid --os "Windows 12"`},
		{"negative interval", []string{"--max-interval", "-1s"}, "invalid --max-interval -1s"},
		{"param and file", []string{"--parameters-file", "p.json"}, "--param and --parameters-file cannot be used together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.run(append(runArgs, tc.args...)...)
			assert.Equal(t, ExitUsage, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.Zero(t, e.srv.Requests().Total, "nothing sent")
		})
	}
	e := newEnv(t)
	r := e.run("run", "--function", "f")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `"model" not set`)
}
