package facade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// AgentOptions tune [Client.RunAgent]. Only AgentID is required; a zero
// field takes its default.
type AgentOptions struct {
	// AgentID is the agent's id (required). Claims and reports carry it.
	AgentID string
	// PoolID, if set, makes the agent also claim the jobs assigned to this
	// agent pool. Jobs assigned to AgentID, and jobs assigned to nobody, are
	// claimed in any case.
	PoolID string
	// Functions, if set, limits the agent to jobs that run one of these
	// functions, such as "@istari:extract".
	Functions []string
	// Concurrency is how many handlers run at once (default 1).
	Concurrency int
	// MinInterval and MaxInterval bound the polls for work while the agent
	// is idle, as in [WaitOptions]: the wait starts at MinInterval (default
	// 1 s) and doubles up to MaxInterval (default 30 s). While handlers
	// run, their jobs are checked for cancellation every MinInterval.
	MinInterval time.Duration
	MaxInterval time.Duration
	// Grace is how long the handlers in flight may go on once RunAgent's
	// ctx ends (default 30 s).
	Grace time.Duration
}

// JobHandler runs one claimed job. Returning nil completes the job; an
// error fails it, with the error's text as the status message. ctx is
// canceled when the job is canceled on the platform, or when the agent's
// grace period after shutdown ends; the handler must then return soon.
type JobHandler func(ctx context.Context, run *JobRun) error

// JobRun is a claimed job, as its handler sees it.
type JobRun struct {
	// Job is the job as it was claimed.
	Job *Job

	c       *Client
	agentID string
	message string
}

// SetMessage sets the message recorded with the job's Completed status when
// the handler returns nil. A handler's error is the message of Failed.
func (r *JobRun) SetMessage(message string) { r.message = message }

// Report records a progress status of the job: Validating, Running or
// Uploading, with a message. The job's end is reported by RunAgent from the
// handler's return, never by Report. An answer lost after the report was
// sent is settled by reading the job back, as [Client.ClaimJob] does.
func (r *JobRun) Report(ctx context.Context, status JobStatusName, message string) error {
	switch status {
	case JobStatusValidating, JobStatusRunning, JobStatusUploading:
	default:
		return &ValidationError{Field: "status", Value: string(status),
			Reason: `must be one of "Validating", "Running", "Uploading": the job's end is reported from the handler's return`}
	}
	_, err := r.c.report(ctx, r.Job.ID, status, r.agentID, message)
	if err == nil {
		r.c.tr.logger.DebugContext(ctx, "istari agent reported", "job", r.Job.ID, "status", string(status))
	}
	return err
}

// OpenFile streams the job's file, its parameters, as
// [Client.OpenJobFile] does.
func (r *JobRun) OpenFile(ctx context.Context) (io.ReadCloser, error) {
	return r.c.OpenJobFile(ctx, r.Job.ID)
}

// report sends a status from an agent, and settles a lost answer by reading
// the job back.
func (c *Client) report(ctx context.Context, jobID string, status JobStatusName, agentID, message string) (*Job, error) {
	job, err := c.setStatus(ctx, OpUpdateJobStatus, jobID, status, agentID, message, callConfig{})
	if err != nil {
		return c.settle(ctx, jobID, status, agentID, err, callConfig{})
	}
	return job, nil
}

// The defaults of AgentOptions.
const (
	defaultAgentGrace    = 30 * time.Second
	agentListSize        = 100
	maxAgentMessageBytes = 1 << 10
)

func (o AgentOptions) withDefaults() (AgentOptions, error) {
	if err := checkID("AgentOptions.AgentID", o.AgentID); err != nil {
		return o, err
	}
	for i, f := range o.Functions {
		if strings.TrimSpace(f) == "" {
			return o, &ValidationError{Field: fmt.Sprintf("AgentOptions.Functions[%d]", i), Reason: "must name a function"}
		}
	}
	switch {
	case o.Concurrency < 0:
		return o, &ValidationError{Field: "AgentOptions.Concurrency", Value: fmt.Sprint(o.Concurrency), Reason: "must not be negative (0 means 1)"}
	case o.Grace < 0:
		return o, &ValidationError{Field: "AgentOptions.Grace", Value: o.Grace.String(), Reason: "must not be negative (0 means 30s)"}
	}
	w, err := waitDefaults(WaitOptions{MinInterval: o.MinInterval, MaxInterval: o.MaxInterval})
	if err != nil {
		err.(*ValidationError).Field = "AgentOptions"
		return o, err
	}
	o.MinInterval, o.MaxInterval = w.MinInterval, w.MaxInterval
	o.Concurrency = max(o.Concurrency, 1)
	if o.Grace == 0 {
		o.Grace = defaultAgentGrace
	}
	return o, nil
}

