package facade

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/istari-go/sdk/gen"
)

// The values in this file are the facade's model of what the platform
// returns. They hold plain Go values: an empty string, a zero time or a nil
// slice means the platform sent nothing (or null) there. Their JSON form is
// the platform's wire form (snake_case names, in the platform's field order),
// so json.Marshal of a Job gives what the platform sent. Fields are listed
// in that wire order.
//
// readjson.go reads answers straight into these; convert.go turns the
// generated values into these when it cannot (see readjson.go).

// Job is a job as the platform returns it.
type Job struct {
	// AgentID is the agent that last handled the job: the last agent that
	// reported a status with its id ([UpdateJobStatusParams.AgentID]), or,
	// until one has, the agent that created the job
	// ([AddJobParams.AgentID]); empty when neither was given. It is not the
	// agent the job is assigned to (AssignedAgentID), and each status
	// entry keeps its own agent ([JobStatus.AgentID]).
	AgentID string `json:"agent_id,omitempty"`
	// ArchiveStatusHistory is the job's archive history, oldest first; the
	// last entry is its current archive state.
	ArchiveStatusHistory []ArchiveEntry `json:"archive_status_history"`
	// AssignedAgentID is the agent the job is assigned to, if any.
	AssignedAgentID string `json:"assigned_agent_id,omitempty"`
	// AssignedAgentPoolID is the agent pool the job is assigned to, if any.
	AssignedAgentPoolID string `json:"assigned_agent_pool_id,omitempty"`
	// Comments are the job's comments.
	Comments []Comment `json:"comments"`
	// Created is when the job was created.
	Created time.Time `json:"created"`
	// CreatedByID is the user who created the job.
	CreatedByID string `json:"created_by_id"`
	// File is the job's parameters file, with its revisions.
	File File `json:"file"`
	// Function is the function the job runs.
	Function FunctionVersion `json:"function"`
	// ID is the job's id.
	ID string `json:"id"`
	// ModelID is the model the job runs on.
	ModelID string `json:"model_id,omitempty"`
	// StatusHistory is the job's status history, oldest first; the last
	// entry is its current status (see [Job.Status]).
	StatusHistory []JobStatus `json:"status_history,omitzero"`
	// TenantID is the tenant the job belongs to.
	TenantID string `json:"tenant_id,omitempty"`

	// src is where the job was decoded from; nil for a Job built
	// otherwise.
	src *jobSource
}

// jobSource is where a decoded job came from: its bytes, and the generated
// value that Wire decodes from them on its first call.
type jobSource struct {
	raw  string
	once sync.Once
	wire *gen.Job
}

// Status returns the job's current status: the name of the last entry of
// its status history, or "" when it has none. A status this SDK does not
// know is returned as it is; its Valid method reports false.
func (j *Job) Status() JobStatusName {
	st, _ := j.LastStatus()
	return st.Name
}

// LastStatus returns the last entry of the job's status history, with its
// message and agent. ok is false when the history is empty.
func (j *Job) LastStatus() (st JobStatus, ok bool) {
	if len(j.StatusHistory) == 0 {
		return JobStatus{}, false
	}
	return j.StatusHistory[len(j.StatusHistory)-1], true
}

// Products returns the job's outputs: the products of its file's latest
// revision, as the platform sent them (the slice is the job's own), or nil
// when it has none. An agent records them while it runs the job; once the
// job is Completed or Failed, they do not change.
func (j *Job) Products() []Product {
	if j == nil || len(j.File.Revisions) == 0 {
		return nil
	}
	if ps := j.File.Revisions[len(j.File.Revisions)-1].Products; len(ps) > 0 {
		return ps
	}
	return nil
}

// Archived reports whether the job is archived: the last entry of its
// archive history is Archived.
func (j *Job) Archived() bool {
	h := j.ArchiveStatusHistory
	return len(h) > 0 && h[len(h)-1].Name == ArchiveStatusNameArchived
}

// Wire returns the generated value of the job's JSON: the wire form that
// this release of the SDK knows, from its api/openapi.yaml. It shows the
// fields of that spec the facade does not model (yet); a field the
// platform sends that the spec does not know is not kept (RawJSON has it),
// and comes with a later release of the SDK (or in a fork that changes the
// spec and runs make generate, since gen cannot be regenerated inside the
// module cache). It is decoded from the job's bytes on the first call, so
// that a caller who never calls it pays nothing; the result is shared with
// the Job (and its copies), so treat it as read-only. Wire is safe for
// concurrent use, and returns nil for a Job that was not decoded from JSON
// (one built as a literal, for example).
func (j *Job) Wire() *gen.Job {
	s := j.src
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		if s.wire == nil {
			w := new(gen.Job)
			_ = json.Unmarshal([]byte(s.raw), w) // read once already: it cannot fail
			s.wire = w
		}
	})
	return s.wire
}

