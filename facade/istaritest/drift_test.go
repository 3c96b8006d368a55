package istaritest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// TestWithDrift checks that each field of a Drift changes the jobs of the
// platform's answers, a single job and a page alike, and nothing else.
func TestWithDrift(t *testing.T) {
	srv := istaritest.NewServer(istaritest.WithDrift(istaritest.Drift{
		ExtraField:   "priority",
		OS:           "Plan 9",
		DropField:    "created",
		RenameStatus: map[string]string{"Pending": "Queued"},
	}))
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	// The answer to AddJob drifts too, so the client may not decode it;
	// the job is stored all the same.
	_, _ = c.AddJob(t.Context(), facade.AddJobParams{ModelID: "m1", Function: "@istari:extract",
		OperatingSystem: facade.OSUbuntu2404})

	get := func(path string) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+istaritest.BasePath+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(body, &doc), "%s", body)
		return doc
	}
	page := get("/jobs?size=5")
	items, _ := page["items"].([]any)
	require.Len(t, items, 1)
	assert.EqualValues(t, 1, page["total"], "the page's own fields do not change")
	job := items[0].(map[string]any)
	id, _ := job["id"].(string)
	for _, j := range []map[string]any{job, get("/jobs/" + id)} {
		assert.Equal(t, "drift", j["priority"])
		assert.NotContains(t, j, "created")
		fn := j["function"].(map[string]any)
		assert.Equal(t, []any{map[string]any{"name": "Plan 9"}}, fn["operating_systems"])
		hist := j["status_history"].([]any)
		assert.Equal(t, "Queued", hist[0].(map[string]any)["name"])
	}

	// Errors pass untouched.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+istaritest.BasePath+"/jobs/no-such-job", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.NotContains(t, string(body), "drift")
}
