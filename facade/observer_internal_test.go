package facade

import "testing"

func TestRouteIDs(t *testing.T) {
	for _, tc := range []struct {
		route, path, job, model string
	}{
		{"/jobs/{}", "/jobs/j-1", "j-1", ""},
		{"/jobs/{}/status", "/jobs/j-2/status", "j-2", ""},
		{"/jobs/{}/assigned-agent", "/jobs/j-3/assigned-agent", "j-3", ""},
		{"/models/{}/jobs", "/models/m-1/jobs", "", "m-1"},
		{"/jobs", "/jobs", "", ""},
		{"", "/jobs/j-4", "", ""},     // no route: no ids
		{"/jobs/{}", "/jobs", "", ""}, // shorter than its route
	} {
		job, model := routeIDs(tc.route, tc.path)
		if job != tc.job || model != tc.model {
			t.Errorf("routeIDs(%q, %q) = %q, %q; want %q, %q", tc.route, tc.path, job, model, tc.job, tc.model)
		}
	}
}
