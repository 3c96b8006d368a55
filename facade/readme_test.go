package facade_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// The README's Go blocks are kept here, verbatim, so that they compile
// against the SDK as it is and run in TestREADMEExamples.
// TestREADMEGoBlocksAreTested fails when a block in the README is not
// found, word for word, in a test file of this package.

// readmeQuickStart is the body of the README's Quick start.
func readmeQuickStart() {
	// ISTARI_REGISTRY_URL and ISTARI_REGISTRY_AUTH_TOKEN, as for the Python SDK.
	c, err := facade.NewClientFromEnv(facade.WithTimeout(30 * time.Second))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	job, err := c.AddJob(ctx, facade.AddJobParams{
		ModelID:         "7d0c…",
		Function:        "@istari:extract",
		ParametersFile:  "extract.json", // or Parameters: map[string]any{"format": "step"}
		ToolName:        "ansys",
		ToolVersion:     "2024",
		OperatingSystem: facade.OSUbuntu2404,
	})
	if err != nil {
		log.Fatal(err)
	}

	job, err = c.WaitForJob(ctx, job.ID, facade.WaitOptions{
		OnStatus: func(st facade.JobStatus) { fmt.Println("status:", st.Name, st.Message) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.ID, job.Status()) // Completed, Failed or Canceled
}

// readmeTimeouts is the README's Timeouts block.
func readmeTimeouts(ctx context.Context, c *facade.Client, id string) (*facade.Job, error) {
	job, err := c.GetJob(ctx, id, facade.WithRequestTimeout(5*time.Second))
	return job, err
}

// readmeErrors is the README's Errors block.
func readmeErrors(ctx context.Context, c *facade.Client, id string) error {
	job, err := c.GetJob(ctx, id)
	var apiErr *facade.APIError
	switch {
	case errors.Is(err, facade.ErrInvalidInput): // *facade.ValidationError: nothing was sent
	case errors.Is(err, facade.ErrNotFound): // 404
	case errors.As(err, &apiErr): // any other non-2xx
		log.Printf("%d %s %s: %s", apiErr.StatusCode, apiErr.Method, apiErr.Path, apiErr.Detail)
	}
	_ = job
	return err
}

// readmePagination is the README's Pagination block.
func readmePagination(ctx context.Context, c *facade.Client) error {
	for job, err := range c.AllJobs(ctx, facade.ListJobsParams{Status: facade.JobStatusRunning}) {
		if err != nil {
			return err // yielded once; the iteration then stops
		}
		fmt.Println(job.ID)
	}
	return nil
}

// readmeRaw is the README's raw-client block.
func readmeRaw(ctx context.Context, c *facade.Client, jobID string) {
	resp, err := c.Raw().GetJobWithResponse(ctx, jobID)
	if err == nil && resp.JSON200 != nil {
		fmt.Println(resp.JSON200.Function.Name)
	}
}

// readmeModel is the README's job-model block.
func readmeModel(job *facade.Job) {
	if st, ok := job.LastStatus(); ok {
		fmt.Println(st.Name, st.Message, st.AgentID, len(job.StatusHistory))
	}
}

// TestREADMEExamples runs the README's blocks against the in-memory
// platform: the Quick start as its own program would, with the variables
// set and an agent moving the job along.
func TestREADMEExamples(t *testing.T) {
	srv := istaritest.NewServer()
	defer srv.Close()
	t.Setenv("ISTARI_REGISTRY_URL", srv.URL)
	t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", srv.Token)
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile(filepath.Join(".", "extract.json"), []byte(`{"format":"step"}`), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	agent, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	require.NoError(t, err)
	defer agent.CloseIdleConnections()
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- func() error {
			for len(srv.Jobs()) == 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
			id := srv.Jobs()[0].ID
			for _, s := range []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusCompleted} {
				if _, err := agent.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{Status: s, AgentID: "agent-1", Message: "agent: " + string(s)}); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	out := stdout(t, readmeQuickStart)
	require.NoError(t, <-agentDone)
	job := srv.Jobs()[0]
	assert.Equal(t, facade.JobStatusCompleted, job.Status())
	// OnStatus printed every entry of the history once, in order, however
	// the agent's updates fell between the polls.
	assert.Equal(t, "status: Pending \nstatus: Claimed agent: Claimed\nstatus: Running agent: Running\n"+
		"status: Completed agent: Completed\n"+job.ID+" Completed\n", out)

	got, err := readmeTimeouts(ctx, agent, job.ID)
	require.NoError(t, err)
	assert.Equal(t, job.ID, got.ID)
	assert.ErrorIs(t, readmeErrors(ctx, agent, "no-such-job"), facade.ErrNotFound)
	assert.NoError(t, readmeErrors(ctx, agent, job.ID))
	assert.NoError(t, readmePagination(ctx, agent))
	assert.Equal(t, "@istari:extract\n", stdout(t, func() { readmeRaw(ctx, agent, job.ID) }))
	assert.Equal(t, "Completed agent: Completed agent-1 4\n", stdout(t, func() { readmeModel(got) }))
}

// stdout returns what fn prints to standard output.
func stdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	fn()
	require.NoError(t, w.Close())
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(out)
}

// TestREADMEGoBlocksAreTested checks that every Go block of the README and
// of the pages under docs/ stands, word for word, in a test file of this
// package or in a program under examples/ (for a program, the body of its
// main), so that each compiles and runs. docs/telemetry.md keeps its blocks
// in facade/istariotel, whose own test checks them.
func TestREADMEGoBlocksAreTested(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	programs, err := filepath.Glob("../examples/*/*.go")
	require.NoError(t, err)
	require.NotEmpty(t, programs)
	var tests strings.Builder
	for _, f := range append(files, programs...) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		tests.WriteString(normalizeCode(string(data)))
	}
	pages, err := filepath.Glob("../docs/*.md")
	require.NoError(t, err)
	withGo := 0
	for _, doc := range append([]string{"../README.md"}, pages...) {
		if filepath.Base(doc) == "telemetry.md" {
			continue
		}
		text, err := os.ReadFile(doc)
		require.NoError(t, err)
		blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(text), -1)
		if len(blocks) > 0 {
			withGo++
		}
		for _, b := range blocks {
			code := b[1]
			if i := strings.Index(code, "func main() {\n"); i >= 0 {
				code = strings.TrimSuffix(strings.TrimSpace(code[i+len("func main() {\n"):]), "}")
			}
			if !strings.Contains(tests.String(), normalizeCode(code)) {
				t.Errorf("a block of %s is not kept, word for word, in facade/*_test.go or examples/:\n%s", doc, b[1])
			}
		}
	}
	require.GreaterOrEqual(t, withGo, 5, "the README and the pages of docs/ with Go blocks")
}

// normalizeCode drops indentation, blank lines and the run of spaces gofmt
// puts before a trailing comment, so that a README block matches its copy
// at any depth.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
