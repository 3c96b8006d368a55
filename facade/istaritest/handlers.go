package istaritest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/gen/server"
	"github.com/istari-go/sdk/internal/fakestore"
)

// handlers implements the generated strict-server interface on the store.
// The front handler has authenticated and validated every request it sees.
type handlers struct{ p *Platform }

var _ server.StrictServerInterface = (*handlers)(nil)

// errorResponse is any error answer; it satisfies the response interface of
// every operation. The contract's response check in the tests makes sure an
// operation only answers the statuses it documents.
type errorResponse problem

func (e errorResponse) write(w http.ResponseWriter) error {
	writeProblem(w, problem(e))
	return nil
}

func (e errorResponse) VisitListJobsResponse(w http.ResponseWriter) error      { return e.write(w) }
func (e errorResponse) VisitGetJobResponse(w http.ResponseWriter) error        { return e.write(w) }
func (e errorResponse) VisitUpdateJobResponse(w http.ResponseWriter) error     { return e.write(w) }
func (e errorResponse) VisitArchiveJobResponse(w http.ResponseWriter) error    { return e.write(w) }
func (e errorResponse) VisitRestoreJobResponse(w http.ResponseWriter) error    { return e.write(w) }
func (e errorResponse) VisitListModelJobsResponse(w http.ResponseWriter) error { return e.write(w) }
func (e errorResponse) VisitAddJobResponse(w http.ResponseWriter) error        { return e.write(w) }
func (e errorResponse) VisitUpdateJobStatusResponse(w http.ResponseWriter) error {
	return e.write(w)
}
func (e errorResponse) VisitRemoveJobAssignedAgentResponse(w http.ResponseWriter) error {
	return e.write(w)
}
func (e errorResponse) VisitUpdateJobAssignedAgentResponse(w http.ResponseWriter) error {
	return e.write(w)
}

// fail turns an error of the store (or of form parsing) into an answer.
func fail(err error) errorResponse {
	var se *fakestore.Error
	if !errors.As(err, &se) {
		return errorResponse{status: http.StatusInternalServerError, detail: "internal error: " + err.Error()}
	}
	switch {
	case errors.Is(err, fakestore.ErrNotFound):
		return errorResponse{status: http.StatusNotFound, detail: se.Detail}
	case errors.Is(err, fakestore.ErrConflict):
		return errorResponse{status: http.StatusConflict, detail: se.Detail}
	case errors.Is(err, fakestore.ErrFull):
		return errorResponse{status: http.StatusInsufficientStorage, detail: se.Detail}
	default:
		loc := se.Loc
		if len(loc) == 0 {
			loc = []string{"body"}
		}
		return errorResponse{status: http.StatusUnprocessableEntity,
			items: []gen.ValidationErrorItem{item(se.Detail, "value_error", loc...)}}
	}
}

var errNoUser = errorResponse{status: http.StatusUnauthorized, detail: "Not authenticated"}

// ListJobs lists jobs: the caller's, or with all_users every user's (admins only).
func (h *handlers) ListJobs(ctx context.Context, req server.ListJobsRequestObject) (server.ListJobsResponseObject, error) {
	u, ok := userFrom(ctx)
	if !ok {
		return errNoUser, nil
	}
	q := req.Params
	all := q.AllUsers != nil && *q.AllUsers
	if all && !u.admin {
		return errorResponse{status: http.StatusForbidden, detail: "Listing the jobs of all users requires admin privileges"}, nil
	}
	query := listQuery(q.StatusName, q.ArchiveStatus, q.Sort, q.Page, q.Size)
	query.ModelID = q.ModelID
	query.AssignedAgentID, query.AssignedAgentPoolID, query.Name = q.AssignedAgentID, q.AssignedAgentPoolID, q.Name
	if !all {
		query.CreatedByID = &u.id
	}
	page, err := h.p.store.List(query)
	if err != nil {
		return fail(err), nil
	}
	return server.ListJobs200JSONResponse(page), nil
}

