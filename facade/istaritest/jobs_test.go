package istaritest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

func TestAddJobRecordsEverything(t *testing.T) {
	srv := newServer(t)
	before := time.Now().UTC()
	res := srv.send(formReq(http.MethodPost, "/models/m1/jobs",
		file("params.json", "application/json", `{"k":1}`),
		part{name: "function", value: "@istari:extract"},
		part{name: "tool_name", value: "ansys"},
		part{name: "tool_version", value: "2024"},
		part{name: "operating_system", value: "Ubuntu 24.04"},
		part{name: "assigned_agent_id", value: "agent-1"},
		part{name: "agent_id", value: "agent-0"},
		part{name: "description", value: "d"},
		part{name: "version_name", value: "v1"},
		part{name: "external_identifier", value: "x-1"},
		part{name: "display_name", value: "Job one"},
		source("r1", "input"),
		source("r2", ""),
	))
	require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
	j := res.job(t)

	_, err := uuid.Parse(j.ID)
	assert.NoError(t, err, "job id is a UUID")
	assert.False(t, j.Created.Before(before.Add(-time.Second)))
	assert.Equal(t, DefaultUserID, j.CreatedByID)
	assert.Equal(t, ptr("m1"), j.ModelID)
	assert.Equal(t, ptr("agent-1"), j.AssignedAgentID)
	assert.Nil(t, j.AssignedAgentPoolID)
	assert.Equal(t, ptr("agent-0"), j.AgentID)
	assert.Empty(t, j.Comments)

	require.NotNil(t, j.StatusHistory)
	require.Len(t, *j.StatusHistory, 1)
	st := (*j.StatusHistory)[0]
	assert.Equal(t, gen.JobStatusNamePending, st.Name)
	assert.Equal(t, j.ID, st.JobID)
	assert.Equal(t, ptr(DefaultUserID), st.CreatedByID)

	require.Len(t, j.ArchiveStatusHistory, 1)
	assert.Equal(t, gen.ArchiveStatusNameActive, j.ArchiveStatusHistory[0].Name)

	assert.Equal(t, "@istari:extract", j.Function.Name)
	assert.Equal(t, ptr("ansys"), j.Function.ToolName)
	assert.Equal(t, &[]gen.ToolVersion{{ToolVersion: "2024"}}, j.Function.ToolVersions)
	assert.Equal(t, &[]gen.OperatingSystem{{Name: gen.OSUbuntu2404}}, j.Function.OperatingSystems)

	require.Len(t, j.File.Revisions, 1)
	rev := j.File.Revisions[0]
	assert.Equal(t, "params", rev.Name)
	assert.Equal(t, ptr("json"), rev.Extension)
	assert.EqualValues(t, 7, rev.Size)
	assert.Equal(t, ptr("application/json"), rev.Mime)
	assert.Equal(t, ptr("d"), rev.Description)
	assert.Equal(t, ptr("v1"), rev.VersionName)
	assert.Equal(t, ptr("x-1"), rev.ExternalIdentifier)
	assert.Equal(t, ptr("Job one"), rev.DisplayName)
	assert.Equal(t, ptr(j.File.ID), rev.FileID)
	require.NotNil(t, rev.Sources)
	require.Len(t, *rev.Sources, 2)
	assert.Equal(t, "r1", (*rev.Sources)[0].RevisionID)
	assert.Equal(t, ptr("input"), (*rev.Sources)[0].RelationshipIdentifier)
	assert.Equal(t, "r2", (*rev.Sources)[1].RevisionID)
	assert.Nil(t, (*rev.Sources)[1].RelationshipIdentifier)

	// The platform holds what it answered, and the uploaded bytes.
	assert.Equal(t, []gen.Job{j}, wires(srv.Jobs()))
	got, ok := srv.Job(j.ID)
	require.True(t, ok)
	assert.Equal(t, j, *got.Wire())
	assert.Equal(t, []Upload{{RevisionID: rev.ID, FileName: "params.json", ContentType: "application/json", Size: 7, Content: []byte(`{"k":1}`)}}, srv.Uploads(j.ID))
	assert.Nil(t, srv.Uploads("nope"))
	_, ok = srv.Job("nope")
	assert.False(t, ok)
}

