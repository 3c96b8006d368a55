package facade

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// WaitOptions tune [Client.WaitForJob].
type WaitOptions struct {
	// MinInterval is the first wait between two polls (default 1 s). Each
	// later wait doubles, up to MaxInterval, and is drawn with jitter
	// between half and all of its value.
	MinInterval time.Duration
	// MaxInterval caps the wait between two polls (default 30 s).
	MaxInterval time.Duration
	// OnStatus, if set, is called once for every entry of the job's status
	// history, in order, as the polls find them: entries recorded before
	// the wait began come first, and entries that came and went between
	// two polls (Claimed, then Running, then Completed within one
	// interval) each get their own call. An entry is reported once however
	// often the polls show it, also when a lagging replica answers an
	// older history, and its JobID is the job being waited on. It runs on
	// the waiting goroutine.
	OnStatus func(JobStatus)
	// Retryable, if set, decides whether a failed poll is waited out and
	// tried again instead of ending the wait. Transient failures are
	// already retried by the client's RetryPolicy within each poll.
	Retryable func(error) bool
	// PendingTimeout, if set, ends the wait with an error matching
	// [ErrNoAgent] when a job is still Pending (no agent has claimed it)
	// this long after the wait began. The error quotes the job's last
	// status message, where the platform says why, such as "None agent
	// available". Zero waits for an agent as long as ctx allows.
	PendingTimeout time.Duration
}

// pendingTooLong returns the error of a job still Pending past
// o.PendingTimeout, counted from start, or nil.
func (o WaitOptions) pendingTooLong(job *Job, start time.Time) error {
	if o.PendingTimeout <= 0 || job.Status() != JobStatusPending || time.Since(start) < o.PendingTimeout {
		return nil
	}
	st, _ := job.LastStatus()
	msg := ""
	if st.Message != "" {
		msg = fmt.Sprintf(" (last message %q)", st.Message)
	}
	return fmt.Errorf("job %s still Pending after %s%s: %w", job.ID, o.PendingTimeout, msg, ErrNoAgent)
}

// untilPendingTimeout shortens a wait so that it ends when the
// PendingTimeout counted from start does.
func (o WaitOptions) untilPendingTimeout(wait time.Duration, start time.Time) time.Duration {
	if o.PendingTimeout <= 0 {
		return wait
	}
	return max(min(wait, o.PendingTimeout-time.Since(start)), 0)
}

// WaitForJob polls a job until its status is terminal (Completed, Failed or
// Canceled) and returns it. Reaching Failed or Canceled is not an error:
// check the returned job's Status. The wait is bounded only by ctx; when ctx
// ends, the error wraps ctx.Err() and names the last status seen.
//
// [WithRequestTimeout] bounds each attempt of each poll, and
// [WithResponseInfo] describes the last poll; [WithUploadProgress] is
// refused (see [CallOption]).
func (c *Client) WaitForJob(ctx context.Context, jobID string, o WaitOptions, opts ...CallOption) (_ *Job, err error) {
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	cc, err := manyOptions("WaitForJob", opts)
	if err != nil {
		return nil, err
	}
	o, err = waitDefaults(o)
	if err != nil {
		return nil, err
	}
	ctx, end := c.tr.obs.group(ctx, "WaitForJob")
	defer func() { end(err) }()
	// The polls follow one another on this goroutine, so the caller's
	// ResponseInfo, if any, describes the last.
	poll := cc.with(cc.info)

	var (
		last   JobStatusName
		cursor statusCursor
		delay  = o.MinInterval
		start  = time.Now()
	)
	for {
		job, err := c.GetJob(ctx, jobID, poll)
		switch {
		case err == nil:
			if o.OnStatus != nil {
				cursor.report(job.StatusHistory, jobID, o.OnStatus)
			}
			if last = job.Status(); last.IsTerminal() {
				return job, nil
			}
			if err := o.pendingTooLong(job, start); err != nil {
				return nil, fmt.Errorf("facade: WaitForJob: %w", err)
			}
		case ctx.Err() != nil:
			return nil, waitErr(jobID, last, ctx.Err())
		case o.Retryable == nil || !o.Retryable(err):
			return nil, err
		}
		var wait time.Duration
		wait, delay = o.pollWait(delay)
		if last == JobStatusPending {
			wait = o.untilPendingTimeout(wait, start)
		}
		if err := c.tr.sleep(ctx, wait); err != nil {
			return nil, waitErr(jobID, last, err)
		}
	}
}

