package facade_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// formFields returns the plain fields and the file of the last request
// srv received, read with parseMultipart.
func formFields(t *testing.T, srv *recorder) (map[string]string, string) {
	t.Helper()
	reqs := srv.requests()
	require.NotEmpty(t, reqs)
	fields, file := map[string]string{}, ""
	for _, p := range parseMultipart(t, reqs[len(reqs)-1]) {
		if p.Name == "file" {
			file = p.Body
			continue
		}
		fields[p.Name] = p.Body
	}
	return fields, file
}

// plainClient is a client without the contract transport, for requests the
// spec would refuse on purpose (values the SDK does not list).
func plainClient(t *testing.T, baseURL string, opts ...facade.Option) *facade.Client {
	return newSweepClient(t, baseURL, "tok", append([]facade.Option{facade.WithRetry(facade.NoRetry())}, opts...)...)
}

func TestLenientEnums(t *testing.T) {
	srv := jobServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	add := facade.AddJobParams{ModelID: "m", Function: "@istari:extract", OperatingSystem: "Windows 12"}

	t.Run("strict by default", func(t *testing.T) {
		c := plainClient(t, srv.baseURL())
		before := srv.count()
		_, err := c.AddJob(ctx, add)
		var ve *facade.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "AddJobParams.OperatingSystem", ve.Field)
		assert.Contains(t, err.Error(), `"Ubuntu 24.04"`, "lists the valid values")
		assert.Contains(t, err.Error(), "facade.WithLenientEnums()", "names the way out")
		_, err = c.ListJobs(ctx, facade.ListJobsParams{Status: "Paused"})
		assert.ErrorContains(t, err, "facade.WithLenientEnums()")
		_, err = c.UpdateJobStatus(ctx, "job-1", facade.UpdateJobStatusParams{Status: "Paused"})
		assert.ErrorContains(t, err, "facade.WithLenientEnums()")
		assert.Equal(t, before, srv.count(), "nothing sent")
	})

	t.Run("lenient sends unknown values", func(t *testing.T) {
		c := plainClient(t, srv.baseURL(), facade.WithLenientEnums())
		_, err := c.AddJob(ctx, add)
		require.NoError(t, err)
		fields, _ := formFields(t, srv)
		assert.Equal(t, "Windows 12", fields["operating_system"])

		_, err = c.ListJobs(ctx, facade.ListJobsParams{Status: "Paused", ArchiveStatus: "deleted"})
		require.NoError(t, err)
		reqs := srv.requests()
		assert.Equal(t, "status_name=Paused&archive_status=deleted", reqs[len(reqs)-1].Query)

		_, err = c.UpdateJobStatus(ctx, "job-1", facade.UpdateJobStatusParams{Status: "Paused"})
		require.NoError(t, err)
		reqs = srv.requests()
		assert.Equal(t, "status_name=Paused", reqs[len(reqs)-1].Query)
	})

	t.Run("lenient still refuses dirty values", func(t *testing.T) {
		c := plainClient(t, srv.baseURL(), facade.WithLenientEnums())
		before := srv.count()
		for _, v := range []facade.OS{" Windows 12", "Windows 12 ", "Windows\n12", "Win\x00dows", "bad\xffutf8"} {
			p := add
			p.OperatingSystem = v
			_, err := c.AddJob(ctx, p)
			assert.ErrorIs(t, err, facade.ErrInvalidInput, "%q", v)
		}
		_, err := c.UpdateJobStatus(ctx, "job-1", facade.UpdateJobStatusParams{})
		assert.ErrorIs(t, err, facade.ErrInvalidInput, "an empty status is still refused")
		assert.Equal(t, before, srv.count(), "nothing sent")
	})

	t.Run("parse functions normalise known values", func(t *testing.T) {
		os, err := facade.ParseOS("  ubuntu 24.04 ")
		require.NoError(t, err)
		assert.Equal(t, facade.OSUbuntu2404, os)
		st, err := facade.ParseJobStatusName("RUNNING")
		require.NoError(t, err)
		assert.Equal(t, facade.JobStatusRunning, st)
	})
}

// TestParametersEdgeCases: a nil map, slice or pointer sends {}, as the
// Python SDK does, never null; and Parameters are held to a parameters
// file's nesting limit.
func TestParametersEdgeCases(t *testing.T) {
	srv := jobServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _ := newClient(t, srv.baseURL())
	var nilPtr *struct{ A int }
	for name, v := range map[string]any{
		"nil map":     map[string]any(nil),
		"nil slice":   []int(nil),
		"nil pointer": nilPtr,
		"untyped nil": nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f", Parameters: v})
			require.NoError(t, err)
			_, file := formFields(t, srv)
			assert.Equal(t, "{}", file)
		})
	}
	t.Run("nil map with a parameters file is not both", func(t *testing.T) {
		path := writeFile(t, "p.json", `{"a":1}`)
		_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f", Parameters: map[string]any(nil), ParametersFile: path})
		require.NoError(t, err)
		_, file := formFields(t, srv)
		assert.Equal(t, `{"a":1}`, file)
	})
	t.Run("nesting limit", func(t *testing.T) {
		var deep any = 1
		for range 10001 {
			deep = []any{deep}
		}
		before := srv.count()
		_, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "m", Function: "f", Parameters: deep})
		var ve *facade.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "AddJobParams.Parameters", ve.Field)
		assert.Contains(t, err.Error(), "depth")
		assert.Equal(t, before, srv.count(), "nothing sent")
	})
}

