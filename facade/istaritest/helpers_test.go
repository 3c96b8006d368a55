package istaritest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/spec"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkResponses is a middleware that validates every response against the
// contract and fails t on any that does not conform. Responses to requests
// that match no operation must still be {"detail": string}.
func checkResponses(t *testing.T, v *spec.Validator, checked *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// ValidateRequest reads and restores the body; a request that
			// fails validation still yields the input a response check needs.
			in, _ := v.ValidateRequest(r)
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			res := rec.Result()
			body := rec.Body.Bytes()
			if in != nil {
				if err := v.ValidateResponse(context.Background(), in, res.StatusCode, res.Header, body); err != nil {
					t.Errorf("response to %s %s does not conform to the contract: %v\nstatus %d body %s",
						r.Method, r.URL, err, res.StatusCode, body)
				}
			} else {
				var e gen.HTTPError
				if err := json.Unmarshal(body, &e); err != nil || e.Detail == "" {
					t.Errorf("response to %s %s (no operation) is not {detail}: %s", r.Method, r.URL, body)
				}
				assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
			}
			checked.Add(1)
			maps := w.Header()
			for k, vs := range res.Header {
				maps[k] = vs
			}
			w.WriteHeader(res.StatusCode)
			_, _ = w.Write(body)
		})
	}
}

// testServer is a Server whose every response is checked against the
// contract.
type testServer struct {
	*Server
	t       *testing.T
	checked *atomic.Int64
}

func newServer(t *testing.T, opts ...ServerOption) *testServer {
	t.Helper()
	v, err := spec.NewValidator()
	require.NoError(t, err)
	checked := &atomic.Int64{}
	srv := NewServer(append(opts, withMiddleware(checkResponses(t, v, checked)))...)
	ts := &testServer{Server: srv, t: t, checked: checked}
	t.Cleanup(func() {
		srv.Close()
		// Every response went through the check.
		assert.Equal(t, int64(srv.Requests().Total), checked.Load(), "responses checked")
	})
	return ts
}

// response is one answer, read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) job(t *testing.T) gen.Job {
	t.Helper()
	var j gen.Job
	require.NoError(t, json.Unmarshal(r.body, &j), "body %s", r.body)
	return j
}

func (r response) page(t *testing.T) gen.PageJob {
	t.Helper()
	var p gen.PageJob
	require.NoError(t, json.Unmarshal(r.body, &p), "body %s", r.body)
	return p
}

func (r response) detail(t *testing.T) string {
	t.Helper()
	var e gen.HTTPError
	require.NoError(t, json.Unmarshal(r.body, &e), "body %s", r.body)
	return e.Detail
}