// ListModelJobs lists the caller's jobs of one model.
func (h *handlers) ListModelJobs(ctx context.Context, req server.ListModelJobsRequestObject) (server.ListModelJobsResponseObject, error) {
	u, ok := userFrom(ctx)
	if !ok {
		return errNoUser, nil
	}
	q := req.Params
	query := listQuery(q.StatusName, q.ArchiveStatus, q.Sort, q.Page, q.Size)
	query.ModelID = &req.ModelID
	query.AssignedAgentID, query.AssignedAgentPoolID = q.AssignedAgentID, q.AssignedAgentPoolID
	query.CreatedByID = &u.id
	page, err := h.p.store.List(query)
	if err != nil {
		return fail(err), nil
	}
	return server.ListModelJobs200JSONResponse(page), nil
}

// listQuery applies the contract's defaults: page 1, size 10, active jobs,
// oldest first.
func listQuery(status *gen.JobStatusName, archive *gen.ArchiveStatus, sort *string, page, size *int) fakestore.Query {
	q := fakestore.Query{StatusName: status, Page: 1, Size: 10, ArchiveStatus: gen.ArchiveStatusActive, Sort: "created"}
	if archive != nil {
		q.ArchiveStatus = *archive
	}
	if sort != nil {
		q.Sort = *sort
	}
	if page != nil {
		q.Page = *page
	}
	if size != nil {
		q.Size = *size
	}
	return q
}

// GetJob returns one job.
func (h *handlers) GetJob(_ context.Context, req server.GetJobRequestObject) (server.GetJobResponseObject, error) {
	job, err := h.p.store.Job(req.JobID)
	if err != nil {
		return fail(err), nil
	}
	return server.GetJob200JSONResponse(job), nil
}

// AddJob creates a job from its multipart form.
func (h *handlers) AddJob(ctx context.Context, req server.AddJobRequestObject) (server.AddJobResponseObject, error) {
	u, ok := userFrom(ctx)
	if !ok {
		return errNoUser, nil
	}
	f, err := readForm(req.Body, h.p.maxKept)
	if err != nil {
		return fail(err), nil
	}
	if f.fields["function"] == "" {
		return fail(invalid("a function is required", "body", "function")), nil
	}
	job, err := h.p.store.AddJob(u.id, fakestore.NewJob{
		ModelID:             req.ModelID,
		Function:            f.fields["function"],
		ToolName:            f.fields["tool_name"],
		ToolVersion:         f.fields["tool_version"],
		OperatingSystem:     gen.OS(f.fields["operating_system"]),
		AssignedAgentID:     f.field("assigned_agent_id"),
		AssignedAgentPoolID: f.field("assigned_agent_pool_id"),
		AgentID:             f.field("agent_id"),
		File:                f.fileInput(),
	})
	if err != nil {
		return fail(err), nil
	}
	return server.AddJob201JSONResponse(job), nil
}

// UpdateJob adds a revision to the job's file.
func (h *handlers) UpdateJob(_ context.Context, req server.UpdateJobRequestObject) (server.UpdateJobResponseObject, error) {
	if _, err := h.p.store.Job(req.JobID); err != nil {
		return fail(err), nil
	}
	f, err := readForm(req.Body, h.p.maxKept)
	if err != nil {
		return fail(err), nil
	}
	job, err := h.p.store.UpdateFile(req.JobID, f.fileInput())
	if err != nil {
		return fail(err), nil
	}
	return server.UpdateJob200JSONResponse(job), nil
}

// UpdateJobStatus appends a status to the job's history.
func (h *handlers) UpdateJobStatus(ctx context.Context, req server.UpdateJobStatusRequestObject) (server.UpdateJobStatusResponseObject, error) {
	u, ok := userFrom(ctx)
	if !ok {
		return errNoUser, nil
	}
	var msg *string
	if req.Body != nil {
		msg = req.Body.Message
	}
	job, err := h.p.store.UpdateStatus(req.JobID, u.id, req.Params.StatusName, req.Params.AgentID, msg)
	if err != nil {
		return fail(err), nil
	}
	return server.UpdateJobStatus200JSONResponse(job), nil
}

