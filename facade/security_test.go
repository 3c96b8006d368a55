package facade_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

const redirectToken = "pat-redirect-0b7e-SECRET"

// redirector answers every request with a 307 to target plus the request's
// path and query, and records whether the request carried the token.
func redirector(t *testing.T, target func() string) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Location", target()+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
}

// TestRedirectNeverCarriesToken: the token goes to the base URL's origin
// (scheme, host and port) and nowhere else, whatever the redirect. Go's own
// rule compares host names only (shouldCopyHeaderOnRedirect in
// net/http/client.go), so it would send the token to another port of the
// same host, or to a subdomain; the SDK strips it there too.
func TestRedirectNeverCarriesToken(t *testing.T) {
	other := jobServer(t) // where the redirects lead: another port
	otherURL := other.URL
	otherByName := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) // another host name

	cases := []struct {
		name string
		// target is where the first server redirects to.
		target string
		// goForwards says whether a plain http.Client would send the token
		// there: what the test shows the SDK must prevent.
		goForwards bool
		opts       []facade.Option
	}{
		{name: "another host", target: otherByName, goForwards: false},
		{name: "same host, another port", target: otherURL, goForwards: true},
		{name: "same host, another port, caller's http.Client", target: otherURL, goForwards: true,
			opts: []facade.Option{facade.WithHTTPClient(&http.Client{Transport: http.DefaultTransport})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := other.count()
			a := redirector(t, func() string { return tc.target })

			// The standard library alone, as a control.
			req, err := http.NewRequest(http.MethodGet, a.URL+"/api/v2/jobs/j", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+redirectToken)
			plain := &http.Client{Transport: &http.Transport{}}
			resp, err := plain.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			plain.CloseIdleConnections()
			got := other.requests()[start].Header.Get("Authorization")
			assert.Equal(t, tc.goForwards, got != "", "net/http alone forwards the token: %v", tc.goForwards)

			c, err := facade.NewClient(a.URL, append([]facade.Option{facade.WithToken(redirectToken), facade.WithRetry(facade.NoRetry())}, tc.opts...)...)
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			_, err = c.GetJob(testCtx(t), "j")
			require.NoError(t, err, "the redirect is followed")
			_, err = c.AddJob(testCtx(t), facade.AddJobParams{ModelID: "m", Function: "f"})
			require.ErrorContains(t, err, "redirect to another origin refused", "a 307 does not replay the upload to another origin")
			_, err = c.Raw().GetJobWithResponse(testCtx(t), "j")
			require.NoError(t, err)

			reqs := other.requests()[start+1:]
			require.Len(t, reqs, 2)
			for _, r := range reqs {
				assert.Empty(t, r.Header.Get("Authorization"), "%s %s carried the token to another origin", r.Method, r.Path)
			}
			for _, r := range a.requests()[1:] {
				assert.Equal(t, "Bearer "+redirectToken, r.Header.Get("Authorization"), "the base URL's origin gets the token")
			}
		})
	}
}

