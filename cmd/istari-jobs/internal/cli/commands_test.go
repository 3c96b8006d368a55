package cli

import (
	"bufio"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// TestCommandsGolden runs every job command against the in-memory platform
// and compares its table and JSON output with the golden files.
func TestCommandsGolden(t *testing.T) {
	type setup func(e *env) []string // returns the values of {0}, {1}, …
	oneJob := func(e *env) []string { return []string{e.addJob("model-1").ID} }
	paramsFile := func(e *env) []string {
		return []string{writeFile(e.t, "params.json", `{"mode": "fast", "pages": [1, 2]}`)}
	}
	tests := []struct {
		name  string
		setup setup
		args  []string
	}{
		{"add", nil, []string{"add", "--model", "model-1", "--function", "@istari:extract",
			"--param", "mode=fast", "--param", "pages=[1,2]", "--param", "big=12345678901234567890",
			"--tool", "ansys", "--tool-version", "2024R1", "--os", "ubuntu 24.04", "--agent", "agent-7",
			"--source", "rev-1:input", "--source", "rev-2", "--description", "first try",
			"--version-name", "v1", "--external-id", "ext-1", "--display-name", "Extract"}},
		{"add-parameters-file", paramsFile, []string{"add", "--model", "model-1", "--function", "@istari:extract",
			"--parameters-file", "{0}", "--agent-pool", "gpu", "--created-by-agent", "agent-0"}},
		{"get", oneJob, []string{"get", "{0}"}},
		{"get-detailed", func(e *env) []string {
			j, err := e.c.AddJob(e.t.Context(), facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract",
				Parameters: map[string]any{"mode": "fast"}, ToolName: "ansys", ToolVersion: "2024R1",
				OperatingSystem: facade.OSUbuntu2404, AssignedAgentPoolID: "gpu", VersionName: "v1", DisplayName: "Extract"})
			require.NoError(e.t, err)
			_, err = e.c.UpdateJobStatus(e.t.Context(), j.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusClaimed, AgentID: "agent-7"})
			require.NoError(e.t, err)
			_, err = e.c.UpdateJobStatus(e.t.Context(), j.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusFailed, AgentID: "agent-7", Message: "license server unreachable"})
			require.NoError(e.t, err)
			_, err = e.c.ArchiveJob(e.t.Context(), j.ID, facade.ArchiveJobParams{Reason: "superseded"})
			require.NoError(e.t, err)
			return []string{j.ID}
		}, []string{"get", "{0}"}},
		{"get-products", func(e *env) []string {
			j := e.addJob("model-1")
			require.NoError(e.t, e.srv.AddProducts(j.ID,
				facade.Product{RevisionID: "rev-geo", FileID: "file-geo", ResourceType: "Artifact", ResourceID: "art-geo", RelationshipIdentifier: "geometry"},
				facade.Product{RevisionID: "rev-log"}))
			return []string{j.ID}
		}, []string{"get", "{0}"}},
		{"update", func(e *env) []string {
			return []string{e.addJob("model-1").ID, writeFile(e.t, "v2.json", `{"mode": "slow"}`)}
		}, []string{"update", "{0}", "--file", "{1}", "--version-name", "v2", "--description", "slower",
			"--source", "rev-9:previous", "--external-id", "ext-2", "--display-name", "Second"}},
		{"list", func(e *env) []string {
			e.addJob("model-1")
			e.addJob("model-2")
			j := e.addJob("model-1")
			e.setStatus(j.ID, facade.JobStatusRunning, "")
			return nil
		}, []string{"list", "--size", "2"}},
		{"list-filtered", func(e *env) []string {
			e.addJob("model-1")
			j := e.addJob("model-1")
			e.setStatus(j.ID, facade.JobStatusRunning, "")
			e.addJob("model-2")
			return nil
		}, []string{"list", "--model", "model-1", "--status", "running", "--archive-status", "ALL", "--sort", "-created", "--page", "1"}},
		{"list-empty", nil, []string{"list"}},
		{"list-count", func(e *env) []string {
			e.addJob("model-1")
			e.addJob("model-1")
			return nil
		}, []string{"list", "--size", "0"}},
		{"list-all", func(e *env) []string {
			for range 3 {
				e.addJob("model-1")
			}
			return nil
		}, []string{"list", "--all", "--size", "2"}},
		{"list-model", func(e *env) []string {
			e.addJob("model-1")
			e.addJob("model-2")
			return nil
		}, []string{"list-model", "model-2"}},
		{"status", oneJob, []string{"status", "{0}", "--status", "Running", "--agent", "agent-7", "--message", "solver started"}},
		{"assign", oneJob, []string{"assign", "{0}", "--agent", "agent-7"}},
		{"assign-pool", oneJob, []string{"assign", "{0}", "--agent-pool", "gpu"}},
		{"unassign", func(e *env) []string {
			j := e.addJob("model-1")
			_, err := e.c.UpdateJobAssignedAgent(e.t.Context(), j.ID, facade.AssignedAgent{AgentID: "agent-7"})
			require.NoError(e.t, err)
			return []string{j.ID}
		}, []string{"unassign", "{0}"}},
		{"archive", oneJob, []string{"archive", "{0}", "--reason", "superseded"}},
		{"restore", func(e *env) []string {
			j := e.addJob("model-1")
			_, err := e.c.ArchiveJob(e.t.Context(), j.ID, facade.ArchiveJobParams{})
			require.NoError(e.t, err)
			return []string{j.ID}
		}, []string{"restore", "{0}", "--reason", "by mistake"}},
		{"wait", func(e *env) []string {
			j := e.addJob("model-1")
			e.setStatus(j.ID, facade.JobStatusCompleted, "done")
			return []string{j.ID}
		}, []string{"wait", "{0}", "--interval", "10ms"}},
	}
	for _, tt := range tests {
		for _, output := range []string{"table", "json"} {
			t.Run(tt.name+"/"+output, func(t *testing.T) {
				e := newEnv(t)
				var vals []string
				if tt.setup != nil {
					vals = tt.setup(e)
				}
				args := append([]string{"--output", output}, tt.args...)
				for i, a := range args {
					for j, v := range vals {
						a = strings.ReplaceAll(a, "{"+string(rune('0'+j))+"}", v)
					}
					args[i] = a
				}
				r := e.run(args...)
				require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
				if tt.name != "wait" {
					assert.Empty(t, r.stderr)
				}
				if output == "json" {
					assert.True(t, json.Valid([]byte(r.stdout)), "not one JSON document: %s", r.stdout)
				}
				golden(t, tt.name+"."+output, normalize(r.stdout, e.srv.URL))
			})
		}
	}
}

