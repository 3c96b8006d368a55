package facade_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// FuzzParseEnums: the enum parsers never panic, accept exactly the known
// values (ignoring case and surrounding space) and return them in their
// canonical form, and refuse anything else with a ValidationError.
func FuzzParseEnums(f *testing.F) {
	for _, v := range facade.JobStatusNameValues() {
		f.Add(string(v))
		f.Add(strings.ToUpper(string(v)))
	}
	for _, v := range facade.OSValues() {
		f.Add(" " + strings.ToLower(string(v)) + "\t")
	}
	for _, v := range facade.ArchiveStatusValues() {
		f.Add(string(v))
	}
	for _, s := range []string{"", " ", "Cancelled", "ubuntu  24.04", "Un\u212Anown", "WINDOW\u017F 10", "\xff\xfe", "active\x00", "RHEL 9 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEnum(t, s, facade.ParseJobStatusName, facade.JobStatusNameValues())
		checkEnum(t, s, facade.ParseOS, facade.OSValues())
		checkEnum(t, s, facade.ParseArchiveStatus, facade.ArchiveStatusValues())
	})
}

func checkEnum[E interface {
	~string
	Valid() bool
	String() string
}](t *testing.T, s string, parse func(string) (E, error), values []E) {
	t.Helper()
	v, err := parse(s)
	if err != nil {
		var ve *facade.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, facade.ErrInvalidInput) {
			t.Fatalf("parse(%q): error %v is not a ValidationError", s, err)
		}
		if v != "" {
			t.Fatalf("parse(%q) = %q with an error", s, v)
		}
		for _, want := range values {
			if !strings.Contains(err.Error(), string(want)) {
				t.Fatalf("parse(%q): the error does not list %q: %v", s, want, err)
			}
		}
		return
	}
	if !v.Valid() {
		t.Fatalf("parse(%q) = %q, not a valid value", s, v)
	}
	if !strings.EqualFold(strings.TrimSpace(s), string(v)) {
		t.Fatalf("parse(%q) = %q, not the same value", s, v)
	}
	// The canonical value, in any case, parses back to itself.
	for _, form := range []string{v.String(), strings.ToUpper(v.String()), strings.ToLower(v.String()), " " + v.String() + "\n"} {
		if back, err := parse(form); err != nil || back != v {
			t.Fatalf("parse(%q) = %q, %v; want %q", form, back, err, v)
		}
	}
}

