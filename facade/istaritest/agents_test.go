package istaritest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/gen"
)

// The agents of the status tests: the claimant, another agent, and none.
const (
	agentA = "agent-a"
	agentB = "agent-b"
)

// statusReq sets a job's status, as agent (none when empty).
func statusReq(jobID string, to gen.JobStatusName, agent string) req {
	q := url.Values{"status_name": {string(to)}}
	if agent != "" {
		q.Set("agent_id", agent)
	}
	return req{method: http.MethodPatch, path: "/jobs/" + jobID + "/status?" + q.Encode()}
}

// step is one status update on the way to a starting state.
type step struct {
	to    gen.JobStatusName
	agent string
}

// allStatuses is every status, Unknown included.
var allStatuses = []gen.JobStatusName{
	gen.JobStatusNameCreated, gen.JobStatusNamePending, gen.JobStatusNameClaimed,
	gen.JobStatusNameValidating, gen.JobStatusNameRunning, gen.JobStatusNameUploading,
	gen.JobStatusNameCompleted, gen.JobStatusNameFailed, gen.JobStatusNameCanceled,
	gen.JobStatusNameUnknown,
}

// TestStatusRules tries every (from, to, agent) case of the status rules:
// from each state a job can be in (each status, claimed by agent-a or not),
// to each status, by the claimant agent-a, by agent-b, and without an agent.
// Each row lists, for every target status, the agents whose update is
// accepted: "a" for agent-a, "b" for agent-b, "-" for none; the others must
// get 409 and leave the job exactly as it was.
func TestStatusRules(t *testing.T) {
	const (
		all     = "ab-"
		anyID   = "ab" // any agent id, but not none
		owner   = "a"
		nothing = ""
	)
	// Targets in the order of allStatuses.
	unclaimed := []string{nothing, nothing, anyID, all, all, all, all, all, all, nothing}
	working := []string{nothing, nothing, nothing, owner, owner, owner, owner, owner, all, nothing}
	ended := []string{nothing, nothing, nothing, nothing, nothing, nothing, nothing, nothing, nothing, nothing}
	// A job that moved on without a claim takes what an unclaimed job takes,
	// except Claimed (only from Created or Pending) and the way back.
	forward := []string{nothing, nothing, nothing, all, all, all, all, all, all, nothing}
	claim := step{gen.JobStatusNameClaimed, agentA}
	cases := []struct {
		from  string
		steps []step // from a new Pending job, applied with the rules off
		allow []string
	}{
		{"Created", []step{{gen.JobStatusNameCreated, ""}}, unclaimed},
		{"Pending", nil, unclaimed},
		{"Pending (released)", []step{claim, {gen.JobStatusNamePending, agentA}}, unclaimed},
		{"Claimed by a", []step{claim},
			[]string{nothing, owner, nothing, owner, owner, owner, owner, owner, all, nothing}},
		{"Validating claimed by a", []step{claim, {gen.JobStatusNameValidating, agentA}}, working},
		{"Running claimed by a", []step{claim, {gen.JobStatusNameRunning, agentA}}, working},
		{"Uploading claimed by a", []step{claim, {gen.JobStatusNameRunning, agentA}, {gen.JobStatusNameUploading, agentA}}, working},
		{"Validating unclaimed", []step{{gen.JobStatusNameValidating, ""}}, forward},
		{"Running unclaimed", []step{{gen.JobStatusNameRunning, ""}}, forward},
		{"Uploading unclaimed", []step{{gen.JobStatusNameUploading, agentB}}, forward},
		{"Unknown unclaimed", []step{{gen.JobStatusNameUnknown, ""}}, forward},
		{"Completed", []step{claim, {gen.JobStatusNameCompleted, agentA}}, ended},
		{"Failed", []step{claim, {gen.JobStatusNameFailed, agentA}}, ended},
		{"Canceled", []step{claim, {gen.JobStatusNameCanceled, agentB}}, ended},
		{"Completed unclaimed", []step{{gen.JobStatusNameCompleted, ""}}, ended},
	}

	srv := newServer(t, WithAnyStatusTransition())
	rules := func(on bool) { srv.store.SetAnyStatusTransition(!on) }
	accepted, refused := 0, 0
	for _, tc := range cases {
		for i, to := range allStatuses {
			for _, agent := range []string{agentA, agentB, ""} {
				who := map[string]string{agentA: "a", agentB: "b", "": "-"}[agent]
				t.Run(fmt.Sprintf("%s/to %s/by %s", tc.from, to, who), func(t *testing.T) {
					rules(false)
					j := srv.addJob("m")
					for _, s := range tc.steps {
						res := srv.send(statusReq(j.ID, s.to, s.agent))
						require.Equal(t, http.StatusOK, res.status, "setup: body %s", res.body)
					}
					before, ok := srv.Job(j.ID)
					require.True(t, ok)
					rules(true)
					defer rules(false)

					res := srv.send(statusReq(j.ID, to, agent))
					after, _ := srv.Job(j.ID)
					if strings.Contains(tc.allow[i], who) {
						accepted++
						require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
						got := res.job(t)
						assert.Equal(t, to, status(got))
						assert.Len(t, *got.StatusHistory, len(*before.Wire().StatusHistory)+1)
						assert.Equal(t, got, *after.Wire(), "the answer is what the platform holds")
						return
					}
					refused++
					require.Equal(t, http.StatusConflict, res.status, "body %s", res.body)
					detail := res.detail(t)
					assert.Contains(t, detail, j.ID)
					assert.Equal(t, before.Wire(), after.Wire(), "a refused update changes nothing")
					if to == gen.JobStatusNameClaimed && strings.Contains(tc.from, "claimed by a") && !strings.HasPrefix(tc.from, "Claimed") {
						assert.Contains(t, detail, `already claimed by agent "agent-a"`)
					}
					if to == gen.JobStatusNameClaimed && tc.from == "Claimed by a" {
						assert.Equal(t, "job "+j.ID+` is already claimed by agent "agent-a"`, detail)
					}
				})
			}
		}
	}
	t.Logf("%d updates accepted, %d refused", accepted, refused)
	assert.Equal(t, len(cases)*len(allStatuses)*3, accepted+refused, "every case ran")
}

