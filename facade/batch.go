package facade

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultBatchConcurrency is the number of requests [Client.AddJobs] keeps
// in flight when [BatchOptions.Concurrency] is not set.
const DefaultBatchConcurrency = 8

// BatchOptions tune [Client.AddJobs].
type BatchOptions struct {
	// Concurrency is the most requests in flight at once (default
	// DefaultBatchConcurrency, also for 0; a negative value is refused).
	// The batch starts there, halves it when the platform answers 429, and
	// grows it back by one per run of successes, never above this value.
	Concurrency int
	// OnResult, if set, is called once for every input as its result
	// arrives, with the input's index. Calls never overlap, neither one
	// another nor those of OnUploadProgress, so OnResult needs no locking
	// of its own, but it should return quickly: the batch's workers wait
	// for it.
	OnResult func(i int, r JobResult)
	// OnUploadProgress, if set, reports the progress of each job's upload,
	// with the input's index, as [WithUploadProgress] does for one AddJob:
	// sent starts again from 0 on a retry, and no call comes after
	// AddJobs has returned. Calls never overlap, for the whole batch,
	// neither one another nor those of OnResult; they should return
	// quickly, since the uploads wait for them.
	OnUploadProgress func(i int, sent, total int64)
}

// JobResult is the outcome of one job of a batch: the job the platform
// created, or the error that prevented it.
type JobResult struct {
	// Job is the created job; nil when Err is set.
	Job *Job
	// Err says why the job was not created; nil on success.
	Err error
	// Info describes the last answer to the job's AddJob, as
	// [WithResponseInfo] does for one call; it is zero when no request was
	// sent.
	Info ResponseInfo
}

// AddJobs adds many jobs, as [Client.AddJob] does each, with up to
// o.Concurrency requests in flight, and returns one result per input, in
// input order. No input is dropped, and nothing is retried beyond what AddJob
// retries, so no job is created twice.
//
// The batch adapts to the platform's limits: every request of the client
// waits out a 429 or 503 answer's Retry-After, and the concurrency halves on
// a 429 and grows back with successes. The call options apply to each AddJob
// as [CallOption] says. A refused option, or a negative o.Concurrency, is a
// [*ValidationError] in every result, and nothing is sent.
//
// When ctx ends, no further job is submitted: the results of inputs not yet
// started hold ctx.Err(), and a request in flight ends as AddJob does (its
// job may or may not have been created).
func (c *Client) AddJobs(ctx context.Context, params []AddJobParams, o BatchOptions, opts ...CallOption) []JobResult {
	res := make([]JobResult, len(params))
	if len(params) == 0 {
		return res
	}
	cc, err := batchOptions(o, opts)
	if err != nil {
		for i := range res {
			res[i].Err = err
			if o.OnResult != nil {
				o.OnResult(i, res[i])
			}
		}
		return res
	}
	ctx, end := c.tr.obs.group(ctx, "AddJobs")
	defer func() {
		for _, r := range res {
			if r.Err != nil {
				end(r.Err)
				return
			}
		}
		end(nil)
	}()
	limit := o.Concurrency
	if limit == 0 {
		limit = DefaultBatchConcurrency
	}
	workers := min(limit, len(params))
	ctl := newConcurrency(c.tr.gate, workers)

	var (
		mu   sync.Mutex // guards next
		cbMu sync.Mutex // serializes the callbacks, OnResult and OnUploadProgress
		next int
		wg   sync.WaitGroup
	)
	report := func(i int, r JobResult) {
		cbMu.Lock()
		defer cbMu.Unlock()
		res[i] = r
		if o.OnResult != nil {
			o.OnResult(i, r)
		}
	}
	// add adds input i, as AddJob with the batch's options, its own
	// ResponseInfo and its progress reported with its index.
	add := func(i int) JobResult {
		jc := cc
		if o.OnUploadProgress != nil {
			jc.progress = func(sent, total int64) {
				cbMu.Lock()
				defer cbMu.Unlock()
				o.OnUploadProgress(i, sent, total)
			}
		}
		var r JobResult
		r.Job, r.Err = c.AddJob(ctx, params[i], jc.with(&r.Info))
		return r
	}
	for range workers {
		wg.Go(func() {
			for {
				err := ctl.acquire(ctx)
				mu.Lock()
				if next == len(params) {
					mu.Unlock()
					if err == nil {
						ctl.release(false)
					}
					return
				}
				i := next
				next++
				if err != nil {
					// ctx ended: this input and every one after it
					// are not started.
					for ; i < len(params); i++ {
						report(i, JobResult{Err: err})
					}
					next = len(params)
					mu.Unlock()
					return
				}
				mu.Unlock()

				c.tr.obs.inFlight(ctx, "AddJobs", 1)
				r := add(i)
				c.tr.obs.inFlight(ctx, "AddJobs", -1)
				ctl.release(r.Err == nil)
				report(i, r)
			}
		})
	}
	wg.Wait()
	return res
}

