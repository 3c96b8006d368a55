package istaritest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Drift describes how the platform's answers differ from the contract, to
// rehearse a real platform that does not match api/openapi.yaml: the
// tests of a tool such as "istari-jobs check" use it to see each
// difference reported. It changes every job in a successful JSON answer
// (a job, or each item of a page) after the platform built it; requests
// are still checked against the contract, and the stored jobs do not
// change. A zero field changes nothing.
type Drift struct {
	// ExtraField adds a field of this name, which the contract does not
	// describe, to every job, with the value "drift".
	ExtraField string
	// OS replaces the name of every operating system in a job's function
	// with this value, and gives a function that lists none this one.
	OS string
	// DropField removes this field from every job, such as "created" (one
	// the contract requires).
	DropField string
	// RenameStatus renames status names in every job's status history:
	// {"Pending": "Queued"} sends Queued where the platform holds Pending.
	RenameStatus map[string]string
}

// WithDrift makes the platform's answers differ from the contract as d
// says. It is meant for tests of tools that compare a platform with the
// contract; a facade.Client may fail to decode what it sends.
func WithDrift(d Drift) ServerOption {
	return func(c *config) {
		prev := c.wrap
		c.wrap = func(h http.Handler) http.Handler {
			if prev != nil {
				h = prev(h)
			}
			return &drifter{d: d, next: h}
		}
	}
}

// drifter applies a Drift to the answers of next.
type drifter struct {
	d    Drift
	next http.Handler
}

func (dr *drifter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recordedResponse{header: http.Header{}}
	dr.next.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 300 && strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") {
		if changed, ok := dr.apply(body); ok {
			body = changed
			rec.header.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// apply changes the jobs of a JSON answer. It reports false when the body
// is not a job or a page of jobs.
func (dr *drifter) apply(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	if items, ok := doc["items"].([]any); ok {
		for _, it := range items {
			if job, ok := it.(map[string]any); ok {
				dr.job(job)
			}
		}
	} else if _, ok := doc["status_history"]; ok {
		dr.job(doc)
	} else {
		return nil, false
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, false
	}
	return out, true
}

// job changes one job.
func (dr *drifter) job(job map[string]any) {
	if dr.d.ExtraField != "" {
		job[dr.d.ExtraField] = "drift"
	}
	if dr.d.DropField != "" {
		delete(job, dr.d.DropField)
	}
	if dr.d.OS != "" {
		if fn, ok := job["function"].(map[string]any); ok {
			oss, _ := fn["operating_systems"].([]any)
			for _, o := range oss {
				if m, ok := o.(map[string]any); ok {
					m["name"] = dr.d.OS
				}
			}
			if len(oss) == 0 {
				fn["operating_systems"] = []any{map[string]any{"name": dr.d.OS}}
			}
		}
	}
	if len(dr.d.RenameStatus) > 0 {
		hist, _ := job["status_history"].([]any)
		for _, h := range hist {
			if m, ok := h.(map[string]any); ok {
				if name, ok := m["name"].(string); ok {
					if to, ok := dr.d.RenameStatus[name]; ok {
						m["name"] = to
					}
				}
			}
		}
	}
}

// recordedResponse is an http.ResponseWriter that keeps the answer.
type recordedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recordedResponse) Header() http.Header { return r.header }

func (r *recordedResponse) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recordedResponse) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
