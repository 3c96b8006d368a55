package facade

import (
	"context"
	"io"
	"net/http"

	"github.com/istari-go/sdk/gen"
)

// AddJob adds a job to a model: it runs p.Function on p.ModelID with the
// parameters in p.Parameters or p.ParametersFile, sent as the job's JSON
// file in one streamed request. The inputs are checked before anything is
// sent, and a parameters file that is not well-formed JSON, or that changes
// during the call, is a [*ValidationError] for AddJobParams.ParametersFile:
// the bytes checked are the bytes sent, and the platform never receives a
// complete request with a malformed file (docs/uploads.md says how).
//
// AddJob is not idempotent: it is retried only when the request cannot have
// reached the platform, never after a timeout.
func (c *Client) AddJob(ctx context.Context, p AddJobParams, opts ...CallOption) (*Job, error) {
	// A parameters file is opened once, when the call begins, and every
	// attempt reads that open file, never its path again, exactly the size
	// it had then (one that reports 0 bytes, such as a file in /proc, is read
	// to its end, up to 8 MiB). Up to 8 MiB it is read whole, checked and sent
	// from memory; a larger one is checked as it is sent, and the request is
	// cut short before its end if the check fails.
	const op = OpAddJob
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	// The inputs are checked in one place, then the upload is built, then
	// it is sent: nothing calls back.
	if err := p.check(c.lenientEnums); err != nil {
		return nil, err
	}
	up, err := parametersUpload(&p)
	if err != nil {
		return nil, err
	}
	return c.sendUpload(ctx, op, "", cc, up, func(ctx context.Context, body io.Reader, edit gen.RequestEditorFn) (*http.Response, error) {
		return c.api.AddJobWithBody(ctx, p.ModelID, up.contentType, body, edit)
	})
}

// UpdateJob replaces a job's file with the file at p.Path, streamed, and
// records the new revision's metadata. The file is opened once, when the
// call begins, and every attempt reads that open file, never the path
// again.
func (c *Client) UpdateJob(ctx context.Context, jobID string, p UpdateJobParams, opts ...CallOption) (*Job, error) {
	const op = OpUpdateJob
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	up, err := fileUpload(&p)
	if err != nil {
		return nil, err
	}
	return c.sendUpload(ctx, op, jobID, cc, up, func(ctx context.Context, body io.Reader, edit gen.RequestEditorFn) (*http.Response, error) {
		return c.api.UpdateJobWithBody(ctx, jobID, up.contentType, body, edit)
	})
}

// GetJob gets a job by its id.
func (c *Client) GetJob(ctx context.Context, jobID string, opts ...CallOption) (*Job, error) {
	const op = OpGetJob
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.GetJob(cx, jobID)
	return decodeJob(c, cx, jobID, resp, err)
}

// ListJobs lists one page of the jobs the caller has access to.
func (c *Client) ListJobs(ctx context.Context, p ListJobsParams, opts ...CallOption) (*JobPage, error) {
	const op = OpListJobs
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := p.check(c.lenientEnums); err != nil {
		return nil, err
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.ListJobs(cx, p.wire())
	return decodePage(c, cx, resp, err)
}

func (p ListJobsParams) check(lenient bool) error { return p.query().check("ListJobsParams", lenient) }

// ListModelJobs lists one page of a model's jobs.
func (c *Client) ListModelJobs(ctx context.Context, modelID string, p ListModelJobsParams, opts ...CallOption) (*JobPage, error) {
	const op = OpListModelJobs
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("modelID", modelID); err != nil {
		return nil, err
	}
	if err := p.check(c.lenientEnums); err != nil {
		return nil, err
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.ListModelJobs(cx, modelID, p.wire())
	return decodePage(c, cx, resp, err)
}

func (p ListModelJobsParams) check(lenient bool) error {
	return p.query().check("ListModelJobsParams", lenient)
}

// UpdateJobStatus appends p.Status, with the reporting agent and a message,
// to a job's status history.
func (c *Client) UpdateJobStatus(ctx context.Context, jobID string, p UpdateJobStatusParams, opts ...CallOption) (*Job, error) {
	const op = OpUpdateJobStatus
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	if p.Status == "" {
		return nil, &ValidationError{Field: "UpdateJobStatusParams.Status", Reason: "must be one of " + quoteList(JobStatusNameValues())}
	}
	if err := checkEnum("UpdateJobStatusParams.Status", p.Status, JobStatusNameValues(), c.lenientEnums); err != nil {
		return nil, err
	}
	return c.setStatus(ctx, op, jobID, p.Status, p.AgentID, p.Message, cc)
}

// UpdateJobAssignedAgent assigns a job to one agent or one agent pool.
func (c *Client) UpdateJobAssignedAgent(ctx context.Context, jobID string, a AssignedAgent, opts ...CallOption) (*Job, error) {
	const op = OpUpdateJobAssignedAgent
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	if (a.AgentID == "") == (a.AgentPoolID == "") {
		return nil, &ValidationError{Field: "AssignedAgent", Reason: "set exactly one of AgentID and AgentPoolID"}
	}
	var body gen.NewJobAssignedAgent
	if a.AgentID != "" {
		body.AgentID = &a.AgentID
	} else {
		body.AgentPoolID = &a.AgentPoolID
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.UpdateJobAssignedAgent(cx, jobID, body)
	return decodeJob(c, cx, jobID, resp, err)
}

// RemoveJobAssignedAgent removes a job's assigned agent and agent pool.
func (c *Client) RemoveJobAssignedAgent(ctx context.Context, jobID string, opts ...CallOption) (*Job, error) {
	const op = OpRemoveJobAssignedAgent
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.RemoveJobAssignedAgent(cx, jobID)
	return decodeJob(c, cx, jobID, resp, err)
}

// ArchiveJob archives a job, with the reason in p, which may be empty.
// Archiving an archived job fails with an error that matches [ErrConflict].
func (c *Client) ArchiveJob(ctx context.Context, jobID string, p ArchiveJobParams, opts ...CallOption) (*Job, error) {
	const op = OpArchiveJob
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	var body gen.Archive
	if p.Reason != "" {
		body.Reason = &p.Reason
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.ArchiveJob(cx, jobID, body)
	return decodeJob(c, cx, jobID, resp, err)
}

// RestoreJob restores an archived job, with the reason in p, which may be
// empty. Restoring an active job fails with an error that matches
// [ErrConflict].
func (c *Client) RestoreJob(ctx context.Context, jobID string, p RestoreJobParams, opts ...CallOption) (*Job, error) {
	const op = OpRestoreJob
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	var body gen.Restore
	if p.Reason != "" {
		body.Reason = &p.Reason
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.RestoreJob(cx, jobID, body)
	return decodeJob(c, cx, jobID, resp, err)
}