func TestSourceRevision(t *testing.T) {
	assert.Equal(t, facade.NewSource{RevisionID: "rev-1"}, facade.SourceRevision("rev-1"))
}

// TestEnvTraps covers the environment variables' edge cases: each error
// names its variable and shows its value, and Python's log level names work.
func TestEnvTraps(t *testing.T) {
	srv := jobServer(t)
	base := map[string]string{"ISTARI_REGISTRY_URL": srv.URL, "ISTARI_REGISTRY_AUTH_TOKEN": "tok-secret"}
	newFromEnv := func(extra map[string]string) (*facade.Client, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return facade.NewClientFromEnv(facade.WithEnv(func(k string) string { return env[k] }))
	}
	bad := []struct{ name, value string }{
		{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "NaN"},
		{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "Inf"},
		{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "-Inf"},
		{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "1e300"},
		{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "0.0001"},
		{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", "-1"},
		{"ISTARI_CLIENT_RETRY_MAX_ATTEMPTS", "99999999999999999999"},
		{"ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS", "0.5"},
		{"ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS", "9223372036854775807"},
		{"ISTARI_CLIENT_RETRY_MAX_INTERVAL_MILLIS", "NaN"},
		{"ISTARI_CLIENT_RETRY_MAX_ATTEMPTS", "0"},
		{"ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS", "0"},
		{"ISTARI_CLIENT_LOG_LEVEL", "LOUD"},
		{"ISTARI_REGISTRY_URL", "127.0.0.1:8080"},
		{"ISTARI_REGISTRY_URL", "localhost:8080"},
		{"ISTARI_REGISTRY_URL", "registry.example.com"},
	}
	for _, tc := range bad {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := newFromEnv(map[string]string{tc.name: tc.value})
			var ve *facade.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.name, ve.Field)
			assert.Contains(t, err.Error(), tc.name)
			assert.Contains(t, err.Error(), tc.value)
			assert.NotContains(t, err.Error(), "tok-secret")
			if tc.name == "ISTARI_REGISTRY_URL" {
				assert.Contains(t, err.Error(), "needs a scheme")
			}
		})
	}
	for _, lvl := range []string{"DEBUG", "info", "Warning", "WARN", "error", "CRITICAL", "fatal"} {
		t.Run("log level "+lvl, func(t *testing.T) {
			_, err := newFromEnv(map[string]string{"ISTARI_CLIENT_LOG_LEVEL": lvl})
			assert.NoError(t, err)
		})
	}
	t.Run("a millisecond is fine", func(t *testing.T) {
		c, err := newFromEnv(map[string]string{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS": "0.001"})
		require.NoError(t, err)
		assert.Contains(t, c.String(), "Timeout: 1ms")
	})
	t.Run("0 turns the timeout off, as in the Python SDK", func(t *testing.T) {
		c, err := newFromEnv(map[string]string{"ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS": "0"})
		require.NoError(t, err)
		assert.Contains(t, c.String(), "Timeout: 0s")
	})
}

// TestNeedsAScheme: NewClient says the same for every URL without a scheme.
func TestNeedsAScheme(t *testing.T) {
	for _, u := range []string{"localhost:8080", "127.0.0.1:8080", "registry.example.com", "[::1]:8080"} {
		_, err := facade.NewClient(u)
		var ve *facade.ValidationError
		require.ErrorAs(t, err, &ve, u)
		assert.Equal(t, "baseURL", ve.Field)
		assert.Contains(t, err.Error(), `needs a scheme: "https://"`, u)
	}
	// Without a scheme, secrets are masked as in any other base URL.
	for u, want := range map[string]string{
		"user:pa55@registry.example.com":      `"***@registry.example.com"`,
		"registry.example.com/x?sig=pa55&v=1": `"registry.example.com/x?sig=***&v=***"`,
	} {
		_, err := facade.NewClient(u)
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "pa55")
		assert.Contains(t, err.Error(), want)
		assert.Contains(t, err.Error(), "needs a scheme")
	}
}

// TestJobJSONIsTheWireForm: a job marshals to what the platform sent.
func TestJobJSONIsTheWireForm(t *testing.T) {
	srv := jobServer(t)
	c, _ := newClient(t, srv.baseURL())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	job, err := c.GetJob(ctx, "job-1")
	require.NoError(t, err)
	got, err := json.Marshal(job)
	require.NoError(t, err)
	want, err := json.Marshal(sampleJob("job-1", "Pending"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
	assert.Equal(t, "job-1", job.Wire().ID)
	assert.Nil(t, (&facade.Job{}).Wire())
}
