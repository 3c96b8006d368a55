package jsonvalid

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/istari-go/sdk/internal/leakcheck"
)

// pipelineCheck feeds b to a Pipeline with the given workers in chunks of
// size bytes, checks that every chunk is released once, in order, and
// returns the stats and Close's result.
func pipelineCheck(t testing.TB, b []byte, workers, size int) (PipelineStats, error) {
	t.Helper()
	var chunks [][]byte
	for q := b; len(q) > 0; q = q[min(size, len(q)):] {
		chunks = append(chunks, q[:min(size, len(q))])
	}
	released := make(chan []byte, len(chunks))
	p := NewPipeline(workers, 4, func(c []byte) { released <- c })
	// Give at most 4 chunks before taking one back, as a ring of 4 would.
	next := 0
	for k, c := range chunks {
		if k >= 4 {
			if got := <-released; !sameChunk(got, chunks[next]) {
				t.Fatalf("chunk %d released out of order", next)
			}
			next++
		}
		p.Write(c)
	}
	err := p.Close()
	for ; next < len(chunks); next++ {
		select {
		case got := <-released:
			if !sameChunk(got, chunks[next]) {
				t.Fatalf("chunk %d released out of order", next)
			}
		default:
			t.Fatalf("chunk %d of %d not released by Close", next, len(chunks))
		}
	}
	if len(released) != 0 {
		t.Fatalf("%d chunks released twice", len(released))
	}
	return p.Stats(), err
}