// TestRedirectChainNeverCarriesToken: A → B (same host, another port) →
// B/final. Every hop is compared with the base origin, not with the hop
// before: net/http copies the first request's headers anew at each hop, so
// a check against the previous hop would let the token through to
// B/final. A redirect loop stops after 10 redirects, also with the
// caller's own CheckRedirect, since the SDK replaces Go's.
func TestRedirectChainNeverCarriesToken(t *testing.T) {
	var b *recorder
	b = newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if !strings.HasSuffix(r.URL.Path, "/final") {
			w.Header().Set("Location", b.URL+r.URL.Path+"/final")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		writeJSON(w, 200, sampleJob("j"))
	})
	a := redirector(t, func() string { return b.URL })
	for _, hc := range []*http.Client{nil, {CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}} {
		opts := []facade.Option{facade.WithToken(redirectToken), facade.WithRetry(facade.NoRetry())}
		if hc != nil {
			opts = append(opts, facade.WithHTTPClient(hc))
		}
		c, err := facade.NewClient(a.URL, opts...)
		require.NoError(t, err)
		_, err = c.Raw().GetJobWithResponse(testCtx(t), "j")
		require.NoError(t, err)
		c.CloseIdleConnections()
	}
	reqs := b.requests()
	require.Len(t, reqs, 4)
	for _, r := range reqs {
		assert.Empty(t, r.Header.Get("Authorization"), "%s carried the token beyond the base origin", r.Path)
	}

	var loop *recorder
	loop = newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Location", loop.URL+r.URL.Path)
		w.WriteHeader(http.StatusFound)
	})
	c, err := facade.NewClient(loop.URL, facade.WithRetry(facade.DefaultRetryPolicy()),
		facade.WithHTTPClient(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.GetJob(testCtx(t), "j")
	assert.ErrorContains(t, err, "stopped after 10 redirects")
	assert.Equal(t, 10, loop.count(), "one attempt of 10 requests")
}

// TestRedirectSameOriginKeepsToken: a redirect within the base URL's origin
// keeps the token, and the caller's CheckRedirect still runs.
func TestRedirectSameOriginKeepsToken(t *testing.T) {
	var srv *recorder
	srv = newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.HasPrefix(r.URL.Path, "/old/") {
			w.Header().Set("Location", srv.URL+strings.TrimPrefix(r.URL.Path, "/old"))
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		writeJSON(w, 200, sampleJob("j"))
	})
	var checked atomic.Int32
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { checked.Add(1); return nil }}
	c, err := facade.NewClient(srv.URL+"/old", facade.WithToken(redirectToken), facade.WithHTTPClient(hc), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.GetJob(testCtx(t), "j")
	require.NoError(t, err)
	reqs := srv.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api/v2/jobs/j", reqs[1].Path)
	assert.Equal(t, "Bearer "+redirectToken, reqs[1].Header.Get("Authorization"))
	assert.EqualValues(t, 1, checked.Load(), "the caller's CheckRedirect runs")
	assert.Nil(t, hc.CheckRedirect(nil, nil), "the caller's client is not changed")

	stop := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("no redirects") }}
	c2, err := facade.NewClient(srv.URL+"/old", facade.WithToken(redirectToken), facade.WithHTTPClient(stop), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	defer c2.CloseIdleConnections()
	_, err = c2.GetJob(testCtx(t), "j")
	assert.ErrorContains(t, err, "no redirects")
}

// TestDefaultTransportTLS: TLS 1.2 is the floor; a server that offers only
// TLS 1.1 fails the handshake.
func TestDefaultTransportTLS(t *testing.T) {
	tr := facade.DefaultTransport()
	require.NotNil(t, tr.TLSClientConfig)
	assert.Equal(t, uint16(tls.VersionTLS12), tr.TLSClientConfig.MinVersion)
	assert.NotSame(t, tr, facade.DefaultTransport(), "each call returns a new transport")

	old := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, sampleJob("j"))
	}))
	old.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	old.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	old.StartTLS()
	defer old.Close()
	roots := x509.NewCertPool()
	roots.AddCert(old.Certificate())

	call := func(tr *http.Transport) error {
		defer tr.CloseIdleConnections()
		c, err := facade.NewClient(old.URL, facade.WithToken("t"), facade.WithHTTPClient(&http.Client{Transport: tr}), facade.WithRetry(facade.NoRetry()))
		require.NoError(t, err)
		_, err = c.GetJob(testCtx(t), "j")
		return err
	}

	strict := facade.DefaultTransport()
	strict.TLSClientConfig.RootCAs = roots
	err := call(strict)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "protocol version", "the handshake fails on the version")

	// Control: the same server, trusted the same way, answers a client that
	// accepts TLS 1.1, so the version is what failed above.
	lax := facade.DefaultTransport()
	lax.TLSClientConfig.RootCAs = roots
	lax.TLSClientConfig.MinVersion = tls.VersionTLS10
	assert.NoError(t, call(lax))
}

