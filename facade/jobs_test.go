package facade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// part is one multipart part as received.
type part struct {
	Name, Filename, ContentType string
	Body                        string
}

func parseMultipart(t *testing.T, r recorded) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.ContentType)
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mt)
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
	}
	return parts
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// wireCase is one call and what the server must receive for it.
type wireCase struct {
	name   string
	call   func(ctx context.Context, c *facade.Client) (any, error)
	method string
	path   string
	query  url.Values
	// json is the expected JSON body, if any; parts the expected multipart
	// parts, if any.
	json  string
	parts []part
}

func wireCases(t *testing.T) []wireCase {
	paramsFile := writeFile(t, "extract params.json", "{\n  \"mesh\": [1, 2.50, 3],\n  \"name\": \"ü\"\n}\n")
	csvFile := writeFile(t, "table.csv", "a,b\n1,2\n")
	sources := []facade.NewSource{{RevisionID: "rev-1", RelationshipIdentifier: "input"}, {RevisionID: "rev-2"}}
	return []wireCase{
		{
			name: "AddJob all fields, ParametersFile",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.AddJob(ctx, facade.AddJobParams{
					ModelID: "model-1", Function: "@istari:extract", ParametersFile: paramsFile,
					ToolName: "ansys", ToolVersion: "2024", OperatingSystem: facade.OSUbuntu2404,
					AssignedAgentID: "agent-9", AssignedAgentPoolID: "pool-2", AgentID: "agent-0",
					Sources: sources, Description: "desc", VersionName: "v1", ExternalIdentifier: "ext-1", DisplayName: "Extract",
				})
			},
			method: "POST", path: "/models/model-1/jobs",
			parts: []part{
				{Name: "function", Body: "@istari:extract"},
				{Name: "tool_name", Body: "ansys"},
				{Name: "tool_version", Body: "2024"},
				{Name: "operating_system", Body: "Ubuntu 24.04"},
				{Name: "assigned_agent_id", Body: "agent-9"},
				{Name: "assigned_agent_pool_id", Body: "pool-2"},
				{Name: "agent_id", Body: "agent-0"},
				{Name: "description", Body: "desc"},
				{Name: "version_name", Body: "v1"},
				{Name: "external_identifier", Body: "ext-1"},
				{Name: "display_name", Body: "Extract"},
				{Name: "sources", ContentType: "application/json", Body: `{"revision_id":"rev-1","relationship_identifier":"input"}` + "\n"},
				{Name: "sources", ContentType: "application/json", Body: `{"revision_id":"rev-2"}` + "\n"},
				// The file's bytes travel as they are, not re-encoded.
				{Name: "file", Filename: "extract params.json", ContentType: "application/json", Body: "{\n  \"mesh\": [1, 2.50, 3],\n  \"name\": \"ü\"\n}\n"},
			},
		},
		{
			name: "AddJob no optional fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"})
			},
			method: "POST", path: "/models/model-1/jobs",
			parts: []part{
				{Name: "function", Body: "@istari:extract"},
				{Name: "file", Filename: "parameters.json", ContentType: "application/json", Body: "{}"},
			},
		},
		{
			name: "AddJob Parameters",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "f", Parameters: map[string]any{"k": 1}})
			},
			method: "POST", path: "/models/model-1/jobs",
			parts: []part{
				{Name: "function", Body: "f"},
				{Name: "file", Filename: "parameters.json", ContentType: "application/json", Body: `{"k":1}`},
			},
		},
		{
			name:   "GetJob",
			call:   func(ctx context.Context, c *facade.Client) (any, error) { return c.GetJob(ctx, "job-1") },
			method: "GET", path: "/jobs/job-1",
		},
		{
			name: "UpdateJob all fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.UpdateJob(ctx, "job-1", facade.UpdateJobParams{
					Path: csvFile, Sources: sources[:1], Description: "d2", VersionName: "v2", ExternalIdentifier: "e2", DisplayName: "n2",
				})
			},
			method: "PUT", path: "/jobs/job-1",
			parts: []part{
				{Name: "description", Body: "d2"},
				{Name: "version_name", Body: "v2"},
				{Name: "external_identifier", Body: "e2"},
				{Name: "display_name", Body: "n2"},
				{Name: "sources", ContentType: "application/json", Body: `{"revision_id":"rev-1","relationship_identifier":"input"}` + "\n"},
				{Name: "file", Filename: "table.csv", ContentType: "text/csv; charset=utf-8", Body: "a,b\n1,2\n"},
			},
		},
		{
			name: "UpdateJob no optional fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.UpdateJob(ctx, "job-1", facade.UpdateJobParams{Path: paramsFile})
			},
			method: "PUT", path: "/jobs/job-1",
			parts: []part{
				{Name: "file", Filename: "extract params.json", ContentType: "application/json", Body: "{\n  \"mesh\": [1, 2.50, 3],\n  \"name\": \"ü\"\n}\n"},
			},
		},
		{
			name: "ListJobs all fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ListJobs(ctx, facade.ListJobsParams{
					ModelID: "model-1", Status: facade.JobStatusRunning, AllUsers: true, Page: 2, Size: 100,
					ArchiveStatus: facade.ArchiveStatusAll, Sort: "-created",
				})
			},
			method: "GET", path: "/jobs",
			query: url.Values{"model_id": {"model-1"}, "status_name": {"Running"}, "all_users": {"true"}, "page": {"2"},
				"size": {"100"}, "archive_status": {"all"}, "sort": {"-created"}},
		},
		{
			name: "ListJobs no fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ListJobs(ctx, facade.ListJobsParams{})
			},
			method: "GET", path: "/jobs", query: url.Values{},
		},
		{
			name: "ListJobs CountOnly sends size=0",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ListJobs(ctx, facade.ListJobsParams{CountOnly: true})
			},
			method: "GET", path: "/jobs", query: url.Values{"size": {"0"}},
		},
		{
			name: "ListModelJobs all fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ListModelJobs(ctx, "model-1", facade.ListModelJobsParams{
					Status: facade.JobStatusCompleted, Page: 3, Size: 1, ArchiveStatus: facade.ArchiveStatusArchived, Sort: "created",
				})
			},
			method: "GET", path: "/models/model-1/jobs",
			query: url.Values{"status_name": {"Completed"}, "page": {"3"}, "size": {"1"}, "archive_status": {"archived"}, "sort": {"created"}},
		},
		{
			name: "ListModelJobs no fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ListModelJobs(ctx, "model-1", facade.ListModelJobsParams{})
			},
			method: "GET", path: "/models/model-1/jobs", query: url.Values{},
		},
		{
			name: "UpdateJobStatus all fields",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.UpdateJobStatus(ctx, "job-1", facade.UpdateJobStatusParams{Status: facade.JobStatusRunning, AgentID: "agent-1", Message: "meshing"})
			},
			method: "PATCH", path: "/jobs/job-1/status",
			query: url.Values{"status_name": {"Running"}, "agent_id": {"agent-1"}}, json: `{"message":"meshing"}`,
		},
		{
			name: "UpdateJobStatus status only",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.UpdateJobStatus(ctx, "job-1", facade.UpdateJobStatusParams{Status: facade.JobStatusClaimed})
			},
			method: "PATCH", path: "/jobs/job-1/status", query: url.Values{"status_name": {"Claimed"}}, json: `{}`,
		},
		{
			name: "UpdateJobAssignedAgent agent",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.UpdateJobAssignedAgent(ctx, "job-1", facade.AssignedAgent{AgentID: "agent-7"})
			},
			method: "PUT", path: "/jobs/job-1/assigned-agent", json: `{"agent_id":"agent-7"}`,
		},
		{
			name: "UpdateJobAssignedAgent pool",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.UpdateJobAssignedAgent(ctx, "job-1", facade.AssignedAgent{AgentPoolID: "pool-7"})
			},
			method: "PUT", path: "/jobs/job-1/assigned-agent", json: `{"agent_pool_id":"pool-7"}`,
		},
		{
			name: "RemoveJobAssignedAgent",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.RemoveJobAssignedAgent(ctx, "job-1")
			},
			method: "DELETE", path: "/jobs/job-1/assigned-agent",
		},
		{
			name: "ArchiveJob with reason",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ArchiveJob(ctx, "job-1", facade.ArchiveJobParams{Reason: "superseded"})
			},
			method: "PATCH", path: "/jobs/job-1/archive", json: `{"reason":"superseded"}`,
		},
		{
			name: "ArchiveJob without reason",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.ArchiveJob(ctx, "job-1", facade.ArchiveJobParams{})
			},
			method: "PATCH", path: "/jobs/job-1/archive", json: `{}`,
		},
		{
			name: "RestoreJob with reason",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.RestoreJob(ctx, "job-1", facade.RestoreJobParams{Reason: "needed"})
			},
			method: "PATCH", path: "/jobs/job-1/restore", json: `{"reason":"needed"}`,
		},
		{
			name: "RestoreJob without reason",
			call: func(ctx context.Context, c *facade.Client) (any, error) {
				return c.RestoreJob(ctx, "job-1", facade.RestoreJobParams{})
			},
			method: "PATCH", path: "/jobs/job-1/restore", json: `{}`,
		},
		{
			name:   "GetJob escapes the id",
			call:   func(ctx context.Context, c *facade.Client) (any, error) { return c.GetJob(ctx, "a/../b?x=1#f") },
			method: "GET", path: "/jobs/a/../b?x=1#f",
		},
	}
}