// RunAgent runs an agent until ctx ends: it claims Pending jobs assigned
// to o.AgentID, to o.PoolID or to nobody, whose function is one of
// o.Functions, and runs h on each, up to o.Concurrency at once. It lists
// once per poll, never once per job, and claims are exclusive, so a job runs
// once across agents. Each job is reported Running, then Completed when h
// returns nil, or Failed with the error's text when it returns an error or
// panics. A job canceled on the platform cancels its handler's ctx, and
// nothing is reported over Canceled.
//
// When ctx ends, the agent claims nothing more; handlers in flight have
// o.Grace to return (their end is still reported), then their ctx is
// canceled and their jobs fail with "agent stopped". RunAgent returns nil
// after such a stop, and only once every goroutine it started has ended. A
// 401 or 403 ends it with that error. docs/agents.md has the details.
func (c *Client) RunAgent(ctx context.Context, o AgentOptions, h JobHandler) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	if h == nil {
		return &ValidationError{Field: "h", Reason: "the JobHandler must not be nil"}
	}
	a := &agent{
		c: c, o: o, h: h, log: c.tr.logger, bg: context.WithoutCancel(ctx),
		running: map[string]*agentJob{}, freed: make(chan struct{}, 1), fatalCh: make(chan struct{}),
	}
	return a.run(ctx)
}

// errJobCanceled and errAgentStopped are the causes of a handler's ctx.
var (
	errJobCanceled  = errors.New("the job was canceled on the platform")
	errAgentStopped = errors.New("agent stopped")
)

// agent is the state of one RunAgent.
type agent struct {
	c   *Client
	o   AgentOptions
	h   JobHandler
	log *slog.Logger
	// bg outlives the caller's ctx: the final reports, releases and the
	// cancellation watch during the grace period use it.
	bg context.Context

	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]*agentJob
	freed   chan struct{} // a handler's slot was freed
	fatal   error
	fatalCh chan struct{} // closed when fatal is set
	once    sync.Once

	// Claiming runs on RunAgent's goroutine only.
	queue        []*Job // candidates of the last list, shuffled
	conflicts    int    // races lost since the last list
	claims, lost int
	watchedAt    time.Time
}

// agentJob is one job a handler runs.
type agentJob struct {
	job    *Job
	cancel context.CancelCauseFunc
	// ended is set by whoever decides the job's end: its handler's
	// goroutine, the cancellation watch, or the end of the grace period.
	ended atomic.Bool
}

func (a *agent) run(ctx context.Context) error {
	delay := a.o.MinInterval
	a.watchedAt = time.Now()
	for ctx.Err() == nil && !a.failed() {
		claimed, idle, err := a.fill(ctx)
		if err != nil && persistent(err) {
			a.setFatal(err)
			break
		}
		if ctx.Err() != nil {
			break
		}
		busy := a.busy()
		if busy > 0 && time.Since(a.watchedAt) >= a.o.MinInterval {
			a.watch(ctx)
		}
		var wait time.Duration
		switch {
		case busy >= a.o.Concurrency:
			// Full: a freed slot wakes the loop.
			delay, wait = a.o.MinInterval, a.o.MinInterval
		case idle || err != nil:
			// Nothing to claim. The jitter only lengthens the wait, so
			// that an idle agent polls at most once per MaxInterval.
			wait = delay + rand.N(delay/4+1)
			delay = min(2*delay, a.o.MaxInterval)
		case claimed:
			delay = a.o.MinInterval
			continue // more work may be waiting
		default:
			// Every candidate went to other agents: list again soon.
			delay, wait = a.o.MinInterval, a.o.MinInterval/4
		}
		if busy > 0 {
			wait = min(wait, max(a.o.MinInterval-time.Since(a.watchedAt), 0))
		}
		if !a.pause(ctx, wait, busy < a.o.Concurrency) {
			break
		}
	}
	return a.stop()
}

// pause waits for d, ctx's end, a fatal error, or, when a slot is taken,
// for a handler to free one.
func (a *agent) pause(ctx context.Context, d time.Duration, hasSlot bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	freed := a.freed
	if hasSlot {
		freed = nil // a freed slot changes nothing while one is free
	}
	select {
	case <-ctx.Done():
		return false
	case <-a.fatalCh:
		return false
	case <-freed:
	case <-t.C:
	}
	return true
}

