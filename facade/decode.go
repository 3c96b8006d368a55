package facade

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/istari-go/sdk/gen"
)

// decodeJob decodes the job an operation answers with, checks its shape and
// converts it to the facade's model. wantID is the job the request named:
// an answer about any other job is a *DecodeError, never that job. It is
// empty only for AddJob, whose answer names a job no one knew before.
func decodeJob(c *Client, cx *callContext, wantID string, resp *http.Response, err error) (*Job, error) {
	op := cx.ci.op
	var j *Job
	if err := c.decode(cx, resp, err, func(data []byte) (de *DecodeError) {
		j, de = readJob(data)
		return de
	}); err != nil {
		return nil, err
	}
	switch {
	case j.ID == "":
		return nil, &DecodeError{Operation: op, StatusCode: resp.StatusCode, Field: "id", Reason: "the job has an empty id"}
	case wantID != "" && j.ID != wantID:
		got := j.ID
		if len(got) > 64 { // the server's text: quoted, and not at any length
			got = got[:64] + "..."
		}
		return nil, &DecodeError{Operation: op, StatusCode: resp.StatusCode, Field: "id",
			Reason: fmt.Sprintf("the answer is about job %q, not the job %q asked for", got, wantID)}
	}
	return j, nil
}

// decodePage decodes a page of jobs, checks its shape and its paging
// against the request, and converts it to the facade's model.
func decodePage(c *Client, cx *callContext, resp *http.Response, err error) (*JobPage, error) {
	op := cx.ci.op
	var p *JobPage
	if err := c.decode(cx, resp, err, func(data []byte) (de *DecodeError) {
		p, de = readPage(data)
		return de
	}); err != nil {
		return nil, err
	}
	for i, j := range p.Items {
		if j.ID == "" {
			return nil, &DecodeError{Operation: op, StatusCode: resp.StatusCode, Field: fmt.Sprintf("items[%d].id", i), Reason: fmt.Sprintf("item %d has an empty id", i)}
		}
	}
	return p, nil
}

// readJob reads a job of the shape the spec requires: straight into the
// facade's types (readjson.go), or when that gives up, through the
// generated type, which words the error. The error's Operation and
// StatusCode are left to the caller.
func readJob(data []byte) (*Job, *DecodeError) {
	if j, ok := fastJob(data); ok {
		return j, nil
	}
	return slowJob(data)
}

// readPage is readJob for a page of jobs.
func readPage(data []byte) (*JobPage, *DecodeError) {
	if p, ok := fastPage(data); ok {
		return p, nil
	}
	return slowPage(data)
}

// slowJob reads a job with encoding/json into the generated type, checks
// its shape and converts it.
func slowJob(data []byte) (*Job, *DecodeError) {
	w := new(gen.Job)
	if de := unmarshalShape(data, w, jobShape); de != nil {
		return nil, de
	}
	j := jobFromWire(w)
	j.src.raw = string(bytes.TrimSpace(data))
	return j, nil
}

// slowPage is slowJob for a page of jobs.
func slowPage(data []byte) (*JobPage, *DecodeError) {
	var w gen.PageJob
	if de := unmarshalShape(data, &w, pageShape); de != nil {
		return nil, de
	}
	p := pageFromWire(&w)
	// Each job's bytes, for RawJSON, read by the same rules.
	var raw struct {
		Items []json.RawMessage `json:"items"`
	}
	if json.Unmarshal(data, &raw) == nil && len(raw.Items) == len(p.Items) {
		for i, j := range p.Items {
			j.src.raw = string(raw.Items[i])
		}
	}
	return p, nil
}

// unmarshalShape decodes data into dst with encoding/json and checks its
// shape.
func unmarshalShape(data []byte, dst any, sh *shape) *DecodeError {
	if err := json.Unmarshal(data, dst); err != nil {
		reason := "invalid JSON: " + err.Error()
		var te *json.UnmarshalTypeError
		switch {
		case len(data) == 0:
			reason = "empty body"
		case errors.As(err, &te):
			// Well-formed JSON, with a value of the wrong type.
			reason = "JSON of the wrong shape: " + err.Error()
		}
		return &DecodeError{Reason: reason, Err: err}
	}
	if field, why := checkShape(data, sh); field != "" || why != "" {
		reason := "field " + field + " " + why
		if field == "" {
			reason = "the answer " + why
		}
		return &DecodeError{Field: field, Reason: reason}
	}
	return nil
}