// TestWire checks, for every method, the exact method, path, query and body
// the server receives; the contract transport checks each request against
// api/openapi.yaml on the way.
func TestWire(t *testing.T) {
	srv := jobServer(t)
	for _, tc := range wireCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t, srv.baseURL())
			before := srv.count()
			res, err := tc.call(context.Background(), c)
			require.NoError(t, err)
			require.NotNil(t, res)
			reqs := srv.requests()[before:]
			require.Len(t, reqs, 1)
			got := reqs[0]
			assert.Equal(t, tc.method, got.Method)
			assert.Equal(t, mountPrefix+"/api/v2"+tc.path, got.Path)
			if tc.query != nil {
				q, err := url.ParseQuery(got.Query)
				require.NoError(t, err)
				assert.Equal(t, tc.query, q)
			}
			assert.Equal(t, "Bearer secret-token-value", got.Header.Get("Authorization"))
			assert.Regexp(t, `^istari-go/\S+ go/\S+$`, got.Header.Get("User-Agent"))
			switch {
			case tc.json != "":
				assert.Equal(t, "application/json", got.ContentType)
				assert.JSONEq(t, tc.json, string(got.Body))
			case tc.parts != nil:
				assert.Equal(t, tc.parts, parseMultipart(t, got))
				assert.Equal(t, got.Header.Get("Content-Length"), itoa(len(got.Body)), "uploads carry their exact length")
			default:
				assert.Empty(t, got.Body)
			}
		})
	}
}

