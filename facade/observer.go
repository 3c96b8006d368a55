package facade

import (
	"context"
	"strings"
	"time"
)

// Observer receives what a Client's calls do, for telemetry: package
// facade/istariotel makes one for OpenTelemetry, and a program can make
// its own for another system. Every field may be nil. The functions are
// called synchronously by the goroutine that makes the call, must be safe
// for concurrent use, and should return quickly. The values they receive
// never hold the token; a URL in them is the request's own (see
// [Observer.Middleware]).
type Observer struct {
	// Call is called once for each request of the client (a method call
	// such as GetJob, or a request of Client.Raw), before its first
	// attempt. It returns the context the call's attempts run in (ctx, or
	// one made from it, such as one with a span), and a function the
	// client calls once, with the call's result, when the transport is
	// done with the call: before the answer's body is decoded. That
	// function may be nil.
	Call func(ctx context.Context, c CallInfo) (context.Context, func(CallResult))
	// Middleware runs once per attempt as a [Middleware] does, after
	// those of [WithMiddleware], next to the HTTP client: it sees the
	// request as it is sent and the answer as it arrives.
	Middleware Middleware
	// Retry is called before the wait that precedes a retry: attempt is
	// the attempt to come (2 for the first retry), reason says why the
	// last one is retried (such as "status 503"; it never holds an
	// error's text), and wait is how long the client waits first.
	Retry func(ctx context.Context, attempt int, reason string, wait time.Duration)
	// Hold is called when a request waits at the client's rate-limit gate
	// (a 429 or 503 answer's Retry-After, to any request of the client, is
	// in force), with how long it waits.
	Hold func(ctx context.Context, wait time.Duration)
	// Group is called when a method that makes many calls starts:
	// AddJobs, WaitForJobs, WaitForJob, the iterators AllJobs and
	// AllModelJobs (when the loop starts), and RunAgent (once per job it
	// runs); op is the method's name, such as "AddJobs". It returns the context the method's calls run in and
	// a function the client calls once when the method ends, with its
	// error: for AddJobs the first job's error, nil when every job was
	// added. That function may be nil.
	Group func(ctx context.Context, op Operation) (context.Context, func(error))
	// InFlight is called with +1 when a batch (AddJobs) starts a job's
	// call, or RunAgent a job's handler, and with -1 when it ends, so that
	// the running sum is the current concurrency.
	InFlight func(ctx context.Context, op Operation, delta int)
}

// WithObserver adds an observer of the client's calls. Several observers
// are called in the order given; each one's context is made from the
// previous one's.
func WithObserver(o Observer) Option {
	return func(c *config) { c.observers = append(c.observers, o) }
}

// CallInfo describes a call to [Observer.Call].
type CallInfo struct {
	// Operation is the call's operation; "" for a request of Client.Raw
	// that matches none.
	Operation Operation
	// Method is the HTTP method.
	Method string
	// JobID and ModelID are the ids the request's path names, "" when it
	// names none.
	JobID, ModelID string
}

// CallResult is how a call ended, for [Observer.Call].
type CallResult struct {
	// Attempts is how many attempts were sent, 0 when none was.
	Attempts int
	// StatusCode is the last answer's HTTP status, 0 when none arrived.
	StatusCode int
	// Err is the transport's error, nil when an answer arrived and was
	// returned, whatever its status. It may wrap a context's error, and
	// its text may hold the request's URL.
	Err error
}

// observers are a client's Observers; a nil one observes nothing, at no
// cost.
type observers []Observer

// call starts a call with every observer's Call.
func (obs observers) call(ctx context.Context, ci CallInfo) (context.Context, func(CallResult)) {
	if len(obs) == 1 && obs[0].Call != nil {
		return obs[0].Call(ctx, ci)
	}
	var ends []func(CallResult)
	for _, o := range obs {
		if o.Call == nil {
			continue
		}
		var end func(CallResult)
		ctx, end = o.Call(ctx, ci)
		if end != nil {
			ends = append(ends, end)
		}
	}
	switch len(ends) {
	case 0:
		return ctx, nil
	case 1:
		return ctx, ends[0]
	}
	return ctx, func(r CallResult) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](r)
		}
	}
}

// middleware returns the observers' middleware.
func (obs observers) middleware() []Middleware {
	var mw []Middleware
	for _, o := range obs {
		if o.Middleware != nil {
			mw = append(mw, o.Middleware)
		}
	}
	return mw
}

func (obs observers) retry(ctx context.Context, attempt int, reason string, wait time.Duration) {
	for _, o := range obs {
		if o.Retry != nil {
			o.Retry(ctx, attempt, reason, wait)
		}
	}
}

// gateSleep is the transport's sleep for the rate-limit gate when
// observers are set: it tells them of each wait first.
func (t *transport) gateSleep(ctx context.Context, d time.Duration) error {
	for _, o := range t.obs {
		if o.Hold != nil {
			o.Hold(ctx, d)
		}
	}
	return t.sleep(ctx, d)
}

// noEnd ends a group nobody observes.
func noEnd(error) {}

// group starts a method that makes many calls, such as AddJobs. The
// returned function must be called once when it ends.
func (obs observers) group(ctx context.Context, op Operation) (context.Context, func(error)) {
	if len(obs) == 0 {
		return ctx, noEnd
	}
	var ends []func(error)
	for _, o := range obs {
		if o.Group == nil {
			continue
		}
		var end func(error)
		ctx, end = o.Group(ctx, op)
		if end != nil {
			ends = append(ends, end)
		}
	}
	return ctx, func(err error) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](err)
		}
	}
}

func (obs observers) inFlight(ctx context.Context, op Operation, delta int) {
	for _, o := range obs {
		if o.InFlight != nil {
			o.InFlight(ctx, op, delta)
		}
	}
}

// observed describes the call c of req for the observers, and returns the
// context they start from: req's, with the call's operation, so that
// OperationFromContext works in their functions for a Raw request too.
func (t *transport) observed(ctx context.Context, c call, method, path string) (context.Context, CallInfo) {
	ci := CallInfo{Operation: c.operation, Method: method}
	ci.JobID, ci.ModelID = routeIDs(c.route, strings.TrimPrefix(path, t.basePath))
	if _, isCall := ctx.Value(callInfoKey{}).(*callInfo); !isCall {
		ctx = context.WithValue(ctx, attemptKey{}, &attemptInfo{op: c.operation})
	}
	return ctx, ci
}

// routeIDs returns the job and model ids that path names, by the route
// pattern of its operation ("/models/{}/jobs"), where "{}" after "jobs" is
// a job's id and after "models" a model's.
func routeIDs(route, path string) (jobID, modelID string) {
	prev := ""
	for route != "" && path != "" {
		var pat, seg string
		pat, route, _ = strings.Cut(strings.TrimPrefix(route, "/"), "/")
		seg, path, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if pat == "{}" {
			switch prev {
			case "jobs":
				jobID = seg
			case "models":
				modelID = seg
			}
		}
		prev = pat
	}
	return jobID, modelID
}
