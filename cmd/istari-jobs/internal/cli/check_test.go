package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
	"github.com/istari-go/sdk/internal/spec"
)

// checkReportOf runs check with args and decodes its JSON report.
func checkReportOf(t *testing.T, e *env, args ...string) (result, checkReport) {
	t.Helper()
	r := e.run(append([]string{"-o", "json", "check"}, args...)...)
	var rep checkReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return r, rep
}

// TestCheckClean checks that the in-memory platform matches the spec: every
// step of a read-only and of a writing check runs, with no findings.
func TestCheckClean(t *testing.T) {
	e := newEnv(t)
	r := e.run("check")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "skipped: no job found")
	assert.Contains(t, r.stdout, "No findings")

	e.addJob("model-1")
	r, rep := checkReportOf(t, e, "--write", "--model", "model-2", "--agent", "agent-7")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Empty(t, r.stderr)
	assert.Zero(t, rep.Findings)
	var ops []string
	for _, s := range rep.Steps {
		assert.Empty(t, s.Skipped, s.Step)
		assert.Empty(t, s.Findings, s.Step)
		if s.Step == "status Pending after Canceled" {
			assert.Equal(t, 409, s.Status, "the forbidden transition is refused")
		} else {
			assert.Less(t, s.Status, 300, s.Step)
		}
		ops = append(ops, s.Operation)
	}
	assert.Equal(t, []string{"listJobs", "listJobs", "getJob", "listModelJobs", "addJob", "getJobFile", "archiveJob", "restoreJob",
		"updateJobAssignedAgent", "removeJobAssignedAgent", "updateJobStatus", "updateJobStatus", "archiveJob"}, ops)

	// The check's job is left archived and Canceled.
	jobs := e.srv.Jobs()
	require.Len(t, jobs, 2)
	r = e.run("list", "--model", "model-2", "--archive-status", "archived", "-q")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, strings.Fields(r.stdout), 1)

	r = e.run("check")
	require.Equal(t, 0, r.code, r.stdout)
	for _, w := range []string{"STEP", "OPERATION", "HTTP", "LATENCY", "FINDINGS", "getJob", "listModelJobs"} {
		assert.Contains(t, r.stdout, w)
	}
}

// TestCheckStatusRules checks that check --write reports a platform that
// accepts a forbidden transition (Canceled → Pending) as a finding, exits
// 1, and leaves the job Canceled again; TestCheckClean shows the refusal
// passing.
func TestCheckStatusRules(t *testing.T) {
	e := newEnv(t, istaritest.WithAnyStatusTransition())
	r, rep := checkReportOf(t, e, "--write", "--model", "model-2")
	assert.Equal(t, ExitAPI, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, "check found 1 status rule other than the SDK assumes\n")
	assert.Equal(t, 1, rep.Findings)
	var steps []string
	for _, s := range rep.Steps {
		steps = append(steps, s.Step)
		if s.Step != "status Pending after Canceled" {
			assert.Empty(t, s.Findings, s.Step)
			continue
		}
		assert.Equal(t, 200, s.Status)
		require.Len(t, s.Findings, 1)
		assert.Equal(t, kindRules, s.Findings[0].Kind)
		assert.Contains(t, s.Findings[0].Message, "accepted Canceled → Pending")
	}
	assert.Equal(t, []string{"list size=1", "list size=0", "get", "list-model size=1", "add", "file", "archive", "restore",
		"assign", "unassign", "status Canceled", "status Pending after Canceled", "status Canceled again", "archive again"}, steps)

	// The job is Canceled again, and archived.
	jobs := e.srv.Jobs()
	require.Len(t, jobs, 1)
	var names []facade.JobStatusName
	for _, st := range jobs[0].StatusHistory {
		names = append(names, st.Name)
	}
	assert.Equal(t, []facade.JobStatusName{facade.JobStatusPending, facade.JobStatusCanceled, facade.JobStatusPending, facade.JobStatusCanceled}, names)
	assert.True(t, jobs[0].Archived())

	r = e.run("check", "--write", "--model", "model-2")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stdout, "status Pending after Canceled: status-rules: the platform accepted Canceled → Pending")
}

