package facade_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// TestLargeUploadStreams uploads a 64 MiB parameters file and checks that
// the heap never held it: memory allocated during the call stays far below
// the file's size.
func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 64 MiB")
	}
	const size = 64 << 20
	path := facade.WriteParametersFile(t, size)
	st, err := os.Stat(path)
	require.NoError(t, err)

	var received int64
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {})
	// Replace the recorder's handler chain: this server must not buffer.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			n, _ := io.Copy(io.Discard, p)
			if p.FormName() == "file" {
				received = n
			}
		}
		writeJSON(w, 201, sampleJob("big"))
	})
	c, err := facade.NewClient(srv.URL, facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	job, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path})
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, "big", job.ID)
	assert.Equal(t, st.Size(), received, "the whole file arrived")
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("uploaded %d MiB; allocated %.2f MiB during the call (client and server)", st.Size()>>20, float64(allocated)/(1<<20))
	assert.Less(t, allocated, uint64(8<<20), "the upload must stream, not buffer")
}

func TestUploadProgress(t *testing.T) {
	srv := jobServer(t)
	// No contract transport here: it reads the body once more through
	// GetBody to validate it, which would report progress twice.
	c, err := facade.NewClient(srv.baseURL(), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	path := writeFile(t, "p.json", `{"a":[`+strings.Repeat("1,", 50000)+`1]}`)
	var calls int
	var last, total int64
	_, err = c.AddJob(context.Background(), facade.AddJobParams{ModelID: "m", Function: "f", ParametersFile: path},
		facade.WithUploadProgress(func(sent, tot int64) {
			calls++
			assert.GreaterOrEqual(t, sent, last, "progress only grows")
			last, total = sent, tot
		}))
	require.NoError(t, err)
	got := srv.requests()[srv.count()-1]
	assert.Positive(t, calls)
	assert.EqualValues(t, len(got.Body), total, "total is the body's size")
	assert.Equal(t, total, last, "the whole body was reported")
}

func TestJobPageMarshalsToWireForm(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	page, err := c.ListJobs(context.Background(), facade.ListJobsParams{})
	require.NoError(t, err)
	b, err := json.Marshal(page)
	require.NoError(t, err)
	var wire gen.PageJob
	require.NoError(t, json.Unmarshal(b, &wire))
	assert.Equal(t, 1, wire.Total)
	require.Len(t, wire.Items, 1)
	assert.Equal(t, "job-1", wire.Items[0].ID)
	assert.Contains(t, string(b), `"items":[`)
}
