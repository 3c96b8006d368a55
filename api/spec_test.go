package api_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/internal/spec"
)

const base = "http://registry.example" + spec.BasePath

func TestSpecLoadsAndValidates(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	require.Len(t, doc.Servers, 1)
	assert.True(t, strings.HasSuffix(doc.Servers[0].URL, "/api/v2"), "servers carries the /api/v2 prefix")
	require.Contains(t, doc.Components.SecuritySchemes, "RequestAuthenticator")
	assert.Equal(t, "bearer", doc.Components.SecuritySchemes["RequestAuthenticator"].Value.Scheme)
}

func TestSpecOperations(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	want := map[string]string{
		"addJob":                 "POST /models/{model_id}/jobs",
		"listModelJobs":          "GET /models/{model_id}/jobs",
		"listJobs":               "GET /jobs",
		"getJob":                 "GET /jobs/{job_id}",
		"getJobFile":             "GET /jobs/{job_id}/file",
		"updateJob":              "PUT /jobs/{job_id}",
		"updateJobStatus":        "PATCH /jobs/{job_id}/status",
		"updateJobAssignedAgent": "PUT /jobs/{job_id}/assigned-agent",
		"removeJobAssignedAgent": "DELETE /jobs/{job_id}/assigned-agent",
		"archiveJob":             "PATCH /jobs/{job_id}/archive",
		"restoreJob":             "PATCH /jobs/{job_id}/restore",
	}
	got := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s has no operationId", method, path)
			got[op.OperationID] = method + " " + path
			assert.NotEmpty(t, op.Summary, "%s: summary", op.OperationID)
			assert.NotEmpty(t, op.Description, "%s: description", op.OperationID)
			assert.Equal(t, []string{"jobs"}, op.Tags, "%s: tag", op.OperationID)
			for _, code := range []int{401, 403, 404, 422, 429} {
				assert.NotNil(t, op.Responses.Status(code), "%s documents %d", op.OperationID, code)
			}
		}
	}
	assert.Equal(t, want, got)
}

func TestSpecEveryDescriptionIsPresent(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	for name, s := range doc.Components.Schemas {
		assert.NotEmpty(t, s.Value.Description, "schema %s", name)
		for prop, p := range s.Value.Properties {
			if p.Ref != "" {
				continue // described by the schema it points at
			}
			assert.NotEmpty(t, p.Value.Description, "schema %s property %s", name, prop)
		}
	}
}

