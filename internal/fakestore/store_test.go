package fakestore

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/istari-go/sdk/gen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newJob(model string) NewJob {
	return NewJob{ModelID: model, Function: "f", File: FileInput{FileName: "p.json", Size: 2, Content: []byte("{}")}}
}

func frozen() Option {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return WithClock(func() time.Time { return at })
}

func TestListPageArithmetic(t *testing.T) {
	for _, total := range []int{0, 1, 100, 101} {
		s := New(frozen())
		var ids []string
		for range total {
			j, err := s.AddJob("u", newJob("m"))
			require.NoError(t, err)
			ids = append(ids, j.ID)
		}
		for _, size := range []int{0, 1, 100} {
			for _, page := range []int{0, 1, 2, 100, 101, 102, 1 << 40} {
				t.Run(fmt.Sprintf("total=%d/size=%d/page=%d", total, size, page), func(t *testing.T) {
					p, err := s.List(Query{Size: size, Page: page})
					require.NoError(t, err)
					wantPage := max(page, 1)
					wantPages := 0
					if size > 0 {
						wantPages = (total + size - 1) / size
					}
					want := []string{}
					if size > 0 && wantPage <= wantPages {
						start := (wantPage - 1) * size
						want = ids[start:min(start+size, total)]
					}
					assert.Equal(t, total, p.Total)
					assert.Equal(t, wantPage, p.Page)
					assert.Equal(t, size, p.Size)
					assert.Equal(t, wantPages, p.Pages)
					got := []string{}
					for _, j := range p.Items {
						got = append(got, j.ID)
					}
					assert.Equal(t, want, got)
				})
			}
		}
	}
}

func TestListFiltersAndSort(t *testing.T) {
	s := New(frozen())
	a, _ := s.AddJob("u", newJob("m1"))
	b, _ := s.AddJob("u", newJob("m2"))
	c, _ := s.AddJob("v", newJob("m1"))
	_, err := s.UpdateStatus(b.ID, "u", gen.JobStatusNameRunning, nil, nil)
	require.NoError(t, err)
	_, err = s.Archive(c.ID, "v", nil)
	require.NoError(t, err)
	ids := func(p gen.PageJob) []string {
		out := []string{}
		for _, j := range p.Items {
			out = append(out, j.ID)
		}
		return out
	}
	running, pending := gen.JobStatusNameRunning, gen.JobStatusNamePending
	m1, u := "m1", "u"
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"everything active", Query{Size: 10}, []string{a.ID, b.ID}},
		{"all", Query{Size: 10, ArchiveStatus: gen.ArchiveStatusAll}, []string{a.ID, b.ID, c.ID}},
		{"archived", Query{Size: 10, ArchiveStatus: gen.ArchiveStatusArchived}, []string{c.ID}},
		{"model", Query{Size: 10, ModelID: &m1, ArchiveStatus: gen.ArchiveStatusAll}, []string{a.ID, c.ID}},
		{"running", Query{Size: 10, StatusName: &running}, []string{b.ID}},
		{"pending", Query{Size: 10, StatusName: &pending, ArchiveStatus: gen.ArchiveStatusAll}, []string{a.ID, c.ID}},
		{"user", Query{Size: 10, CreatedByID: &u, ArchiveStatus: gen.ArchiveStatusAll}, []string{a.ID, b.ID}},
		{"descending", Query{Size: 10, Sort: "-created", ArchiveStatus: gen.ArchiveStatusAll}, []string{c.ID, b.ID, a.ID}},
		{"ascending", Query{Size: 10, Sort: "created", ArchiveStatus: gen.ArchiveStatusAll}, []string{a.ID, b.ID, c.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.List(tc.q)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(p))
		})
	}
	for _, q := range []Query{{Sort: "name"}, {ArchiveStatus: "Active"}, {Size: -1}} {
		_, err := s.List(q)
		var se *Error
		require.ErrorAs(t, err, &se, "%+v", q)
		assert.ErrorIs(t, err, ErrInvalid)
		assert.Equal(t, "query", se.Loc[0])
	}
}

