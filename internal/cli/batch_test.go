package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// batchFile writes an add --batch file of lines.
func batchFile(t *testing.T, lines ...string) string {
	t.Helper()
	return writeFile(t, "sweep.jsonl", strings.Join(lines, "\n")+"\n")
}

func TestAddBatchTable(t *testing.T) {
	e := newEnv(t)
	file := batchFile(t,
		`{"model_id": "m1", "function": "@sweep:a", "parameters": {"mesh": 1}}`,
		``,
		`{"model_id": "m1", "function": "", "parameters": {"mesh": 2}}`,
		`{"model_id": "m1", "function": "@sweep:c", "tool_name": "ansys", "operating_system": "ubuntu 24.04", "sources": [{"revision_id": "r1", "relationship_identifier": "input"}]}`,
	)
	res := e.run("add", "--batch", file, "--concurrency", "2")
	assert.Equal(t, ExitAPI, res.code, "one job failed: %s", res.stderr)
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	require.Len(t, lines, 4, "a header and one row per input:\n%s", res.stdout)
	assert.Regexp(t, `^#\s+ID\s+FUNCTION\s+STATUS$`, lines[0])
	assert.Regexp(t, `^1\s+\S+\s+@sweep:a\s+Pending$`, lines[1])
	assert.Regexp(t, `^2\s+-\s+-\s+error: .*function`, lines[2])
	assert.Regexp(t, `^3\s+\S+\s+@sweep:c\s+Pending$`, lines[3])
	assert.Contains(t, res.stderr, "1 of 3 jobs failed")
	assert.NotContains(t, res.stdout+res.stderr, secretToken)

	jobs := e.srv.Jobs()
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		switch j.Function.Name {
		case "@sweep:a":
			assert.Equal(t, `{"mesh":1}`, string(e.srv.Uploads(j.ID)[0].Content))
		case "@sweep:c":
			assert.Equal(t, "ansys", j.Function.ToolName)
			require.Len(t, j.File.Revisions, 1)
			assert.Equal(t, "input", j.File.Revisions[0].Sources[0].RelationshipIdentifier)
		default:
			t.Errorf("unexpected job %s", j.Function.Name)
		}
	}
}

func TestAddBatchJSONLines(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.json"), []byte(`{"from": "file"}`), 0o600))
	file := filepath.Join(dir, "sweep.jsonl")
	var lines []string
	for i := range 12 {
		lines = append(lines, `{"model_id": "m1", "function": "@sweep:`+string(rune('a'+i))+`", "parameters_file": "p.json"}`)
	}
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o600))

	res := e.run("add", "--batch", file, "-o", "jsonl")
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	require.Len(t, out, 12, "one JSON line per input")
	for i, l := range out {
		var r struct {
			Index int `json:"index"`
			Job   struct {
				ID       string `json:"id"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"job"`
			Error *string `json:"error"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		assert.Equal(t, i+1, r.Index)
		assert.Equal(t, "@sweep:"+string(rune('a'+i)), r.Job.Function.Name, "in input order")
		assert.Nil(t, r.Error)
		assert.Equal(t, `{"from": "file"}`, string(e.srv.Uploads(r.Job.ID)[0].Content), "parameters_file is found beside the batch file")
	}
}

// TestAddBatchOutputRule checks add --batch against the one JSON rule: -o
// json is one array with a result per input, and -q prints the new ids,
// with a failed input's error on standard error.
func TestAddBatchOutputRule(t *testing.T) {
	e := newEnv(t)
	file := batchFile(t, `{"model_id": "m1", "function": "f1"}`, `{"model_id": "m1", "function": "f2"}`)
	res := e.run("add", "--batch", file, "-o", "json")
	require.Equal(t, ExitOK, res.code, res.stderr)
	var rs []struct {
		Index int `json:"index"`
		Job   struct {
			ID string `json:"id"`
		} `json:"job"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rs), res.stdout)
	require.Len(t, rs, 2)
	assert.Equal(t, 2, rs[1].Index)

	e.srv.FailOperation(istaritest.OpAddJob, 1, 409, 0)
	res = e.run("add", "--batch", file, "-q", "--concurrency", "1")
	assert.Equal(t, ExitAPI, res.code)
	assert.Regexp(t, `^[0-9a-f-]{36}\n$`, res.stdout, "the id of the job that was added")
	assert.Contains(t, res.stderr, "istari-jobs: input 1: AddJob failed: 409 Conflict")
	assert.Contains(t, res.stderr, "1 of 2 jobs failed")
}

func TestAddBatchErrorInJSON(t *testing.T) {
	e := newEnv(t)
	e.srv.FailOperation(istaritest.OpAddJob, 1, 409, 0)
	res := e.run("add", "--batch", batchFile(t, `{"model_id": "m1", "function": "f"}`), "-o", "json")
	assert.Equal(t, ExitAPI, res.code)
	var rs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rs), "one JSON document: %s", res.stdout)
	require.Len(t, rs, 1)
	r := rs[0]
	assert.EqualValues(t, 1, r["index"])
	assert.EqualValues(t, 409, r["status"])
	assert.Contains(t, r["error"], "AddJob failed: 409 Conflict")
	assert.NotContains(t, r, "job")
}

