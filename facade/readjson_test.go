package facade

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/istari-go/sdk/gen"
)

// decodersAgree reads data as a job and as a page, by the fast path
// (readjson.go) and by the slow one (encoding/json into the generated
// types, the shape walk and the conversion), and reports the first
// difference: where the fast path gives a result, the slow one must give an
// equal result (the same fields, the same JSON form, the same Wire value
// and the same RawJSON). It also reports whether the fast path read data.
func decodersAgree(data []byte) (fastJobOK, fastPageOK bool, err error) {
	fj, fastJobOK := fastJob(data)
	sj, de := slowJob(data)
	if fastJobOK {
		if de != nil {
			return true, false, fmt.Errorf("job: the fast path read %q, the slow one refused it: %v (field %q)", data, de.Reason, de.Field)
		}
		if err := sameJob(fj, sj); err != nil {
			return true, false, fmt.Errorf("job %q: %w", data, err)
		}
	}
	if j, de2 := readJob(data); (de2 == nil) != (de == nil) || de != nil && (de2.Field != de.Field || de2.Reason != de.Reason) ||
		de == nil && sameJob(j, sj) != nil {
		return fastJobOK, false, fmt.Errorf("job %q: readJob differs from the slow path", data)
	}

	fp, fastPageOK := fastPage(data)
	sp, de := slowPage(data)
	if fastPageOK {
		if de != nil {
			return fastJobOK, true, fmt.Errorf("page: the fast path read %q, the slow one refused it: %v (field %q)", data, de.Reason, de.Field)
		}
		if err := samePage(fp, sp); err != nil {
			return fastJobOK, true, fmt.Errorf("page %q: %w", data, err)
		}
	}
	if p, de2 := readPage(data); (de2 == nil) != (de == nil) || de != nil && (de2.Field != de.Field || de2.Reason != de.Reason) ||
		de == nil && samePage(p, sp) != nil {
		return fastJobOK, fastPageOK, fmt.Errorf("page %q: readPage differs from the slow path", data)
	}
	return fastJobOK, fastPageOK, nil
}

