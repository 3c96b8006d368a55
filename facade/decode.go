package facade

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/istari-go/sdk/gen"
)

// maxResponseBody caps a successful answer; a larger one is an error rather
// than an unbounded read.
const maxResponseBody = 64 << 20

// decodeJob decodes the job an operation answers with, checks its shape and
// converts it to the facade's model.
func decodeJob(c *Client, op string, resp *http.Response, err error) (*Job, error) {
	w := new(gen.Job)
	if err := c.decode(op, resp, err, w); err != nil {
		return nil, err
	}
	if w.ID == "" {
		return nil, &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: "the job has no id"}
	}
	return jobFromWire(w), nil
}

// decodePage decodes a page of jobs, checks its shape and converts it to
// the facade's model.
func decodePage(c *Client, op string, resp *http.Response, err error) (*JobPage, error) {
	var w gen.PageJob
	if err := c.decode(op, resp, err, &w); err != nil {
		return nil, err
	}
	for i := range w.Items {
		if w.Items[i].ID == "" {
			return nil, &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: fmt.Sprintf("item %d has no id", i)}
		}
	}
	return pageFromWire(&w), nil
}

// DecodeError reports a 2xx answer whose body is not what the operation
// returns: the wrong content type, an empty or truncated body, or JSON of
// the wrong shape. The call's result is never a zero value in that case.
type DecodeError struct {
	// Operation is the operation, such as "GetJob".
	Operation string
	// StatusCode is the answer's HTTP status.
	StatusCode int
	// Reason says what was wrong.
	Reason string
	// Err is the underlying decoding error, if any.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("facade: %s: unexpected %d answer: %s", e.Operation, e.StatusCode, e.Reason)
}

// Unwrap returns the underlying decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }

// decode turns an answer into dst, or into an error: a transport error
// wrapped with the operation, an *APIError for a non-2xx answer, or a
// *DecodeError for a 2xx answer that is not the expected JSON.
func (c *Client) decode(op string, resp *http.Response, err error, dst any) error {
	if err != nil {
		return fmt.Errorf("facade: %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(op, resp)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: fmt.Sprintf("content type %q, want application/json", resp.Header.Get("Content-Type"))}
	}
	if resp.ContentLength > maxResponseBody {
		return &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: "answer larger than 64 MiB"}
	}
	data, ok := bufferedData(resp.Body) // read by the transport within the attempt
	if !ok {
		buf := c.tr.bufs.get()
		defer c.tr.bufs.put(buf)
		if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody+1)); err != nil {
			return fmt.Errorf("facade: %s: read answer: %w", op, err)
		}
		data = buf.Bytes()
	}
	if len(data) > maxResponseBody {
		return &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: "answer larger than 64 MiB"}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		reason := "invalid JSON: " + err.Error()
		if len(data) == 0 {
			reason = "empty body"
		}
		return &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: reason, Err: err}
	}
	return nil
}

func newAPIError(op string, resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{
		Operation:  op,
		StatusCode: resp.StatusCode,
		Body:       body,
		Detail:     parseDetail(body),
		RetryAfter: resp.Header.Get("Retry-After"),
	}
	if resp.Request != nil {
		e.Method, e.Path = resp.Request.Method, resp.Request.URL.Path
	}
	return e
}