func sameChunk(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// pipelineDocs are documents with line starts that look alike: in the
// same state, or, in the misleading ones, not.
func pipelineDocs() map[string][]byte {
	var nested, deep strings.Builder
	// "\n{" starts lines at depth 1 and at depth 3, alternately.
	nested.WriteString("[\n")
	for i := range 2000 {
		fmt.Fprintf(&nested, "{\"a\":[\n{\"b\":%d}]},\n", i)
	}
	nested.WriteString("{}\n]\n")
	// The same indentation in an object and in an array.
	deep.WriteString("{\"o\": {\n  \"k\": 1,\n  \"l\": [\n  \"s\",\n  1]\n")
	for i := range 3000 {
		fmt.Fprintf(&deep, ",\n  \"k%d\": [\n  %d,\n  {\n  \"x\": 1}]\n", i, i)
	}
	deep.WriteString("}}\n")
	// Python's json.dumps: one line, ", " and ": ", objects nested in
	// objects and in arrays.
	var py, pyNested, nums strings.Builder
	py.WriteString("[")
	for i := range 3000 {
		fmt.Fprintf(&py, `{"id": %d, "sub": {"a": 1}, "items": [{"k": %d}, {"k": 2}], "s": "}, {\"id\": 1"}, `, i, i)
	}
	py.WriteString(`{"id": -1}]`)
	// On one line, "},{" followed by the same key at depths 1 and 3.
	pyNested.WriteString("[")
	for i := range 3000 {
		fmt.Fprintf(&pyNested, `{"a":[{"a":%d},{"a":[]}]},`, i)
	}
	pyNested.WriteString("{}]")
	nums.WriteString("[")
	for i := range 30000 {
		fmt.Fprintf(&nums, "%d,", i)
	}
	nums.WriteString("0]")
	// Rows of numbers on one line, and some rows of rows.
	var rows strings.Builder
	rows.WriteString(`{"rows": [`)
	for i := range 10000 {
		if i%100 == 99 {
			fmt.Fprintf(&rows, "[[%d, 1], [2]], ", i)
			continue
		}
		fmt.Fprintf(&rows, "[%d, 1.5, -2e-3], ", i)
	}
	rows.WriteString("[]]}")
	return map[string][]byte{
		"python":        []byte(py.String()),
		"nested python": []byte(pyNested.String()),
		"numbers line":  []byte(nums.String()),
		"rows":          []byte(rows.String()),
		"records":       genRecordsDoc(256 << 10),
		"indented":      genDoc(256 << 10),
		"strings":       genStringsDoc(128 << 10),
		"numbers":       genNumbersDoc(128 << 10),
		"nested":        []byte(nested.String()),
		"deep":          []byte(deep.String()),
		"one line":      bytes.ReplaceAll(genRecordsDoc(64<<10), []byte("\n"), []byte(" ")),
	}
}

// corrupt returns copies of doc with one byte changed, at offsets spread
// over the document, each to something that makes it invalid there.
func corrupt(doc []byte) [][]byte {
	var out [][]byte
	for _, frac := range []float64{0.01, 0.3, 0.5, 0.77, 0.999} {
		at := int(float64(len(doc)) * frac)
		for _, c := range []byte{'}', '\x01', ':', 'x'} {
			d := bytes.Clone(doc)
			d[at] = c
			out = append(out, d)
		}
	}
	// A line start that looks like the others, in a place where it is wrong.
	d := bytes.Clone(doc)
	at := len(d) / 2
	copy(d[at:], "\n{\n{")
	out = append(out, d)
	return append(out, doc[:len(doc)/2], append(bytes.Clone(doc), "\n{}"...))
}

// TestPipelineMatchesValidate checks that a Pipeline's verdict, and its
// error to the byte, line and column, are Validate's, on documents valid
// and not, in chunks of many sizes, with one to three workers, whether its
// guesses are right or wrong.
func TestPipelineMatchesValidate(t *testing.T) {
	defer leakcheck.VerifyNone(t)
	for name, doc := range pipelineDocs() {
		docs := append([][]byte{doc}, corrupt(doc)...)
		for k, d := range docs {
			want := Validate(bytes.NewReader(d))
			if k == 0 && want != nil {
				t.Fatalf("%s: %v", name, want)
			}
			for _, workers := range []int{1, 2, 3} {
				for _, size := range []int{61, 997, 4096, 64 << 10} {
					if size < 4096 && k > 2 {
						continue // enough small chunks: they are slow under -race
					}
					_, got := pipelineCheck(t, d, workers, size)
					if !equalErr(got, want) {
						t.Fatalf("%s #%d, %d workers, chunks of %d: Close() = %v, want %v", name, k, workers, size, got, want)
					}
				}
			}
		}
	}
}

// TestPipelineGuesses checks that the workers scan from guesses, that on
// a document with one record a line every guess after the first chunks is
// right, and that on a document whose alike line starts are in different
// states wrong guesses are caught.
func TestPipelineGuesses(t *testing.T) {
	docs := pipelineDocs()
	for _, tc := range []struct {
		doc        string
		wantRight  bool // every chunk but the first and the last was guessed right
		wantWrong  bool // some guess was wrong
		wantNoneAt bool // no guess was made at all
	}{
		{doc: "records", wantRight: true},
		{doc: "one line", wantRight: true},
		{doc: "python", wantRight: true},
		{doc: "rows", wantRight: true},
		{doc: "nested", wantWrong: true},
		{doc: "nested python", wantWrong: true},
		{doc: "numbers line", wantNoneAt: true},
	} {
		st, err := pipelineCheck(t, docs[tc.doc], 2, 4096)
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		t.Logf("%s: %+v", tc.doc, st)
		if st.Chunks != (len(docs[tc.doc])+4095)/4096 {
			t.Errorf("%s: %d chunks committed, want all", tc.doc, st.Chunks)
		}
		// The first chunk's commit gives the first guess; the last is too
		// short to hold a line start in its first half.
		if tc.wantRight && (st.Right < st.Chunks-2 || st.Right != st.Guessed) {
			t.Errorf("%s: %+v, want every chunk but the first and the last guessed right", tc.doc, st)
		}
		if tc.wantWrong && (st.Guessed == 0 || st.Right == st.Guessed) {
			t.Errorf("%s: %+v, want guesses and some of them wrong", tc.doc, st)
		}
		if tc.wantNoneAt && st.Guessed != 0 {
			t.Errorf("%s: %+v, want no guess on a document without resync points", tc.doc, st)
		}
	}
	// One worker never guesses: no goroutine would scan beside it.
	if st, _ := pipelineCheck(t, docs["records"], 1, 4096); st.Guessed != 0 {
		t.Errorf("one worker: %+v, want no guesses", st)
	}
}

// TestPipelineStopsEarly checks that Stop, with chunks held and a worker
// possibly waiting for its turn, returns with every goroutine gone, and
// that Failed and Err report an error before Close.
func TestPipelineStopsEarly(t *testing.T) {
	defer leakcheck.VerifyNone(t)
	doc := genRecordsDoc(1 << 20)
	p := NewPipeline(2, 8, func([]byte) {})
	for k := range 3 {
		p.Write(doc[k<<16 : (k+1)<<16])
	}
	p.Stop()
	p.Stop()
	if err := p.Close(); err == nil {
		t.Fatal("Close after Stop = nil, want an error")
	}

	bad := bytes.Clone(doc[:1<<16])
	bad[100] = '}'
	p = NewPipeline(2, 8, func([]byte) {})
	p.Write(bad)
	<-p.Failed()
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "invalid character '}'") {
		t.Fatalf("Err() = %v, want the syntax error", err)
	}
	p.Write(doc[1<<16 : 2<<16]) // after the error: released unscanned
	if err, want := p.Close(), Validate(bytes.NewReader(bad)); !equalErr(err, want) {
		t.Fatalf("Close() = %v, want %v", err, want)
	}
}