func waitErr(jobID string, last JobStatusName, err error) error {
	status := string(last)
	if status == "" {
		status = "none seen"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("facade: WaitForJob %s: last status %s: %w", jobID, status, err)
	}
	return fmt.Errorf("facade: WaitForJob %s: %w", jobID, err)
}

// waitDefaults checks a WaitOptions and fills in its defaults.
func waitDefaults(o WaitOptions) (WaitOptions, error) {
	if o.MinInterval < 0 || o.MaxInterval < 0 {
		return o, &ValidationError{Field: "WaitOptions", Reason: "intervals must not be negative"}
	}
	if o.PendingTimeout < 0 {
		return o, &ValidationError{Field: "WaitOptions.PendingTimeout", Value: o.PendingTimeout.String(), Reason: "must not be negative"}
	}
	if o.MinInterval == 0 {
		o.MinInterval = time.Second
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = 30 * time.Second
	}
	o.MaxInterval = max(o.MaxInterval, o.MinInterval)
	return o, nil
}

// pollWait returns the wait before the next poll, drawn with jitter between
// half and all of delay, and the delay after that: double, up to
// MaxInterval.
func (o WaitOptions) pollWait(delay time.Duration) (wait, next time.Duration) {
	return delay/2 + rand.N(delay/2+1), min(delay*2, o.MaxInterval)
}

// statusCursor remembers which entries of a job's status history have been
// reported, so that each entry is reported once, in order, however many
// entries each poll adds, and whatever a lagging replica answers.
type statusCursor struct {
	// seen holds the id of every entry reported (see forget).
	seen map[string]struct{}
}

// report calls fn with the entries of h to report now, in order, and marks
// them reported: those after the last entry of h already reported (all of
// h when it holds none), less any reported before. So the cursor never
// moves back: a shorter history (a replica that lags) reports nothing, and
// when it grows again only the entries not yet seen are new; a history
// whose reported entries all dropped out reports the entries it holds now.
// An entry that shows up before one already reported is not reported,
// since it would come out of order. jobID is the job being waited on: each
// entry reported names it, whatever the server wrote in its job_id.
func (c *statusCursor) report(h []JobStatus, jobID string, fn func(JobStatus)) {
	start := 0
	for i := len(h) - 1; i >= 0 && len(c.seen) > 0; i-- {
		if _, ok := c.seen[h[i].ID]; ok {
			start = i + 1
			break
		}
	}
	for _, st := range h[start:] {
		if _, ok := c.seen[st.ID]; ok {
			continue // the same id twice in one history
		}
		if c.seen == nil {
			c.seen = make(map[string]struct{}, len(h))
		}
		c.seen[st.ID] = struct{}{}
		st.JobID = jobID
		fn(st)
	}
	c.forget(h)
}

// forget keeps the memory of a cursor in proportion to the histories it
// is shown: a server that answers new ids at every poll would otherwise
// grow it without end. Past 1024 ids, and twice the ids of h, only those
// of h are kept, which no real history reaches.
func (c *statusCursor) forget(h []JobStatus) {
	if len(c.seen) <= 1024 || len(c.seen) <= 2*len(h) {
		return
	}
	c.seen = make(map[string]struct{}, len(h))
	for _, st := range h {
		c.seen[st.ID] = struct{}{}
	}
}