func TestAddJobFileNames(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		file, name string
		ext        *string
	}{
		{"params.json", "params", ptr("json")},
		{"archive.tar.gz", "archive.tar", ptr("gz")},
		{"noext", "noext", nil},
		{".env", ".env", nil},
		{`C:\dir\p.json`, "p", ptr("json")},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := srv.send(formReq(http.MethodPost, "/models/m/jobs",
				file(tc.file, "", "{}"), part{name: "function", value: "f"}))
			require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
			rev := res.job(t).File.Revisions[0]
			assert.Equal(t, tc.name, rev.Name)
			assert.Equal(t, tc.ext, rev.Extension)
			assert.Nil(t, rev.Mime, "no Content-Type, no mime")
		})
	}
}

func TestAddJobLargeFileKeepsOnlySize(t *testing.T) {
	const kept = 1 << 10
	srv := newServer(t, WithMaxKeptFileSize(kept))
	big := strings.Repeat("x", kept+1)
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs",
		file("big.bin", "application/octet-stream", big), part{name: "function", value: "f"}))
	require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
	j := res.job(t)
	assert.EqualValues(t, kept+1, j.File.Revisions[0].Size)
	ups := srv.Uploads(j.ID)
	require.Len(t, ups, 1)
	assert.EqualValues(t, kept+1, ups[0].Size)
	assert.Nil(t, ups[0].Content)

	// Its bytes cannot be read back, and the answer says why.
	res = srv.send(get("/jobs/" + j.ID + "/file"))
	require.Equal(t, http.StatusNotFound, res.status, "body %s", res.body)
	assert.Contains(t, res.detail(t), "were not kept")
	assert.Contains(t, res.detail(t), "1025 bytes")

	// A file of exactly the bound is kept.
	res = srv.send(formReq(http.MethodPost, "/models/m/jobs",
		file("edge.bin", "application/octet-stream", big[:kept]), part{name: "function", value: "f"}))
	require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
	res = srv.send(get("/jobs/" + res.job(t).ID + "/file"))
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, big[:kept], string(res.body))
}

func TestAddJobErrors(t *testing.T) {
	srv := newServer(t)
	ok := []part{file("p.json", "application/json", "{}"), {name: "function", value: "f"}}
	srv.expectErrors(t, []errorCase{
		{"no token", formReq(http.MethodPost, "/models/m/jobs", ok...).as("-"), 401, ""},
		{"unknown token", formReq(http.MethodPost, "/models/m/jobs", ok...).as("who"), 401, ""},
		{"no function", formReq(http.MethodPost, "/models/m/jobs", file("p.json", "", "{}")), 422, "body.function"},
		{"empty function", formReq(http.MethodPost, "/models/m/jobs", file("p.json", "", "{}"), part{name: "function"}), 422, "body.function"},
		{"no file", formReq(http.MethodPost, "/models/m/jobs", fields("function", "f")...), 422, "body.file"},
		{"bad operating system", formReq(http.MethodPost, "/models/m/jobs", append(ok, fields("operating_system", "Windows 12")...)...), 422, "body.operating_system"},
		{"source without revision_id", formReq(http.MethodPost, "/models/m/jobs", append(ok, part{name: "sources", ctype: "application/json", value: `{"relationship_identifier":"x"}`})...), 422, "body.sources.0.revision_id"},
		{"JSON instead of multipart", jsonReq(http.MethodPost, "/models/m/jobs", map[string]string{"function": "f"}), 422, "body"},
		{"no body", req{method: http.MethodPost, path: "/models/m/jobs"}, 422, "body"},
	})
	assert.Empty(t, srv.Jobs(), "no failed request created a job")
}