func sameJob(a, b *Job) error {
	ca, cb := *a, *b
	ca.src, cb.src = nil, nil
	if !reflect.DeepEqual(ca, cb) {
		return fmt.Errorf("fields differ:\n%#v\n%#v", ca, cb)
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil || string(ja) != string(jb) {
		return fmt.Errorf("JSON forms differ:\n%s\n%s", ja, jb)
	}
	if !reflect.DeepEqual(a.Wire(), b.Wire()) {
		return fmt.Errorf("Wire values differ:\n%#v\n%#v", a.Wire(), b.Wire())
	}
	if string(a.RawJSON()) != string(b.RawJSON()) {
		return fmt.Errorf("RawJSON differs:\n%s\n%s", a.RawJSON(), b.RawJSON())
	}
	return nil
}

func samePage(a, b *JobPage) error {
	if a.Page != b.Page || a.Pages != b.Pages || a.Size != b.Size || a.Total != b.Total ||
		len(a.Items) != len(b.Items) || (a.Items == nil) != (b.Items == nil) {
		return fmt.Errorf("pages differ: %+v, %+v", a, b)
	}
	for i := range a.Items {
		if err := sameJob(a.Items[i], b.Items[i]); err != nil {
			return fmt.Errorf("items[%d]: %w", i, err)
		}
	}
	return nil
}

// readJSONFixtures are the answers the decoders are compared on: valid
// jobs and pages (every field set, required fields only, empty lists, the
// tests' and benchmarks' jobs), and the wrong-shape answers of
// TestHostileWrongShape and of the fuzz seeds.
func readJSONFixtures(t testing.TB) (valid, wrong []string) {
	var full gen.Job
	fill(reflect.ValueOf(&full).Elem(), "job")
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	minimal := gen.Job{ID: "job-1", Created: at, CreatedByID: "u", Function: gen.FunctionVersion{Name: "@istari:extract"},
		Comments: []gen.Comment{}, ArchiveStatusHistory: []gen.ResourceArchiveStatus{},
		File: gen.File{ID: "f", Created: at, ArchiveStatusHistory: []gen.ResourceArchiveStatus{}, Revisions: []gen.FileRevision{}}}
	emptyLists := minimal
	emptyLists.File.Revisions = []gen.FileRevision{{ID: "r", Created: at, Name: "p", Size: 2, Sources: &[]gen.Source{}, Products: &[]gen.Product{}}}
	emptyLists.Function = gen.FunctionVersion{Name: "f", OperatingSystems: &[]gen.OperatingSystem{}, ToolVersions: &[]gen.ToolVersion{}}
	emptyLists.StatusHistory = &[]gen.JobStatus{}
	for _, j := range []gen.Job{full, minimal, emptyLists} {
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		p, err := json.Marshal(gen.PageJob{Items: []gen.Job{j, j}, Total: 5, Page: 2, Size: 2, Pages: 3})
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, string(b), string(p))
	}
	bench := string(benchJobJSON("Running"))
	valid = append(valid, bench,
		" \n{\"items\":["+bench+", "+bench+"],\n \"total\":-0,\"page\":1,\"size\":10,\"pages\":1} \t",
		`{"items":[],"total":0,"page":1,"size":10,"pages":0}`,
		// Escapes, text beyond ASCII, bytes that are not UTF-8, an offset,
		// nulls the spec allows, and fields the spec does not know.
		strings.NewReplacer(`"job-1"`, `"job-\u0031\n\"\/"`, `"user-1"`, `"üser-1 ☃"`, `"@istari:extract"`, "\"@istari:\xff\xfe\"",
			`"created":"2026-11-30T12:00:00Z","created_by_id"`, `"created":"2026-11-30T13:00:00.123456789+01:00","created_by_id"`,
			`"comments":[]`, `"comments":[],"model_id":null,"extra":{"a":[1,2.5e-3,true,false,null,{"b":"c"}]},"Zzz":-1E+2`).Replace(bench),
	)
	wrong = []string{
		``, ` `, `null`, `{}`, `[]`, `{"status":"ok"}`, `[` + bench + `]`, `{"id": 12}`, `{"id":"x"}`,
		`{"items":null,"total":0,"page":1,"size":10,"pages":0}`, `{"items":[null],"total":1,"page":1,"size":10,"pages":1}`,
		`{"items":[{"id":""}],"total":1,"page":1,"size":1,"pages":1}`, `{"items":null,"total":-1,"page":0,"size":0,"pages":0}`,
		`{"items":[],"total":1.0,"page":1,"size":10,"pages":0}`, `{"items":[],"total":1e2,"page":1,"size":10,"pages":0}`,
		`{"items":[],"total":99999999999999999999,"page":1,"size":10,"pages":0}`,
		bench + `x`, bench + `{}`, bench[:len(bench)/2],
		strings.Replace(bench, `"id":"job-1"`, `"ID":"job-1"`, 1),
		strings.Replace(bench, `"id":"job-1"`, `"id":"job-1","id":"job-2"`, 1),
		// encoding/json merges a repeated list's elements with the first's.
		strings.Replace(bench, `"status_history":[`, `"status_history":[{"id":"s","job_id":"j","created":"2026-11-30T12:00:00Z","name":"Running","message":"m"}],"status_history":[`, 1),
		strings.Replace(bench, `"id":"job-1"`, `"i\u0064":"job-1"`, 1),
		strings.Replace(bench, `"created_by_id":"user-1"`, `"created_by_id":null`, 1),
		strings.Replace(bench, `"created":"2026-11-30T12:00:00Z"`, `"created":"2026-11-30 12:00:00"`, 1),
		strings.Replace(bench, `"created":"2026-11-30T12:00:00Z"`, `"created":"2026-11-30T12:00:0\u0030Z"`, 1),
		strings.Replace(bench, `"job-1"`, "\"job\x01\"", 1),
		strings.Replace(bench, `"comments":[]`, `"comments":[],"extra":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]`, 1),
		strings.Replace(bench, `"comments":[]`, `"comments":[],"extra":`+strings.Repeat("[", 600)+strings.Repeat("]", 600), 1),
	}
	return valid, wrong
}

// mutations returns variants of a valid answer: each member of each object
// removed, its value made null, a number, a string, an array, an object and
// a fraction, its key in upper case, and the member repeated (as it is,
// and with null).
func mutations(s string) []string {
	var out []string
	for _, m := range members(s) {
		del := s[:m.key] + s[m.end:]
		if rest := strings.TrimLeft(s[m.end:], " \t\r\n"); strings.HasPrefix(rest, ",") {
			del = s[:m.key] + rest[1:]
		} else if before := strings.TrimRight(s[:m.key], " \t\r\n"); strings.HasSuffix(before, ",") {
			del = before[:len(before)-1] + s[m.end:]
		}
		out = append(out, del)
		for _, v := range []string{`null`, `7`, `"x"`, `[]`, `{}`, `1.5`, `[{}]`} {
			out = append(out, s[:m.value]+v+s[m.end:])
		}
		out = append(out, s[:m.key]+strings.ToUpper(s[m.key:m.value])+s[m.value:],
			s[:m.end]+","+s[m.key:m.end]+s[m.end:], s[:m.end]+","+s[m.key:m.value]+"null"+s[m.end:])
	}
	return out
}

type member struct{ key, value, end int }