// serveBytes returns a client whose every request is answered, in memory,
// with status, the Content-Type ctype, the Retry-After retryAfter and body.
// It retries once, without waiting, so that the transport's reading of an
// answer that may be retried is fuzzed too.
func serveBytes(t *testing.T, status int, ctype, retryAfter string, body []byte) *facade.Client {
	t.Helper()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Request: r}, nil
	})
	c, err := facade.NewClient("https://registry.example.com", facade.WithToken("t"),
		facade.WithHTTPClient(&http.Client{Transport: rt}),
		facade.WithRetry(facade.RetryPolicy{MaxAttempts: 2, MaxInterval: time.Nanosecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzStatus maps any int to a status code from 0 to 999.
func fuzzStatus(s int) int { return int(uint(s) % 1000) }

// checkAnswer holds for any answer: a result or an error, never both, never
// neither; a 2xx gives a result or a *DecodeError; anything else gives an
// *APIError with the answer's status and a body within its cap.
func checkAnswer(t *testing.T, status int, resultNil bool, err error) {
	t.Helper()
	switch {
	case resultNil && err == nil:
		t.Fatalf("status %d: neither a result nor an error", status)
	case !resultNil && err != nil:
		t.Fatalf("status %d: both a result and the error %v", status, err)
	case err == nil:
		if status < 200 || status > 299 {
			t.Fatalf("status %d: a result for a non-2xx answer", status)
		}
		return
	}
	_ = err.Error()
	if status >= 200 && status <= 299 {
		var de *facade.DecodeError
		if !errors.As(err, &de) || de.StatusCode != status {
			t.Fatalf("status %d: error %v (%T) is not a *DecodeError with the status", status, err, err)
		}
		return
	}
	var ae *facade.APIError
	if !errors.As(err, &ae) || ae.StatusCode != status {
		t.Fatalf("status %d: error %v (%T) is not an *APIError with the status", status, err, err)
	}
	if len(ae.Body) > 64<<10 {
		t.Fatalf("status %d: APIError.Body holds %d bytes", status, len(ae.Body))
	}
}

func answerSeeds(f *testing.F, ok []byte) {
	f.Add(200, "application/json", "", ok)
	f.Add(201, "application/json; charset=utf-8", "", ok)
	f.Add(200, "application/problem+json", "", ok)
	f.Add(200, "application/json", "", []byte(`{}`))
	f.Add(200, "application/json", "", []byte(``))
	f.Add(200, "application/json", "", ok[:len(ok)/2])
	f.Add(200, "text/html", "", []byte(`<html>ok</html>`))
	f.Add(204, "", "", []byte(nil))
	f.Add(200, "application/json", "", []byte(`{"id": 12}`))
	f.Add(200, "application/json", "", []byte(`null`))
	f.Add(200, "application/json", "", []byte(`[{"id":"j"}]`))
	f.Add(404, "application/json", "", []byte(`{"detail":"Job not found"}`))
	f.Add(422, "application/json", "", []byte(`{"detail":[{"loc":["query","page",0],"msg":"must be >= 1","type":"value_error"}]}`))
	f.Add(422, "application/json", "", []byte(`{"detail":[{"loc":[{"x":1}],"msg":7}]}`))
	f.Add(429, "application/json", "7", []byte(`{"detail":"slow down"}`))
	f.Add(503, "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`<html>down</html>`))
	f.Add(503, "", "-1", []byte(nil))
	f.Add(502, "application/json", "99999999999999999999", []byte(`{"detail":null}`))
	f.Add(0, "", "", []byte(`x`))
	f.Add(999, "application/json", "", ok)
	f.Add(307, "application/json", "", ok)
	f.Add(-5, "", "", []byte(nil))
}

// FuzzGetJobAnswer serves any bytes, with any status, content type and
// Retry-After, to GetJob.
func FuzzGetJobAnswer(f *testing.F) {
	ok, err := json.Marshal(sampleJob("job-1", gen.JobStatusNamePending, gen.JobStatusNameRunning))
	if err != nil {
		f.Fatal(err)
	}
	answerSeeds(f, ok)
	f.Fuzz(func(t *testing.T, s int, ctype, retryAfter string, body []byte) {
		status := fuzzStatus(s)
		c := serveBytes(t, status, ctype, retryAfter, body)
		job, err := c.GetJob(context.Background(), "job-1")
		checkAnswer(t, status, job == nil, err)
		if err == nil && job.ID == "" {
			t.Fatalf("status %d: a job without an id", status)
		}
		if err == nil {
			_ = job.Status()
			_ = job.Archived()
			_, _ = job.LastStatus()
		}
	})
}

// FuzzListJobsAnswer serves any bytes, with any status, content type and
// Retry-After, to ListJobs.
func FuzzListJobsAnswer(f *testing.F) {
	job := sampleJob("job-1", gen.JobStatusNameCompleted)
	ok, err := json.Marshal(gen.PageJob{Items: []gen.Job{job, job}, Total: 2, Page: 1, Size: 10, Pages: 1})
	if err != nil {
		f.Fatal(err)
	}
	answerSeeds(f, ok)
	f.Add(200, "application/json", "", []byte(`{"items":[{"id":""}],"total":1,"page":1,"size":1,"pages":1}`))
	f.Add(200, "application/json", "", []byte(`{"items":null,"total":-1,"page":0,"size":0,"pages":0}`))
	f.Fuzz(func(t *testing.T, s int, ctype, retryAfter string, body []byte) {
		status := fuzzStatus(s)
		c := serveBytes(t, status, ctype, retryAfter, body)
		page, err := c.ListJobs(context.Background(), facade.ListJobsParams{})
		checkAnswer(t, status, page == nil, err)
		if err != nil {
			return
		}
		for i, j := range page.Items {
			if j == nil || j.ID == "" {
				t.Fatalf("item %d has no id", i)
			}
		}
		_ = page.HasNextPage()
	})
}

// FuzzReadJSON: on any bytes, the facade's decoder gives what encoding/json
// into the generated types, the shape walk and the conversion give, or
// leaves the answer to them (facade.DecodersAgree).
func FuzzReadJSON(f *testing.F) {
	job, err := json.Marshal(sampleJob("job-1", gen.JobStatusNamePending, gen.JobStatusNameRunning))
	if err != nil {
		f.Fatal(err)
	}
	page, err := json.Marshal(gen.PageJob{Items: []gen.Job{sampleJob("job-1"), sampleJob("job-2", gen.JobStatusNameFailed)}, Total: 2, Page: 1, Size: 10, Pages: 1})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{job, page, []byte(`{}`), []byte(`null`), []byte(`{"items":[],"total":0,"page":1,"size":10,"pages":0}`),
		bytes.Replace(job, []byte(`"id":"job-1"`), []byte(`"ID":"job-1"`), 1),
		bytes.Replace(job, []byte(`"job-1"`), []byte(`"job-\u0031"`), 1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := facade.DecodersAgree(data); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParametersFile: a parameters file is sent byte for byte when it is
// valid JSON, and refused before anything is sent when it is not.
func FuzzParametersFile(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"format":"step","tolerance":0.001}`, `[1,2,3]`, `"s"`, `0`, `-0.5e+10`, `true`, `null`,
		"  {\"a\" : [ ] }\n", `{"a":"\u00e9\ud83d\ude00"}`, "{\"a\":\"\xff\"}", "\xef\xbb\xbf{}",
		``, ` `, `{`, `{"a":1,}`, `[1,]`, `01`, `1.`, `{"a" 1}`, `{} {}`, `nul`, `"\x01"`, `{"a":"\q"}`,
		strings.Repeat("[", 600) + strings.Repeat("]", 600),
	} {
		f.Add([]byte(s))
	}
	answer, err := json.Marshal(sampleJob("job-1", gen.JobStatusNamePending))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "params.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var sent atomic.Int32
		var filePart []byte
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			part, err := readFilePart(r)
			if err != nil {
				return nil, err
			}
			filePart = part
			return &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(answer)), ContentLength: int64(len(answer)), Request: r}, nil
		})
		c, err := facade.NewClient("https://registry.example.com", facade.WithToken("t"),
			facade.WithHTTPClient(&http.Client{Transport: rt}), facade.WithRetry(facade.NoRetry()))
		if err != nil {
			t.Fatal(err)
		}
		job, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "@istari:extract", ParametersFile: path})
		var ve *facade.ValidationError
		if !json.Valid(data) {
			if !errors.As(err, &ve) || job != nil {
				t.Fatalf("invalid JSON %q: got job %v, error %v; want a ValidationError", data, job, err)
			}
			if sent.Load() != 0 {
				t.Fatalf("invalid JSON %q was sent", data)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid JSON %q refused: %v", data, err)
		}
		if sent.Load() != 1 {
			t.Fatalf("sent %d times", sent.Load())
		}
		if !bytes.Equal(filePart, data) {
			t.Fatalf("the file part is %q, want %q", filePart, data)
		}
	})
}