func TestFunctionRegistry(t *testing.T) {
	extract := Function{Name: "@istari:extract", ToolName: "ansys", ToolVersions: []string{"2023", "2024"},
		OperatingSystems: []facade.OS{facade.OSUbuntu2404, facade.OSWindows11}}
	srv := newServer(t, WithFunctions(extract))
	srv.AddFunction(Function{Name: "@istari:convert"})
	cases := []struct {
		name   string
		fields []string
		want   int
		detail string
	}{
		{"name only", []string{"function", "@istari:extract"}, 201, ""},
		{"everything matches", []string{"function", "@istari:extract", "tool_name", "ansys", "tool_version", "2023", "operating_system", "Windows 11"}, 201, ""},
		{"other function, nothing else", []string{"function", "@istari:convert"}, 201, ""},
		{"unknown name", []string{"function", "@istari:nope"}, 404, "No function found matching name '@istari:nope', tool '', version '', operating system ''"},
		{"wrong tool", []string{"function", "@istari:extract", "tool_name", "x"}, 404, "No function found matching name '@istari:extract', tool 'x', version '', operating system ''"},
		{"wrong version", []string{"function", "@istari:extract", "tool_version", "1999"}, 404, "No function found matching name '@istari:extract', tool '', version '1999', operating system ''"},
		{"wrong OS", []string{"function", "@istari:extract", "tool_name", "ansys", "tool_version", "2024", "operating_system", "RHEL 9"}, 404, "No function found matching name '@istari:extract', tool 'ansys', version '2024', operating system 'RHEL 9'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parts := append([]part{file("p.json", "application/json", "{}")}, fields(tc.fields...)...)
			res := srv.send(formReq(http.MethodPost, "/models/m/jobs", parts...))
			require.Equal(t, tc.want, res.status, "body %s", res.body)
			if tc.want == 404 {
				assert.Equal(t, tc.detail, res.detail(t))
			}
		})
	}
	// A matched job records the registered function version.
	j := srv.Jobs()[0]
	assert.Equal(t, "@istari:extract", j.Function.Name)
	assert.NotEmpty(t, j.Function.ID)
	assert.Equal(t, "ansys", j.Function.ToolName)
	assert.Equal(t, []string{"2023", "2024"}, j.Function.ToolVersions)
	assert.Equal(t, []facade.OS{facade.OSUbuntu2404, facade.OSWindows11}, j.Function.OperatingSystems)
	assert.Len(t, srv.Jobs(), 3)
}

func TestGetJob(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	cases := []struct {
		name   string
		req    req
		status int
	}{
		{"found", get("/jobs/" + j.ID), 200},
		{"found by another user", get("/jobs/" + j.ID).as(srv.AdminToken), 200},
		{"unknown", get("/jobs/nope"), 404},
		{"no token", get("/jobs/" + j.ID).as("-"), 401},
		{"bad token", get("/jobs/" + j.ID).as("bad"), 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := srv.send(tc.req)
			require.Equal(t, tc.status, res.status, "body %s", res.body)
			if tc.status == 200 {
				assert.Equal(t, j, res.job(t))
			} else {
				assert.NotEmpty(t, res.detail(t))
			}
		})
	}
	assert.Equal(t, "Job nope not found", srv.send(get("/jobs/nope")).detail(t))
}

func TestUpdateJob(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	res := srv.send(formReq(http.MethodPut, "/jobs/"+j.ID,
		file("new.yaml", "application/yaml", "a: 1\n"),
		part{name: "description", value: "second"},
		part{name: "display_name", value: "two"},
		source("r9", "input"),
	))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	got := res.job(t)
	require.Len(t, got.File.Revisions, 2)
	rev := got.File.Revisions[1]
	assert.Equal(t, "new", rev.Name)
	assert.Equal(t, ptr("yaml"), rev.Extension)
	assert.Equal(t, ptr("application/yaml"), rev.Mime)
	assert.EqualValues(t, 5, rev.Size)
	assert.Equal(t, ptr("second"), rev.Description)
	assert.Equal(t, ptr("two"), rev.DisplayName)
	assert.Nil(t, rev.VersionName)
	assert.Equal(t, "r9", (*rev.Sources)[0].RevisionID)
	assert.Equal(t, j.File.Revisions[0], got.File.Revisions[0], "the first revision stays")
	ups := srv.Uploads(j.ID)
	require.Len(t, ups, 2)
	assert.Equal(t, []byte("a: 1\n"), ups[1].Content)

	srv.expectErrors(t, []errorCase{
		{"unknown job", formReq(http.MethodPut, "/jobs/nope", file("p.json", "", "{}")), 404, ""},
		{"no token", formReq(http.MethodPut, "/jobs/"+j.ID, file("p.json", "", "{}")).as("-"), 401, ""},
		{"no file", formReq(http.MethodPut, "/jobs/"+j.ID, fields("description", "d")...), 422, "body.file"},
		{"not multipart", jsonReq(http.MethodPut, "/jobs/"+j.ID, map[string]string{}), 422, "body"},
	})
	assert.Len(t, srv.Jobs()[0].File.Revisions, 2)
}

