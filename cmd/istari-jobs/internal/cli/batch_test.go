package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	assert.Contains(t, stderr.String(), "jobs: 2 done, 2 submitted, 0 failed", "standard input has no known total")
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
	assert.Contains(t, res.stderr, "timed out after 100ms waiting for 1 of 2 jobs (last statuses: 1 Pending; still waiting: "+running+")")
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	require.Len(t, lines, 2, "the finished job is printed")
	assert.True(t, strings.HasPrefix(lines[1], done))

	res = e.run("wait", "--interval", "1ms", done, "no-such-job")
	assert.Equal(t, ExitAPI, res.code)
	assert.Contains(t, res.stderr, "no-such-job")
}

// blockingPlatform answers nothing: every request waits until its client
// gives up. arrived receives the path of each request as it comes.
func blockingPlatform(t *testing.T) (url string, arrived <-chan string) {
	t.Helper()
	ch := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case ch <- r.URL.Path:
		default:
		}
		// The server sees the client go only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// countingWriter writes numbered add requests into w until it fails,
// counting the lines written.
func writeRequests(w io.WriteCloser, lines int, written *atomic.Int64) {
	defer w.Close()
	for i := range lines {
		if _, err := fmt.Fprintf(w, `{"model_id": "m1", "function": "f%d"}`+"\n", i); err != nil {
			return
		}
		written.Add(1)
	}
}

// TestAddBatchStreams checks that add --batch sends its first request
// before it has read its input, reads only a little ahead of the requests
// in flight, and ends on ctx (as on a signal) while standard input and the
// request both block.
func TestAddBatchStreams(t *testing.T) {
	url, arrived := blockingPlatform(t)
	pr, pw := io.Pipe()
	defer pr.Close()
	var written atomic.Int64
	go writeRequests(pw, 1_000_000, &written)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr syncBuffer
	go func() {
		done <- run(ctx, []string{"add", "--batch", "-", "--concurrency", "2"}, streams{
			stdin: pr, stdout: &stdout, stderr: &stderr,
			getenv: func(k string) string { return map[string]string{envURL: url, envToken: secretToken}[k] },
		})
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("no request was sent while the input was still being written")
	}
	// The window (4 × 2 requests), the line being handed on and bufio's
	// 64 KiB: a thousand lines or so, never the million.
	assert.Less(t, written.Load(), int64(5000), "lines read ahead")
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, ExitInterrupted, code, stderr.String())
		assert.Contains(t, stderr.String(), "interrupted")
	case <-time.After(30 * time.Second):
		t.Fatal("add --batch did not end with its context")
	}
	_ = pr.CloseWithError(io.ErrClosedPipe) // ends the writer
}

// TestAddBatchBlockedStdin checks that add --batch ends on ctx while
// standard input blocks with nothing written.
func TestAddBatchBlockedStdin(t *testing.T) {
	e := newEnv(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		var stdout, stderr syncBuffer
		code := run(ctx, []string{"add", "--batch", "-"}, streams{stdin: pr, stdout: &stdout, stderr: &stderr,
			getenv: func(k string) string { return e.vars[k] }})
		done <- result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}()
	cancel()
	select {
	case r := <-done:
		assert.Equal(t, ExitInterrupted, r.code, r.stderr)
		assert.Equal(t, "istari-jobs: interrupted before a request was read: no job added\n", r.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("add --batch - blocked on standard input after ctx ended")
	}
	assert.Zero(t, e.srv.Requests().Total)
}

// endless is a reader of n bytes of b, with no line break.
type endless struct {
	n int64
	b byte
}

func (r *endless) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestAddBatchLongLine checks that a line over 16 MiB is an error that
// names its line, read no further than the cap: in a file (before
// anything is sent), from standard input (after the lines before it), and
// from /dev/zero.
func TestAddBatchLongLine(t *testing.T) {
	long := `{"model_id": "m1", "function": "f", "description": "` + strings.Repeat("x", maxBatchLine) + `"}`
	e := newEnv(t)
	r := e.run("add", "--batch", batchFile(t, `{"model_id": "m1", "function": "f"}`, long))
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "istari-jobs: invalid --batch: line 2: longer than 16 MiB\n")
	assert.Zero(t, e.srv.Requests().Total, "nothing is sent")

	// A line of exactly 16 MiB is read.
	exact := `{"model_id": "m1", "function": "f", "description": "` + strings.Repeat("x", maxBatchLine-60) + `"}`
	exact += strings.Repeat(" ", maxBatchLine-len(exact))
	r = e.run("add", "--batch", batchFile(t, exact), "-q")
	assert.Equal(t, ExitOK, r.code, r.stderr)

	e = newEnv(t)
	var stdout, stderr syncBuffer
	in := io.MultiReader(strings.NewReader(`{"model_id": "m1", "function": "f"}`+"\n"), &endless{n: 100 << 20, b: 'x'})
	var code int
	peak := peakHeap(func() {
		code = run(t.Context(), []string{"add", "--batch", "-"}, streams{stdin: in, stdout: &stdout, stderr: &stderr,
			getenv: func(k string) string { return e.vars[k] }})
	})
	t.Logf("a 100 MB line from standard input: peak heap %d MiB", peak>>20)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "istari-jobs: invalid --batch: line 2: longer than 16 MiB (1 request sent before it)\n")
	assert.Len(t, e.srv.Jobs(), 1)
	assert.Less(t, peak, uint64(64<<20), "the 100 MB line is read up to its cap only")

	if _, err := os.Stat("/dev/zero"); err == nil {
		r = e.run("add", "--batch", "/dev/zero")
		assert.Equal(t, ExitUsage, r.code)
		assert.Contains(t, r.stderr, "invalid --batch: line 1: longer than 16 MiB\n")
	}
}