func TestIDsArePathEscaped(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	for _, id := range []string{"a/b", "a/../../x", "..%2f", "x?y=1", "x#frag", "sp ace"} {
		_, err := c.GetJob(context.Background(), id)
		require.NoError(t, err, id)
		got := srv.requests()[srv.count()-1]
		assert.Equal(t, mountPrefix+"/api/v2/jobs/"+url.PathEscape(id), got.RawPath, id)
		assert.Empty(t, got.Query, id)
	}
}

func TestResultsDecode(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	job, err := c.GetJob(context.Background(), "job-1")
	require.NoError(t, err)
	assert.Equal(t, "job-1", job.ID)
	assert.Equal(t, facade.JobStatusPending, job.Status())
	assert.False(t, job.Archived())
	last, ok := job.LastStatus()
	require.True(t, ok)
	assert.Equal(t, "agent-1", last.AgentID)

	page, err := c.ListJobs(context.Background(), facade.ListJobsParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "job-1", page.Items[0].ID)
	assert.Equal(t, 1, page.Total)
	assert.False(t, page.HasNextPage())

	b, err := json.Marshal(job)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"status_history":[`, "a Job marshals to its wire form")
}

// TestContractTransportBites proves that the contract checks in TestWire can
// fail: requests the spec forbids, sent through the raw client, and a
// response of the wrong shape are each reported.
func TestContractTransportBites(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, map[string]any{"id": 7}) // id must be a string, and more is required
	})
	ct := newContractTransport(t)
	ct.quiet = true
	c, err := facade.NewClient(srv.baseURL(), facade.WithToken("tok"), facade.WithHTTPClient(&http.Client{Transport: ct}), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	ctx := context.Background()

	_, _ = c.Raw().ListJobsWithResponse(ctx, &gen.ListJobsParams{Page: ptr(0)})
	_, _ = c.Raw().UpdateJobStatusWithResponse(ctx, "j", &gen.UpdateJobStatusParams{StatusName: "running"}, gen.JobStatusMessage{})
	_, _ = c.GetJob(ctx, "j")
	v := ct.violations()
	require.Len(t, v, 3)
	assert.Contains(t, v[0], "page")
	assert.Contains(t, v[1], "status_name")
	assert.Contains(t, v[2], "response 200")
}