// locs returns the loc of every item of a 422 answer, joined by dots.
func (r response) locs(t *testing.T) []string {
	t.Helper()
	var e struct {
		Detail []struct {
			Loc  []any  `json:"loc"`
			Msg  string `json:"msg"`
			Type string `json:"type"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(r.body, &e), "body %s", r.body)
	var out []string
	for _, d := range e.Detail {
		s := ""
		for i, l := range d.Loc {
			if i > 0 {
				s += "."
			}
			s += fmt.Sprint(l)
		}
		out = append(out, s)
		assert.NotEmpty(t, d.Msg)
	}
	return out
}

// req is one request to send.
type req struct {
	method string
	path   string // after /api/v2
	token  string // "-" for none
	auth   string // a raw Authorization header, instead of token
	ctype  string
	body   []byte
}

func (s *testServer) do(ctx context.Context, rq req) (response, error) {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	r, err := http.NewRequestWithContext(ctx, rq.method, s.URL+BasePath+rq.path, body)
	if err != nil {
		return response{}, err
	}
	if rq.ctype != "" {
		r.Header.Set("Content-Type", rq.ctype)
	}
	switch {
	case rq.auth != "":
		r.Header.Set("Authorization", rq.auth)
	case rq.token == "-":
	case rq.token == "":
		r.Header.Set("Authorization", "Bearer "+s.Token)
	default:
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return response{}, err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

func (s *testServer) send(rq req) response {
	s.t.Helper()
	res, err := s.do(context.Background(), rq)
	require.NoError(s.t, err)
	return res
}

func get(path string) req { return req{method: http.MethodGet, path: path} }

func jsonReq(method, path string, v any) req {
	b, _ := json.Marshal(v)
	return req{method: method, path: path, ctype: "application/json", body: b}
}

func (r req) as(token string) req { r.token = token; return r }

// part is one part of a multipart form.
type part struct {
	name, fileName, ctype, value string
}

func fields(kv ...string) []part {
	var out []part
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, part{name: kv[i], value: kv[i+1]})
	}
	return out
}

func file(name, ctype, content string) part {
	return part{name: "file", fileName: name, ctype: ctype, value: content}
}

func source(revisionID, rel string) part {
	s := gen.NewSource{RevisionID: revisionID}
	if rel != "" {
		s.RelationshipIdentifier = &rel
	}
	b, _ := json.Marshal(s)
	return part{name: "sources", ctype: "application/json", value: string(b)}
}

func formReq(method, path string, parts ...part) req {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.fileName != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.fileName))
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write([]byte(p.value))
	}
	_ = w.Close()
	return req{method: method, path: path, ctype: w.FormDataContentType(), body: buf.Bytes()}
}

// addJob sends a minimal valid addJob and returns the job.
func (s *testServer) addJob(model string, extra ...part) gen.Job {
	s.t.Helper()
	return s.addJobAs("", model, extra...)
}

func (s *testServer) addJobAs(token, model string, extra ...part) gen.Job {
	s.t.Helper()
	parts := append([]part{file("params.json", "application/json", `{"k":1}`), {name: "function", value: "@istari:extract"}}, extra...)
	res := s.send(formReq(http.MethodPost, "/models/"+model+"/jobs", parts...).as(token))
	require.Equal(s.t, http.StatusCreated, res.status, "body %s", res.body)
	return res.job(s.t)
}

// status returns the current status of a job decoded from an answer (a
// gen.Job) or returned by the platform's accessors (a *facade.Job).
func status[J gen.Job | *facade.Job](j J) gen.JobStatusName {
	switch v := any(j).(type) {
	case gen.Job:
		if v.StatusHistory == nil || len(*v.StatusHistory) == 0 {
			return ""
		}
		return (*v.StatusHistory)[len(*v.StatusHistory)-1].Name
	case *facade.Job:
		return gen.JobStatusName(v.Status())
	}
	return ""
}

// archived reports whether a job, of either kind, is archived.
func archived[J gen.Job | *facade.Job](j J) bool {
	switch v := any(j).(type) {
	case gen.Job:
		n := len(v.ArchiveStatusHistory)
		return n > 0 && v.ArchiveStatusHistory[n-1].Name == gen.ArchiveStatusNameArchived
	case *facade.Job:
		return v.Archived()
	}
	return false
}

func ids(jobs []gen.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func ptr[T any](v T) *T { return &v }

// errorCase is a request that must fail with status. A 422 must name loc
// among its items' locs (any loc when loc is empty); any other error must
// carry a detail.
type errorCase struct {
	name   string
	req    req
	status int
	loc    string
}

// expectErrors sends each case as a subtest and checks its answer.
func (s *testServer) expectErrors(t *testing.T, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := s.send(tc.req)
			require.Equal(t, tc.status, res.status, "body %s", res.body)
			switch {
			case tc.status != http.StatusUnprocessableEntity:
				assert.NotEmpty(t, res.detail(t))
			case tc.loc != "":
				assert.Contains(t, res.locs(t), tc.loc)
			default:
				assert.NotEmpty(t, res.locs(t))
			}
		})
	}
}

// wires returns the generated values of the platform's jobs, as a client
// that decodes its answers into gen.Job sees them.
func wires(jobs []*facade.Job) []gen.Job {
	out := make([]gen.Job, len(jobs))
	for i, j := range jobs {
		out[i] = *j.Wire()
	}
	return out
}
