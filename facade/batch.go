package facade

import (
	"context"
	"sync"
	"time"
)

// DefaultBatchConcurrency is the number of requests [Client.AddJobs] keeps
// in flight when [BatchOptions.Concurrency] is not set.
const DefaultBatchConcurrency = 8

// BatchOptions tune [Client.AddJobs].
type BatchOptions struct {
	// Concurrency is the most requests in flight at once (default
	// DefaultBatchConcurrency; values below 1 mean the default). The batch
	// starts there, halves it when the platform answers 429, and grows it
	// back by one per run of successes, never above this value.
	Concurrency int
	// OnResult, if set, is called once for every input as its result
	// arrives, with the input's index. Calls never overlap, so OnResult
	// needs no locking of its own, but it should return quickly: the
	// batch's workers wait for it.
	OnResult func(i int, r JobResult)
}

// JobResult is the outcome of one job of a batch: the job the platform
// created, or the error that prevented it.
type JobResult struct {
	// Job is the created job; nil when Err is set.
	Job *Job
	// Err says why the job was not created; nil on success.
	Err error
}

// AddJobs adds many jobs, as [Client.AddJob] does each, with up to
// o.Concurrency requests in flight. It returns one result per input, in
// input order; no input is dropped, and nothing is retried beyond what
// AddJob itself retries.
//
// The batch adapts to the platform's limits. Every request of the client
// waits while a 429 or 503 answer's Retry-After is in force (for any of its
// requests, including those of other calls running at the same time, such
// as [Client.WaitForJobs]). Concurrency halves when the client receives a
// 429 and grows back by one for each run of successes as long as the
// current concurrency, and, after a Retry-After, lasting at least that long.
//
// When ctx ends, no further job is submitted: the results of inputs not yet
// started hold ctx.Err(). A request already in flight ends as AddJob does
// when its context ends: with its job if the answer had arrived, or with an
// error wrapping ctx.Err(), in which case the job may or may not have been
// created.
func (c *Client) AddJobs(ctx context.Context, params []AddJobParams, o BatchOptions, opts ...CallOption) []JobResult {
	res := make([]JobResult, len(params))
	if len(params) == 0 {
		return res
	}
	limit := o.Concurrency
	if limit < 1 {
		limit = DefaultBatchConcurrency
	}
	workers := min(limit, len(params))
	ctl := newConcurrency(c.tr.gate, workers)

	var (
		mu   sync.Mutex // guards next and the calls of OnResult
		next int
		wg   sync.WaitGroup
	)
	report := func(i int, r JobResult) {
		// Called with mu held.
		res[i] = r
		if o.OnResult != nil {
			o.OnResult(i, r)
		}
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

				job, err := c.AddJob(ctx, params[i], opts...)
				ctl.release(err == nil)
				mu.Lock()
				report(i, JobResult{Job: job, Err: err})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return res
}

// concurrency is the adaptive limit on the requests a batch keeps in
// flight: it halves when the client is throttled (a 429, counted by the
// gate) and grows back by one per run of
// successes, within [1, max]. A run is as many successes as the current
// limit and, after a Retry-After, lasts at least as long as that hold, so
// that the batch probes for more only once per period the platform named.
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

// decrease halves the limit. Called with mu held.
func (c *concurrency) decrease() {
	c.limit = max(c.limit/2, 1)
	c.run = 0
	c.changed = time.Now()
}