// TestCheckDrift checks that each way a platform drifts from the spec is
// reported with its path, in the table and in the JSON report, and that
// check then exits 1.
func TestCheckDrift(t *testing.T) {
	e := newEnv(t, istaritest.WithDrift(istaritest.Drift{
		ExtraField:   "priority",
		OS:           "Plan 9",
		DropField:    "created",
		RenameStatus: map[string]string{"Pending": "Queued"},
	}))
	// The answer to this add drifts too; the job is stored all the same.
	r := e.run("add", "--model", "model-1", "--function", "@istari:extract", "--os", "Ubuntu 24.04")
	require.NotEqual(t, ExitUsage, r.code, r.stderr)
	id := e.srv.Jobs()[0].ID

	r, rep := checkReportOf(t, e)
	assert.Equal(t, ExitAPI, r.code)
	// The SDK refuses a job without its required created time, and says so.
	assert.Contains(t, r.stderr, "check found 12 differences from the SDK's spec, 3 answers the SDK could not read\n")
	found := map[string]map[spec.Finding]bool{} // step → path and kind
	for _, s := range rep.Steps {
		found[s.Step] = map[spec.Finding]bool{}
		for _, f := range s.Findings {
			assert.NotEmpty(t, f.Message)
			found[s.Step][spec.Finding{Path: f.Path, Kind: f.Kind}] = true
		}
	}
	drifts := func(prefix string) []spec.Finding {
		return []spec.Finding{
			{Path: prefix + ".priority", Kind: spec.KindUnknownField},
			{Path: prefix + ".function.operating_systems[0].name", Kind: spec.KindEnum},
			{Path: prefix + ".created", Kind: spec.KindMissingField},
			{Path: prefix + ".status_history[0].name", Kind: spec.KindEnum},
		}
	}
	for step, prefix := range map[string]string{"list size=1": "$.items[0]", "get": "$", "list-model size=1": "$.items[0]"} {
		for _, want := range append(drifts(prefix), spec.Finding{Path: "$", Kind: kindSDK}) {
			assert.True(t, found[step][want], "step %s: %v not reported; got %v", step, want, found[step])
		}
	}
	assert.Empty(t, found["list size=0"], "an empty page has no job to drift")

	r = e.run("check", "--job", id)
	assert.Equal(t, ExitAPI, r.code)
	t.Logf("check against a drifted platform:\n%s", r.stdout)
	for _, w := range []string{
		"get: $.priority: unknown-field",
		`get: $.function.operating_systems[0].name: enum: "Plan 9" is not one of`,
		"get: $.created: missing-field",
		`get: $.status_history[0].name: enum: "Queued" is not one of`,
	} {
		assert.Contains(t, r.stdout, w)
	}
}

// TestCheckUsage checks check's own flag rules.
func TestCheckUsage(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--write"}, "check --write needs --model"},
		{[]string{"check", "--model", "m"}, "--model and --agent are for check --write"},
		{[]string{"-o", "jsonl", "check"}, `invalid --output "jsonl"`},
	} {
		r := e.run(tt.args...)
		assert.Equal(t, ExitUsage, r.code, "%v", tt.args)
		assert.Contains(t, r.stderr, tt.want)
	}
	assert.Zero(t, e.srv.Requests().Total)
}

