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

// RunJob adds a job ([Client.AddJob]), waits until it is Completed, Failed
// or Canceled ([Client.WaitForJob], tuned by o), and returns it:
//
//   - Completed: the job and a nil error; [Job.Products] holds its outputs.
//   - Failed or Canceled: the job and a [*JobFailedError] (which matches
//     [ErrJobFailed]) with the final status and its message.
//   - Input refused before anything was sent, p or o: a nil job and the
//     [*ValidationError], as AddJob returns it.
//   - The job could not be added: a nil job and AddJob's error.
//   - The job was added but the wait failed (ctx ended, no agent claimed
//     the job within o.PendingTimeout, or a poll failed and o.Retryable did
//     not forgive it): the job as AddJob returned it and an error that
//     names the job's id and wraps the cause, so that errors.Is(err,
//     context.DeadlineExceeded), errors.Is(err, ErrNoAgent) and the like
//     still work and the job can be found, waited for again or canceled.
//
// ctx bounds the whole run. Its requests follow one another, and the call
// options apply as [CallOption] says: [WithRequestTimeout] bounds each
// attempt of every request, [WithUploadProgress] reports the upload of the
// job's file (AddJob's; the polls upload nothing), and [WithResponseInfo]
// describes the last request made.
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