// TestPipelineEndWaitsForWorkers checks that Stop and Close do not return
// while a worker is still at work: here a worker is held inside release,
// and neither may return until it lets go. (That the goroutine then exits
// is up to the scheduler, which goleak allows for.)
func TestPipelineEndWaitsForWorkers(t *testing.T) {
	defer leakcheck.VerifyNone(t)
	for _, end := range []string{"Stop", "Close"} {
		t.Run(end, func(t *testing.T) {
			inRelease, letGo := make(chan struct{}), make(chan struct{})
			var once sync.Once
			p := NewPipeline(2, 4, func([]byte) {
				once.Do(func() {
					close(inRelease)
					<-letGo
				})
			})
			p.Write([]byte(`[1, 2, `))
			<-inRelease
			returned := make(chan struct{})
			go func() {
				defer close(returned)
				if end == "Stop" {
					p.Stop()
				} else {
					_ = p.Close()
				}
			}()
			select {
			case <-returned:
				t.Fatalf("%s returned while a worker was in release", end)
			case <-time.After(50 * time.Millisecond):
			}
			close(letGo)
			<-returned
		})
	}
}

// FuzzPipeline checks a Pipeline of two workers against Validate on fuzzed
// input, cut into fuzzed chunk sizes, repeated so that line starts recur.
func FuzzPipeline(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(3), uint8(2))
	}
	f.Add([]byte("{\"a\":[\n{\"b\":1}]},\n"), uint8(5), uint8(6))
	f.Add([]byte("  \"k\": [\n  1,\n  {\n  \"x\": 1}],\n"), uint8(7), uint8(4))
	f.Add([]byte(`{"a": [{"a": 1}, {"b": "}, {\"a\": 2"}]}`), uint8(9), uint8(8))
	f.Fuzz(func(t *testing.T, b []byte, size, repeat uint8) {
		if len(b) > 4096 {
			return
		}
		// As an array of repeats, one a line or all on one, the input's
		// resync points recur.
		for _, form := range []struct{ open, sep string }{{"[\n", ",\n"}, {"[", ","}} {
			doc := append([]byte(form.open), bytes.Repeat(append(b[:len(b):len(b)], form.sep...), int(repeat%16)+1)...)
			doc = append(doc, "0]"...)
			want := Validate(bytes.NewReader(doc))
			_, got := pipelineCheck(t, doc, 2, int(size%128)+1)
			if !equalErr(got, want) {
				t.Fatalf("Pipeline(%q) = %v, want %v", doc, got, want)
			}
		}
	})
}

// TestValidateParallel checks ValidateParallel against Validate on
// documents of a few chunks, valid and not, with one to three workers.
func TestValidateParallel(t *testing.T) {
	defer leakcheck.VerifyNone(t)
	for name, doc := range map[string][]byte{
		"records":  genRecordsDoc(2 << 20),
		"indented": genDoc(1 << 20),
		"small":    []byte(`{"a": [1, 2, 3]}`),
		"empty":    nil,
	} {
		docs := [][]byte{doc}
		if len(doc) > 1000 {
			docs = append(docs, corrupt(doc)...)
		}
		for k, d := range docs {
			want := Validate(bytes.NewReader(d))
			for _, workers := range []int{1, 2, 3} {
				if got := ValidateParallel(d, workers); !equalErr(got, want) {
					t.Fatalf("%s #%d, %d workers: ValidateParallel() = %v, want %v", name, k, workers, got, want)
				}
			}
		}
	}
	// The records are checked from guesses, not in order on one goroutine.
	if st, err := validateParallel(genRecordsDoc(2<<20), 3, 8); err != nil || st.Right < st.Chunks-2 {
		t.Fatalf("validateParallel(records) = %+v, %v; want every chunk but the first and last guessed right", st, err)
	}
}

// TestPipelineWriteWaits checks that a caller who writes chunk after chunk
// without waiting for any to be released is held back by Write, not given
// a wrong verdict: two slots are shared by 64 chunks.
func TestPipelineWriteWaits(t *testing.T) {
	defer leakcheck.VerifyNone(t)
	docs := pipelineDocs()
	for _, name := range []string{"records", "nested", "indented"} {
		for k, d := range append([][]byte{docs[name]}, corrupt(docs[name])...) {
			want := Validate(bytes.NewReader(d))
			p := NewPipeline(3, 2, func([]byte) {})
			size := len(d)/64 + 1
			for q := d; len(q) > 0; q = q[min(size, len(q)):] {
				p.Write(q[:min(size, len(q))])
			}
			if got := p.Close(); !equalErr(got, want) {
				t.Fatalf("%s #%d: Close() = %v, want %v", name, k, got, want)
			}
		}
	}
}
