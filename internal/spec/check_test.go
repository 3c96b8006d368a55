package spec

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkJob is a job as the spec describes it, with one placeholder per
// test to change.
const checkJob = `{
  "archive_status_history": [{"created": "2026-03-14T15:09:26Z", "id": "a1", "name": "Active"}],
  "comments": [],
  "created": %s,
  "created_by_id": "u",
  "file": {"archive_status_history": [], "created": "2026-03-14T15:09:26Z", "id": "f1",
    "revisions": [{"created": "2026-03-14T15:09:26Z", "id": "r1", "name": "parameters", "size": 15}]},
  "function": {"name": "@istari:extract", "operating_systems": [{"name": %s}]},
  "id": "j1",
  "model_id": "m1",
  "status_history": [{"created": "2026-03-14T15:09:26Z", "id": "s1", "job_id": "j1", "name": %s}]%s
}`

func TestCheckResponse(t *testing.T) {
	v, err := NewValidator()
	require.NoError(t, err)
	job := func(created, os, status, extra string) string {
		return sprintf(checkJob, created, os, status, extra)
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   []Finding // paths and kinds only
	}{
		{"clean", 200, job(`"2026-03-14T15:09:26Z"`, `"Ubuntu 24.04"`, `"Pending"`, ""), nil},
		{"unknown field", 200, job(`"2026-03-14T15:09:26Z"`, `"Ubuntu 24.04"`, `"Pending"`, `, "priority": 3`),
			[]Finding{{Path: "$.priority", Kind: KindUnknownField}}},
		{"unknown os", 200, job(`"2026-03-14T15:09:26Z"`, `"Plan 9"`, `"Pending"`, ""),
			[]Finding{{Path: "$.function.operating_systems[0].name", Kind: KindEnum}}},
		{"renamed status", 200, job(`"2026-03-14T15:09:26Z"`, `"Ubuntu 24.04"`, `"Queued"`, ""),
			[]Finding{{Path: "$.status_history[0].name", Kind: KindEnum}}},
		{"type", 200, job(`12`, `"Ubuntu 24.04"`, `"Pending"`, ""),
			[]Finding{{Path: "$.created", Kind: KindType}}},
		{"unexpected status", 418, `{"detail": "teapot"}`, []Finding{{Kind: KindStatus}}},
		{"unexpected status, body off the spec", 418, `{"detail": 7}`, []Finding{{Kind: KindStatus}, {Path: "$.detail", Kind: KindType}}},
		{"missing field", 200, strings.Replace(job(`"x"`, `"Ubuntu 24.04"`, `"Pending"`, ""), `"created": "x",`, "", 1),
			[]Finding{{Path: "$.created", Kind: KindMissingField}}},
		{"not JSON", 200, `<html>`, []Finding{{Path: "$", Kind: KindSchema}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://h/api/v2/jobs/j1", nil)
			h := http.Header{"Content-Type": {"application/json"}}
			res := v.CheckResponse(t.Context(), req, tt.status, h, []byte(tt.body))
			assert.Equal(t, "getJob", res.OperationID)
			var got []Finding
			for _, f := range res.Findings {
				assert.NotEmpty(t, f.Message)
				got = append(got, Finding{Path: f.Path, Kind: f.Kind})
			}
			assert.Equal(t, tt.want, got, "%v", res.Findings)
		})
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestCheckResponseBounded checks that what CheckResponse keeps is bounded
// whatever the answer holds: a page of many empty jobs, an object of many
// unknown fields, a deep nesting, while a long but clean history is
// validated whole.
func TestCheckResponseBounded(t *testing.T) {
	v, err := NewValidator()
	require.NoError(t, err)
	h := http.Header{"Content-Type": {"application/json"}}
	list := httptest.NewRequest(http.MethodGet, "http://h/api/v2/jobs", nil)
	get := httptest.NewRequest(http.MethodGet, "http://h/api/v2/jobs/j1", nil)
	total := func(res CheckResult) int {
		n := len(res.Findings)
		for _, c := range res.Omitted {
			n += c
		}
		return n
	}

	const items = 100_000
	page := `{"total": 1, "page": 1, "size": 1, "pages": 1, "items": [{}` + strings.Repeat(`,{}`, items-1) + `]}`
	res := v.CheckResponse(t.Context(), list, 200, h, []byte(page))
	assert.Len(t, res.Findings, MaxFindings)
	assert.Equal(t, items-MaxElements, res.Skipped)
	assert.Equal(t, 7*MaxElements, total(res), "the seven required fields of each job validated")
	assert.Equal(t, map[string]int{KindMissingField: 7*MaxElements - MaxFindings}, res.Omitted)

	var b strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&b, `, "x%d": {}`, i)
	}
	res = v.CheckResponse(t.Context(), get, 200, h, []byte(sprintf(checkJob, `"2026-03-14T15:09:26Z"`, `"Ubuntu 24.04"`, `"Pending"`, b.String())))
	assert.Len(t, res.Findings, MaxFindings)
	assert.Equal(t, 50_000-MaxFindings, res.Omitted[KindUnknownField])

	deep := strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)
	res = v.CheckResponse(t.Context(), get, 200, h, []byte(deep))
	require.Len(t, res.Findings, 1)
	assert.Contains(t, res.Findings[0].Message, "nested deeper than")

	var hist strings.Builder
	for i := range 500 {
		if i > 0 {
			hist.WriteString(",")
		}
		fmt.Fprintf(&hist, `{"created": "2026-03-14T15:09:26Z", "id": "s%d", "job_id": "j1", "name": "Running"}`, i)
	}
	job := strings.Replace(sprintf(checkJob, `"2026-03-14T15:09:26Z"`, `"Ubuntu 24.04"`, `"Pending"`, ""),
		`"status_history": [`, `"status_history": [`+hist.String()+",", 1)
	res = v.CheckResponse(t.Context(), get, 200, h, []byte(job))
	assert.Empty(t, res.Findings)
	assert.Zero(t, res.Skipped)
	assert.Nil(t, res.Omitted)
}
