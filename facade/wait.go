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
	// OnStatus, if set, is called with the job after the first poll and
	// after every poll that finds its status changed.
	OnStatus func(*Job)
	// Retryable, if set, decides whether a failed poll is waited out and
	// tried again instead of ending the wait. Transient failures are
	// already retried by the client's RetryPolicy within each poll.
	Retryable func(error) bool
}

// WaitForJob polls a job until its status is terminal (Completed, Failed or
// Canceled) and returns it. Reaching Failed or Canceled is not an error:
// check the returned job's Status. The wait is bounded only by ctx; when ctx
// ends, the error wraps ctx.Err() and names the last status seen.
func (c *Client) WaitForJob(ctx context.Context, jobID string, o WaitOptions, opts ...CallOption) (*Job, error) {
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	if o.MinInterval < 0 || o.MaxInterval < 0 {
		return nil, &ValidationError{Field: "WaitOptions", Reason: "intervals must not be negative"}
	}
	if o.MinInterval == 0 {
		o.MinInterval = time.Second
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = 30 * time.Second
	}
	o.MaxInterval = max(o.MaxInterval, o.MinInterval)

	var (
		last  JobStatusName
		seen  bool
		delay = o.MinInterval
	)
	for {
		job, err := c.GetJob(ctx, jobID, opts...)
		switch {
		case err == nil:
			if st := job.Status(); !seen || st != last {
				seen, last = true, st
				if o.OnStatus != nil {
					o.OnStatus(job)
				}
			}
			if last.IsTerminal() {
				return job, nil
			}
		case ctx.Err() != nil:
			return nil, waitErr(jobID, last, ctx.Err())
		case o.Retryable == nil || !o.Retryable(err):
			return nil, err
		}
		wait := delay/2 + rand.N(delay/2+1)
		if err := c.tr.sleep(ctx, wait); err != nil {
			return nil, waitErr(jobID, last, err)
		}
		delay = min(delay*2, o.MaxInterval)
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
