package facade

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/jsonvalid"
)

// NewSource is a source to record on a job's file revision.
type NewSource struct {
	// RevisionID is the id of the source revision (required).
	RevisionID string
	// RelationshipIdentifier says how the source relates to the revision.
	RelationshipIdentifier string
}

// AddJobParams are the inputs of [Client.AddJob]. Only ModelID and Function
// are required; a zero value means "not set".
type AddJobParams struct {
	// ModelID is the model the job runs on (required). It is a field, not
	// an argument of AddJob as the resource of every other operation is,
	// so that one batch of [Client.AddJobs] may span models.
	ModelID string
	// Function is the function the job runs, such as "@istari:extract"
	// (required).
	Function string
	// Parameters is any value encoding/json can marshal; it is sent as the
	// job's JSON file. Set at most one of Parameters and ParametersFile;
	// with neither, the job's file is {}.
	Parameters any
	// ParametersFile is the path of a JSON file sent, byte for byte, as the
	// job's file. It must be a readable regular file of well-formed JSON
	// that keeps its size during the call; see Client.AddJob for when it
	// is checked.
	ParametersFile string
	// ToolName and ToolVersion select the tool the function runs with.
	ToolName, ToolVersion string
	// OperatingSystem selects the operating system the job runs on.
	OperatingSystem OS
	// AssignedAgentID or AssignedAgentPoolID assign the job to one agent or
	// one agent pool.
	AssignedAgentID, AssignedAgentPoolID string
	// AgentID is the agent that creates the job; it is the job's
	// [Job.AgentID] until an agent reports a status.
	AgentID string
	// Sources are recorded on the job's file revision.
	Sources []NewSource
	// Description, VersionName, ExternalIdentifier and DisplayName are the
	// revision's metadata.
	Description, VersionName, ExternalIdentifier, DisplayName string
}

// UpdateJobParams are the inputs of [Client.UpdateJob].
type UpdateJobParams struct {
	// Path is the new file (required): any regular file, streamed as it is,
	// with a media type taken from its extension.
	Path string
	// Sources are recorded on the new revision.
	Sources []NewSource
	// Description, VersionName, ExternalIdentifier and DisplayName are the
	// new revision's metadata.
	Description, VersionName, ExternalIdentifier, DisplayName string
}

// ListJobsParams filter [Client.ListJobs] and [Client.AllJobs]. A zero
// field is not sent, and the platform's default applies.
type ListJobsParams struct {
	// ModelID keeps the jobs of one model.
	ModelID string
	// Status keeps the jobs whose current status has this name.
	Status JobStatusName
	// AllUsers lists the jobs of every user, not only the caller's; it
	// needs admin privileges.
	AllUsers bool
	// AssignedAgentID keeps the jobs assigned to this agent.
	AssignedAgentID string
	// AssignedAgentPoolID keeps the jobs assigned to this agent pool.
	AssignedAgentPoolID string
	// Name keeps the jobs whose display name contains this text.
	Name string
	// Page is the page number, from 1 (the default).
	Page int
	// Size is the page size, from 1 to 100; zero means the platform's
	// default of 10 (and 100 for the iterators).
	Size int
	// CountOnly asks for size=0: a page with no items whose Total still
	// counts the matching jobs. Size must be zero then.
	CountOnly bool
	// ArchiveStatus keeps active (the default), archived or all jobs.
	ArchiveStatus ArchiveStatus
	// Sort is the sort key, such as "-created".
	Sort string
}

