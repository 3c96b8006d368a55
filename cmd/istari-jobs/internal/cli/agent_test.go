package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// runAgentUntil runs the agent command until every job of ids has ended,
// then stops it as SIGINT would, and returns its result.
func (e *env) runAgentUntil(ids []string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.t.Context())
	defer cancel()
	out := make(chan result, 1)
	go func() {
		out <- e.runCtx(ctx, append([]string{"agent", "--min-interval", "10ms", "--max-interval", "50ms"}, args...)...)
	}()
	deadline := time.Now().Add(60 * time.Second) // a hang guard
	for {
		ended := 0
		for _, id := range ids {
			if j, ok := e.srv.Job(id); ok && j.Status().IsTerminal() {
				ended++
			}
		}
		if ended == len(ids) {
			break
		}
		select {
		case r := <-out:
			e.t.Fatalf("agent exited early: %+v", r)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatal("the jobs did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	return <-out
}

func lastStatus(t *testing.T, e *env, id string) facade.JobStatus {
	t.Helper()
	j, ok := e.srv.Job(id)
	require.True(t, ok)
	st, _ := j.LastStatus()
	return st
}

func TestAgentCommand(t *testing.T) {
	e := newEnv(t)
	ok, bad := e.addJob("model-1"), e.addJob("model-1")
	script := `set -e
test "$(cat {input})" = '{"mode":"fast"}'
test -d {tmpdir}
if [ "$ISTARI_JOB_ID" = "` + bad.ID + `" ]; then echo "solver diverged" >&2; exit 3; fi
echo "meshing"
echo "wrote 12 parts"
echo`
	r := e.runAgentUntil([]string{ok.ID, bad.ID}, "--agent-id", "agent-7", "--", "sh", "-c", script)
	assert.Equal(t, ExitOK, r.code, "a clean stop exits 0: %+v", r)
	okSt, badSt := lastStatus(t, e, ok.ID), lastStatus(t, e, bad.ID)
	assert.Equal(t, facade.JobStatusCompleted, okSt.Name)
	assert.Equal(t, "wrote 12 parts", okSt.Message, "the last non-empty line of stdout")
	assert.Equal(t, "agent-7", okSt.AgentID)
	assert.Equal(t, facade.JobStatusFailed, badSt.Name)
	assert.Equal(t, "solver diverged", badSt.Message, "the end of stderr")
}

func TestAgentCommandStops(t *testing.T) {
	e := newEnv(t)
	job := e.addJob("model-1")
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan result, 1)
	go func() {
		out <- e.runCtx(ctx, "agent", "--agent-id", "agent-7", "--grace", "100ms", "--min-interval", "10ms", "--", "sleep", "30")
	}()
	require.Eventually(t, func() bool { return lastStatus(t, e, job.ID).Name == facade.JobStatusRunning },
		30*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case r := <-out:
		assert.Equal(t, ExitOK, r.code, "%+v", r)
	case <-time.After(30 * time.Second): // a hang guard: sleep 30 must have been stopped
		t.Fatal("agent did not stop its command")
	}
	st := lastStatus(t, e, job.ID)
	assert.Equal(t, facade.JobStatusFailed, st.Name)
	assert.Equal(t, "agent stopped", st.Message)
}

func TestAgentCommandUsage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--agent-id", "a"}, "missing COMMAND"},
		{[]string{"agent", "--agent-id", "a", "echo", "--", "hi"}, `unexpected "echo" before --`},
		{[]string{"agent", "--", "echo"}, `"agent-id" not set`},
		{[]string{"agent", "--agent-id", "a", "--frobnicate", "--", "echo"}, "unknown flag: --frobnicate"},
	} {
		r := e.run(tc.args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %+v", tc.args, r)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
		assert.False(t, strings.Contains(r.stderr+r.stdout, secretToken))
	}
	assert.Zero(t, e.srv.Requests().Total, "nothing sent")
}

func TestListAgentFilters(t *testing.T) {
	e := newEnv(t)
	a, b := e.addJob("model-1"), e.addJob("model-1")
	_, err := e.c.UpdateJobAssignedAgent(t.Context(), a.ID, facade.AssignedAgent{AgentID: "agent-7"})
	require.NoError(t, err)
	_, err = e.c.UpdateJobAssignedAgent(t.Context(), b.ID, facade.AssignedAgent{AgentPoolID: "pool-1"})
	require.NoError(t, err)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "-q", "--assigned-agent", "agent-7"}, a.ID + "\n"},
		{[]string{"list", "-q", "--pool", "pool-1"}, b.ID + "\n"},
		{[]string{"list-model", "--model", "model-1", "-q", "--pool", "pool-1"}, b.ID + "\n"},
		{[]string{"list", "-q", "--name", "nothing like it"}, ""},
	} {
		r := e.run(tc.args...)
		require.Equal(t, ExitOK, r.code, "%v: %+v", tc.args, r)
		assert.Equal(t, tc.want, r.stdout, "%v", tc.args)
	}
}