// TestConcurrentClaims: of 16 agents claiming one job at once, exactly one
// wins and 15 get 409 naming the winner, 10 times over; each job records
// one Claimed entry, by the winner.
func TestConcurrentClaims(t *testing.T) {
	srv := newServer(t)
	const agents = 16
	for round := range 10 {
		j := srv.addJob("m")
		start := make(chan struct{})
		codes := make([]int, agents)
		details := make([]string, agents)
		var wg sync.WaitGroup
		for i := range agents {
			wg.Go(func() {
				<-start
				res, err := srv.do(t.Context(), statusReq(j.ID, gen.JobStatusNameClaimed, "agent-"+strconv.Itoa(i)))
				if !assert.NoError(t, err) {
					return
				}
				codes[i] = res.status
				if res.status == http.StatusConflict {
					details[i] = res.detail(t)
				}
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		var lost int
		for i, c := range codes {
			switch c {
			case http.StatusOK:
				assert.Equal(t, -1, winner, "round %d: two winners", round)
				winner = i
			case http.StatusConflict:
				lost++
			default:
				t.Errorf("round %d: agent %d got %d", round, i, c)
			}
		}
		require.NotEqual(t, -1, winner, "round %d: no winner", round)
		assert.Equal(t, agents-1, lost, "round %d", round)
		for i, d := range details {
			if i != winner {
				assert.Contains(t, d, fmt.Sprintf("already claimed by agent %q", "agent-"+strconv.Itoa(winner)))
			}
		}
		got, _ := srv.Job(j.ID)
		var claims []string
		for _, s := range *got.Wire().StatusHistory {
			if s.Name == gen.JobStatusNameClaimed {
				claims = append(claims, *s.AgentID)
			}
		}
		assert.Equal(t, []string{"agent-" + strconv.Itoa(winner)}, claims, "round %d", round)
	}
}

// TestReleaseAndReclaim: the claimant releases its job to Pending, another
// agent claims it, and then only the new claimant may report.
func TestReleaseAndReclaim(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	ok := func(to gen.JobStatusName, agent string) {
		t.Helper()
		res := srv.send(statusReq(j.ID, to, agent))
		require.Equal(t, http.StatusOK, res.status, "%s by %q: body %s", to, agent, res.body)
	}
	conflict := func(to gen.JobStatusName, agent, want string) {
		t.Helper()
		res := srv.send(statusReq(j.ID, to, agent))
		require.Equal(t, http.StatusConflict, res.status, "%s by %q: body %s", to, agent, res.body)
		assert.Contains(t, res.detail(t), want)
	}
	ok(gen.JobStatusNameClaimed, agentA)
	conflict(gen.JobStatusNamePending, agentB, `claimed by agent "agent-a"`)
	conflict(gen.JobStatusNamePending, "", `claimed by agent "agent-a"`)
	ok(gen.JobStatusNamePending, agentA) // release
	conflict(gen.JobStatusNamePending, agentA, "may not move back")
	ok(gen.JobStatusNameClaimed, agentB)
	conflict(gen.JobStatusNameRunning, agentA, `claimed by agent "agent-b"`)
	ok(gen.JobStatusNameRunning, agentB)
	conflict(gen.JobStatusNamePending, agentB, "may not move back") // only a Claimed job is released
	ok(gen.JobStatusNameCompleted, agentB)
	conflict(gen.JobStatusNameCanceled, agentB, "final")

	got, _ := srv.Job(j.ID)
	var names []string
	for _, s := range *got.Wire().StatusHistory {
		a := "-"
		if s.AgentID != nil {
			a = *s.AgentID
		}
		names = append(names, string(s.Name)+" "+a)
	}
	assert.Equal(t, []string{"Pending -", "Claimed agent-a", "Pending agent-a", "Claimed agent-b", "Running agent-b", "Completed agent-b"}, names)
}

func TestWithAnyStatusTransition(t *testing.T) {
	for _, anyStatus := range []bool{false, true} {
		t.Run(fmt.Sprint(anyStatus), func(t *testing.T) {
			var opts []ServerOption
			if anyStatus {
				opts = append(opts, WithAnyStatusTransition())
			}
			srv := newServer(t, opts...)
			j := srv.addJob("m")
			require.Equal(t, http.StatusOK, srv.send(statusReq(j.ID, gen.JobStatusNameCompleted, "")).status)
			want := http.StatusConflict
			if anyStatus {
				want = http.StatusOK
			}
			for _, s := range []step{{gen.JobStatusNamePending, ""}, {gen.JobStatusNameClaimed, agentA}, {gen.JobStatusNameClaimed, agentB}, {gen.JobStatusNameUnknown, ""}} {
				res := srv.send(statusReq(j.ID, s.to, s.agent))
				assert.Equal(t, want, res.status, "%s by %q: body %s", s.to, s.agent, res.body)
			}
		})
	}
}

func TestGetJobFile(t *testing.T) {
	srv := newServer(t)
	binary := "\x00\x01\xff{\"k\":1}\r\n\x00"
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs",
		file("params.bin", "application/x-custom", binary), part{name: "function", value: "f"}))
	require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
	j := res.job(t)
	read := func(want string) {
		t.Helper()
		res := srv.send(get("/jobs/" + j.ID + "/file"))
		require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
		assert.Equal(t, "application/octet-stream", res.header.Get("Content-Type"))
		assert.Equal(t, strconv.Itoa(len(want)), res.header.Get("Content-Length"))
		assert.True(t, bytes.Equal([]byte(want), res.body), "got %q, want %q", res.body, want)
	}
	read(binary)

	// After an update, the latest revision's bytes.
	res = srv.send(formReq(http.MethodPut, "/jobs/"+j.ID, file("v2.json", "application/json", `{"v":2}`)))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	read(`{"v":2}`)
	// An empty file is served as such.
	res = srv.send(formReq(http.MethodPut, "/jobs/"+j.ID, file("empty.json", "application/json", "")))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	read("")

	srv.expectErrors(t, []errorCase{
		{"unknown job", get("/jobs/nope/file"), 404, ""},
		{"no token", get("/jobs/" + j.ID + "/file").as("-"), 401, ""},
	})
	assert.Equal(t, 5, srv.Requests().ByOperation[OpOpenJobFile])

	// A fault applies to it as to any operation.
	srv.FailOperation(OpOpenJobFile, 1, http.StatusServiceUnavailable, 0)
	assert.Equal(t, http.StatusServiceUnavailable, srv.send(get("/jobs/"+j.ID+"/file")).status)
	read("")
}

func TestListAgentFilters(t *testing.T) {
	srv := newServer(t)
	assign := func(j gen.Job, body gen.NewJobAssignedAgent) {
		t.Helper()
		res := srv.send(jsonReq(http.MethodPut, "/jobs/"+j.ID+"/assigned-agent", body))
		require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	}
	named := func(model, name string) gen.Job {
		t.Helper()
		res := srv.send(formReq(http.MethodPost, "/models/"+model+"/jobs",
			file("p.json", "application/json", "{}"), part{name: "function", value: "f"}, part{name: "display_name", value: name}))
		require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
		return res.job(t)
	}
	toA := named("m1", "Wing Load Case")
	toB := named("m1", "wing flutter")
	pool := named("m2", "Fuselage")
	none := srv.addJob("m1") // no display name
	assign(toA, gen.NewJobAssignedAgent{AgentID: ptr(agentA)})
	assign(toB, gen.NewJobAssignedAgent{AgentID: ptr(agentB)})
	assign(pool, gen.NewJobAssignedAgent{AgentPoolID: ptr("pool-1")})
	// A revision without a display name hides the first one's.
	res := srv.send(formReq(http.MethodPut, "/jobs/"+toB.ID, file("p.json", "application/json", "{}"), part{name: "display_name", value: "Flutter v2"}))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)

	list := func(path string) []string {
		t.Helper()
		res := srv.send(get(path))
		require.Equal(t, http.StatusOK, res.status, "%s: body %s", path, res.body)
		return ids(res.page(t).Items)
	}
	cases := []struct {
		path string
		want []gen.Job
	}{
		{"/jobs", []gen.Job{toA, toB, pool, none}},
		{"/jobs?assigned_agent_id=agent-a", []gen.Job{toA}},
		{"/jobs?assigned_agent_id=agent-b", []gen.Job{toB}},
		{"/jobs?assigned_agent_id=agent-c", nil},
		{"/jobs?assigned_agent_id=pool-1", nil},
		{"/jobs?assigned_agent_pool_id=pool-1", []gen.Job{pool}},
		{"/jobs?assigned_agent_pool_id=agent-a", nil},
		{"/jobs?assigned_agent_id=agent-a&assigned_agent_pool_id=pool-1", nil},
		{"/jobs?name=wing", []gen.Job{toA}}, // toB's latest revision is "Flutter v2"
		{"/jobs?name=FLUTTER", []gen.Job{toB}},
		{"/jobs?name=" + url.QueryEscape("load c"), []gen.Job{toA}},
		{"/jobs?name=e", []gen.Job{toA, toB, pool}},
		{"/jobs?name=e&assigned_agent_id=agent-b", []gen.Job{toB}},
		{"/jobs?name=zzz", nil},
		{"/models/m1/jobs?assigned_agent_id=agent-a", []gen.Job{toA}},
		{"/models/m2/jobs?assigned_agent_id=agent-a", nil},
		{"/models/m2/jobs?assigned_agent_pool_id=pool-1", []gen.Job{pool}},
		{"/models/m1/jobs?assigned_agent_pool_id=pool-1", nil},
	}
	for _, tc := range cases {
		assert.Equal(t, ids(tc.want), list(tc.path), tc.path)
	}
	srv.expectErrors(t, []errorCase{
		{"empty name", get("/jobs?name="), 422, "query.name"},
		{"empty agent", get("/jobs?assigned_agent_id="), 422, "query.assigned_agent_id"},
		{"empty pool", get("/models/m1/jobs?assigned_agent_pool_id="), 422, "query.assigned_agent_pool_id"},
	})
}