// endless is a body that never ends; it counts what was read from it.
type endless struct{ n atomic.Int64 }

var spaces = []byte(strings.Repeat(" ", 64<<10))

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], spaces)
	}
	e.n.Add(int64(n))
	return n, nil
}

func (e *endless) Close() error { return nil }

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAnswersAreBounded: no answer is read without a bound, 2xx or not,
// whether or not a retry remains (a GET that may be retried is read within
// the attempt).
func TestAnswersAreBounded(t *testing.T) {
	const maxSuccess, maxError = 64 << 20, 64 << 10
	// Reading 64 MiB takes seconds under the race detector, so only one
	// case reads that far: an answer of unknown length that may be retried,
	// which the transport reads and the decoder refuses. An answer that
	// announces its excess length is refused before it is read.
	cases := []struct {
		name          string
		status        int
		contentLength int64
		retry         facade.RetryPolicy
	}{
		{"2xx of unknown length, retry possible", 200, -1, facade.RetryPolicy{MaxAttempts: 2}},
		{"2xx announced too long, no retry", 200, maxSuccess + 1, facade.NoRetry()},
		{"2xx announced too long, retry possible", 200, 1 << 40, facade.RetryPolicy{MaxAttempts: 2}},
		{"500", 500, -1, facade.RetryPolicy{MaxAttempts: 2}},
		{"503 retried", 503, -1, facade.RetryPolicy{MaxAttempts: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var bodies []*endless
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				b := &endless{}
				bodies = append(bodies, b)
				return &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {"application/json"}},
					Body: b, ContentLength: tc.contentLength, Request: r}, nil
			})
			c, err := facade.NewClient("https://registry.example.com", facade.WithHTTPClient(&http.Client{Transport: rt}), facade.WithRetry(tc.retry))
			require.NoError(t, err)
			_, err = c.GetJob(testCtx(t), "j")
			require.Error(t, err)
			var read int64
			for _, b := range bodies {
				read += b.n.Load()
			}
			if tc.status < 300 {
				var de *facade.DecodeError
				require.ErrorAs(t, err, &de)
				assert.Contains(t, de.Reason, "limit of 64 MiB")
				assert.ErrorIs(t, err, facade.ErrResponseTooLarge)
				if tc.contentLength > 0 {
					assert.Zero(t, read, "refused before reading")
				} else {
					assert.LessOrEqual(t, read, int64(maxSuccess+64<<10), "read %d bytes", read)
				}
			} else {
				var ae *facade.APIError
				require.ErrorAs(t, err, &ae)
				assert.Len(t, ae.Body, maxError)
				assert.LessOrEqual(t, read, int64(len(bodies))*(maxError+64<<10), "read %d bytes", read)
			}
		})
	}
}

// TestPlainHTTPRefusedWithToken: http:// to a host that is not loopback is
// refused while a token is set, from NewClient and from the environment,
// unless WithInsecureHTTP; the refusal does not print the token.
func TestPlainHTTPRefusedWithToken(t *testing.T) {
	for _, u := range []string{"http://registry.example.com", "http://10.0.0.8:8080", "http://localhost.example.com", "HTTP://registry.example.com/api/v2"} {
		_, err := facade.NewClient(u, facade.WithToken(redirectToken))
		require.Error(t, err, u)
		assert.ErrorIs(t, err, facade.ErrInvalidInput)
		assert.Contains(t, err.Error(), "clear text")
		assert.NotContains(t, err.Error(), redirectToken)

		_, err = facade.NewClient(u, facade.WithToken(redirectToken), facade.WithInsecureHTTP())
		assert.NoError(t, err, u)
	}

	t.Setenv("ISTARI_REGISTRY_URL", "http://registry.example.com")
	t.Setenv("ISTARI_REGISTRY_AUTH_TOKEN", redirectToken)
	_, err := facade.NewClientFromEnv()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "clear text")
	assert.NotContains(t, err.Error(), redirectToken)
}

var _ io.ReadCloser = (*endless)(nil)