// RawJSON returns the job's JSON as the platform sent it: the job's own
// bytes within the answer (for a job of a page, the item's), or the bytes
// given to UnmarshalJSON. It returns a new copy on each call, or nil for a
// Job that was not decoded from JSON.
func (j *Job) RawJSON() []byte {
	if j.src == nil || j.src.raw == "" {
		return nil
	}
	return []byte(j.src.raw)
}

// UnmarshalJSON reads a job in the platform's wire form, such as the output
// of json.Marshal of a Job or the body of a GetJob answer, as leniently as
// encoding/json reads it into the generated type: a field the spec requires
// may be missing. Wire and RawJSON work on the result.
func (j *Job) UnmarshalJSON(data []byte) error {
	if fj, ok := fastJob(data); ok {
		*j = *fj
		return nil
	}
	w := new(gen.Job)
	if err := json.Unmarshal(data, w); err != nil {
		return err
	}
	*j = *jobFromWire(w)
	j.src.raw = string(bytes.TrimSpace(data))
	return nil
}

// JobStatus is one entry of a job's status history.
type JobStatus struct {
	// AgentID is the agent that reported the status, if any.
	AgentID string `json:"agent_id,omitempty"`
	// Created is when the status was recorded.
	Created time.Time `json:"created"`
	// CreatedByID is the user who recorded it, if known.
	CreatedByID string `json:"created_by_id,omitempty"`
	// ID is the entry's id.
	ID string `json:"id"`
	// JobID is the job the entry belongs to.
	JobID string `json:"job_id"`
	// Message is the message reported with the status, if any.
	Message string `json:"message,omitempty"`
	// Name is the status, such as Running.
	Name JobStatusName `json:"name"`
}

// FunctionVersion is the function a job runs, with the tool versions and
// operating systems it supports.
type FunctionVersion struct {
	// ID is the function version's id, if sent.
	ID string
	// Name is the function's name, such as "@istari:extract".
	Name string
	// OperatingSystems are the operating systems the function runs on.
	OperatingSystems []OS
	// ToolName is the tool the function runs, such as "ansys".
	ToolName string
	// ToolVersions are the versions of that tool the function supports.
	ToolVersions []string
	// Version is the function's version, if sent.
	Version string

	// The ids of the OperatingSystems and ToolVersions entries, as sent,
	// kept so that the JSON form loses nothing.
	osIDs, toolVersionIDs []string
}

// functionVersionJSON is the wire form of a FunctionVersion.
type functionVersionJSON struct {
	ID               string                 `json:"id,omitempty"`
	Name             string                 `json:"name"`
	OperatingSystems *[]operatingSystemJSON `json:"operating_systems,omitempty"`
	ToolName         string                 `json:"tool_name,omitempty"`
	ToolVersions     *[]toolVersionJSON     `json:"tool_versions,omitempty"`
	Version          string                 `json:"version,omitempty"`
}

type operatingSystemJSON struct {
	ID   string `json:"id,omitempty"`
	Name OS     `json:"name"`
}

type toolVersionJSON struct {
	ID          string `json:"id,omitempty"`
	ToolVersion string `json:"tool_version"`
}