// UpdateJobAssignedAgent assigns the job to an agent or an agent pool.
func (h *handlers) UpdateJobAssignedAgent(_ context.Context, req server.UpdateJobAssignedAgentRequestObject) (server.UpdateJobAssignedAgentResponseObject, error) {
	var agent, pool *string
	if req.Body != nil {
		agent, pool = req.Body.AgentID, req.Body.AgentPoolID
	}
	// An unknown job is 404 even when the body is wrong too.
	if _, err := h.p.store.Job(req.JobID); err != nil {
		return fail(err), nil
	}
	job, err := h.p.store.AssignAgent(req.JobID, agent, pool)
	if err != nil {
		return fail(err), nil
	}
	return server.UpdateJobAssignedAgent200JSONResponse(job), nil
}

// RemoveJobAssignedAgent clears the job's assignment.
func (h *handlers) RemoveJobAssignedAgent(_ context.Context, req server.RemoveJobAssignedAgentRequestObject) (server.RemoveJobAssignedAgentResponseObject, error) {
	job, err := h.p.store.RemoveAssignedAgent(req.JobID)
	if err != nil {
		return fail(err), nil
	}
	return server.RemoveJobAssignedAgent200JSONResponse(job), nil
}

// ArchiveJob archives the job.
func (h *handlers) ArchiveJob(ctx context.Context, req server.ArchiveJobRequestObject) (server.ArchiveJobResponseObject, error) {
	u, ok := userFrom(ctx)
	if !ok {
		return errNoUser, nil
	}
	var reason *string
	if req.Body != nil {
		reason = req.Body.Reason
	}
	job, err := h.p.store.Archive(req.JobID, u.id, reason)
	if err != nil {
		return fail(err), nil
	}
	return server.ArchiveJob200JSONResponse(job), nil
}

// RestoreJob makes an archived job active again.
func (h *handlers) RestoreJob(ctx context.Context, req server.RestoreJobRequestObject) (server.RestoreJobResponseObject, error) {
	u, ok := userFrom(ctx)
	if !ok {
		return errNoUser, nil
	}
	var reason *string
	if req.Body != nil {
		reason = req.Body.Reason
	}
	job, err := h.p.store.Restore(req.JobID, u.id, reason)
	if err != nil {
		return fail(err), nil
	}
	return server.RestoreJob200JSONResponse(job), nil
}

func invalid(msg string, loc ...string) error {
	return &fakestore.Error{Kind: fakestore.ErrInvalid, Detail: msg, Loc: loc}
}

// form is a parsed NewJob or JobFileUpdate form.
type form struct {
	fields      map[string]string
	sources     []gen.NewSource
	hasFile     bool
	fileName    string
	contentType string
	size        int64
	content     []byte
	maxKept     int64 // the largest file whose bytes are kept
}

// field returns a text field, nil when it was not sent.
func (f *form) field(name string) *string {
	v, ok := f.fields[name]
	if !ok {
		return nil
	}
	return &v
}

func (f *form) fileInput() fakestore.FileInput {
	return fakestore.FileInput{
		FileName:           f.fileName,
		ContentType:        f.contentType,
		Size:               f.size,
		Content:            f.content,
		Description:        f.field("description"),
		VersionName:        f.field("version_name"),
		ExternalIdentifier: f.field("external_identifier"),
		DisplayName:        f.field("display_name"),
		Sources:            f.sources,
	}
}