// DecodeError reports a 2xx answer whose body is not what the operation
// returns: the wrong content type, an empty, truncated or oversized body,
// JSON of the wrong shape (a field the spec requires is missing or null),
// a page that does not match the page asked for, or an answer to an upload
// that came before the server can have read the whole request body. The
// call's result is never a zero value in that case.
type DecodeError struct {
	// Operation is the operation, such as [OpGetJob].
	Operation Operation
	// StatusCode is the answer's HTTP status.
	StatusCode int
	// Field is the path of the offending field, such as
	// "items[3].function", when one is to blame.
	Field string
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

// decode reads an answer with read, or turns it into an error: a
// transport error wrapped with the operation, an *APIError for a non-2xx
// answer, or a *DecodeError for a 2xx answer that is not JSON (read's
// error, given the operation and status here).
func (c *Client) decode(cx *callContext, resp *http.Response, err error, read func(data []byte) *DecodeError) error {
	op := cx.ci.op
	if err != nil {
		return callError(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(op, resp)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: fmt.Sprintf("content type %q, want application/json", resp.Header.Get("Content-Type"))}
	}
	data := cx.answer() // read by the transport within the attempt
	if data == nil {
		d, release, err := c.tr.bufs.readCapped(resp.Body, resp.ContentLength, c.tr.maxBody)
		if err != nil {
			var tl *tooLargeError
			if errors.As(err, &tl) {
				return &DecodeError{Operation: op, StatusCode: resp.StatusCode, Reason: tl.Error(), Err: err}
			}
			return fmt.Errorf("facade: %s: read answer: %w", op, err)
		}
		defer release()
		data = d
	}
	if de := read(data); de != nil {
		de.Operation, de.StatusCode = op, resp.StatusCode
		return de
	}
	return nil
}

// callError words an error of the transport, where no answer came back to
// decode: an answer kept through an interrupted wait becomes its *APIError,
// an oversized one a *DecodeError, and anything else is wrapped with the
// operation.
func callError(op Operation, err error) error {
	var ie *interruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("%w (then, waiting to retry: %w)", newAPIError(op, ie.resp), ie.err)
	}
	var tl *tooLargeError
	if errors.As(err, &tl) {
		return &DecodeError{Operation: op, StatusCode: tl.status, Reason: tl.Error(), Err: err}
	}
	return fmt.Errorf("facade: %s: %w", op, err)
}

func newAPIError(op Operation, resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{
		Operation:  op,
		StatusCode: resp.StatusCode,
		Body:       body,
		Detail:     parseDetail(body),
		Header:     resp.Header,
		RequestID:  requestID(resp.Header),
	}
	e.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.Request != nil {
		e.Method, e.Path = resp.Request.Method, resp.Request.URL.Path
	}
	return e
}

// shape is what the spec requires of a JSON object: its required fields
// (none of which the spec lets be null), and the shapes of the objects
// nested in its fields.
type shape struct {
	required []string
	// nested gives the shape of a field's value, or of each element when
	// the value is an array.
	nested []nestedField
}

type nestedField struct {
	key   string
	shape *shape
}

// nestedShape returns the shape of the field key, and the key as a string
// that needs no allocation.
func (sh *shape) nestedShape(key []byte) (string, *shape) {
	for _, n := range sh.nested {
		if n.key == string(key) {
			return n.key, n.shape
		}
	}
	return "", nil
}

// The shapes of api/openapi.yaml's answers; TestShapesMatchSpec holds them
// to the spec.
var (
	archiveEntryShape = &shape{required: []string{"id", "created", "name"}}
	jobStatusShape    = &shape{required: []string{"id", "created", "job_id", "name"}}
	functionShape     = &shape{required: []string{"name"}, nested: []nestedField{
		{"tool_versions", &shape{required: []string{"tool_version"}}},
		{"operating_systems", &shape{required: []string{"name"}}},
	}}
	revisionShape = &shape{required: []string{"id", "created", "name", "size"}, nested: []nestedField{
		{"sources", &shape{required: []string{"revision_id"}}},
		{"products", &shape{required: []string{"revision_id"}}},
	}}
	fileShape = &shape{required: []string{"id", "created", "revisions", "archive_status_history"}, nested: []nestedField{
		{"revisions", revisionShape},
		{"archive_status_history", archiveEntryShape},
	}}
	jobShape = &shape{required: []string{"id", "created", "file", "comments", "archive_status_history", "created_by_id", "function"}, nested: []nestedField{
		{"file", fileShape},
		{"comments", &shape{required: []string{"id", "created"}}},
		{"archive_status_history", archiveEntryShape},
		{"function", functionShape},
		{"status_history", jobStatusShape},
	}}
	pageShape = &shape{required: []string{"items", "total", "page", "size", "pages"}, nested: []nestedField{
		{"items", jobShape},
	}}
)

