package fakestore

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/gen"
)

// TestLimits checks that a full store refuses every change with ErrFull
// and still answers reads: past MaxJobs, a new job; past MaxBytes, any
// change, the one that crossed the bound kept.
func TestLimits(t *testing.T) {
	s := New(WithLimits(Limits{MaxJobs: 2}))
	a, err := s.AddJob("u", newJob("m"))
	require.NoError(t, err)
	_, err = s.AddJob("u", newJob("m"))
	require.NoError(t, err)
	_, err = s.AddJob("u", newJob("m"))
	require.ErrorIs(t, err, ErrFull)
	assert.Contains(t, err.Error(), "holds 2 jobs, its limit")
	_, err = s.UpdateStatus(a.ID, "u", gen.JobStatusNameCanceled, nil, nil)
	require.NoError(t, err, "changes to the jobs it holds go on")
	n, _ := s.Size()
	assert.Equal(t, 2, n)

	in := newJob("m")
	in.File.Content = []byte(strings.Repeat("x", 10_000))
	in.File.Size = 10_000
	s = New(WithLimits(Limits{MaxBytes: 15_000}))
	a, err = s.AddJob("u", in)
	require.NoError(t, err)
	_, held := s.Size()
	assert.Greater(t, held, int64(10_000), "the file's bytes and the job's")
	_, err = s.UpdateFile(a.ID, in.File)
	require.NoError(t, err, "the change that crosses the bound is kept")
	_, after := s.Size()
	assert.Greater(t, after, int64(20_000))
	msg := strings.Repeat("m", 100)
	for _, change := range []func() error{
		func() error { _, err := s.AddJob("u", newJob("m")); return err },
		func() error { _, err := s.UpdateFile(a.ID, in.File); return err },
		func() error {
			_, err := s.UpdateStatus(a.ID, "u", gen.JobStatusNameRunning, nil, &msg)
			return err
		},
		func() error { _, err := s.Archive(a.ID, "u", &msg); return err },
	} {
		err := change()
		require.ErrorIs(t, err, ErrFull)
		assert.Contains(t, err.Error(), "its limit of 15000: it takes no more")
	}
	_, still := s.Size()
	assert.Equal(t, after, still, "a refused change holds nothing")
	_, err = s.Job(a.ID)
	assert.NoError(t, err, "reads go on")
	_, err = s.List(Query{Size: 10})
	assert.NoError(t, err)
	ups, err := s.Uploads(a.ID)
	require.NoError(t, err)
	assert.Len(t, ups, 2)
}
