package jsonvalid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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

var benchDoc = sync.OnceValue(func() []byte { return genDoc(16 << 20) })

func BenchmarkValidate(b *testing.B) {
	doc := benchDoc()
	r := bytes.NewReader(doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(doc)
		if err := Validate(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONValid(b *testing.B) {
	doc := benchDoc()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkDecoderToken(b *testing.B) {
	doc := benchDoc()
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
