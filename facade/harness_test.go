package facade_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/spec"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// mountPrefix is where the test servers mount the API, so that a client
// that builds absolute URLs (and so drops the prefix) is caught.
const mountPrefix = "/tenant/eu"

// recorded is one request as the server received it.
type recorded struct {
	Method, Path, RawPath, Query, ContentType string
	Header                                    http.Header
	Body                                      []byte
}

// recorder is an httptest server that records every request and answers
// with handle.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newRecorder(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *recorder {
	t.Helper()
	rec := &recorder{handle: handle}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{
			Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(), Body: body,
		})
		rec.mu.Unlock()
		rec.handle(w, r, body)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// baseURL is the URL to hand to NewClient: the server under mountPrefix.
func (r *recorder) baseURL() string { return r.URL + mountPrefix }

// contractTransport validates every request it sends, and every response it
// receives, against api/openapi.yaml.
type contractTransport struct {
	t    *testing.T
	v    *spec.Validator
	next http.RoundTripper
	mu   sync.Mutex
	errs []string
	// quiet records violations without failing the test, for tests of the
	// contract transport itself.
	quiet bool
}

func newContractTransport(t *testing.T) *contractTransport {
	t.Helper()
	v, err := spec.NewValidator()
	require.NoError(t, err)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &contractTransport{t: t, v: v, next: tr}
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Validate a copy, so that the request sent is the one the SDK built.
	var body []byte
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		body, _ = io.ReadAll(rc)
		_ = rc.Close()
	} else if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	vr := req.Clone(req.Context())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	in, err := c.v.ValidateRequest(vr)
	if err != nil {
		c.fail("request %s %s breaks the contract: %v", req.Method, req.URL, err)
	}
	resp, rerr := c.next.RoundTrip(req)
	if rerr != nil || in == nil || err != nil {
		return resp, rerr
	}
	rb, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	if verr := c.v.ValidateResponse(req.Context(), in, resp.StatusCode, resp.Header, rb); verr != nil {
		c.fail("response %d to %s %s breaks the contract: %v", resp.StatusCode, req.Method, req.URL, verr)
	}
	return resp, nil
}

func (c *contractTransport) violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

func (c *contractTransport) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	c.errs = append(c.errs, msg)
	if !c.quiet {
		c.t.Error(msg)
	}
}

// newClient returns a client for rec that validates all its traffic against
// the contract and does not retry unless opts say so.
func newClient(t *testing.T, baseURL string, opts ...facade.Option) (*facade.Client, *contractTransport) {
	t.Helper()
	ct := newContractTransport(t)
	all := append([]facade.Option{
		facade.WithToken("secret-token-value"),
		facade.WithHTTPClient(&http.Client{Transport: ct}),
		facade.WithRetry(facade.NoRetry()),
	}, opts...)
	c, err := facade.NewClient(baseURL, all...)
	require.NoError(t, err)
	return c, ct
}

var fixedTime = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// sampleJob is a complete job as the platform would send it.
func sampleJob(id string, statuses ...gen.JobStatusName) gen.Job {
	hist := []gen.JobStatus{}
	for i, s := range statuses {
		hist = append(hist, gen.JobStatus{
			ID: fmt.Sprintf("%s-s%d", id, i), Created: fixedTime.Add(time.Duration(i) * time.Second),
			JobID: id, Name: s, AgentID: ptr("agent-1"), Message: ptr("step"),
		})
	}
	return gen.Job{
		ID:          id,
		Created:     fixedTime,
		CreatedByID: "user-1",
		ModelID:     ptr("model-1"),
		Comments:    []gen.Comment{},
		ArchiveStatusHistory: []gen.ResourceArchiveStatus{
			{ID: id + "-a0", Created: fixedTime, Name: gen.ArchiveStatusNameActive},
		},
		File: gen.File{
			ID: id + "-f", Created: fixedTime, ArchiveStatusHistory: []gen.ResourceArchiveStatus{},
			Revisions: []gen.FileRevision{{ID: id + "-r0", Created: fixedTime, Name: "parameters", Extension: ptr("json"), Size: 2, Mime: ptr("application/json")}},
		},
		Function: gen.FunctionVersion{
			Name: "@istari:extract", ToolName: ptr("ansys"),
			ToolVersions:     &[]gen.ToolVersion{{ToolVersion: "2024"}},
			OperatingSystems: &[]gen.OperatingSystem{{Name: gen.OSUbuntu2404}},
		},
		StatusHistory: &hist,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jobServer answers every request with the sample job (201 for a POST) or,
// for a list, with a page holding it. The job is job-1, or the job the
// request's path names.
func jobServer(t *testing.T) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		job := sampleJob(jobIDOf(r, "job-1"), gen.JobStatusNamePending)
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/jobs"):
			writeJSON(w, 200, gen.PageJob{Items: []gen.Job{job}, Total: 1, Page: 1, Size: 10, Pages: 1})
		case r.Method == http.MethodPost:
			writeJSON(w, 201, job)
		default:
			writeJSON(w, 200, job)
		}
	})
}

// jobIDOf returns the job id in r's path (the segment after "/jobs/"), or
// def when the path names none.
func jobIDOf(r *http.Request, def string) string {
	_, rest, ok := strings.Cut(r.URL.EscapedPath(), "/jobs/")
	if !ok {
		return def
	}
	seg, _, _ := strings.Cut(rest, "/")
	id, err := url.PathUnescape(seg)
	if err != nil || id == "" {
		return def
	}
	return id
}

func itoa(n int) string { return fmt.Sprint(n) }

// withPrefetch is WithPrefetch for a table that counts pages ahead: 0
// there means none, which the option spells NoPrefetch.
func withPrefetch(pages int) facade.Option {
	if pages == 0 {
		return facade.WithPrefetch(facade.NoPrefetch)
	}
	return facade.WithPrefetch(pages)
}
