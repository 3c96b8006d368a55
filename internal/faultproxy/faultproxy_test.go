package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/internal/faultproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const payload = `{"id":"job-1","name":"a body long enough to cut in half"}`

// setup starts an upstream that counts requests and a proxy in front of it,
// and returns a client that dials through the proxy's DialContext.
func setup(t *testing.T) (*faultproxy.Proxy, *http.Client, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", r.URL.Path)
		_, _ = io.WriteString(w, payload)
	}))
	t.Cleanup(up.Close)
	p, err := faultproxy.New(up.URL + "/base")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	tr := &http.Transport{DialContext: p.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return p, &http.Client{Transport: tr}, &hits
}

type result struct {
	status int
	header http.Header
	body   string
	err    error // of the request or of reading the body
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name        string
		fault       faultproxy.Fault
		wantHits    int32
		check       func(t *testing.T, r result)
		secondClean bool
	}{
		{"refuse", faultproxy.Fault{Kind: faultproxy.Refuse}, 0, func(t *testing.T, r result) {
			assert.ErrorIs(t, r.err, syscall.ECONNREFUSED)
		}, true},
		{"reset before response, forwarded", faultproxy.Fault{Kind: faultproxy.ResetBeforeResponse, Forward: true}, 1, func(t *testing.T, r result) {
			require.Error(t, r.err)
			assert.Zero(t, r.status)
		}, true},
		{"reset before response, not forwarded", faultproxy.Fault{Kind: faultproxy.ResetBeforeResponse}, 0, func(t *testing.T, r result) {
			require.Error(t, r.err)
		}, true},
		{"reset mid-body", faultproxy.Fault{Kind: faultproxy.ResetMidBody}, 1, func(t *testing.T, r result) {
			require.Error(t, r.err, "either the head or the body read fails")
			assert.Less(t, len(r.body), len(payload))
		}, true},
		{"respond, not forwarded", faultproxy.Fault{Kind: faultproxy.Respond, Status: 503,
			Header: http.Header{"Retry-After": {"1"}}, Body: []byte("down")}, 0, func(t *testing.T, r result) {
			require.NoError(t, r.err)
			assert.Equal(t, 503, r.status)
			assert.Equal(t, "1", r.header.Get("Retry-After"))
			assert.Equal(t, "down", r.body)
		}, true},
		{"respond, forwarded, server's body", faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Status: 500}, 1, func(t *testing.T, r result) {
			assert.Equal(t, 500, r.status)
			assert.Equal(t, payload, r.body)
			assert.Equal(t, "/base/x", r.header.Get("X-Upstream"), "the path is kept")
		}, true},
		{"respond, forwarded, empty body", faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Body: []byte{}}, 1, func(t *testing.T, r result) {
			assert.Equal(t, 200, r.status)
			assert.Empty(t, r.body)
		}, true},
		{"respond, forwarded, other content type", faultproxy.Fault{Kind: faultproxy.Respond, Forward: true,
			Header: http.Header{"Content-Type": {"text/plain"}}}, 1, func(t *testing.T, r result) {
			assert.Equal(t, "text/plain", r.header.Get("Content-Type"))
			assert.Equal(t, payload, r.body)
		}, true},
		{"slow", faultproxy.Fault{Kind: faultproxy.Slow, Delay: 5 * time.Second}, 1, func(t *testing.T, r result) {
			assert.ErrorIs(t, r.err, context.DeadlineExceeded)
		}, true},
		{"truncate", faultproxy.Fault{Kind: faultproxy.Truncate}, 1, func(t *testing.T, r result) {
			require.NoError(t, r.err, "a truncated answer is well-formed HTTP")
			assert.Equal(t, payload[:len(payload)/2], r.body)
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, c, hits := setup(t)
			p.Set(tc.fault)
			tc.check(t, get(t, c, p.URL+"/x"))
			p.Wait()
			assert.Equal(t, tc.wantHits, hits.Load(), "requests that reached the server")
			st := p.Stats()
			assert.Equal(t, 1, st.Attempts)
			assert.Equal(t, 1, st.Faulted)
			assert.Zero(t, st.Panics)

			r := get(t, c, p.URL+"/x")
			require.NoError(t, r.err, "the fault applies to one attempt only")
			assert.Equal(t, payload, r.body)
			assert.Equal(t, 2, p.Stats().Attempts)
		})
	}
}

func TestCount(t *testing.T) {
	p, c, hits := setup(t)
	p.Set(faultproxy.Fault{Kind: faultproxy.Respond, Status: 502, Count: 2})
	assert.Equal(t, 502, get(t, c, p.URL).status)
	assert.Equal(t, 502, get(t, c, p.URL).status)
	assert.Equal(t, 200, get(t, c, p.URL).status)
	assert.EqualValues(t, 1, hits.Load())

	p.Set(faultproxy.Fault{Kind: faultproxy.Respond, Status: 502, Count: 5})
	p.Clear()
	assert.Equal(t, 200, get(t, c, p.URL).status)
	assert.Equal(t, faultproxy.Stats{Attempts: 4, Faulted: 2, Forwarded: 2}, p.Stats())
}

func TestRefuseOnlyTakesDials(t *testing.T) {
	p, c, _ := setup(t)
	// Open a connection first, then arm a refusal: the kept-alive
	// connection carries the next request without a dial.
	assert.Equal(t, 200, get(t, c, p.URL).status)
	p.Set(faultproxy.Fault{Kind: faultproxy.Refuse})
	assert.Equal(t, 200, get(t, c, p.URL).status)
	c.CloseIdleConnections()
	r := get(t, c, p.URL)
	var opErr *net.OpError
	require.True(t, errors.As(r.err, &opErr), "got %v", r.err)
	assert.Equal(t, "dial", opErr.Op)
}

func TestNewRejectsBadUpstream(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:80", "https://example.com", "http://"} {
		_, err := faultproxy.New(u)
		assert.Error(t, err, u)
	}
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "reset-mid-body", faultproxy.ResetMidBody.String())
	assert.Equal(t, "kind(99)", faultproxy.Kind(99).String())
}