// TestCheckFailedCall checks that an error status is a finding.
func TestCheckFailedCall(t *testing.T) {
	e := newEnv(t)
	r, rep := checkReportOf(t, e, "--job", "no-such-job")
	assert.Equal(t, ExitAPI, r.code)
	var get *checkStep
	for _, s := range rep.Steps {
		if s.Step == "get" {
			get = s
		}
	}
	require.NotNil(t, get)
	assert.Equal(t, 404, get.Status)
	require.Len(t, get.Findings, 1)
	assert.Equal(t, kindCall, get.Findings[0].Kind)
	assert.Contains(t, get.Findings[0].Message, "404 Not Found")
	assert.Contains(t, r.stderr, "check found 1 failed call\n")
}

// TestCheckUnreachable checks that a platform that never answers is said
// to be so, rather than reported as differing from the spec.
func TestCheckUnreachable(t *testing.T) {
	e := newEnv(t)
	e.srv.Close()
	e.clientOpts = []facade.Option{facade.WithRetry(facade.NoRetry())}
	r := e.run("check")
	assert.Equal(t, ExitAPI, r.code)
	assert.Contains(t, r.stderr, "istari-jobs: the platform did not answer: no answer: ")
	assert.Contains(t, r.stdout, "list size=1")
}

// hostilePage serves every request a page of size bytes of empty items,
// {"items":[{},{},…]}, written as it goes, so that the test holds none of
// it.
func hostilePage(t *testing.T, size int) *httptest.Server {
	t.Helper()
	chunk := []byte(strings.Repeat(",{}", 64<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		head := `{"total": 1, "page": 1, "size": 1, "pages": 1, "items": [{}`
		n, _ := io.WriteString(w, head)
		for n+3 <= size-2 {
			m, err := w.Write(chunk[:min(len(chunk), (size-2-n)/3*3)])
			if err != nil {
				return
			}
			n += m
		}
		_, _ = io.WriteString(w, "]}")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// peakHeap runs fn and returns the most heap it saw in use above what was
// in use before, sampled every millisecond.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-sampled
	return peak
}

// TestCheckHostileAnswer checks that check's memory and output stay small
// whatever the platform answers: a page of empty items just under the
// answer's cap gives a hundred findings per step and a count of the rest,
// and a page far past the cap is one finding, not validated.
func TestCheckHostileAnswer(t *testing.T) {
	const maxHeap = 200 << 20
	for _, tc := range []struct {
		name    string
		size    int
		omitted bool
	}{
		{"just under the cap", maxCheckBody - 1024, true},
		{"4 MiB", 4 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hostilePage(t, tc.size)
			e := newEnv(t)
			e.vars[envURL] = srv.URL
			e.clientOpts = []facade.Option{facade.WithRetry(facade.NoRetry())}
			var r result
			peak := peakHeap(func() { r = e.run("-o", "json", "check") })
			t.Logf("%s: peak heap %d MiB, %d bytes of output", tc.name, peak>>20, len(r.stdout))
			assert.Less(t, peak, uint64(maxHeap))
			assert.Equal(t, ExitAPI, r.code, r.stderr)
			assert.Less(t, len(r.stdout), 64<<10, "the report is small")

			var rep checkReport
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
			for _, s := range rep.Steps[:2] { // the two lists
				assert.LessOrEqual(t, len(s.Findings), spec.MaxFindings+2, s.Step)
				if !tc.omitted {
					assert.Contains(t, s.Findings[0].Message, "not validated: the answer is larger than 256 KiB")
					continue
				}
				assert.Equal(t, 7*spec.MaxElements-spec.MaxFindings, s.Omitted[spec.KindMissingField], s.Step)
				assert.Positive(t, s.Unvalidated, s.Step)
			}

			r = e.run("check")
			assert.Equal(t, ExitAPI, r.code)
			assert.Less(t, len(r.stdout), 64<<10)
			if tc.omitted {
				assert.Contains(t, r.stdout, "list size=1: and 6900 more (missing-field 6900)\n")
				assert.Contains(t, r.stdout, "list size=1: only the first 1000 array elements of the answer were validated, not the ")
				assert.Contains(t, r.stderr, "check found 14000 differences from the SDK's spec")
			}
		})
	}
}
