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