// ListModelJobsParams filter [Client.ListModelJobs] and
// [Client.AllModelJobs]. They are [ListJobsParams] without ModelID,
// AllUsers and Name.
type ListModelJobsParams struct {
	// Status keeps the jobs whose current status has this name.
	Status JobStatusName
	// AssignedAgentID keeps the jobs assigned to this agent.
	AssignedAgentID string
	// AssignedAgentPoolID keeps the jobs assigned to this agent pool.
	AssignedAgentPoolID string
	// Page is the page number, from 1 (the default).
	Page int
	// Size is the page size, from 1 to 100; zero means the platform's
	// default of 10 (and 100 for the iterators).
	Size int
	// CountOnly asks for size=0; see [ListJobsParams.CountOnly].
	CountOnly bool
	// ArchiveStatus keeps active (the default), archived or all jobs.
	ArchiveStatus ArchiveStatus
	// Sort is the sort key, such as "-created".
	Sort string
}

// UpdateJobStatusParams are the inputs of [Client.UpdateJobStatus].
type UpdateJobStatusParams struct {
	// Status is the job's new status (required).
	Status JobStatusName
	// AgentID is the agent reporting the status. It is recorded on the
	// status entry and becomes the job's [Job.AgentID].
	AgentID string
	// Message is recorded with the status.
	Message string
}

// ArchiveJobParams are the inputs of [Client.ArchiveJob].
type ArchiveJobParams struct {
	// Reason says why the job is archived; empty sends none.
	Reason string
}

// RestoreJobParams are the inputs of [Client.RestoreJob].
type RestoreJobParams struct {
	// Reason says why the job is restored; empty sends none.
	Reason string
}

// AssignedAgent names the agent or the agent pool to assign a job to: set
// exactly one of the two.
type AssignedAgent struct {
	AgentID     string
	AgentPoolID string
}

// listQuery is what both list operations share.
type listQuery struct {
	status        JobStatusName
	page, size    int
	countOnly     bool
	archiveStatus ArchiveStatus
	sort          string
}

func (q listQuery) check(prefix string, lenient bool) error {
	if err := checkEnum(prefix+".Status", q.status, JobStatusNameValues(), lenient); err != nil {
		return err
	}
	if err := checkEnum(prefix+".ArchiveStatus", q.archiveStatus, ArchiveStatusValues(), lenient); err != nil {
		return err
	}
	if q.page < 0 {
		return &ValidationError{Field: prefix + ".Page", Value: strconv.Itoa(q.page), Reason: "must be 1 or more (0 means the first page)"}
	}
	if q.size < 0 || q.size > 100 {
		return &ValidationError{Field: prefix + ".Size", Value: strconv.Itoa(q.size), Reason: "must be from 0 to 100 (0 means the default of 10)"}
	}
	if q.countOnly && q.size != 0 {
		return &ValidationError{Field: prefix + ".CountOnly", Value: "true", Reason: "Size must be 0 when CountOnly is set"}
	}
	return nil
}

// wire fills the generated parameters' shared fields.
func (q listQuery) wire(status **gen.JobStatusName, page, size **int, archive **gen.ArchiveStatus, sort **string) {
	if q.status != "" {
		s := gen.JobStatusName(q.status)
		*status = &s
	}
	if q.page > 0 {
		*page = &q.page
	}
	if q.size > 0 || q.countOnly {
		*size = &q.size
	}
	if q.archiveStatus != "" {
		a := gen.ArchiveStatus(q.archiveStatus)
		*archive = &a
	}
	if q.sort != "" {
		*sort = &q.sort
	}
}

func (p ListJobsParams) query() listQuery {
	return listQuery{p.Status, p.Page, p.Size, p.CountOnly, p.ArchiveStatus, p.Sort}
}

func (p ListModelJobsParams) query() listQuery {
	return listQuery{p.Status, p.Page, p.Size, p.CountOnly, p.ArchiveStatus, p.Sort}
}

func (p ListJobsParams) wire() *gen.ListJobsParams {
	w := &gen.ListJobsParams{}
	p.query().wire(&w.StatusName, &w.Page, &w.Size, &w.ArchiveStatus, &w.Sort)
	if p.ModelID != "" {
		w.ModelID = &p.ModelID
	}
	if p.AllUsers {
		w.AllUsers = &p.AllUsers
	}
	w.AssignedAgentID = optional(p.AssignedAgentID)
	w.AssignedAgentPoolID = optional(p.AssignedAgentPoolID)
	w.Name = optional(p.Name)
	return w
}

