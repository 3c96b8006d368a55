package facade

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// WaitOptions tune [Client.WaitForJob] and [Client.WaitForJobs].
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

// waitPageSize is the page size of the lists WaitForJobs walks: the most
// the platform gives.
const waitPageSize = 100

// WaitForJobs waits until every job of ids is Completed, Failed or
// Canceled, and returns the final jobs in the order of ids. Reaching Failed
// or Canceled is not an error: [Job.Err] says so.
//
// It polls in bulk, so that its cost grows with the number of models and
// pages rather than of jobs: each round walks each model's jobs newest first
// and stops once it has seen every job still waited on (docs/lists-and-waiting.md).
// Rounds back off as [Client.WaitForJob]'s polls do, and o.OnStatus sees
// every status entry of every job once, in order, on the waiting goroutine.
// A failed request ends the wait unless o.Retryable forgives it.
//
// When ctx ends or a request fails, WaitForJobs returns the jobs finished so
// far (nil for the others) with an error that wraps the cause. The call
// options apply as [CallOption] says.
func (c *Client) WaitForJobs(ctx context.Context, ids []string, o WaitOptions, opts ...CallOption) (_ []*Job, err error) {
	for i, id := range ids {
		if err := checkID("ids["+strconv.Itoa(i)+"]", id); err != nil {
			return nil, err
		}
	}
	cc, err := manyOptions("WaitForJobs", opts)
	if err != nil {
		return nil, err
	}
	o, err = waitDefaults(o)
	if err != nil {
		return nil, err
	}
	ctx, end := c.tr.obs.group(ctx, "WaitForJobs")
	defer func() { end(err) }()
	// Its requests follow one another on this goroutine, so the caller's
	// ResponseInfo, if any, describes the last.
	w := c.newMultiWait(o, []CallOption{cc.with(cc.info)}, len(ids))
	for _, id := range ids {
		w.add(id, nil)
	}
	result := func() []*Job {
		jobs := make([]*Job, len(ids))
		for i, id := range ids {
			if t := w.byID[id]; t.done {
				jobs[i] = t.job
			}
		}
		return jobs
	}
	delay, start := o.MinInterval, time.Now()
	for w.pending > 0 {
		if err := w.round(ctx); err != nil {
			return result(), w.fail(ctx, err)
		}
		if w.pending == 0 {
			break
		}
		if err := w.pendingTooLong(start); err != nil {
			return result(), w.fail(ctx, err)
		}
		var wait time.Duration
		wait, delay = o.pollWait(delay)
		if w.anyPending() {
			wait = o.untilPendingTimeout(wait, start)
		}
		if err := c.tr.sleep(ctx, wait); err != nil {
			return result(), w.fail(ctx, err)
		}
	}
	return result(), nil
}

// waited is one job WaitForJobs waits for.
type waited struct {
	id      string
	job     *Job // the latest seen
	cursor  statusCursor
	model   string    // "" until the job has been seen
	created time.Time // zero until the job has been seen
	// misses counts the rounds in a row whose walk of the job's model
	// should have found it and did not; after two, the job is polled with
	// GetJob only.
	misses  int
	updated int // the round that last saw the job
	tried   int // the round that last tried to see the job
	done    bool
}

// direct reports whether the job is polled with GetJob only.
func (t *waited) direct() bool { return t.misses >= 2 }

// multiWait is the state of one WaitForJobs.
type multiWait struct {
	c       *Client
	o       WaitOptions
	opts    []CallOption
	byID    map[string]*waited
	order   []*waited // each id once, in the order given
	pending int
	n       int // the current round
	// unlisted holds the models whose list answered 403 or 404.
	unlisted map[string]bool
}

func (c *Client) newMultiWait(o WaitOptions, opts []CallOption, n int) *multiWait {
	return &multiWait{c: c, o: o, opts: opts, byID: make(map[string]*waited, n)}
}

// add waits for the job id too, unless it is waited for already. known, if
// set, is a copy of the job the caller has: its model and creation time
// let the first round walk the model's list at once.
func (w *multiWait) add(id string, known *Job) {
	if w.byID[id] != nil {
		return
	}
	t := &waited{id: id}
	if known != nil {
		t.model, t.created = known.ModelID, known.Created
		if t.model == "" {
			t.misses = 2 // no model to list: GetJob only
		}
	}
	w.byID[id] = t
	w.order = append(w.order, t)
	w.pending++
}

