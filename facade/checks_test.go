package facade_test

import (
	"context"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// TestInputChecks runs every client-side check and asserts that it fails
// with a ValidationError naming the field, and that the server saw nothing.
func TestInputChecks(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, "p.json", `{"a":1}`)
	bad := writeFile(t, "bad.json", "{\n  \"a\": 1,\n  \"b\": }\n")
	empty := writeFile(t, "empty.json", "")
	unreadable := writeFile(t, "secret.json", `{}`)
	require.NoError(t, os.Chmod(unreadable, 0))
	canChmod := func() bool {
		f, err := os.Open(unreadable)
		if err == nil {
			_ = f.Close()
		}
		return err != nil
	}()
	add := func(p facade.AddJobParams) func(context.Context, *facade.Client) error {
		if p.ModelID == "" {
			p.ModelID = "m"
		}
		if p.Function == "" {
			p.Function = "f"
		}
		return func(ctx context.Context, c *facade.Client) error { _, err := c.AddJob(ctx, p); return err }
	}
	cases := []struct {
		name  string
		call  func(context.Context, *facade.Client) error
		field string
		// want are phrases the message must hold.
		want []string
		skip bool
	}{
		{"AddJob empty model", func(ctx context.Context, c *facade.Client) error {
			_, err := c.AddJob(ctx, facade.AddJobParams{Function: "f"})
			return err
		}, "AddJobParams.ModelID", []string{"must not be empty"}, false},
		{"AddJob dot-dot model", add(facade.AddJobParams{ModelID: ".."}), "AddJobParams.ModelID", nil, false},
		{"AddJob empty function", func(ctx context.Context, c *facade.Client) error {
			_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "  "})
			return err
		}, "AddJobParams.Function", nil, false},
		{"AddJob bad OS", add(facade.AddJobParams{OperatingSystem: "Windows 12"}), "AddJobParams.OperatingSystem", []string{`"Windows 12"`, `"Ubuntu 24.04"`, `"macOS 15"`}, false},
		{"AddJob both parameters", add(facade.AddJobParams{Parameters: map[string]int{"a": 1}, ParametersFile: good}), "AddJobParams.Parameters", []string{"not both"}, false},
		{"AddJob channel parameters", add(facade.AddJobParams{Parameters: make(chan int)}), "AddJobParams.Parameters", []string{"JSON"}, false},
		{"AddJob NaN parameters", add(facade.AddJobParams{Parameters: math.NaN()}), "AddJobParams.Parameters", []string{"JSON"}, false},
		{"AddJob missing file", add(facade.AddJobParams{ParametersFile: filepath.Join(dir, "nope.json")}), "AddJobParams.ParametersFile", []string{"nope.json", "does not exist"}, false},
		{"AddJob directory", add(facade.AddJobParams{ParametersFile: dir}), "AddJobParams.ParametersFile", []string{"directory"}, false},
		{"AddJob unreadable file", add(facade.AddJobParams{ParametersFile: unreadable}), "AddJobParams.ParametersFile", []string{"secret.json", "cannot be read"}, !canChmod},
		// Root reads any file, but reading /proc/self/mem at offset 0 fails
		// for everyone: the read error of the JSON check, as CI sees it.
		{"AddJob file whose read fails", add(facade.AddJobParams{ParametersFile: "/proc/self/mem"}), "AddJobParams.ParametersFile", []string{"/proc/self/mem", "cannot be read"}, !isRegular("/proc/self/mem")},
		{"AddJob device", add(facade.AddJobParams{ParametersFile: os.DevNull}), "AddJobParams.ParametersFile", []string{"not a regular file"}, false},
		{"UpdateJob device", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJob(ctx, "j", facade.UpdateJobParams{Path: os.DevNull})
			return err
		}, "UpdateJobParams.Path", []string{"not a regular file"}, false},
		{"AddJob malformed JSON", add(facade.AddJobParams{ParametersFile: bad}), "AddJobParams.ParametersFile", []string{"bad.json", "not valid JSON", "line 3, column 8"}, false},
		{"AddJob empty file", add(facade.AddJobParams{ParametersFile: empty}), "AddJobParams.ParametersFile", []string{"not valid JSON"}, false},
		{"AddJob empty source", add(facade.AddJobParams{Sources: []facade.NewSource{{RevisionID: "r"}, {}}}), "AddJobParams.Sources[1].RevisionID", nil, false},
		{"GetJob empty id", func(ctx context.Context, c *facade.Client) error { _, err := c.GetJob(ctx, ""); return err }, "jobID", nil, false},
		{"GetJob dot id", func(ctx context.Context, c *facade.Client) error { _, err := c.GetJob(ctx, "."); return err }, "jobID", nil, false},
		{"UpdateJob empty id", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJob(ctx, "", facade.UpdateJobParams{Path: good})
			return err
		}, "jobID", nil, false},
		{"UpdateJob no path", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJob(ctx, "j", facade.UpdateJobParams{})
			return err
		}, "UpdateJobParams.Path", nil, false},
		{"UpdateJob directory", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJob(ctx, "j", facade.UpdateJobParams{Path: dir})
			return err
		}, "UpdateJobParams.Path", []string{"directory"}, false},
		{"ListJobs lower-case status", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListJobs(ctx, facade.ListJobsParams{Status: "running"})
			return err
		}, "ListJobsParams.Status", []string{`"Running"`, `"Canceled"`}, false},
		{"ListJobs bad archive status", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListJobs(ctx, facade.ListJobsParams{ArchiveStatus: "Active"})
			return err
		}, "ListJobsParams.ArchiveStatus", []string{`"active", "archived", "all"`}, false},
		{"ListJobs negative page", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListJobs(ctx, facade.ListJobsParams{Page: -1})
			return err
		}, "ListJobsParams.Page", nil, false},
		{"ListJobs size 101", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListJobs(ctx, facade.ListJobsParams{Size: 101})
			return err
		}, "ListJobsParams.Size", []string{"0 to 100"}, false},
		{"ListJobs negative size", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListJobs(ctx, facade.ListJobsParams{Size: -5})
			return err
		}, "ListJobsParams.Size", nil, false},
		{"ListJobs CountOnly with size", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListJobs(ctx, facade.ListJobsParams{CountOnly: true, Size: 5})
			return err
		}, "ListJobsParams.CountOnly", nil, false},
		{"ListModelJobs empty model", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListModelJobs(ctx, "", facade.ListModelJobsParams{})
			return err
		}, "modelID", nil, false},
		{"ListModelJobs size 101", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ListModelJobs(ctx, "m", facade.ListModelJobsParams{Size: 101})
			return err
		}, "ListModelJobsParams.Size", nil, false},
		{"UpdateJobStatus no status", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJobStatus(ctx, "j", facade.UpdateJobStatusParams{})
			return err
		}, "UpdateJobStatusParams.Status", []string{`"Completed"`}, false},
		{"UpdateJobStatus bad status", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJobStatus(ctx, "j", facade.UpdateJobStatusParams{Status: "Cancelled"})
			return err
		}, "UpdateJobStatusParams.Status", []string{`"Cancelled"`, `"Canceled"`}, false},
		{"UpdateJobAssignedAgent neither", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJobAssignedAgent(ctx, "j", facade.AssignedAgent{})
			return err
		}, "AssignedAgent", []string{"exactly one"}, false},
		{"UpdateJobAssignedAgent both", func(ctx context.Context, c *facade.Client) error {
			_, err := c.UpdateJobAssignedAgent(ctx, "j", facade.AssignedAgent{AgentID: "a", AgentPoolID: "p"})
			return err
		}, "AssignedAgent", []string{"exactly one"}, false},
		{"RemoveJobAssignedAgent empty id", func(ctx context.Context, c *facade.Client) error {
			_, err := c.RemoveJobAssignedAgent(ctx, "")
			return err
		}, "jobID", nil, false},
		{"ArchiveJob empty id", func(ctx context.Context, c *facade.Client) error {
			_, err := c.ArchiveJob(ctx, "", facade.ArchiveJobParams{})
			return err
		}, "jobID", nil, false},
		{"RestoreJob empty id", func(ctx context.Context, c *facade.Client) error {
			_, err := c.RestoreJob(ctx, "", facade.RestoreJobParams{})
			return err
		}, "jobID", nil, false},
		{"WaitForJob empty id", func(ctx context.Context, c *facade.Client) error {
			_, err := c.WaitForJob(ctx, "", facade.WaitOptions{})
			return err
		}, "jobID", nil, false},
		{"AllJobs bad status", func(ctx context.Context, c *facade.Client) error {
			for _, err := range c.AllJobs(ctx, facade.ListJobsParams{Status: "nope"}) {
				return err
			}
			return nil
		}, "ListJobsParams.Status", nil, false},
		{"AllJobs negative page", func(ctx context.Context, c *facade.Client) error {
			for _, err := range c.AllJobs(ctx, facade.ListJobsParams{Page: -2}) {
				return err
			}
			return nil
		}, "ListJobsParams.Page", nil, false},
		{"AllModelJobs size 101", func(ctx context.Context, c *facade.Client) error {
			for _, err := range c.AllModelJobs(ctx, "m", facade.ListModelJobsParams{Size: 101}) {
				return err
			}
			return nil
		}, "ListModelJobsParams.Size", nil, false},
		{"AllModelJobs empty model", func(ctx context.Context, c *facade.Client) error {
			for _, err := range c.AllModelJobs(ctx, "", facade.ListModelJobsParams{}) {
				return err
			}
			return nil
		}, "modelID", nil, false},
	}
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip {
				t.Skip("not possible on this machine or for this user")
			}
			before := srv.count()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := tc.call(ctx, c)
			require.Error(t, err)
			assert.ErrorIs(t, err, facade.ErrInvalidInput)
			var ve *facade.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.Contains(t, err.Error(), tc.field)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, before, srv.count(), "nothing may be sent (counted per case, so that one regression is one failure)")
		})
	}
}

