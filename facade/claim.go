package facade

import (
	"context"
	"errors"
	"time"

	"github.com/istari-go/sdk/gen"
)

// ClaimJobParams are the inputs of [Client.ClaimJob].
type ClaimJobParams struct {
	// AgentID is the agent that claims the job (required).
	AgentID string
	// Message is recorded with the Claimed status.
	Message string
}

// ClaimJob moves a job to Claimed for p.AgentID. The platform referees
// claims: only a Created or Pending job can be claimed, and of several
// agents claiming one job at once exactly one succeeds. A job that cannot
// be claimed (it is not Pending, or another agent claimed it first) gives an
// [*APIError] that matches [ErrConflict] and whose Detail names the
// claimant.
//
// A claim is never sent twice: it is retried only when it cannot have
// reached the platform. A claim whose answer is lost after it was sent (a
// timeout or a reset) is settled by reading the job back, on a context that
// outlives ctx: if the job's last status is Claimed by p.AgentID, the claim
// succeeded and ClaimJob returns the job; otherwise the original error
// stands. The read-back takes the call's options, so [WithResponseInfo]
// describes the last request made, the read-back when there is one.
func (c *Client) ClaimJob(ctx context.Context, jobID string, p ClaimJobParams, opts ...CallOption) (*Job, error) {
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	if err := checkID("ClaimJobParams.AgentID", p.AgentID); err != nil {
		return nil, err
	}
	cc, err := opOptions(OpClaimJob, opts)
	if err != nil {
		return nil, err
	}
	job, err := c.setStatus(ctx, OpClaimJob, jobID, JobStatusClaimed, p.AgentID, p.Message, cc)
	if err != nil {
		return c.settle(ctx, jobID, JobStatusClaimed, p.AgentID, err, cc)
	}
	return job, nil
}

// setStatus appends a status to a job's history: the request of
// UpdateJobStatus, ClaimJob and the agent's reports.
func (c *Client) setStatus(ctx context.Context, op Operation, jobID string, status JobStatusName, agentID, message string, cc callConfig) (*Job, error) {
	params := &gen.UpdateJobStatusParams{StatusName: gen.JobStatusName(status)}
	if agentID != "" {
		params.AgentID = &agentID
	}
	var body gen.JobStatusMessage
	if message != "" {
		body.Message = &message
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := c.api.UpdateJobStatus(cx, jobID, params, body)
	return decodeJob(c, cx, jobID, resp, err)
}

// settleTimeout bounds the read-back that settles a status change whose
// answer was lost.
const settleTimeout = 30 * time.Second

// settle decides a status change that failed with err. An answer from the
// platform (an *APIError) or a refusal before sending (a *ValidationError)
// is final. Otherwise the change may have been applied: the job is read
// back, on a context that outlives ctx, and if its last status is status
// from agentID, the change took effect and the job is returned. The
// read-back takes the call's options: a ResponseInfo then describes it, the
// last request made.
func (c *Client) settle(ctx context.Context, jobID string, status JobStatusName, agentID string, err error, cc callConfig) (*Job, error) {
	var (
		ae *APIError
		ve *ValidationError
	)
	if errors.As(err, &ae) || errors.As(err, &ve) {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	job, gerr := c.GetJob(rctx, jobID, cc.with(cc.info))
	if gerr != nil {
		return nil, err
	}
	if st, ok := job.LastStatus(); ok && st.Name == status && st.AgentID == agentID {
		c.tr.logger.DebugContext(ctx, "istari status settled by reading the job back",
			"job", jobID, "status", string(status), "agent", agentID)
		return job, nil
	}
	return nil, err
}