// TestAddSendsParameters checks what add uploads: --param values as one
// JSON object, JSON where they parse and strings otherwise, numbers exact.
func TestAddSendsParameters(t *testing.T) {
	e := newEnv(t)
	r := e.run("add", "--model", "m", "--function", "f", "-o", "json",
		"--param", "n=42", "--param", "s=hello", "--param", `q="quoted"`, "--param", "z=01",
		"--param", "big=12345678901234567890", "--param", "obj={\"a\":[true,null]}", "--param", "empty=")
	require.Equal(t, 0, r.code, r.stderr)
	var job struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &job))
	ups := e.srv.Uploads(job.ID)
	require.Len(t, ups, 1)
	assert.JSONEq(t, `{"n":42,"s":"hello","q":"quoted","z":"01","big":12345678901234567890,"obj":{"a":[true,null]},"empty":""}`,
		string(ups[0].Content))
	assert.Contains(t, string(ups[0].Content), "12345678901234567890")

	file := writeFile(t, "p.json", `{"keep": "bytes as they are"}`)
	r = e.run("add", "--model", "m", "--function", "f", "-o", "json", "--parameters-file", file)
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &job))
	assert.Equal(t, `{"keep": "bytes as they are"}`, string(e.srv.Uploads(job.ID)[0].Content))
}

// TestOutputRule checks the one JSON rule: -o json prints one JSON
// document, -o jsonl one job per line, and -q one id per line, for a single
// job, a page and every page alike.
func TestOutputRule(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 5 {
		ids = append(ids, e.addJob("model-1").ID)
	}
	lines := func(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
	tests := []struct {
		name string
		args []string
		want []string // the ids, in order
	}{
		{"list page", []string{"list", "--size", "3"}, ids[:3]},
		{"list all", []string{"list", "--all", "--size", "2"}, ids},
		{"list-model all", []string{"list-model", "--model", "model-1", "--all", "--size", "2", "--sort", "-created"},
			[]string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"list-model MODEL_ID", []string{"list-model", "model-1", "--size", "2"}, ids[:2]},
		{"get", []string{"get", ids[2]}, ids[2:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run(append([]string{"-o", "json"}, tt.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			var doc any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "not one JSON document: %s", r.stdout)

			r = e.run(append([]string{"-o", "jsonl"}, tt.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			var got []string
			for _, l := range lines(r.stdout) {
				var j struct {
					ID string `json:"id"`
				}
				require.NoError(t, json.Unmarshal([]byte(l), &j), "line %q", l)
				got = append(got, j.ID)
			}
			assert.Equal(t, tt.want, got)

			if tt.args[0] == "get" {
				return
			}
			r = e.run(slices.Concat(tt.args, []string{"-q"})...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, tt.want, lines(r.stdout))
		})
	}

	r := e.run("add", "-q", "--model", "model-1", "--function", "@istari:extract")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^[0-9a-f-]{36}\n$`, r.stdout)

	r = e.run("-o", "json", "list", "--all", "--model", "no-such-model")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "[]\n", r.stdout)

	for _, args := range [][]string{
		{"-o", "json", "list", "-q"},
		{"-o", "jsonl", "list", "--size", "0"},
		{"list", "-q", "--size", "0"},
	} {
		r = e.run(args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
	}
}

// TestListAllJSONLines checks that list --all -o jsonl streams one job per
// line over several pages, and that the table form counts them.
func TestListAllJSONLines(t *testing.T) {
	e := newEnv(t)
	want := map[string]bool{}
	for range 130 {
		want[e.addJob("model-1").ID] = true
	}
	e.addJob("model-2")

	r := e.run("list", "--all", "--model", "model-1", "--output", "jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(nil, 1<<20)
	got := map[string]bool{}
	for sc.Scan() {
		var j struct {
			ID      string `json:"id"`
			ModelID string `json:"model_id"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &j), "line %q", sc.Text())
		assert.Equal(t, "model-1", j.ModelID)
		assert.False(t, got[j.ID], "job %s listed twice", j.ID)
		got[j.ID] = true
	}
	assert.Equal(t, want, got)

	r = e.run("list-model", "--all", "--model", "model-1", "--size", "50")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Len(t, lines, 1+130+1)
	assert.Equal(t, "130 jobs", lines[len(lines)-1])
}