func TestEnums(t *testing.T) {
	for _, v := range facade.JobStatusNameValues() {
		got, err := facade.ParseJobStatusName("  " + strings.ToLower(string(v)) + "\t")
		require.NoError(t, err)
		assert.Equal(t, v, got)
		assert.True(t, v.Valid())
	}
	for _, v := range facade.OSValues() {
		got, err := facade.ParseOS(strings.ToUpper(string(v)))
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
	for _, v := range facade.ArchiveStatusValues() {
		got, err := facade.ParseArchiveStatus(strings.ToUpper(string(v)))
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
	_, err := facade.ParseJobStatusName("Cancelled")
	assert.ErrorIs(t, err, facade.ErrInvalidInput)
	assert.ErrorContains(t, err, `"Created", "Pending", "Claimed", "Validating", "Running", "Uploading", "Completed", "Failed", "Canceled", "Unknown"`)
	_, err = facade.ParseOS("Windows 12")
	assert.ErrorContains(t, err, `"Windows 11"`)
	_, err = facade.ParseArchiveStatus("")
	assert.ErrorContains(t, err, `"active", "archived", "all"`)

	terminal := map[facade.JobStatusName]bool{facade.JobStatusCompleted: true, facade.JobStatusFailed: true, facade.JobStatusCanceled: true}
	for _, v := range facade.JobStatusNameValues() {
		assert.Equal(t, terminal[v], v.IsTerminal(), v)
	}
	assert.False(t, facade.JobStatusName("Paused").Valid())
	assert.False(t, facade.OS("Plan 9").Valid())
	assert.False(t, facade.ArchiveStatus("Active").Valid())
}

func TestUnknownEnumValuesDecode(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		j := sampleJob("job-1", gen.JobStatusNamePending, "Paused")
		(*j.Function.OperatingSystems)[0].Name = "Plan 9"
		writeJSON(w, 200, j)
	})
	c, err := facade.NewClient(srv.URL, facade.WithToken("t"))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	job, err := c.GetJob(context.Background(), "job-1")
	require.NoError(t, err)
	assert.Equal(t, facade.JobStatusName("Paused"), job.Status())
	assert.False(t, job.Status().Valid())
	assert.False(t, job.Function.OperatingSystems[0].Valid())
	assert.False(t, job.Status().IsTerminal())
}

func isRegular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
