package facade

import (
	"context"
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