func TestSpecEnums(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	enum := func(name string) []string {
		var out []string
		for _, v := range doc.Components.Schemas[name].Value.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	assert.Equal(t, []string{"Created", "Pending", "Claimed", "Validating", "Running", "Uploading", "Completed", "Failed", "Canceled", "Unknown"}, enum("JobStatusName"))
	assert.Equal(t, []string{"active", "archived", "all"}, enum("ArchiveStatus"))
	assert.Equal(t, []string{"Active", "Archived"}, enum("ArchiveStatusName"))
	assert.Equal(t, []string{"Windows 10", "Windows 11", "Windows Server 2019", "Windows Server 2022", "Ubuntu 22.04", "Ubuntu 24.04", "RHEL 8", "RHEL 9", "macOS 15"}, enum("OS"))
}

func TestSpecPageAndSizeRanges(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	page := doc.Components.Parameters["PageQuery"].Value.Schema.Value
	size := doc.Components.Parameters["SizeQuery"].Value.Schema.Value
	require.NotNil(t, page.Min)
	assert.Equal(t, 1.0, *page.Min)
	require.NotNil(t, size.Min)
	require.NotNil(t, size.Max)
	assert.Equal(t, 0.0, *size.Min)
	assert.Equal(t, 100.0, *size.Max)
	assert.EqualValues(t, 10, size.Default)
	for _, op := range []string{"/jobs", "/models/{model_id}/jobs"} {
		get := doc.Paths.Value(op).Get
		var names []string
		for _, p := range get.Parameters {
			names = append(names, p.Value.Name)
		}
		assert.Contains(t, names, "page", op)
		assert.Contains(t, names, "size", op)
	}
}

// multipartBody builds a form with a JSON file part and the given fields.
func multipartBody(t *testing.T, fields map[string]string, sources ...string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="params.json"`)
	h.Set("Content-Type", "application/json")
	fw, err := w.CreatePart(h)
	require.NoError(t, err)
	_, _ = fw.Write([]byte(`{"k":1}`))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		require.NoError(t, w.WriteField(k, fields[k]))
	}
	for _, s := range sources {
		sh := textproto.MIMEHeader{}
		sh.Set("Content-Disposition", `form-data; name="sources"`)
		sh.Set("Content-Type", "application/json")
		sw, err := w.CreatePart(sh)
		require.NoError(t, err)
		_, _ = sw.Write([]byte(s))
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), &buf
}

type reqCase struct {
	name string
	req  func(t *testing.T) *http.Request
}

func newReq(method, target, ctype string, body *bytes.Buffer) *http.Request {
	var r *http.Request
	if body == nil {
		r = httptest.NewRequest(method, base+target, nil)
	} else {
		r = httptest.NewRequest(method, base+target, body)
		r.Header.Set("Content-Type", ctype)
	}
	r.Header.Set("Authorization", "Bearer tok")
	return r
}

func jsonBody(v any) *bytes.Buffer {
	b, _ := json.Marshal(v)
	return bytes.NewBuffer(b)
}

// validRequests holds one correct request of each operation.
var validRequests = []reqCase{
	{"addJob", func(t *testing.T) *http.Request {
		ct, b := multipartBody(t, map[string]string{
			"function": "@istari:extract", "tool_name": "ansys", "tool_version": "2024",
			"operating_system": "Ubuntu 24.04", "assigned_agent_id": "a1", "assigned_agent_pool_id": "p1",
			"agent_id": "a0", "description": "d", "version_name": "v1", "external_identifier": "x",
			"display_name": "n",
		}, `{"revision_id":"r1","relationship_identifier":"input"}`, `{"revision_id":"r2"}`)
		return newReq("POST", "/models/m1/jobs", ct, b)
	}},
	{"getJob", func(*testing.T) *http.Request { return newReq("GET", "/jobs/j1", "", nil) }},
	{"updateJob", func(t *testing.T) *http.Request {
		ct, b := multipartBody(t, map[string]string{"description": "d"}, `{"revision_id":"r1"}`)
		return newReq("PUT", "/jobs/j1", ct, b)
	}},
	{"listJobs", func(*testing.T) *http.Request {
		return newReq("GET", "/jobs?model_id=m1&status_name=Running&all_users=true&page=1&size=100&archive_status=all&sort=-created", "", nil)
	}},
	{"listModelJobs", func(*testing.T) *http.Request {
		return newReq("GET", "/models/m1/jobs?status_name=Completed&page=2&size=0&archive_status=archived&sort=created", "", nil)
	}},
	{"updateJobStatus", func(*testing.T) *http.Request {
		return newReq("PATCH", "/jobs/j1/status?status_name=Running&agent_id=a1", "application/json", jsonBody(map[string]string{"message": "go"}))
	}},
	{"updateJobAssignedAgent", func(*testing.T) *http.Request {
		return newReq("PUT", "/jobs/j1/assigned-agent", "application/json", jsonBody(map[string]string{"agent_id": "a1"}))
	}},
	{"removeJobAssignedAgent", func(*testing.T) *http.Request { return newReq("DELETE", "/jobs/j1/assigned-agent", "", nil) }},
	{"archiveJob", func(*testing.T) *http.Request {
		return newReq("PATCH", "/jobs/j1/archive", "application/json", jsonBody(map[string]string{"reason": "done"}))
	}},
	{"restoreJob", func(*testing.T) *http.Request { return newReq("PATCH", "/jobs/j1/restore", "", nil) }},
}

func TestSpecAcceptsACorrectRequestOfEachOperation(t *testing.T) {
	v, err := spec.NewValidator()
	require.NoError(t, err)
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req(t)
			route, _, err := v.Route(req)
			require.NoError(t, err)
			assert.Equal(t, tc.name, route.Operation.OperationID)
			_, err = v.ValidateRequest(req)
			assert.NoError(t, err)
		})
	}
}

func TestSpecRejectsWhatThePlatformGetsWrong(t *testing.T) {
	v, err := spec.NewValidator()
	require.NoError(t, err)
	cases := []struct {
		name    string
		req     func(t *testing.T) *http.Request
		mention string
	}{
		{"page=0", func(*testing.T) *http.Request { return newReq("GET", "/jobs?page=0", "", nil) }, "page"},
		{"size=101", func(*testing.T) *http.Request { return newReq("GET", "/jobs?size=101", "", nil) }, "size"},
		{"size=-1", func(*testing.T) *http.Request { return newReq("GET", "/models/m1/jobs?size=-1", "", nil) }, "size"},
		{"status_name lower case", func(*testing.T) *http.Request { return newReq("GET", "/jobs?status_name=running", "", nil) }, "status_name"},
		{"status update lower case", func(*testing.T) *http.Request {
			return newReq("PATCH", "/jobs/j1/status?status_name=completed", "", nil)
		}, "status_name"},
		{"archive_status=Active", func(*testing.T) *http.Request { return newReq("GET", "/jobs?archive_status=Active", "", nil) }, "archive_status"},
		{"operating_system=Windows 12", func(t *testing.T) *http.Request {
			ct, b := multipartBody(t, map[string]string{"function": "f", "operating_system": "Windows 12"})
			return newReq("POST", "/models/m1/jobs", ct, b)
		}, "operating_system"},
		{"addJob without function", func(t *testing.T) *http.Request {
			ct, b := multipartBody(t, map[string]string{"description": "d"})
			return newReq("POST", "/models/m1/jobs", ct, b)
		}, "function"},
		{"source without revision_id", func(t *testing.T) *http.Request {
			ct, b := multipartBody(t, map[string]string{"function": "f"}, `{"relationship_identifier":"x"}`)
			return newReq("POST", "/models/m1/jobs", ct, b)
		}, "revision_id"},
		// Exactly one of agent_id and agent_pool_id, in the schema.
		{"assigned agent: both", func(*testing.T) *http.Request {
			return newReq("PUT", "/jobs/j1/assigned-agent", "application/json", jsonBody(map[string]string{"agent_id": "a1", "agent_pool_id": "p1"}))
		}, "properties"},
		{"assigned agent: neither", func(*testing.T) *http.Request {
			return newReq("PUT", "/jobs/j1/assigned-agent", "application/json", jsonBody(map[string]string{}))
		}, "properties"},
		{"assigned agent: another field", func(*testing.T) *http.Request {
			return newReq("PUT", "/jobs/j1/assigned-agent", "application/json", jsonBody(map[string]string{"agent": "a1"}))
		}, "agent"},
		{"no bearer token", func(*testing.T) *http.Request {
			r := newReq("GET", "/jobs/j1", "", nil)
			r.Header.Del("Authorization")
			return r
		}, "security"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.ValidateRequest(tc.req(t))
			require.Error(t, err)
			assert.Contains(t, strings.ToLower(err.Error()), tc.mention)
		})
	}
}