// round polls every job still waited on once.
func (w *multiWait) round(ctx context.Context) error {
	w.n++
	walked := map[string]bool{}
	// Jobs whose model is not known yet: one GetJob tells the model, and
	// the walk of that model may find the others.
	for _, t := range w.order {
		if t.done || t.model != "" || t.tried == w.n {
			continue
		}
		if err := w.get(ctx, t); err != nil {
			return err
		}
		if m := t.model; m != "" && !walked[m] && !w.unlisted[m] {
			walked[m] = true
			if err := w.walk(ctx, m); err != nil {
				return err
			}
		}
	}
	// Jobs of known models.
	for _, t := range w.order {
		if !t.done && t.model != "" && !t.direct() && t.tried != w.n && !walked[t.model] {
			walked[t.model] = true
			if err := w.walk(ctx, t.model); err != nil {
				return err
			}
		}
	}
	// Jobs no walk found.
	for _, t := range w.order {
		if !t.done && t.tried != w.n {
			if err := w.get(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// get polls one job with GetJob.
func (w *multiWait) get(ctx context.Context, t *waited) error {
	t.tried = w.n
	job, err := w.c.GetJob(ctx, t.id, w.opts...)
	if err != nil {
		return w.skippable(ctx, fmt.Errorf("job %s: %w", t.id, err))
	}
	w.update(t, job, false)
	return nil
}

// walk lists the jobs of model newest first until it has seen every job
// of that model still waited on, or reaches jobs older than the oldest of
// them. That bound comes from the jobs of the model known to be waited on,
// the one GetJob has just found included; jobs whose model is not known
// yet are taken as the pages show them, but never move it. A walk without
// a bound (every job it looks for is of unknown model) stops once its
// pages could have held them all, and two pages more; one with a bound
// makes at most ten requests more than polling its jobs one by one would,
// whatever the server claims of its pages. A model whose list answers 403
// or 404 is not walked again: its jobs are polled with GetJob, which may
// still read them.
func (w *multiWait) walk(ctx context.Context, model string) error {
	var (
		targets []*waited
		oldest  time.Time
	)
	for _, t := range w.order {
		if t.done || t.direct() || (t.model != model && t.model != "") {
			continue
		}
		if t.model == model && !t.created.IsZero() && (oldest.IsZero() || t.created.Before(oldest)) {
			oldest = t.created
		}
		if t.updated != w.n {
			targets = append(targets, t)
		}
	}
	maxPages := len(targets) + 10
	if oldest.IsZero() {
		maxPages = (len(targets)+waitPageSize-1)/waitPageSize + 2
	}
	for page, seen := 1, 0; seen < len(targets) && page <= maxPages; page++ {
		p, err := w.c.ListModelJobs(ctx, model, ListModelJobsParams{
			Sort: "-created", Size: waitPageSize, Page: page, ArchiveStatus: ArchiveStatusAll,
		}, w.opts...)
		if err != nil {
			if unlistable(err) {
				// Reading each job may still be allowed: GetJob polls them,
				// this round and from now on.
				if w.unlisted == nil {
					w.unlisted = map[string]bool{}
				}
				w.unlisted[model] = true
				for _, t := range w.order {
					if t.model == model {
						t.misses = 2
					}
				}
				return nil
			}
			err = w.skippable(ctx, fmt.Errorf("jobs of model %s: %w", model, err))
			if err == nil {
				// Leave the model's jobs to the next round rather than
				// polling each of them.
				for _, t := range targets {
					if t.model == model {
						t.tried = w.n
					}
				}
			}
			return err
		}
		for _, j := range p.Items {
			if t := w.byID[j.ID]; t != nil && !t.done && t.updated != w.n {
				w.update(t, j, true)
				seen++
			}
		}
		if len(p.Items) == 0 || !p.HasNextPage() || (!oldest.IsZero() && p.Items[len(p.Items)-1].Created.Before(oldest)) {
			break
		}
	}
	// A job of this model the walk should have found and did not is left
	// to GetJob this round; after two such rounds in a row, for good.
	for _, t := range targets {
		if t.model == model && t.updated != w.n {
			t.misses++
		}
	}
	return nil
}

// unlistable reports whether a list's error says the caller may not list
// the model (403) or cannot see it (404).
func unlistable(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusNotFound)
}

// update records a fresh copy of a job, reports its new status entries,
// and drops it from later rounds once it is done. listed tells whether a
// walk found it.
func (w *multiWait) update(t *waited, job *Job, listed bool) {
	t.job, t.updated, t.tried = job, w.n, w.n
	t.created = job.Created
	switch {
	case listed:
		t.misses = 0
	case job.ModelID == "" || w.unlisted[job.ModelID]:
		t.misses = 2 // no model to list: GetJob only
	}
	t.model = job.ModelID
	if w.o.OnStatus != nil {
		t.cursor.report(job.StatusHistory, t.id, w.o.OnStatus)
	}
	if job.Status().IsTerminal() {
		t.done = true
		w.pending--
	}
}

// anyPending reports whether a job waited on was Pending when last seen.
func (w *multiWait) anyPending() bool {
	for _, t := range w.order {
		if !t.done && t.job != nil && t.job.Status() == JobStatusPending {
			return true
		}
	}
	return false
}

// pendingTooLong returns the error of the first job still Pending past
// o.PendingTimeout, naming how many are, or nil.
func (w *multiWait) pendingTooLong(start time.Time) error {
	var first error
	n := 0
	for _, t := range w.order {
		if t.done || t.job == nil {
			continue
		}
		if err := w.o.pendingTooLong(t.job, start); err != nil {
			if first == nil {
				first = err
			}
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%d jobs still Pending, the first: %w", n, first)
	}
	return first
}

// skippable returns nil when a failed request may be waited out: ctx is
// still alive and o.Retryable accepts err.
func (w *multiWait) skippable(ctx context.Context, err error) error {
	if ctx.Err() == nil && w.o.Retryable != nil && w.o.Retryable(err) {
		return nil
	}
	return err
}

// fail words the error WaitForJobs returns.
func (w *multiWait) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("facade: WaitForJobs: %d of %d jobs not finished: %w", w.pending, len(w.order), err)
}