func TestAddBatchChecksEveryLineFirst(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"not JSON", `{"model_id": "m1",`, "line 2: not an add request"},
		{"unknown field", `{"model": "m1", "function": "f"}`, `line 2: not an add request: json: unknown field "model"`},
		{"two values", `{"model_id": "m1", "function": "f"} {}`, "line 2: more than one JSON value"},
		{"bad os", `{"model_id": "m1", "function": "f", "operating_system": "BeOS"}`, `line 2: invalid operating_system "BeOS"`},
		{"both parameters", `{"model_id": "m1", "function": "f", "parameters": {}, "parameters_file": "p.json"}`, "line 2: parameters and parameters_file are mutually exclusive"},
		{"empty source", `{"model_id": "m1", "function": "f", "sources": [{"revision_id": " "}]}`, "line 2: sources[0].revision_id must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			res := e.run("add", "--batch", batchFile(t, `{"model_id": "m1", "function": "f"}`, tc.line))
			assert.Equal(t, ExitUsage, res.code)
			assert.Contains(t, res.stderr, tc.want)
			assert.Zero(t, e.srv.Requests().Total, "nothing is sent")
		})
	}

	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--batch", batchFile(t, "", "  ")}, "no add requests"},
		{[]string{"add", "--batch", filepath.Join(t.TempDir(), "missing.jsonl")}, "invalid --batch"},
		{[]string{"add", "--batch", batchFile(t, `{"model_id": "m1", "function": "f"}`), "--model", "m2"}, "cannot be combined with --model"},
		{[]string{"add", "--batch", batchFile(t, `{"model_id": "m1", "function": "f"}`), "--concurrency", "0"}, "invalid --concurrency 0"},
		{[]string{"add", "--model", "m", "--function", "f", "--concurrency", "3"}, "--concurrency needs --batch"},
	} {
		res := e.run(tc.args...)
		assert.Equal(t, ExitUsage, res.code, tc.args)
		assert.Contains(t, res.stderr, tc.want, tc.args)
	}
	assert.Zero(t, e.srv.Requests().Total)

	res := e.run("add", "--function", "f")
	assert.Equal(t, ExitUsage, res.code, "without --batch, --model is still required")
	assert.Contains(t, res.stderr, `"model" not set`)
}

func TestAddBatchStdinAndProgress(t *testing.T) {
	e := newEnv(t)
	var stdout, stderr syncBuffer
	code := run(t.Context(), []string{"add", "--batch", "-"}, streams{
		stdin:  strings.NewReader(`{"model_id": "m1", "function": "a"}` + "\n" + `{"model_id": "m1", "function": "b"}`),
		stdout: &stdout, stderr: &stderr,
		getenv:     func(k string) string { return e.vars[k] },
		isTerminal: func(io.Writer) bool { return true },
	})
	require.Equal(t, ExitOK, code, stderr.String())
	assert.Len(t, e.srv.Jobs(), 2)
	assert.Contains(t, stderr.String(), "jobs: 2/2 done, 2 submitted, 0 failed")
	assert.True(t, strings.HasSuffix(stderr.String(), clearLine), "the progress line is cleared at the end")
}

func TestWaitMany(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 5 {
		ids = append(ids, e.addJob("m1").ID)
	}
	other := e.addJob("m2").ID
	finals := []facade.JobStatusName{facade.JobStatusCompleted, facade.JobStatusFailed, facade.JobStatusCanceled}
	for i, id := range append(ids, other) {
		e.setStatus(id, facade.JobStatusRunning, "")
		e.setStatus(id, finals[i%3], "done "+id[:4])
	}
	args := append([]string{"wait", "--interval", "1ms", "--max-interval", "2ms"}, append(ids, other)...)

	res := e.run(args...)
	require.Equal(t, ExitOK, res.code, res.stderr)
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	require.Len(t, lines, 7, res.stdout)
	for i, id := range append(ids, other) {
		assert.True(t, strings.HasPrefix(lines[i+1], id), "row %d is job %d", i+1, i)
	}
	assert.Contains(t, res.stderr, "job "+ids[1]+": Failed: done "+ids[1][:4], "status changes go to stderr off a terminal")
	assert.Equal(t, 3*6, strings.Count(res.stderr, "\n"), "three entries for each job")
	// One GetJob finds model m1, whose walk finds the other four; one more
	// finds m2.
	assert.Equal(t, 2, e.srv.Requests().ByOperation[istaritest.OpGetJob])

	res = e.run(append(args, "-o", "json")...)
	require.Equal(t, ExitOK, res.code, res.stderr)
	var all []map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &all), "one JSON document: %s", res.stdout)
	assert.Len(t, all, 6)

	res = e.run(append(args, "-o", "jsonl")...)
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	require.Len(t, out, 6, "JSON Lines")
	var j struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[5]), &j))
	assert.Equal(t, other, j.ID)

	e.terminal = true
	res = e.run(args...)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "jobs: 6/6 done, 2 finished, 4 failed; Canceled 2 Completed 2 Failed 2")
	assert.NotContains(t, res.stderr, "\n", "on a terminal, one updating line")
}

func TestWaitManyTimesOut(t *testing.T) {
	e := newEnv(t)
	done, running := e.addJob("m1").ID, e.addJob("m1").ID
	e.setStatus(done, facade.JobStatusCompleted, "")
	res := e.run("wait", "--wait-timeout", "100ms", "--interval", "5ms", "--max-interval", "10ms", done, running)
	assert.Equal(t, ExitTimeout, res.code)
	assert.Contains(t, res.stderr, "timed out after 100ms waiting for 1 of 2 jobs")
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	require.Len(t, lines, 2, "the finished job is printed")
	assert.True(t, strings.HasPrefix(lines[1], done))

	res = e.run("wait", "--interval", "1ms", done, "no-such-job")
	assert.Equal(t, ExitAPI, res.code)
	assert.Contains(t, res.stderr, "no-such-job")
}
