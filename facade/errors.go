package facade

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/istari-go/sdk/gen"
)

// Sentinel errors. Use [errors.Is] to test an error against them.
var (
	// ErrInvalidInput matches every [*ValidationError]: a check on the client
	// side failed and nothing was sent.
	ErrInvalidInput = errors.New("invalid input")
	// ErrBadRequest matches an [*APIError] with status 400 or 422: the
	// platform refused the request's content (for a 422, Detail lists the
	// invalid fields).
	ErrBadRequest = errors.New("bad request")
	// ErrNotFound matches an [*APIError] with status 404.
	ErrNotFound = errors.New("not found")
	// ErrConflict matches an [*APIError] with status 409.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized matches an [*APIError] with status 401.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden matches an [*APIError] with status 403.
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited matches an [*APIError] with status 429.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer matches an [*APIError] with a 5xx status.
	ErrServer = errors.New("server error")
	// ErrNoAgent matches the error of a wait that ended because a job was
	// still Pending, claimed by no agent, after [WaitOptions.PendingTimeout].
	ErrNoAgent = errors.New("no agent claimed the job")
)

// ValidationError reports input that failed a check on the client side,
// before any request was sent, or, for a parameters file over 8 MiB that is
// checked as it is sent, before the request was complete (see
// [Client.AddJob]). It matches [ErrInvalidInput].
type ValidationError struct {
	// Field names the offending field, such as "AddJobParams.OperatingSystem".
	Field string
	// Value is the offending value, as given (empty when it has no useful
	// printed form).
	Value string
	// Reason says what is wrong and, for enums, lists the valid choices.
	Reason string
	// Err is the underlying cause, if any (for example a file system error).
	Err error
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("facade: invalid ")
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Is reports whether target is [ErrInvalidInput].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// Unwrap returns the underlying cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// APIError is a non-2xx answer from the platform. It matches
// [ErrBadRequest], [ErrNotFound], [ErrConflict], [ErrUnauthorized],
// [ErrForbidden], [ErrRateLimited] and [ErrServer] through [errors.Is], by
// status code.
type APIError struct {
	// Operation is the operation that failed, such as [OpGetJob].
	Operation Operation
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Method and Path are the request's method and URL path.
	Method, Path string
	// Detail is the server's explanation: the "detail" string, or for a 422
	// the list of invalid fields rendered as "loc: msg" lines.
	Detail string
	// Body is the raw answer, capped at 64 KiB.
	Body []byte
	// Header is the answer's header.
	Header http.Header
	// RequestID is the answer's X-Request-Id header, or X-Correlation-Id
	// when that is present instead: the id to quote to the platform's
	// support.
	RequestID string
	// RetryAfter is the wait the answer's Retry-After header asks for,
	// given in seconds or as an HTTP date; zero when it has none.
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "facade: %s: %s %s: %d %s", e.Operation, e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Is maps the status code to the sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// parseDetail extracts the server's explanation from an error body: the
// string form {"detail": "..."} or the 422 form {"detail": [{loc, msg}]}.
// Anything else gives "".
func parseDetail(body []byte) string {
	var probe struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &probe) != nil || len(probe.Detail) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(probe.Detail, &s) == nil {
		return s
	}
	var items []gen.ValidationErrorItem
	if json.Unmarshal(probe.Detail, &items) != nil {
		return ""
	}
	lines := make([]string, 0, len(items))
	for _, it := range items {
		loc := make([]string, 0, len(it.Loc))
		for _, l := range it.Loc {
			raw, err := l.MarshalJSON()
			if err != nil {
				continue
			}
			var ls string
			if json.Unmarshal(raw, &ls) == nil {
				loc = append(loc, ls)
			} else {
				loc = append(loc, string(raw))
			}
		}
		lines = append(lines, strings.Join(loc, ".")+": "+it.Msg)
	}
	return strings.Join(lines, "\n")
}
