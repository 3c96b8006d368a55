package facade

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/gen"
)

// fill sets every field of the value v points to, recursively: pointers
// are allocated, lists get two entries, strings name their path. A field
// added to the generated model is filled too, so the round-trip test below
// fails until the facade carries it.
func fill(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC).Add(time.Duration(len(path)) * time.Second)))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		v.SetString("v" + path)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(len(path)))
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " at " + path)
	}
}

// TestConvertLosesNothing proves that the conversion from the generated
// model keeps every field: for a job with every optional field set (the
// products and sources of each file revision included), with none set, and
// with empty lists, the JSON form of the facade value is the
// JSON form of the generated value, byte for byte; and so is that of the
// value the facade's decoder reads from that JSON form.
func TestConvertLosesNothing(t *testing.T) {
	var full gen.Job
	fill(reflect.ValueOf(&full).Elem(), "job")
	minimal := gen.Job{
		ID: "job-1", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CreatedByID: "u",
		Function: gen.FunctionVersion{Name: "@istari:extract"},
	}
	emptyLists := gen.Job{
		ID: "job-2", ArchiveStatusHistory: []gen.ResourceArchiveStatus{}, Comments: []gen.Comment{},
		File:          gen.File{ArchiveStatusHistory: []gen.ResourceArchiveStatus{}, Revisions: []gen.FileRevision{{Sources: &[]gen.Source{}, Products: &[]gen.Product{}}}},
		Function:      gen.FunctionVersion{OperatingSystems: &[]gen.OperatingSystem{}, ToolVersions: &[]gen.ToolVersion{}},
		StatusHistory: &[]gen.JobStatus{},
	}
	for name, w := range map[string]*gen.Job{"every field": &full, "required only": &minimal, "empty lists": &emptyLists} {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(w)
			require.NoError(t, err)
			j := jobFromWire(w)
			got, err := json.Marshal(j)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
			assert.Same(t, w, j.Wire())

			// The facade's decoder (readjson.go) reads the wire form into
			// the same value, when every list the spec requires is there.
			if fj, ok := fastJob(want); ok {
				fast, err := json.Marshal(fj)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(fast))
				assert.Equal(t, w, fj.Wire())
			} else {
				assert.Equal(t, "required only", name, "its lists are null, which the shape rules refuse")
			}

			// The wire form reads back into the same value.
			var back Job
			require.NoError(t, json.Unmarshal(got, &back))
			again, err := json.Marshal(&back)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(again))

			// So does a page of such jobs.
			wp := gen.PageJob{Items: []gen.Job{*w, *w}, Page: 2, Pages: 3, Size: 2, Total: 5}
			wantPage, err := json.Marshal(wp)
			require.NoError(t, err)
			gotPage, err := json.Marshal(pageFromWire(&wp))
			require.NoError(t, err)
			assert.Equal(t, string(wantPage), string(gotPage))
		})
	}
}

// TestConvertFields spot-checks that values land in the right fields.
func TestConvertFields(t *testing.T) {
	var w gen.Job
	fill(reflect.ValueOf(&w).Elem(), "job")
	j := jobFromWire(&w)
	assert.Equal(t, *w.ModelID, j.ModelID)
	assert.Equal(t, *w.AssignedAgentPoolID, j.AssignedAgentPoolID)
	assert.Equal(t, *(*w.StatusHistory)[1].Message, j.StatusHistory[1].Message)
	assert.Equal(t, JobStatusName((*w.StatusHistory)[1].Name), j.Status())
	assert.Equal(t, OS((*w.Function.OperatingSystems)[1].Name), j.Function.OperatingSystems[1])
	assert.Equal(t, (*w.Function.ToolVersions)[0].ToolVersion, j.Function.ToolVersions[0])
	assert.Equal(t, *(*w.File.Revisions[1].Sources)[0].RelationshipIdentifier, j.File.Revisions[1].Sources[0].RelationshipIdentifier)
	assert.Equal(t, *(*w.File.Revisions[0].Sources)[1].ResourceType, j.File.Revisions[0].Sources[1].ResourceType)
	assert.Equal(t, *(*w.File.Revisions[1].Products)[0].RelationshipIdentifier, j.File.Revisions[1].Products[0].RelationshipIdentifier)
	assert.Equal(t, (*w.File.Revisions[1].Products)[1].RevisionID, j.Products()[1].RevisionID, "the latest revision's")
	assert.Equal(t, *w.Comments[0].Content, j.Comments[0].Content)
	assert.Equal(t, *w.ArchiveStatusHistory[1].Reason, j.ArchiveStatusHistory[1].Reason)
	last, ok := j.LastStatus()
	assert.True(t, ok)
	assert.Equal(t, (*w.StatusHistory)[1].ID, last.ID)
}

// TestEnumsMatchTheSpec checks the facade's enums against the generated
// ones, which come from api/openapi.yaml.
func TestEnumsMatchTheSpec(t *testing.T) {
	for _, s := range JobStatusNameValues() {
		assert.True(t, gen.JobStatusName(s).Valid(), s)
	}
	for _, o := range OSValues() {
		assert.True(t, gen.OS(o).Valid(), o)
	}
	for _, a := range ArchiveStatusValues() {
		assert.True(t, gen.ArchiveStatus(a).Valid(), a)
	}
	for _, a := range ArchiveStatusNameValues() {
		assert.True(t, gen.ArchiveStatusName(a).Valid(), a)
	}
	assert.False(t, JobStatusName("running").Valid())
	assert.False(t, OS("Windows 12").Valid())
	assert.False(t, ArchiveStatusName("active").Valid())
}