// MarshalJSON gives the wire form: operating systems and tool versions are
// lists of objects there.
func (f FunctionVersion) MarshalJSON() ([]byte, error) {
	w := functionVersionJSON{ID: f.ID, Name: f.Name, ToolName: f.ToolName, Version: f.Version}
	if f.OperatingSystems != nil {
		oss := make([]operatingSystemJSON, len(f.OperatingSystems))
		for i, o := range f.OperatingSystems {
			oss[i] = operatingSystemJSON{ID: at(f.osIDs, i), Name: o}
		}
		w.OperatingSystems = &oss
	}
	if f.ToolVersions != nil {
		tvs := make([]toolVersionJSON, len(f.ToolVersions))
		for i, v := range f.ToolVersions {
			tvs[i] = toolVersionJSON{ID: at(f.toolVersionIDs, i), ToolVersion: v}
		}
		w.ToolVersions = &tvs
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the wire form that MarshalJSON writes.
func (f *FunctionVersion) UnmarshalJSON(data []byte) error {
	var w gen.FunctionVersion
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*f = functionFromWire(&w)
	return nil
}

// at returns s[i], or "" when s is too short: the ids kept beside a list the
// caller may have changed.
func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// File is a job's parameters file: the platform keeps every revision.
type File struct {
	// ArchiveStatusHistory is the file's archive history, oldest first.
	ArchiveStatusHistory []ArchiveEntry `json:"archive_status_history"`
	// Created is when the file was created.
	Created time.Time `json:"created"`
	// ID is the file's id.
	ID string `json:"id"`
	// Revisions are the file's revisions, oldest first.
	Revisions []FileRevision `json:"revisions"`
}

// FileRevision is one revision of a job's file, with the metadata it was
// uploaded with.
type FileRevision struct {
	// Created is when the revision was uploaded.
	Created time.Time `json:"created"`
	// Description is the revision's description.
	Description string `json:"description,omitempty"`
	// DisplayName is the revision's display name.
	DisplayName string `json:"display_name,omitempty"`
	// Extension is the file name's extension, such as "json".
	Extension string `json:"extension,omitempty"`
	// ExternalIdentifier identifies the revision in another system.
	ExternalIdentifier string `json:"external_identifier,omitempty"`
	// FileID is the file the revision belongs to.
	FileID string `json:"file_id,omitempty"`
	// ID is the revision's id.
	ID string `json:"id"`
	// Mime is the revision's media type, such as "application/json".
	Mime string `json:"mime,omitempty"`
	// Name is the uploaded file's name.
	Name string `json:"name"`
	// Products are the outputs recorded on the revision. On a job's file,
	// the latest revision's products are the job's outputs (see
	// [Job.Products]).
	Products []Product `json:"products,omitzero"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Sources are the revisions this one was made from.
	Sources []Source `json:"sources,omitzero"`
	// VersionName is the revision's version name.
	VersionName string `json:"version_name,omitempty"`
}

// Source is a source recorded on a file revision.
type Source struct {
	// FileID is the file the source revision belongs to, if sent.
	FileID string `json:"file_id,omitempty"`
	// ID is the source record's id, if sent.
	ID string `json:"id,omitempty"`
	// RelationshipIdentifier says how the source relates to the revision.
	RelationshipIdentifier string `json:"relationship_identifier,omitempty"`
	// ResourceID is the resource the source file belongs to, if sent.
	ResourceID string `json:"resource_id,omitempty"`
	// ResourceType is the kind of resource the source file belongs to, such
	// as "Model" or "Artifact", if sent.
	ResourceType string `json:"resource_type,omitempty"`
	// RevisionID is the source revision.
	RevisionID string `json:"revision_id"`
}

// Product is an output of a job: a file revision that the job's agent
// produced, recorded on the job file's latest revision. Once the job is
// Completed or Failed, its products do not change. [Product.AsSource] makes
// it a source of the next job.
type Product struct {
	// FileID is the product's file, if sent.
	FileID string `json:"file_id,omitempty"`
	// RelationshipIdentifier says how the product relates to the job, such
	// as the name the function gave it.
	RelationshipIdentifier string `json:"relationship_identifier,omitempty"`
	// ResourceID is the resource the product belongs to, if sent.
	ResourceID string `json:"resource_id,omitempty"`
	// ResourceType is the kind of resource the product belongs to, such as
	// "Artifact", if sent.
	ResourceType string `json:"resource_type,omitempty"`
	// RevisionID is the product's file revision.
	RevisionID string `json:"revision_id"`
}

// AsSource returns the product as a source of a new job's file revision,
// related to it as relationship (which may be empty), so that one job's
// output feeds the next:
//
//	Sources: []facade.NewSource{prod.AsSource("load_geometry_file")}
func (p Product) AsSource(relationship string) NewSource {
	return NewSource{RevisionID: p.RevisionID, RelationshipIdentifier: relationship}
}

// Comment is a comment on a job.
type Comment struct {
	// Content is the comment's text.
	Content string `json:"content,omitempty"`
	// Created is when it was written.
	Created time.Time `json:"created"`
	// CreatedByID is who wrote it.
	CreatedByID string `json:"created_by_id,omitempty"`
	// ID is the comment's id.
	ID string `json:"id"`
}

// ArchiveEntry is one entry of an archive history: the resource became
// Active or Archived, for a reason.
type ArchiveEntry struct {
	// Created is when the entry was recorded.
	Created time.Time `json:"created"`
	// CreatedByID is who archived or restored the resource.
	CreatedByID string `json:"created_by_id,omitempty"`
	// ID is the entry's id.
	ID string `json:"id"`
	// Name is the archive state the resource entered.
	Name ArchiveStatusName `json:"name"`
	// Reason is the reason given, if any.
	Reason string `json:"reason,omitempty"`
}

// JobPage is one page of a job list. It marshals to the wire form of a
// page.
type JobPage struct {
	// Items are the jobs on this page.
	Items []*Job `json:"items"`
	// Page is this page's number, starting at 1.
	Page int `json:"page"`
	// Pages is how many pages there are at this size.
	Pages int `json:"pages"`
	// Size is the page size.
	Size int `json:"size"`
	// Total is how many jobs match the filters, over all pages.
	Total int `json:"total"`
}

// HasNextPage reports whether a page follows this one.
func (p *JobPage) HasNextPage() bool { return p.Page < p.Pages }