// batchOptions applies the call options of AddJobs, and refuses those that
// have no meaning for a batch, and a negative concurrency.
func batchOptions(o BatchOptions, opts []CallOption) (callConfig, error) {
	cc := callOptions(opts)
	if err := cc.checkTimeout(); err != nil {
		return cc, err
	}
	switch {
	case cc.info != nil:
		return cc, &ValidationError{Field: "WithResponseInfo", Reason: "AddJobs makes its requests concurrently, with no last answer to describe; each JobResult carries its own Info"}
	case cc.progress != nil:
		return cc, &ValidationError{Field: "WithUploadProgress", Reason: "AddJobs reports each upload's progress, with the input's index, to BatchOptions.OnUploadProgress"}
	case o.Concurrency < 0:
		return cc, &ValidationError{Field: "BatchOptions.Concurrency", Value: strconv.Itoa(o.Concurrency), Reason: "must not be negative (0 means DefaultBatchConcurrency)"}
	}
	return cc, nil
}

// concurrency is the adaptive limit on the requests a batch keeps in
// flight: it halves when the client is throttled (a 429, counted by the
// gate) and grows back by one per run of
// successes, within [1, max]. A run is as many successes as the current
// limit and, after a Retry-After, lasts at least as long as that hold,
// counted from when the gate opens again, so that the batch probes for
// more at most once per period the platform named.
type concurrency struct {
	g *gate

	mu       sync.Mutex
	limit    int
	max      int
	inflight int
	run      int           // successes since the limit last changed
	changed  time.Time     // when the limit last changed
	window   time.Duration // the least time between two increases
	seen     uint64        // the gate's throttle count already acted on
	wake     chan struct{} // closed and replaced whenever a slot may be free
}

func newConcurrency(g *gate, maxInFlight int) *concurrency {
	seen, _ := g.state()
	return &concurrency{g: g, limit: maxInFlight, max: maxInFlight, seen: seen, changed: time.Now(), wake: make(chan struct{})}
}

// acquire waits for a slot, or returns ctx's error when ctx ends first.
func (c *concurrency) acquire(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		c.checkGate()
		if c.inflight < c.limit {
			c.inflight++
			c.mu.Unlock()
			return nil
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees a slot and learns from the request's outcome: a success
// counts toward the run that grows the limit; a 429 was already counted by
// the gate.
func (c *concurrency) release(success bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	c.checkGate()
	if success {
		c.run++
		if c.run >= c.limit && c.limit < c.max && time.Since(c.changed) >= c.window {
			c.limit++
			c.run = 0
			c.changed = time.Now()
		}
	}
	close(c.wake)
	c.wake = make(chan struct{})
}

// checkGate halves the limit once for the 429s the client received since
// the last check. Called with mu held.
func (c *concurrency) checkGate() {
	n, hold := c.g.state()
	if n == c.seen {
		return
	}
	c.seen = n
	c.window = hold
	c.decrease()
}

// decrease halves the limit. The window for the next increase starts when
// the gate opens again, so that it is a window of requests, not of waiting.
// Called with mu held.
func (c *concurrency) decrease() {
	c.limit = max(c.limit/2, 1)
	c.run = 0
	c.changed = time.Now().Add(c.window)
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
