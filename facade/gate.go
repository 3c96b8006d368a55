package facade

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// gate is the one place a Client remembers that the platform asked it to
// slow down. When an answer to one of the platform's operations (a facade
// call, or a Raw request whose method and path match one) is a 429 or a 503
// with Retry-After, the gate closes until that time has passed, and every
// request of the client, not only the one that was told, waits before its
// next attempt. An answer from any other path (a health check, say) speaks
// for that path only. The transport
// waits on it before each attempt and reports every answer to it; AddJobs
// reads how often the client was throttled to adapt its concurrency.
//
// A nil *gate is open and ignores what it is told. It is safe for
// concurrent use.
type gate struct {
	// maxHold caps a hold: the RetryPolicy's MaxRetryAfter, past which a
	// Retry-After ends the call that got it instead of being waited out;
	// 0 means no cap.
	maxHold time.Duration

	mu sync.Mutex
	// until is when the gate opens again; the zero time means open.
	until time.Time
	// hold is the length of the last Retry-After the gate honoured.
	hold time.Duration
	// throttled counts the 429 answers the client received.
	throttled uint64
}

// newGate returns an open gate whose holds last at most maxHold (0: no
// cap).
func newGate(maxHold time.Duration) *gate { return &gate{maxHold: max(maxHold, 0)} }

// wait returns once the gate is open, or with ctx's error when ctx ends
// while it waits. It sleeps with sleep, the transport's, so that tests on a fake
// clock do not wait in real time. A hold extended while it slept is waited
// out too; a fake sleep that returns at once does not loop, because it waits
// at most once for each deadline it reads.
//
// covered is when a wait the caller already made ends (the transport's own
// wait for the Retry-After that closed the gate): a hold that ends by then
// is not waited out a second time.
func (g *gate) wait(ctx context.Context, sleep func(context.Context, time.Duration) error, covered time.Time) error {
	if g == nil {
		return nil
	}
	waited := covered
	for {
		g.mu.Lock()
		until := g.until
		g.mu.Unlock()
		d := time.Until(until)
		if d <= 0 || !until.After(waited) {
			return nil
		}
		if outlasts(ctx, d) {
			// As for a Retry-After of the call's own: a wait that cannot
			// end in time ends the call at once.
			return fmt.Errorf("the platform's Retry-After has %s left, past the context's deadline", d.Round(time.Millisecond))
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
		waited = until
	}
}

// observe records one answer (resp may be nil): a 429 counts as a
// throttle, and a 429 or 503 that carries Retry-After closes the gate for
// that long from now, up to maxHold. A shorter Retry-After never shortens a
// longer hold already in force.
func (g *gate) observe(resp *http.Response) {
	if g == nil || resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return
	}
	now := time.Now()
	retryAfter, hasWait := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	g.mu.Lock()
	defer g.mu.Unlock()
	if resp.StatusCode == http.StatusTooManyRequests {
		g.throttled++
	}
	if g.maxHold > 0 {
		retryAfter = min(retryAfter, g.maxHold)
	}
	if hasWait && retryAfter > 0 {
		if until := now.Add(retryAfter); until.After(g.until) {
			g.until = until
		}
		g.hold = retryAfter
	}
}

// state returns how many 429 answers the client has received and the length
// of the last hold.
func (g *gate) state() (throttled uint64, hold time.Duration) {
	if g == nil {
		return 0, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.throttled, g.hold
}
