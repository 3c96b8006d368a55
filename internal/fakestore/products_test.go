package fakestore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/gen"
)

func TestAddProducts(t *testing.T) {
	s := New()
	j, err := s.AddJob("u", newJob("m"))
	require.NoError(t, err)
	_, err = s.UpdateFile(j.ID, FileInput{FileName: "v2.json"})
	require.NoError(t, err)

	got, err := s.AddProducts(j.ID, []gen.Product{
		{RevisionID: "out-1", FileID: ptr("file-1"), ResourceType: ptr("Artifact"), ResourceID: ptr("art-1"), RelationshipIdentifier: ptr("geometry")},
	})
	require.NoError(t, err)
	got, err = s.AddProducts(j.ID, []gen.Product{{RelationshipIdentifier: ptr("report")}})
	require.NoError(t, err)
	assert.Nil(t, got.File.Revisions[0].Products, "only the latest revision gets them")
	prods := *got.File.Revisions[1].Products
	require.Len(t, prods, 2, "added after those it has")
	assert.Equal(t, "out-1", prods[0].RevisionID)
	assert.Equal(t, ptr("Artifact"), prods[0].ResourceType)
	assert.NotEmpty(t, prods[1].RevisionID, "a missing revision id is made up")
	assert.Equal(t, ptr("report"), prods[1].RelationshipIdentifier)

	_, err = s.AddProducts("x", nil)
	assert.ErrorIs(t, err, ErrNotFound)

	for _, st := range []gen.JobStatusName{gen.JobStatusNameCompleted, gen.JobStatusNameFailed, gen.JobStatusNameCanceled} {
		ended, err := s.AddJob("u", newJob("m"))
		require.NoError(t, err)
		_, err = s.UpdateStatus(ended.ID, "u", st, nil, nil)
		require.NoError(t, err)
		_, err = s.AddProducts(ended.ID, []gen.Product{{RevisionID: "late"}})
		require.ErrorIs(t, err, ErrConflict, st)
		assert.Contains(t, err.Error(), string(st))
		held, err := s.Job(ended.ID)
		require.NoError(t, err)
		assert.Nil(t, held.File.Revisions[0].Products, "nothing changed")
	}
}

// TestSourcesDescribed: a source naming a revision the store holds gets
// that revision's file, resource type and resource id; other sources keep
// what was sent.
func TestSourcesDescribed(t *testing.T) {
	s := New()
	first, err := s.AddJob("u", newJob("m"))
	require.NoError(t, err)
	_, err = s.AddProducts(first.ID, []gen.Product{{RevisionID: "out-1", FileID: ptr("file-1"), ResourceType: ptr("Artifact"), ResourceID: ptr("art-1")}})
	require.NoError(t, err)

	in := newJob("m")
	in.File.Sources = []gen.NewSource{
		{RevisionID: "out-1", RelationshipIdentifier: ptr("load_geometry_file")},
		{RevisionID: first.File.Revisions[0].ID},
		{RevisionID: "elsewhere"},
	}
	next, err := s.AddJob("u", in)
	require.NoError(t, err)
	srcs := *next.File.Revisions[0].Sources
	require.Len(t, srcs, 3)
	assert.Equal(t, gen.Source{ID: srcs[0].ID, RevisionID: "out-1", RelationshipIdentifier: ptr("load_geometry_file"),
		FileID: ptr("file-1"), ResourceType: ptr("Artifact"), ResourceID: ptr("art-1")}, srcs[0], "a product")
	assert.Equal(t, gen.Source{ID: srcs[1].ID, RevisionID: first.File.Revisions[0].ID,
		FileID: ptr(first.File.ID), ResourceType: ptr("Job"), ResourceID: ptr(first.ID)}, srcs[1], "a job's file revision")
	assert.Equal(t, gen.Source{ID: srcs[2].ID, RevisionID: "elsewhere"}, srcs[2], "unknown")
	assert.NotNil(t, srcs[0].ID)

	updated, err := s.UpdateFile(next.ID, FileInput{FileName: "v2.json", Sources: []gen.NewSource{{RevisionID: "out-1"}}})
	require.NoError(t, err)
	assert.Equal(t, ptr("art-1"), (*updated.File.Revisions[1].Sources)[0].ResourceID, "an update's sources too")
}

// fillAll sets every field of the value v points to, recursively: pointers
// are allocated and lists get two entries. A field added to the generated
// model is filled too, so TestCloneSharesNothing fails until cloneJob
// copies it.
func fillAll(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fillAll(v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		v.SetString(path)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(len(path)))
	case reflect.Bool:
		v.SetBool(true)
	}
}

// shared returns the paths at which a and b, of the same type, share a
// pointer or a list's backing array.
func shared(a, b reflect.Value, path string) []string {
	var out []string
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		out = append(out, shared(a.Elem(), b.Elem(), path)...)
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				out = append(out, shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && b.Len() > 0 && a.Pointer() == b.Pointer() {
			out = append(out, path)
		}
		for i := range min(a.Len(), b.Len()) {
			out = append(out, shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// TestCloneSharesNothing: a copy of a job with every field set, products
// and sources included, shares no memory with the original.
func TestCloneSharesNothing(t *testing.T) {
	var j gen.Job
	fillAll(reflect.ValueOf(&j).Elem(), "job")
	c := cloneJob(j)
	assert.Equal(t, j, c)
	assert.Empty(t, shared(reflect.ValueOf(j), reflect.ValueOf(c), "job"))
}