// fill claims jobs while a slot is free, from the candidates of the last
// list, listing again when they run out, at most twice a call. claimed
// reports whether it started a job, idle whether a list found nothing to
// claim.
func (a *agent) fill(ctx context.Context) (claimed, idle bool, err error) {
	lists := 0
	for a.busy() < a.o.Concurrency && ctx.Err() == nil {
		if len(a.queue) == 0 {
			if lists == 2 {
				return claimed, false, nil
			}
			lists++
			if err := a.list(ctx); err != nil {
				return claimed, false, err
			}
			if len(a.queue) == 0 {
				return claimed, !claimed, nil
			}
			continue
		}
		cand := a.queue[0]
		a.queue = a.queue[1:]
		job, err := a.c.ClaimJob(ctx, cand.ID, ClaimJobParams{AgentID: a.o.AgentID})
		switch {
		case err == nil:
			a.claims++
			a.log.DebugContext(ctx, "istari agent claimed", "job", job.ID, "agent", a.o.AgentID)
			a.start(ctx, job)
			claimed = true
		case errors.Is(err, ErrConflict):
			a.lost++
			a.log.DebugContext(ctx, "istari agent lost a race", "job", cand.ID, "agent", a.o.AgentID)
			// Two lost races since the last list: the other candidates
			// are likely taken too, so list afresh.
			if a.conflicts++; a.conflicts >= 2 {
				a.queue = nil
			}
		case persistent(err):
			return claimed, false, err
		case ctx.Err() != nil:
			return claimed, false, nil
		default:
			a.log.DebugContext(ctx, "istari agent could not claim", "job", cand.ID, "error", err)
		}
	}
	return claimed, false, nil
}

// list fetches one page of Pending jobs and keeps those the agent may
// claim, shuffled.
func (a *agent) list(ctx context.Context) error {
	page, err := a.c.ListJobs(ctx, ListJobsParams{Status: JobStatusPending, Size: agentListSize, Sort: "created"})
	if err != nil {
		if ctx.Err() == nil {
			a.log.DebugContext(ctx, "istari agent could not list jobs", "agent", a.o.AgentID, "error", err)
		}
		return err
	}
	a.queue, a.conflicts = a.queue[:0], 0
	for _, j := range page.Items {
		if a.wants(j) {
			a.queue = append(a.queue, j)
		}
	}
	rand.Shuffle(len(a.queue), func(i, k int) { a.queue[i], a.queue[k] = a.queue[k], a.queue[i] })
	return nil
}

// wants reports whether the agent may claim j.
func (a *agent) wants(j *Job) bool {
	if j.Status() != JobStatusPending {
		return false
	}
	if j.AssignedAgentID != "" || j.AssignedAgentPoolID != "" {
		if j.AssignedAgentID != a.o.AgentID && (a.o.PoolID == "" || j.AssignedAgentPoolID != a.o.PoolID) {
			return false
		}
	}
	return len(a.o.Functions) == 0 || slices.Contains(a.o.Functions, j.Function.Name)
}

// start runs the handler of a claimed job on a goroutine of its own.
func (a *agent) start(ctx context.Context, job *Job) {
	jctx, cancel := context.WithCancelCause(a.bg)
	aj := &agentJob{job: job, cancel: cancel}
	a.mu.Lock()
	a.running[job.ID] = aj
	a.mu.Unlock()
	a.wg.Add(1)
	go a.runJob(ctx, jctx, aj)
}

func (a *agent) runJob(ctx, jctx context.Context, aj *agentJob) {
	defer a.wg.Done()
	defer func() {
		a.mu.Lock()
		delete(a.running, aj.job.ID)
		a.mu.Unlock()
		aj.cancel(nil)
		select {
		case a.freed <- struct{}{}:
		default:
		}
	}()
	id := aj.job.ID
	// One group per job, not one for the agent's whole run, which may
	// last for days; jctx comes from the caller's ctx, whose trace is the
	// group's parent.
	jctx, end := a.c.tr.obs.group(jctx, "RunAgent")
	a.c.tr.obs.inFlight(jctx, "RunAgent", 1)
	var herr error
	defer func() {
		a.c.tr.obs.inFlight(jctx, "RunAgent", -1)
		if end != nil {
			end(herr)
		}
	}()
	if ctx.Err() != nil {
		// Stopping before the handler started: give the job back.
		aj.ended.Store(true)
		a.release(aj)
		return
	}
	if _, err := a.c.report(jctx, id, JobStatusRunning, a.o.AgentID, ""); err != nil {
		aj.ended.Store(true)
		a.log.DebugContext(jctx, "istari agent could not start the job", "job", id, "error", err)
		a.noteFatal(err)
		return
	}
	a.log.DebugContext(jctx, "istari agent started", "job", id)
	run := &JobRun{Job: aj.job, c: a.c, agentID: a.o.AgentID}
	herr = a.call(jctx, run)
	if !aj.ended.CompareAndSwap(false, true) {
		return // canceled on the platform, or stopped: decided elsewhere
	}
	if herr == nil {
		a.finish(aj, JobStatusCompleted, agentMessage(run.message))
	} else {
		a.finish(aj, JobStatusFailed, agentMessage(herr.Error()))
	}
}