// readForm reads a multipart form: one `file` part, one `sources` part per
// source (a NewSource as JSON; an array of them is accepted too), and plain
// text fields. The request body is already bounded and validated. The file's
// bytes are kept when it has at most maxKept of them.
func readForm(mr *multipart.Reader, maxKept int64) (*form, error) {
	if mr == nil {
		return nil, invalid("a multipart/form-data body is required", "body")
	}
	f := &form{fields: map[string]string{}, maxKept: maxKept}
	for {
		part, err := mr.NextPart()
		// Only a bare io.EOF means the closing boundary was read; a body
		// that ends without it is an error that wraps io.EOF, and a cut
		// body must change nothing.
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalid("malformed multipart body: "+err.Error(), "body")
		}
		if err := f.readPart(part); err != nil {
			_ = part.Close()
			return nil, err
		}
		_ = part.Close()
		if len(f.sources) > MaxSources {
			return nil, invalid(fmt.Sprintf("more than %d sources", MaxSources), "body", "sources")
		}
	}
	if !f.hasFile {
		return nil, invalid("a file part is required", "body", "file")
	}
	return f, nil
}

func (f *form) readPart(part *multipart.Part) error {
	name := part.FormName()
	switch name {
	case "file":
		if f.hasFile {
			return invalid("only one file part is allowed", "body", "file")
		}
		var buf bytes.Buffer
		kept, err := io.Copy(&buf, io.LimitReader(part, f.maxKept+1))
		if err != nil {
			return invalid("read file part: "+err.Error(), "body", "file")
		}
		rest, err := io.Copy(io.Discard, part)
		if err != nil {
			return invalid("read file part: "+err.Error(), "body", "file")
		}
		f.hasFile = true
		f.fileName = part.FileName()
		f.contentType = part.Header.Get("Content-Type")
		f.size = kept + rest
		if f.size <= f.maxKept {
			f.content = buf.Bytes()
		}
	case "sources":
		data, err := io.ReadAll(part)
		if err != nil {
			return invalid("read sources part: "+err.Error(), "body", "sources")
		}
		idx := fmt.Sprint(len(f.sources))
		data = bytes.TrimSpace(data)
		if len(data) > 0 && data[0] == '[' {
			var many []gen.NewSource
			if err := json.Unmarshal(data, &many); err != nil {
				return invalid("a source must be a NewSource JSON object: "+err.Error(), "body", "sources", idx)
			}
			for i, s := range many {
				if s.RevisionID == "" {
					return invalid("revision_id is required", "body", "sources", fmt.Sprint(len(f.sources)+i), "revision_id")
				}
			}
			f.sources = append(f.sources, many...)
			return nil
		}
		var s gen.NewSource
		if err := json.Unmarshal(data, &s); err != nil {
			return invalid("a source must be a NewSource JSON object: "+err.Error(), "body", "sources", idx)
		}
		if s.RevisionID == "" {
			return invalid("revision_id is required", "body", "sources", idx, "revision_id")
		}
		f.sources = append(f.sources, s)
	case "":
		// A part without a name carries nothing the platform knows.
		_, err := io.Copy(io.Discard, part)
		if err != nil {
			return invalid("malformed multipart body: "+err.Error(), "body")
		}
	default:
		data, err := io.ReadAll(part)
		if err != nil {
			return invalid("read field: "+err.Error(), "body", name)
		}
		f.fields[name] = string(data)
	}
	return nil
}

// GetJobFile streams the bytes of the job's latest file revision, straight
// from the stored slice.
func (h *handlers) GetJobFile(_ context.Context, req server.GetJobFileRequestObject) (server.GetJobFileResponseObject, error) {
	up, err := h.p.store.LatestUpload(req.JobID)
	if err != nil {
		return fail(err), nil
	}
	if int64(len(up.Content)) != up.Size {
		return errorResponse{status: http.StatusNotFound, detail: fmt.Sprintf(
			"the bytes of job %s's file (%d bytes) were not kept: this platform keeps the bytes of files up to %d bytes (istaritest.WithMaxKeptFileSize) and records only the size of larger ones",
			req.JobID, up.Size, h.p.maxKept)}, nil
	}
	return server.GetJobFile200ApplicationOctetStreamResponse{
		Body:          bytes.NewReader(up.Content),
		ContentLength: up.Size,
	}, nil
}

func (e errorResponse) VisitGetJobFileResponse(w http.ResponseWriter) error { return e.write(w) }
