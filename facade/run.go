package facade

import (
	"context"
	"errors"
	"fmt"
)

// ErrJobFailed matches every [*JobFailedError]: a job that ended Failed or
// Canceled.
var ErrJobFailed = errors.New("job failed")

// JobFailedError reports a job that ended Failed or Canceled. It matches
// [ErrJobFailed]. [Client.RunJob] and [Job.Err] return it.
type JobFailedError struct {
	// Job is the job as it ended.
	Job *Job
	// Status is the job's final status: Failed or Canceled.
	Status JobStatusName
	// Message is the message of the job's last status entry, often the
	// agent's reason; empty when it has none.
	Message string
}

// Error implements error. It names the job, its status and the message.
func (e *JobFailedError) Error() string {
	id := ""
	if e.Job != nil {
		id = e.Job.ID
	}
	msg := fmt.Sprintf("facade: job %s ended %s", id, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is reports whether target is [ErrJobFailed].
func (e *JobFailedError) Is(target error) bool { return target == ErrJobFailed }

// Err returns nil when the job is Completed or not finished yet, and a
// [*JobFailedError] when it ended Failed or Canceled, with the message of
// its last status entry. After [Client.WaitForJob] or [Client.WaitForJobs],
// it is the one-line check that the job succeeded:
//
//	if err := job.Err(); err != nil { ... }
//
// Err of a nil job is nil.
func (j *Job) Err() error {
	if j == nil {
		return nil
	}
	st, ok := j.LastStatus()
	if !ok || (st.Name != JobStatusFailed && st.Name != JobStatusCanceled) {
		return nil
	}
	return &JobFailedError{Job: j, Status: st.Name, Message: st.Message}
}

// RunJob adds a job ([Client.AddJob]), waits until it ends
// ([Client.WaitForJob], tuned by o), and returns it. A job that ends
// Completed returns a nil error; one that ends Failed or Canceled returns
// the job and a [*JobFailedError] (which matches [ErrJobFailed]). Input
// refused before sending returns the [*ValidationError] and no job. When
// the job was added but the wait failed (ctx ended, o.PendingTimeout
// passed, a poll failed), RunJob returns the job as added and an error that
// names its id and wraps the cause, so that the job can be found again.
//
// ctx bounds the whole run; the call options apply as [CallOption] says.
func (c *Client) RunJob(ctx context.Context, p AddJobParams, o WaitOptions, opts ...CallOption) (*Job, error) {
	cc := callOptions(opts)
	if err := cc.checkTimeout(); err != nil {
		return nil, err
	}
	if _, err := waitDefaults(o); err != nil {
		return nil, err
	}
	added, err := c.AddJob(ctx, p, cc.with(cc.info))
	if err != nil {
		return nil, err
	}
	polls := cc
	polls.progress = nil
	job, err := c.WaitForJob(ctx, added.ID, o, polls.with(polls.info))
	if err != nil {
		return added, fmt.Errorf("facade: RunJob: job %s was added, but waiting for it failed: %w", added.ID, err)
	}
	return job, job.Err()
}
