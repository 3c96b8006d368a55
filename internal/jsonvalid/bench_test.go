package jsonvalid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// genDoc returns a deterministic, realistic JSON document of at least size
// bytes: an indented array of records with nested objects and arrays, strings
// with escapes and non-ASCII text, integers and floats, booleans and nulls.
func genDoc(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"alpha", "beta", "gamma", "delta", "mesh", "solver", "tolerance", "wing", "fuselage",
		"thermal", "stress", "naïve", "café", "Überprüfung", "résumé", "日本語", "path\\to\\file", "say \"hi\"",
		"tab\there", "line\nbreak", "<tag>", "a&b", "x/y", "\u2028"}
	sentence := func(n int) string {
		var sb strings.Builder
		for i := range n {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[rng.IntN(len(words))])
		}
		return sb.String()
	}
	var buf bytes.Buffer
	buf.WriteString("[\n  ")
	for i := 0; buf.Len() < size; i++ {
		if i > 0 {
			buf.WriteString(",\n  ")
		}
		tags := make([]string, rng.IntN(5))
		for j := range tags {
			tags[j] = words[rng.IntN(len(words))]
		}
		matrix := make([][]float64, 3)
		for j := range matrix {
			matrix[j] = []float64{rng.NormFloat64(), rng.Float64() * 1e-9, float64(rng.IntN(1000))}
		}
		rec := map[string]any{
			"id":          i,
			"name":        fmt.Sprintf("part-%06d", i),
			"description": sentence(3 + rng.IntN(12)),
			"tags":        tags,
			"active":      rng.IntN(2) == 0,
			"owner":       nil,
			"score":       rng.Float64() * 100,
			"count":       rng.Int64N(1 << 40),
			"delta":       -rng.ExpFloat64(),
			"params": map[string]any{
				"tolerance": 1e-6 * rng.Float64(),
				"max_iter":  rng.IntN(10000),
				"matrix":    matrix,
				"units":     "mm",
				"enabled":   []bool{true, false, rng.IntN(2) == 0},
			},
		}
		b, err := json.MarshalIndent(rec, "  ", "  ")
		if err != nil {
			panic(err)
		}
		buf.Write(b)
	}
	buf.WriteString("\n]\n")
	return buf.Bytes()
}

// genStringsDoc returns a string-heavy document of at least size bytes: an
// indented array of records whose values are mostly prose (15 to 400 bytes
// a string, about 120 on average), with non-ASCII text and an escape every
// 300 bytes or so, as in a parameters file that carries notes, paths and
// descriptions.
func genStringsDoc(size int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"the", "solver", "converged", "after", "iterations", "with", "a", "residual", "of",
		"mesh", "refinement", "near", "leading", "edge", "boundary", "layer", "thermal", "load", "case",
		"naïve", "café", "Überprüfung", "日本語"}
	escaped := []string{`C:\models\wing`, `"quoted"`, "tab\tsep", "line\nbreak", "\u2028"}
	text := func(n int) string {
		var sb strings.Builder
		for sb.Len() < n {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			if rng.IntN(40) == 0 {
				sb.WriteString(escaped[rng.IntN(len(escaped))])
			} else {
				sb.WriteString(words[rng.IntN(len(words))])
			}
		}
		return sb.String()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	buf.WriteString("[\n  ")
	for i := 0; buf.Len() < size; i++ {
		if i > 0 {
			buf.WriteString(",\n  ")
		}
		rec := map[string]string{
			"title":   text(20 + rng.IntN(40)),
			"path":    "/projects/" + text(30) + "/model.step",
			"summary": text(100 + rng.IntN(300)),
			"notes":   text(50 + rng.IntN(200)),
			"author":  text(15),
		}
		if err := enc.Encode(rec); err != nil {
			panic(err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteString("\n]\n")
	return buf.Bytes()
}

// genNumbersDoc returns a number-heavy document of at least size bytes: an
// object of arrays of coordinate triples and scalar fields, as in a mesh or a
// table of results: floats in shortest form (many with exponents), negative
// numbers and integers.
func genNumbersDoc(size int) []byte {
	rng := rand.New(rand.NewPCG(5, 6))
	var buf bytes.Buffer
	buf.WriteString(`{"nodes":[`)
	num := func() float64 {
		switch rng.IntN(4) {
		case 0:
			return float64(rng.IntN(100000) - 50000)
		case 1:
			return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-15))
		default:
			return rng.NormFloat64() * 1000
		}
	}
	for i := 0; buf.Len() < size; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := json.Marshal([]any{i, num(), num(), num()})
		if err != nil {
			panic(err)
		}
		buf.Write(b)
	}
	buf.WriteString(`],"pressure":[`)
	for i := range 1000 {
		if i > 0 {
			buf.WriteString(", ")
		}
		fmt.Fprint(&buf, num())
	}
	buf.WriteString("]}\n")
	return buf.Bytes()
}

