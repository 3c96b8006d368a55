package facade

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestZeroMeansDefault: every client option given its zero value (and a
// nil Option) leaves the client as no option does, and the named values
// NoTimeout and NoPrefetch turn their setting off.
func TestZeroMeansDefault(t *testing.T) {
	defaultUA := "istari-go/" + Version + " go/" + strings.TrimPrefix(runtime.Version(), "go")
	type want struct {
		timeout  time.Duration
		prefetch int
	}
	for _, tc := range []struct {
		name string
		opts []Option
		want want
	}{
		{"no option", nil, want{defaultTimeout, defaultPrefetch}},
		{"every option zero", []Option{
			WithToken(""), WithHTTPClient(nil), WithTimeout(0), WithUserAgent(""), WithLogger(nil),
			WithRequestEditor(nil), WithRetry(RetryPolicy{}), WithMaxResponseBytes(0), WithPrefetch(0), WithEnv(nil), nil,
		}, want{defaultTimeout, defaultPrefetch}},
		{"off", []Option{WithTimeout(NoTimeout), WithPrefetch(NoPrefetch)}, want{0, 0}},
		{"set", []Option{WithTimeout(time.Second), WithPrefetch(2)}, want{time.Second, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient("https://registry.example.com", tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, tc.want.timeout, c.tr.timeout, "the attempt's timeout (0: none)")
			assert.Equal(t, tc.want.prefetch, c.prefetch, "pages fetched ahead")
			assert.Equal(t, DefaultRetryPolicy(), c.tr.retry)
			assert.Equal(t, int64(defaultMaxResponseBytes), c.tr.maxBody)
			assert.Equal(t, defaultUA, c.tr.userAgent)
			assert.Empty(t, c.tr.editors)
			assert.Empty(t, c.tr.token)
			assert.NotNil(t, c.tr.logger)
			assert.NotNil(t, c.tr.hc)
		})
	}
}

// TestCallTimeoutZeroMeansClients: WithRequestTimeout(0) keeps the
// client's timeout, NoTimeout turns it off for the call, and any other
// negative value is refused before anything is sent.
func TestCallTimeoutZeroMeansClients(t *testing.T) {
	c, err := NewClient("https://registry.example.com", WithTimeout(time.Minute))
	require.NoError(t, err)
	timeoutOf := func(opts ...CallOption) time.Duration {
		cc, err := opOptions(OpGetJob, opts)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(c.callContext(context.Background(), OpGetJob, cc), http.MethodGet, "https://registry.example.com/api/v2/jobs/j", nil)
		require.NoError(t, err)
		return c.tr.callOf(req).timeout
	}
	assert.Equal(t, time.Minute, timeoutOf())
	assert.Equal(t, time.Minute, timeoutOf(WithRequestTimeout(0)))
	assert.Equal(t, time.Minute, timeoutOf(nil))
	assert.Equal(t, time.Duration(0), timeoutOf(WithRequestTimeout(NoTimeout)), "0: none")
	assert.Equal(t, time.Second, timeoutOf(WithRequestTimeout(time.Second)))

	_, err = c.GetJob(context.Background(), "j", WithRequestTimeout(-time.Second))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "WithRequestTimeout", ve.Field)
}
