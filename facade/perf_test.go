package facade_test

// Tests of the properties the benchmarks in bench_test.go measure, checked
// by counts and order only, never by time.

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/internal/leakcheck"
)

// TestDefaultTransportReusesConnections checks that the facade's default
// transport keeps enough idle connections for 64 concurrent callers: after
// a warm-up of 64 concurrent calls, 64×N more calls open no connection.
func TestDefaultTransportReusesConnections(t *testing.T) {
	const rounds = 10
	srv := newBenchServer(t, benchWorkers)
	c := newBenchFacade(t, srv.URL, nil) // facade.DefaultTransport
	ctx := context.Background()
	call := func(id string) error { _, err := c.GetJob(ctx, id); return err }

	require.NoError(t, warmUp(call))
	require.EqualValues(t, benchWorkers, srv.newConns.Load(), "the warm-up holds 64 calls open at once")
	srv.newConns.Store(0)
	require.NoError(t, runConcurrent(benchWorkers*rounds, call))
	assert.Zero(t, srv.newConns.Load(), "connections opened after the warm-up")
}

// TestAllJobsKeepsOrderWithPrefetch checks that pages fetched ahead, which
// the server answers out of order (each later page of a window faster),
// are yielded in order.
func TestAllJobsKeepsOrderWithPrefetch(t *testing.T) {
	const total = 500
	srv := newListServer(t, total, 10, func(page int) time.Duration {
		return time.Duration(4-page%5) * time.Millisecond
	})
	for _, tc := range []struct {
		name string
		opts []facade.Option
	}{
		{"default", nil},
		{"prefetch=0", []facade.Option{facade.WithPrefetch(facade.NoPrefetch)}},
		{"prefetch=4", []facade.Option{facade.WithPrefetch(4)}},
		{"prefetch=16", []facade.Option{facade.WithPrefetch(16)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.requests.Store(0)
			c := newBenchFacade(t, srv.URL, nil, tc.opts...)
			n := 0
			for job, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: 10}) {
				require.NoError(t, err)
				require.Equal(t, "job-"+strconv.Itoa(n), job.ID, "item %d", n)
				n++
			}
			assert.Equal(t, total, n)
			assert.EqualValues(t, total/10, srv.requests.Load(), "each page fetched once")
		})
	}
}

// TestAllJobsBreakCancelsPrefetches breaks out of the loop while four
// prefetched pages are held by a slow server: the loop returns, the server
// sees each of the four requests cancelled, and no goroutine is left.
func TestAllJobsBreakCancelsPrefetches(t *testing.T) {
	const prefetch = 4
	var held atomic.Int64
	arrived := make(chan struct{}, prefetch)
	srv := newListServer(t, 1000, 10, func(page int) time.Duration {
		if page == 1 {
			return 0
		}
		held.Add(1)
		arrived <- struct{}{}
		return time.Minute // until the client gives up
	})
	ignore := goleak.IgnoreCurrent()
	c := newBenchFacade(t, srv.URL, nil, withPrefetch(prefetch))

	n := 0
	for _, err := range c.AllJobs(testCtx(t), facade.ListJobsParams{Size: 10}) {
		require.NoError(t, err)
		if n++; n == 1 {
			for range prefetch { // pages 2 to 5 are in flight
				<-arrived
			}
		}
		if n == 5 {
			break
		}
	}
	assert.Equal(t, 5, n)
	assert.EqualValues(t, prefetch, held.Load(), "pages fetched ahead")

	// The server notices each cancellation when its connection closes.
	deadline := time.Now().Add(10 * time.Second)
	for srv.cancelled.Load() < prefetch && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.EqualValues(t, prefetch, srv.cancelled.Load(), "requests the server saw cancelled")
	assert.EqualValues(t, 1+prefetch, srv.requests.Load(), "nothing fetched after the break")

	c.CloseIdleConnections()
	srv.Close()
	leakcheck.VerifyNone(t, ignore)
}