// genRecordsDoc returns a compact document of at least size bytes, one
// record a line, in the shape of the parameters file of the upload benchmark
// (facade/upload_bench_test.go): short keys, strings with an escape and
// non-ASCII text, integers, floats, booleans, nulls, nested objects and
// arrays of numbers.
func genRecordsDoc(size int) []byte {
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i := 0; buf.Len() < size; i++ {
		fmt.Fprintf(&buf, `{"id":%d,"name":"part-%06d","description":"mesh \"refined\" near the wing root, café",`+
			`"active":%t,"owner":null,"score":%g,"params":{"tolerance":1e-6,"max_iter":%d,`+
			`"matrix":[[1.5,-2.25,3e-9],[0.125,%d,-7]],"units":"mm","tags":["thermal","stress"]}},`+"\n",
			i, i, i%2 == 0, float64(i)*0.37, i*13, i)
	}
	buf.WriteString(`{"id":-1,"last":true}` + "\n]\n")
	return buf.Bytes()
}

// benchDocs are the documents of BenchmarkValidate, 16 MiB each.
var benchDocs = sync.OnceValue(func() []struct {
	kind string
	doc  []byte
} {
	return []struct {
		kind string
		doc  []byte
	}{
		{"strings", genStringsDoc(16 << 20)},
		{"numbers", genNumbersDoc(16 << 20)},
		{"mixed", genDoc(16 << 20)},
		{"records", genRecordsDoc(16 << 20)},
	}
})

// BenchmarkValidate compares Validate (from a bytes.Reader), a Scanner fed
// 64 KiB writes, and encoding/json.Valid on the same documents. Besides MB/s
// (wall clock) it reports MB/cpu-s, the throughput per second of CPU time
// used by the benchmark's thread, which other processes competing for the
// CPUs do not lower.
func BenchmarkValidate(b *testing.B) {
	for _, d := range benchDocs() {
		doc := d.doc
		if !json.Valid(doc) {
			b.Fatalf("%s document is not valid JSON", d.kind)
		}
		b.Run("kind="+d.kind+"/impl=jsonvalid", func(b *testing.B) {
			r := bytes.NewReader(doc)
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			defer reportCPUThroughput(b, len(doc))()
			for b.Loop() {
				r.Reset(doc)
				if err := Validate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("kind="+d.kind+"/impl=jsonvalid-scanner", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			defer reportCPUThroughput(b, len(doc))()
			for b.Loop() {
				s := NewScanner()
				for p := doc; len(p) > 0; {
					n := min(len(p), 64<<10)
					if _, err := s.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("kind="+d.kind+"/impl=encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			defer reportCPUThroughput(b, len(doc))()
			for b.Loop() {
				if !json.Valid(doc) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkDecoderToken is the streaming alternative in encoding/json, for scale.
func BenchmarkDecoderToken(b *testing.B) {
	doc := genDoc(4 << 20)
	r := bytes.NewReader(doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(doc)
		dec := json.NewDecoder(r)
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// reportCPUThroughput locks the benchmark to its thread and returns a
// function, to be deferred, that reports the MB/cpu-s metric for b.N
// iterations over size bytes.
func reportCPUThroughput(b *testing.B, size int) func() {
	runtime.LockOSThread()
	start, ok := threadCPUTime()
	return func() {
		end, _ := threadCPUTime()
		runtime.UnlockOSThread()
		if ok && end > start {
			b.ReportMetric(float64(size)*float64(b.N)/(end-start).Seconds()/1e6, "MB/cpu-s")
		}
	}
}

// BenchmarkValidateParallel checks the documents of BenchmarkValidate, and
// the records written on one line, through a Pipeline of three workers that
// holds 8 chunks of 256 KiB, as the upload's check does. right/chunk is the
// share of the chunks whose guessed state was right.
func BenchmarkValidateParallel(b *testing.B) {
	docs := benchDocs()
	for _, d := range benchDocs() {
		if d.kind == "records" {
			docs = append(docs, struct {
				kind string
				doc  []byte
			}{"records-one-line", bytes.ReplaceAll(d.doc, []byte("\n"), []byte(" "))})
		}
	}
	for _, d := range docs {
		doc := d.doc
		b.Run("kind="+d.kind, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			var st PipelineStats
			for b.Loop() {
				var err error
				if st, err = validateParallel(doc, 3, 8); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Right)/float64(st.Chunks), "right/chunk")
		})
	}
}
