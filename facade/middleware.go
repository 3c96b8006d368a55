package facade

import (
	"context"
	"errors"
	"net/http"
)

// MiddlewareNext sends a request on: to the next [Middleware], or, after
// the last one, to the client's HTTP client.
type MiddlewareNext func(*http.Request) (*http.Response, error)

// Middleware wraps each attempt of every request of a Client, the facade's
// and those of [Client.Raw]. It may read or change the request, answer it
// itself, or call next and read or change the answer.
//
// Middleware runs inside the retry loop, once per attempt, on the copy of
// the request made for that attempt, after the SDK's own headers and the
// request editors: a change to the request never carries over to the next
// attempt. Its answer (or error) goes through the same handling as the HTTP
// client's: the status, the limit on the body, the retry table and the
// rate-limit gate. [OperationFromContext] and [AttemptFromContext] on the
// request's context tell which call and which attempt it sees.
//
// An answer's body must be closed by whoever does not return it. A
// Middleware that returns neither an answer nor an error fails the attempt.
type Middleware func(*http.Request, MiddlewareNext) (*http.Response, error)

// WithMiddleware adds middleware. The middleware of all WithMiddleware
// options run in the order given, the first outermost.
func WithMiddleware(mw ...Middleware) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw...) }
}

// chain returns send wrapped in mw, the first outermost.
func chain(mw []Middleware, send MiddlewareNext) MiddlewareNext {
	next := send
	for i := len(mw) - 1; i >= 0; i-- {
		if mw[i] == nil {
			continue
		}
		m, n := mw[i], next
		next = func(r *http.Request) (*http.Response, error) { return m(r, n) }
	}
	return next
}

// errNoAnswer fails an attempt whose middleware returned neither an answer
// nor an error.
var errNoAnswer = errors.New("middleware returned neither a response nor an error")

// attemptKey carries an attemptInfo in the context of each attempt (and,
// when an Observer is set, of each call).
type attemptKey struct{}

// attemptInfo is what an attempt's context says of it.
type attemptInfo struct {
	op Operation // "" for a request of Client.Raw that matches no operation
	n  int       // 1 for the first attempt; 0 for the call's context
}

// attemptContext is an attempt's context: its parent, and the attemptInfo
// that OperationFromContext and AttemptFromContext read from it, in one
// allocation where context.WithValue takes two.
type attemptContext struct {
	context.Context
	info attemptInfo
}

func (c *attemptContext) Value(key any) any {
	if key == (attemptKey{}) {
		return &c.info
	}
	return c.Context.Value(key)
}

// OperationFromContext returns the operation a request belongs to, such as
// [OpGetJob], from the context of the request that middleware, request
// editors and the HTTP client's [http.RoundTripper] see, and from the
// context an [Observer]'s functions get. A request of [Client.Raw] has the
// operation its method and path match. ok is false when ctx holds none: a
// context the SDK did not make, or a Raw request that matches no operation.
func OperationFromContext(ctx context.Context) (op Operation, ok bool) {
	if ai, found := ctx.Value(attemptKey{}).(*attemptInfo); found {
		return ai.op, ai.op != ""
	}
	if ci, found := ctx.Value(callInfoKey{}).(*callInfo); found {
		return ci.op, ci.op != ""
	}
	return "", false
}

// AttemptFromContext returns the number of the attempt a request is, 1 for
// the first and 2 for the first retry, from the context of the request
// that middleware, request editors and the HTTP client's
// [http.RoundTripper] see. It returns 0 for a context that is not an
// attempt's.
func AttemptFromContext(ctx context.Context) int {
	if ai, ok := ctx.Value(attemptKey{}).(*attemptInfo); ok {
		return ai.n
	}
	return 0
}