func TestStateChanges(t *testing.T) {
	s := New()
	j, err := s.AddJob("u", newJob("m"))
	require.NoError(t, err)

	_, err = s.Restore(j.ID, "u", nil)
	assert.ErrorIs(t, err, ErrConflict)
	got, err := s.Archive(j.ID, "u", ptr("why"))
	require.NoError(t, err)
	assert.Equal(t, ptr("why"), got.ArchiveStatusHistory[1].Reason)
	_, err = s.Archive(j.ID, "u", nil)
	assert.ErrorIs(t, err, ErrConflict)
	_, err = s.Restore(j.ID, "u", nil)
	require.NoError(t, err)

	_, err = s.AssignAgent(j.ID, nil, nil)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = s.AssignAgent(j.ID, ptr("a"), ptr("p"))
	assert.ErrorIs(t, err, ErrInvalid)
	got, err = s.AssignAgent(j.ID, nil, ptr("p"))
	require.NoError(t, err)
	assert.Equal(t, ptr("p"), got.AssignedAgentPoolID)
	got, err = s.RemoveAssignedAgent(j.ID)
	require.NoError(t, err)
	assert.Nil(t, got.AssignedAgentPoolID)

	got, err = s.UpdateFile(j.ID, FileInput{FileName: "x", Sources: []gen.NewSource{{RevisionID: "r"}}})
	require.NoError(t, err)
	assert.Len(t, got.File.Revisions, 2)
	ups, err := s.Uploads(j.ID)
	require.NoError(t, err)
	assert.Len(t, ups, 2)

	for name, f := range map[string]func() error{
		"Job":                 func() error { _, err := s.Job("x"); return err },
		"UpdateFile":          func() error { _, err := s.UpdateFile("x", FileInput{}); return err },
		"UpdateStatus":        func() error { _, err := s.UpdateStatus("x", "u", "Running", nil, nil); return err },
		"AssignAgent":         func() error { _, err := s.AssignAgent("x", ptr("a"), nil); return err },
		"RemoveAssignedAgent": func() error { _, err := s.RemoveAssignedAgent("x"); return err },
		"Archive":             func() error { _, err := s.Archive("x", "u", nil); return err },
		"Restore":             func() error { _, err := s.Restore("x", "u", nil); return err },
		"Uploads":             func() error { _, err := s.Uploads("x"); return err },
	} {
		err := f()
		assert.ErrorIs(t, err, ErrNotFound, name)
		assert.Equal(t, "Job x not found", err.Error(), name)
	}
}

func TestFunctionMatching(t *testing.T) {
	s := New()
	s.AddFunction(Function{Name: "f", ToolName: "t", ToolVersions: []string{"1", "2"}, OperatingSystems: []gen.OS{gen.OSRHEL9}})
	cases := []struct {
		name string
		in   NewJob
		ok   bool
	}{
		{"name", NewJob{Function: "f"}, true},
		{"all", NewJob{Function: "f", ToolName: "t", ToolVersion: "2", OperatingSystem: gen.OSRHEL9}, true},
		{"name differs", NewJob{Function: "g"}, false},
		{"tool differs", NewJob{Function: "f", ToolName: "u"}, false},
		{"version differs", NewJob{Function: "f", ToolVersion: "3"}, false},
		{"os differs", NewJob{Function: "f", OperatingSystem: gen.OSRHEL8}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := s.AddJob("u", tc.in)
			if !tc.ok {
				assert.ErrorIs(t, err, ErrNotFound)
				assert.Contains(t, err.Error(), "No function found matching name '"+tc.in.Function+"'")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, j.Function.ToolVersions)
			assert.Len(t, *j.Function.ToolVersions, 2, "the registered versions are recorded")
		})
	}
	fs := s.Functions()
	require.Len(t, fs, 1)
	assert.NotEmpty(t, fs[0].ID)
	fs[0].ToolVersions[0] = "changed"
	assert.Equal(t, "1", s.Functions()[0].ToolVersions[0], "Functions returns a copy")
}

func TestCopiesShareNothing(t *testing.T) {
	s := New()
	in := newJob("m")
	in.File.Sources = []gen.NewSource{{RevisionID: "r", RelationshipIdentifier: ptr("rel")}}
	in.AgentID = ptr("a")
	j, err := s.AddJob("u", in)
	require.NoError(t, err)
	*in.AgentID = "changed"
	in.File.Content[0] = 'X'
	*j.ModelID = "changed"
	*(*j.File.Revisions[0].Sources)[0].RelationshipIdentifier = "changed"
	(*j.StatusHistory)[0].Name = gen.JobStatusNameFailed

	got, err := s.Job(j.ID)
	require.NoError(t, err)
	assert.Equal(t, ptr("a"), got.AgentID)
	assert.Equal(t, ptr("m"), got.ModelID)
	assert.Equal(t, ptr("rel"), (*got.File.Revisions[0].Sources)[0].RelationshipIdentifier)
	assert.Equal(t, gen.JobStatusNamePending, statusName(got))
	ups, _ := s.Uploads(j.ID)
	assert.Equal(t, []byte("{}"), ups[0].Content)
}

func TestConcurrentStore(t *testing.T) {
	s := New()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			j, err := s.AddJob(fmt.Sprint("u", i%3), newJob("m"))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = s.UpdateStatus(j.ID, "u", gen.JobStatusNameRunning, nil, nil)
			_, _ = s.Archive(j.ID, "u", nil)
			_, _ = s.List(Query{Size: 100, ArchiveStatus: gen.ArchiveStatusAll})
			_ = s.Jobs()
		})
	}
	wg.Wait()
	assert.Equal(t, 100, s.Len())
	p, err := s.List(Query{Size: 100, ArchiveStatus: gen.ArchiveStatusArchived, StatusName: ptr(gen.JobStatusNameRunning)})
	require.NoError(t, err)
	assert.Equal(t, 100, p.Total)
}

func TestErrorUnwraps(t *testing.T) {
	err := error(&Error{Kind: ErrConflict, Detail: "d"})
	assert.True(t, errors.Is(err, ErrConflict))
	assert.Equal(t, "d", err.Error())
}