// call runs the handler, turning a panic into an error.
func (a *agent) call(ctx context.Context, run *JobRun) (err error) {
	defer func() {
		if v := recover(); v != nil {
			a.log.DebugContext(ctx, "istari agent handler panicked", "job", run.Job.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return a.h(ctx, run)
}

// finish reports a job's end, on a context that outlives RunAgent's.
func (a *agent) finish(aj *agentJob, status JobStatusName, message string) {
	ctx, cancel := context.WithTimeout(a.bg, settleTimeout)
	defer cancel()
	if _, err := a.c.report(ctx, aj.job.ID, status, a.o.AgentID, message); err != nil {
		a.log.DebugContext(ctx, "istari agent could not report the job's end", "job", aj.job.ID, "status", string(status), "error", err)
		a.noteFatal(err)
		return
	}
	a.log.DebugContext(ctx, "istari agent ended", "job", aj.job.ID, "status", string(status))
}

// release gives a claimed job back: Pending again, for any agent to claim.
func (a *agent) release(aj *agentJob) {
	ctx, cancel := context.WithTimeout(a.bg, settleTimeout)
	defer cancel()
	if _, err := a.c.report(ctx, aj.job.ID, JobStatusPending, a.o.AgentID, "released by agent "+a.o.AgentID); err != nil {
		a.log.DebugContext(ctx, "istari agent could not release the job", "job", aj.job.ID, "error", err)
		return
	}
	a.log.DebugContext(ctx, "istari agent released", "job", aj.job.ID)
}

// watch polls the running jobs in bulk, as WaitForJobs does, and cancels
// the handlers of those canceled on the platform.
func (a *agent) watch(ctx context.Context) {
	a.watchedAt = time.Now()
	a.mu.Lock()
	jobs := make([]*agentJob, 0, len(a.running))
	for _, aj := range a.running {
		jobs = append(jobs, aj)
	}
	a.mu.Unlock()
	w := a.c.newMultiWait(WaitOptions{}, nil, len(jobs))
	for _, aj := range jobs {
		w.add(aj.job.ID, aj.job)
	}
	if err := w.round(ctx); err != nil {
		a.log.DebugContext(ctx, "istari agent could not poll its jobs", "agent", a.o.AgentID, "error", err)
		a.noteFatal(err)
	}
	for _, aj := range jobs {
		t := w.byID[aj.job.ID]
		if t.job != nil && t.job.Status() == JobStatusCanceled && aj.ended.CompareAndSwap(false, true) {
			a.log.DebugContext(ctx, "istari agent canceled", "job", aj.job.ID)
			aj.cancel(errJobCanceled)
		}
	}
}

// stop ends RunAgent: it gives the handlers in flight the grace period,
// fails the jobs of those still running after it, and waits for every
// goroutine.
func (a *agent) stop() error {
	grace := time.NewTimer(a.o.Grace)
	defer grace.Stop()
	for a.busy() > 0 {
		wait := max(a.o.MinInterval-time.Since(a.watchedAt), 0)
		t := time.NewTimer(wait)
		select {
		case <-a.freed:
		case <-t.C:
			a.watch(a.bg)
		case <-grace.C:
			t.Stop()
			a.stopAll()
			a.wg.Wait()
			return a.result()
		}
		t.Stop()
	}
	a.wg.Wait()
	return a.result()
}

// stopAll cancels every handler still running and fails its job.
func (a *agent) stopAll() {
	a.mu.Lock()
	jobs := make([]*agentJob, 0, len(a.running))
	for _, aj := range a.running {
		jobs = append(jobs, aj)
	}
	a.mu.Unlock()
	for _, aj := range jobs {
		if aj.ended.CompareAndSwap(false, true) {
			aj.cancel(errAgentStopped)
			a.finish(aj, JobStatusFailed, errAgentStopped.Error())
		}
	}
}

func (a *agent) result() error {
	a.log.Debug("istari agent stopped", "agent", a.o.AgentID, "claims", a.claims, "lost_races", a.lost)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal
}

func (a *agent) busy() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running)
}

func (a *agent) failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal != nil
}

// noteFatal ends the agent on a persistent error.
func (a *agent) noteFatal(err error) {
	if persistent(err) {
		a.setFatal(err)
	}
}

func (a *agent) setFatal(err error) {
	a.mu.Lock()
	if a.fatal == nil {
		a.fatal = fmt.Errorf("facade: RunAgent %s: %w", a.o.AgentID, err)
	}
	a.mu.Unlock()
	a.once.Do(func() { close(a.fatalCh) })
}

// persistent reports whether err will not go away by itself: the
// platform refuses the agent's credentials or rights.
func persistent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden)
}

// agentMessage is an error's text as a status message: control characters
// dropped (a line break becomes a space) and at most 1 KiB.
func agentMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	if len(s) > maxAgentMessageBytes {
		cut := maxAgentMessageBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