func (p ListModelJobsParams) wire() *gen.ListModelJobsParams {
	w := &gen.ListModelJobsParams{}
	p.query().wire(&w.StatusName, &w.Page, &w.Size, &w.ArchiveStatus, &w.Sort)
	w.AssignedAgentID = optional(p.AssignedAgentID)
	w.AssignedAgentPoolID = optional(p.AssignedAgentPoolID)
	return w
}

// optional is a query value as the generated parameters take it: nil when
// it is not set.
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// check checks every input of AddJob that can be checked without reading
// a file: the upload is built only once it passes.
func (p *AddJobParams) check(lenient bool) error {
	if err := checkID("AddJobParams.ModelID", p.ModelID); err != nil {
		return err
	}
	if strings.TrimSpace(p.Function) == "" {
		return &ValidationError{Field: "AddJobParams.Function", Reason: `must name a function, such as "@istari:extract"`}
	}
	if err := checkEnum("AddJobParams.OperatingSystem", p.OperatingSystem, OSValues(), lenient); err != nil {
		return err
	}
	if parametersGiven(p.Parameters) && p.ParametersFile != "" {
		return &ValidationError{Field: "AddJobParams.Parameters", Reason: "set Parameters or ParametersFile, not both"}
	}
	return checkSources("AddJobParams.Sources", p.Sources)
}

// check checks every input of UpdateJob but the file itself.
func (p *UpdateJobParams) check() error {
	if p.Path == "" {
		return &ValidationError{Field: "UpdateJobParams.Path", Reason: "must name the new file"}
	}
	return checkSources("UpdateJobParams.Sources", p.Sources)
}

// checkID rejects IDs that cannot name a resource. Every other ID is
// path-escaped by the generated client, so "/" or "?" cannot reach another
// path; "." and ".." would be resolved away as dot segments, so they are
// refused.
func checkID(field, id string) error {
	switch id {
	case "":
		return &ValidationError{Field: field, Reason: "must not be empty"}
	case ".", "..":
		return &ValidationError{Field: field, Value: id, Reason: `must not be "." or ".."`}
	}
	return nil
}

func checkSources(field string, sources []NewSource) error {
	for i, s := range sources {
		if s.RevisionID == "" {
			return &ValidationError{Field: field + "[" + strconv.Itoa(i) + "].RevisionID", Reason: "must not be empty"}
		}
	}
	return nil
}

// parametersGiven reports whether Parameters holds a value to send. A nil
// map, slice or pointer is "not set", as nil is: the job's file is then {},
// as the Python SDK sends, never null.
func parametersGiven(v any) bool {
	if v == nil {
		return false
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	}
	return true
}

// encodeParameters encodes Parameters as the job's JSON file, held to the
// same rules as a parameters file: one JSON value (null becomes {}), nested
// no deeper than a parameters file may be.
func encodeParameters(v any) ([]byte, error) {
	const field = "AddJobParams.Parameters"
	data, err := json.Marshal(v)
	if err != nil {
		return nil, &ValidationError{Field: field, Reason: "cannot be encoded as JSON: " + err.Error(), Err: err}
	}
	if string(data) == "null" {
		return []byte("{}"), nil
	}
	if err := jsonvalid.Validate(bytes.NewReader(data)); err != nil {
		return nil, &ValidationError{Field: field, Reason: "is not a valid parameters file once encoded: " + err.Error(), Err: err}
	}
	return data, nil
}

// SourceRevision returns a [NewSource] for a bare revision id, as the
// Python SDK accepts a plain string among its sources:
//
//	Sources: []facade.NewSource{facade.SourceRevision("rev-1")}
func SourceRevision(revisionID string) NewSource { return NewSource{RevisionID: revisionID} }