// members lists the members of every object in the valid JSON s.
func members(s string) []member {
	d := &jsonReader{s: s}
	var ms []member
	var walk func()
	walk = func() {
		switch d.next() {
		case '{':
			d.i++
			for first := true; ; first = false {
				c := d.next()
				if c == '}' {
					d.i++
					return
				}
				if !first {
					d.i++ // ,
					d.next()
				}
				k := d.i
				d.scanString()
				d.open(':')
				v := d.i + len(d.s[d.i:]) - len(strings.TrimLeft(d.s[d.i:], " \t\r\n"))
				walk()
				ms = append(ms, member{k, v, d.i})
			}
		case '[':
			d.i++
			for first := true; ; first = false {
				if d.next() == ']' {
					d.i++
					return
				}
				if !first {
					d.i++
				}
				walk()
			}
		default:
			d.skip(0)
		}
	}
	walk()
	return ms
}

// TestReadJSONMatchesGenerated is the differential test of the fast path:
// on every fixture, and on every mutation of the valid ones (a field
// missing, null, of the wrong type, in another case, repeated), it gives
// what encoding/json into the generated types, the shape walk and the
// conversion give, or leaves the answer to them; and it reads every valid
// fixture itself.
func TestReadJSONMatchesGenerated(t *testing.T) {
	valid, wrong := readJSONFixtures(t)
	for i, s := range valid {
		fj, fp, err := decodersAgree([]byte(s))
		if err != nil {
			t.Fatalf("valid %d: %v", i, err)
		}
		if !fj && !fp {
			t.Errorf("valid %d: the fast path gave up on %s", i, s)
		}
	}
	n, fast := 0, 0
	for _, s := range append(wrong, func() (all []string) {
		for _, v := range valid {
			all = append(all, mutations(v)...)
		}
		return all
	}()...) {
		fj, fp, err := decodersAgree([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		n++
		if fj || fp {
			fast++
		}
	}
	t.Logf("%d answers of the wrong shape or with odd members, %d of them read by the fast path", n, fast)
}

// TestReadJSONWire: Wire is decoded from the job's bytes on first use, once
// however many goroutines call it, and RawJSON gives those bytes.
func TestReadJSONWire(t *testing.T) {
	page := `{"items":[` + string(benchJobJSON("Running")) + `, ` + string(benchJobJSON("Completed")) + `],"total":2,"page":1,"size":2,"pages":1}`
	p, de := readPage([]byte(page))
	if de != nil {
		t.Fatal(de)
	}
	if p.Items[1].src.wire != nil {
		t.Fatal("Wire decoded before its first call")
	}
	if got, want := string(p.Items[1].RawJSON()), string(benchJobJSON("Completed")); got != want {
		t.Fatalf("RawJSON = %s, want %s", got, want)
	}
	// The first calls may come at once (go test -race checks them).
	var wg sync.WaitGroup
	ws := make([]*gen.Job, 4)
	for i := range ws {
		wg.Go(func() { ws[i] = p.Items[1].Wire() })
	}
	wg.Wait()
	w := p.Items[1].Wire()
	for _, x := range ws {
		if x != w {
			t.Fatal("Wire returned different values")
		}
	}
	if w == nil || w.ID != "job-1" || (*w.StatusHistory)[0].Name != gen.JobStatusNameCompleted || p.Items[1].Wire() != w {
		t.Fatalf("Wire = %+v", w)
	}
	var lit Job
	if lit.Wire() != nil || lit.RawJSON() != nil {
		t.Fatal("a literal Job has a Wire value or bytes")
	}
}

// TestReadJSONBoundsItsSlices: a list of more elements than its bytes can
// hold with their required fields is refused before its slice is made, so
// that a hostile answer such as [{},{},...] cannot make the decoder
// allocate many times its size.
func TestReadJSONBoundsItsSlices(t *testing.T) {
	const el = `{"created":"","id":"","job_id":"","name":""}`
	for _, tc := range []struct {
		array string
		n     int
		ok    bool
	}{
		{`[]`, 0, true},
		{`[ ` + el + ` ]`, 1, true},
		{`[` + el + `,` + el + `]`, 2, true},
		{`[{"a":"],[{\"}` + strings.Repeat("x", 40) + `"},` + el + `]`, 2, true},
		{`[` + strings.Repeat(`{},`, 1000) + `{}]`, 0, false},
		{`[` + el + `,{}]`, 0, false},
		{`[` + el, 0, false},
	} {
		d := &jsonReader{s: tc.array, i: 1}
		n, ok := d.count(minStatus)
		if ok != tc.ok || ok && n != tc.n || d.i != 1 {
			t.Errorf("count(%.40s) = %d, %v (at %d), want %d, %v", tc.array, n, ok, d.i, tc.n, tc.ok)
		}
	}
}