// checkShape walks data, which json.Unmarshal has accepted, and reports the
// first required field that is missing or null: its path and what is
// wrong. It allocates nothing unless it finds one.
func checkShape(data []byte, sh *shape) (field, why string) {
	w := shapeWalker{b: data}
	w.ws()
	if w.i >= len(w.b) || w.b[w.i] != '{' {
		return "", "is not a JSON object"
	}
	w.object(sh)
	return w.field, w.why
}

type pathElem struct {
	key   string
	index int // -1 for an object's field
}

type shapeWalker struct {
	b    []byte
	i    int
	path []pathElem
	// field and why are the first fault found.
	field, why string
}

func (w *shapeWalker) fail(last, why string) {
	var b strings.Builder
	for _, p := range w.path {
		if p.index >= 0 {
			fmt.Fprintf(&b, "[%d]", p.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.key)
	}
	if last != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(last)
	}
	w.field, w.why = b.String(), why
}

func (w *shapeWalker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// str reads a string at w.i and returns its raw contents.
func (w *shapeWalker) str() []byte {
	start := w.i + 1
	j := start
	for {
		k := bytes.IndexByte(w.b[j:], '"')
		if k < 0 {
			w.i = len(w.b)
			return w.b[start:]
		}
		j += k
		bs := 0
		for p := j - 1; p >= start && w.b[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			w.i = j + 1
			return w.b[start:j]
		}
		j++
	}
}

// skip moves past the value at w.i.
func (w *shapeWalker) skip() {
	w.ws()
	if w.i >= len(w.b) {
		return
	}
	switch w.b[w.i] {
	case '"':
		w.str()
	case '{', '[':
		depth := 0
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case '"':
				w.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					w.i++
					return
				}
			}
			w.i++
		}
	default:
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			w.i++
		}
	}
}

// object checks the object at w.i against sh and moves past it.
func (w *shapeWalker) object(sh *shape) {
	var seen, null uint64
	w.i++ // {
	for w.field == "" && w.why == "" {
		w.ws()
		if w.i >= len(w.b) {
			return
		}
		if w.b[w.i] == '}' {
			w.i++
			break
		}
		if w.b[w.i] == ',' {
			w.i++
			continue
		}
		key := w.str()
		if bytes.IndexByte(key, '\\') >= 0 { // an escaped key: rare
			var k string
			if json.Unmarshal(w.b[w.i-len(key)-2:w.i], &k) == nil {
				key = []byte(k)
			}
		}
		w.ws()
		w.i++ // :
		w.ws()
		bit := -1
		for n, r := range sh.required {
			if r == string(key) {
				bit = n
				break
			}
		}
		isNull := w.i < len(w.b) && w.b[w.i] == 'n'
		if bit >= 0 {
			seen |= 1 << bit
			if isNull {
				null |= 1 << bit
			}
		}
		name, nested := sh.nestedShape(key)
		if nested == nil || isNull || w.i >= len(w.b) {
			w.skip()
			continue
		}
		w.path = append(w.path, pathElem{key: name, index: -1})
		switch w.b[w.i] {
		case '{':
			w.object(nested)
		case '[':
			w.array(nested)
		default:
			w.skip()
		}
		w.path = w.path[:len(w.path)-1]
	}
	if w.field != "" || w.why != "" {
		return
	}
	for n, r := range sh.required {
		switch {
		case seen&(1<<n) == 0:
			w.fail(r, "is missing")
			return
		case null&(1<<n) != 0:
			w.fail(r, "is null")
			return
		}
	}
}

// array checks each element of the array at w.i against sh.
func (w *shapeWalker) array(sh *shape) {
	w.i++ // [
	for n := 0; w.field == "" && w.why == ""; {
		w.ws()
		if w.i >= len(w.b) {
			return
		}
		switch w.b[w.i] {
		case ']':
			w.i++
			return
		case ',':
			w.i++
			continue
		case '{':
			w.path = append(w.path, pathElem{index: n})
			w.object(sh)
			w.path = w.path[:len(w.path)-1]
		default:
			w.path = append(w.path, pathElem{index: n})
			w.fail("", "is not an object")
			return
		}
		n++
	}
}
