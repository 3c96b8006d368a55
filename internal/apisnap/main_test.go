package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotIsCurrent fails when the exported API of facade or
// facade/istaritest differs from its snapshot in api/snapshot. Its message
// shows the difference and says how to accept it.
func TestSnapshotIsCurrent(t *testing.T) {
	if err := run("../..", false); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotCatchesAChange: a line gone from the code and one added are
// both reported, with the way to accept the change.
func TestSnapshotCatchesAChange(t *testing.T) {
	got, err := load("../..")
	require.NoError(t, err)
	tmp := t.TempDir()
	require.NoError(t, compare(tmp, got, true))
	require.NoError(t, compare(tmp, got, false), "a snapshot just written matches")

	facade := got["github.com/istari-go/sdk/facade"]
	require.Contains(t, facade, "func NewClient(string, ...Option) (*Client, error)")
	changed := map[string][]string{"github.com/istari-go/sdk/facade/istaritest": got["github.com/istari-go/sdk/facade/istaritest"]}
	for _, l := range facade {
		if l != "func NewClient(string, ...Option) (*Client, error)" {
			changed["github.com/istari-go/sdk/facade"] = append(changed["github.com/istari-go/sdk/facade"], l)
		}
	}
	changed["github.com/istari-go/sdk/facade"] = append(changed["github.com/istari-go/sdk/facade"], "func NewClient(string) *Client")
	err = compare(tmp, changed, false)
	require.Error(t, err)
	for _, want := range []string{
		"the exported API of github.com/istari-go/sdk/facade differs from api/snapshot/facade.txt",
		"- func NewClient(string, ...Option) (*Client, error)",
		"+ func NewClient(string) *Client",
		"make api-snapshot", "go run ./internal/apisnap -w", "CHANGELOG.md",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "istaritest.txt", "the unchanged package is not reported")

	snap, err := os.ReadFile(filepath.Join(tmp, "api/snapshot/facade.txt"))
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(snap), "\n"))
}

// TestAPILines: what each kind of declaration becomes.
func TestAPILines(t *testing.T) {
	got, err := load("../..")
	require.NoError(t, err)
	facade := got["github.com/istari-go/sdk/facade"]
	for _, want := range []string{
		`const NoTimeout time.Duration = -1`,
		`const OpAddJob Operation = "AddJob"`,
		`var ErrNotFound error`,
		`method (*Client) GetJob(context.Context, string, ...CallOption) (*Job, error)`,
		`method (Operation) String() string`,
		`type Operation string`,
		`type ListJobsParams struct, Status JobStatusName`,
		"type Job struct, AgentID string `json:\"agent_id,omitempty\"`",
	} {
		assert.Contains(t, facade, want)
	}
	istaritest := got["github.com/istari-go/sdk/facade/istaritest"]
	assert.Contains(t, istaritest, `type Operation = github.com/istari-go/sdk/facade.Operation`)
	assert.Contains(t, istaritest, `type Server struct, embedded *Platform`)
	for _, l := range append(facade, istaritest...) {
		assert.NotContains(t, l, "ctx ", "parameter names are not part of the API: %s", l)
	}
}