func TestUpdateJobStatus(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	res := srv.send(jsonReq(http.MethodPatch, "/jobs/"+j.ID+"/status?status_name=Running&agent_id=a1", gen.JobStatusMessage{Message: ptr("go")}))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	got := res.job(t)
	require.Len(t, *got.StatusHistory, 2)
	st := (*got.StatusHistory)[1]
	assert.Equal(t, gen.JobStatusNameRunning, st.Name)
	assert.Equal(t, ptr("a1"), st.AgentID)
	assert.Equal(t, ptr("go"), st.Message)
	assert.Equal(t, ptr(DefaultUserID), st.CreatedByID)
	assert.Equal(t, j.ID, st.JobID)
	assert.Equal(t, ptr("a1"), got.AgentID)

	// Without a body or an agent.
	res = srv.send(req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=Completed", token: srv.AdminToken})
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	st = (*res.job(t).StatusHistory)[2]
	assert.Equal(t, gen.JobStatusNameCompleted, st.Name)
	assert.Nil(t, st.Message)
	assert.Equal(t, ptr(DefaultAdminUserID), st.CreatedByID)

	srv.expectErrors(t, []errorCase{
		{"unknown job", req{method: http.MethodPatch, path: "/jobs/nope/status?status_name=Running"}, 404, ""},
		{"no token", req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=Running", token: "-"}, 401, ""},
		{"no status", req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status"}, 422, "query.status_name"},
		{"lower case", req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=running"}, 422, "query.status_name"},
		{"empty agent", req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=Running&agent_id="}, 422, "query.agent_id"},
		{"message not a string", req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=Running", ctype: "application/json", body: []byte(`{"message":1}`)}, 422, "body.message"},
		{"broken JSON", req{method: http.MethodPatch, path: "/jobs/" + j.ID + "/status?status_name=Running", ctype: "application/json", body: []byte(`{`)}, 422, "body"},
	})
	stored, _ := srv.Job(j.ID)
	assert.Len(t, stored.StatusHistory, 3, "failed updates changed nothing")
}

func TestAssignedAgent(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	path := "/jobs/" + j.ID + "/assigned-agent"

	res := srv.send(jsonReq(http.MethodPut, path, gen.NewJobAssignedAgent{AgentID: ptr("a1")}))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	got := res.job(t)
	assert.Equal(t, ptr("a1"), got.AssignedAgentID)
	assert.Nil(t, got.AssignedAgentPoolID)

	res = srv.send(jsonReq(http.MethodPut, path, gen.NewJobAssignedAgent{AgentPoolID: ptr("p1")}))
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	got = res.job(t)
	assert.Nil(t, got.AssignedAgentID, "setting the pool clears the agent")
	assert.Equal(t, ptr("p1"), got.AssignedAgentPoolID)

	res = srv.send(jsonReq(http.MethodPut, path, gen.NewJobAssignedAgent{AgentID: ptr("a2")}))
	require.Equal(t, http.StatusOK, res.status)
	assert.Nil(t, res.job(t).AssignedAgentPoolID, "setting the agent clears the pool")

	srv.expectErrors(t, []errorCase{
		{"both", jsonReq(http.MethodPut, path, gen.NewJobAssignedAgent{AgentID: ptr("a"), AgentPoolID: ptr("p")}), 422, "body"},
		{"neither", jsonReq(http.MethodPut, path, gen.NewJobAssignedAgent{}), 422, "body"},
		{"empty agent", jsonReq(http.MethodPut, path, map[string]string{"agent_id": ""}), 422, "body.agent_id"},
		{"no body", req{method: http.MethodPut, path: path}, 422, "body"},
		{"unknown job", jsonReq(http.MethodPut, "/jobs/nope/assigned-agent", gen.NewJobAssignedAgent{AgentID: ptr("a")}), 404, ""},
		{"no token", jsonReq(http.MethodPut, path, gen.NewJobAssignedAgent{AgentID: ptr("a")}).as("-"), 401, ""},
	})
	stored, _ := srv.Job(j.ID)
	assert.Equal(t, "a2", stored.AssignedAgentID, "failed requests changed nothing")

	res = srv.send(req{method: http.MethodDelete, path: path})
	require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
	got = res.job(t)
	assert.Nil(t, got.AssignedAgentID)
	assert.Nil(t, got.AssignedAgentPoolID)
	assert.Equal(t, 404, srv.send(req{method: http.MethodDelete, path: "/jobs/nope/assigned-agent"}).status)
	assert.Equal(t, 401, srv.send(req{method: http.MethodDelete, path: path, token: "-"}).status)
}

func TestArchiveAndRestore(t *testing.T) {
	srv := newServer(t)
	j := srv.addJob("m")
	archive, restore := "/jobs/"+j.ID+"/archive", "/jobs/"+j.ID+"/restore"
	steps := []struct {
		name   string
		req    req
		status int
		want   []gen.ArchiveStatusName
		reason *string
	}{
		{"archive with a reason", jsonReq(http.MethodPatch, archive, gen.Archive{Reason: ptr("done")}), 200,
			[]gen.ArchiveStatusName{"Active", "Archived"}, ptr("done")},
		{"archive again", req{method: http.MethodPatch, path: archive}, 409, nil, nil},
		{"restore without a body", req{method: http.MethodPatch, path: restore}, 200,
			[]gen.ArchiveStatusName{"Active", "Archived", "Active"}, nil},
		{"restore again", jsonReq(http.MethodPatch, restore, gen.Restore{Reason: ptr("x")}), 409, nil, nil},
		{"archive with an empty body", jsonReq(http.MethodPatch, archive, gen.Archive{}), 200,
			[]gen.ArchiveStatusName{"Active", "Archived", "Active", "Archived"}, nil},
		{"restore with a reason", jsonReq(http.MethodPatch, restore, gen.Restore{Reason: ptr("oops")}).as(srv.AdminToken), 200,
			[]gen.ArchiveStatusName{"Active", "Archived", "Active", "Archived", "Active"}, ptr("oops")},
		{"archive unknown", req{method: http.MethodPatch, path: "/jobs/nope/archive"}, 404, nil, nil},
		{"restore unknown", req{method: http.MethodPatch, path: "/jobs/nope/restore"}, 404, nil, nil},
		{"archive without token", req{method: http.MethodPatch, path: archive, token: "-"}, 401, nil, nil},
		{"restore without token", req{method: http.MethodPatch, path: restore, token: "-"}, 401, nil, nil},
		{"archive with a bad reason", jsonReq(http.MethodPatch, archive, map[string]int{"reason": 1}), 422, nil, nil},
	}
	for _, st := range steps {
		res := srv.send(st.req)
		require.Equal(t, st.status, res.status, "%s: body %s", st.name, res.body)
		if st.status != 200 {
			if st.status == http.StatusUnprocessableEntity {
				assert.Contains(t, res.locs(t), "body.reason", st.name)
			} else {
				assert.NotEmpty(t, res.detail(t), st.name)
			}
			continue
		}
		got := res.job(t)
		var names []gen.ArchiveStatusName
		for _, a := range got.ArchiveStatusHistory {
			names = append(names, a.Name)
		}
		assert.Equal(t, st.want, names, st.name)
		last := got.ArchiveStatusHistory[len(got.ArchiveStatusHistory)-1]
		assert.Equal(t, st.reason, last.Reason, st.name)
		assert.NotNil(t, last.CreatedByID, st.name)
	}
	assert.Equal(t, "Job "+j.ID+" is already active", srv.send(req{method: http.MethodPatch, path: restore}).detail(t))
}

func TestJobsIsADeepCopy(t *testing.T) {
	srv := newServer(t)
	srv.addJob("m", source("r1", "rel"))
	jobs := srv.Jobs()
	jobs[0].ID = "changed"
	jobs[0].StatusHistory[0].Name = facade.JobStatusFailed
	jobs[0].ModelID = "changed"
	jobs[0].File.Revisions[0].Sources[0].RelationshipIdentifier = "changed"
	jobs[0].ArchiveStatusHistory[0].Name = facade.ArchiveStatusNameArchived
	ups := srv.Uploads(srv.Jobs()[0].ID)
	ups[0].Content[0] = 'X'

	again := srv.Jobs()[0]
	assert.NotEqual(t, "changed", again.ID)
	assert.Equal(t, gen.JobStatusNamePending, status(again))
	assert.Equal(t, "m", again.ModelID)
	assert.Equal(t, "rel", again.File.Revisions[0].Sources[0].RelationshipIdentifier)
	assert.False(t, archived(again))
	assert.Equal(t, byte('{'), srv.Uploads(again.ID)[0].Content[0])
}

// TestAnyFunctionUntilRegistered holds the documented default: with no
// function registered, any function, tool, version and operating system
// is accepted and recorded as sent; once one is registered, a job for one
// that matches none is 404, as on the platform.
func TestAnyFunctionUntilRegistered(t *testing.T) {
	srv := newServer(t)
	parts := []part{file("p.json", "application/json", "{}")}
	parts = append(parts, fields("function", "@nobody:made-up", "tool_name", "any-tool", "tool_version", "0.0",
		"operating_system", "RHEL 9")...)
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs", parts...))
	require.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
	j := res.job(t)
	assert.Equal(t, "@nobody:made-up", j.Function.Name)
	assert.Equal(t, "any-tool", *j.Function.ToolName)

	srv.AddFunction(Function{Name: "@istari:extract"})
	res = srv.send(formReq(http.MethodPost, "/models/m/jobs", parts...))
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.Contains(t, res.detail(t), "No function found matching name '@nobody:made-up'")
}
