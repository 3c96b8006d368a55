package jsonvalid

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// TestStopMasks checks the word-at-a-time masks byte by byte: in a word of
// bytes bg with byte k replaced by c, for every bg, c and k, each byte's flag
// is exactly its byte class.
func TestStopMasks(t *testing.T) {
	masks := []struct {
		name  string
		mask  func(uint64) uint64
		stops func(byte) bool
	}{
		{"stringStops", stringStops, func(c byte) bool { return class[c]&clStrSafe == 0 }},
		{"digitStops", digitStops, func(c byte) bool { return class[c]&clDigit == 0 }},
		{"nonZero", nonZero, func(c byte) bool { return c != 0 }},
	}
	var w [8]byte
	for _, m := range masks {
		for bg := range 256 {
			for c := range 256 {
				for k := range 8 {
					for j := range w {
						w[j] = byte(bg)
					}
					w[k] = byte(c)
					got := m.mask(binary.LittleEndian.Uint64(w[:]))
					for j := range w {
						if flagged := got>>(8*j+7)&1 == 1; flagged != m.stops(w[j]) {
							t.Fatalf("%s(% x): byte %d (%#02x) flagged %v, want %v", m.name, w, j, w[j], flagged, !flagged)
						}
					}
				}
			}
		}
	}
}

// TestRunsEveryByte puts every byte 0x00-0xff at every offset of long string,
// whitespace and digit runs, at several alignments, and checks the verdict
// against json.Valid and the error against the byte-at-a-time path (a
// one-byte reader never takes the word-at-a-time paths).
func TestRunsEveryByte(t *testing.T) {
	const runLen = 41 // two 16-byte blocks, one 8-byte word and a byte tail
	fill := func(pattern string) []byte {
		return bytes.Repeat([]byte(pattern), runLen)[:runLen]
	}
	runs := []struct {
		name          string
		before, after string
		run           []byte
	}{
		{"string", `["`, `"]`, fill("abcdefgh")},
		{"string-utf8", `{"`, `":1}`, fill("é日本\x7f~ ")},
		{"string-escapes", `["`, `"]`, fill(`a\"b\\c\u00e9\n`)},
		{"whitespace", `[`, `1]`, fill(" ")},
		{"whitespace-mixed", `{"a":`, `1}`, fill(" \t\r\n  \n\t")},
		{"integer", `[1`, `]`, fill("0123456789")},
		{"fraction", `[-0.`, `]`, fill("9876543210")},
		{"exponent", `[1E+`, `,2]`, fill("5")},
	}
	// Alignment does not change which byte of a word a run's byte lands in
	// (the words start where the run does), only how the input ends; all 8
	// are tried, or one under the race detector, which makes this 30x
	// slower and also skips the comparison with the byte-at-a-time path.
	aligns := 8
	if raceEnabled {
		aligns = 1
	}
	// Trailing whitespace of 80 bytes lets the paths that need 16 or 64
	// bytes at hand run; without it, the input ends right after the run.
	tails := [][]byte{nil, bytes.Repeat([]byte{' '}, 80)}
	doc := make([]byte, 0, 256)
	for _, r := range runs {
		for align := range aligns {
			pad := bytes.Repeat([]byte{' '}, align)
			for k := range runLen {
				for c := range 512 {
					doc = append(append(append(append(doc[:0], pad...), r.before...), r.run...), r.after...)
					doc = append(doc, tails[c/256]...)
					doc[align+len(r.before)+k] = byte(c)
					err := Validate(bytes.NewReader(doc))
					if json.Valid(doc) != (err == nil) {
						t.Fatalf("%s: Validate(%q) = %v, json.Valid disagrees", r.name, doc, err)
					}
					if raceEnabled {
						continue
					}
					if slow := Validate(iotest.OneByteReader(bytes.NewReader(doc))); !equalErr(err, slow) {
						t.Fatalf("%s: Validate(%q) = %v, byte at a time %v", r.name, doc, err, slow)
					}
				}
			}
		}
	}
}

// TestLongStringControlCharacters is the regression test for a fast path that
// let one control character through: each of 0x00-0x1f, alone in a string
// of 16+ bytes at every offset, is an error at its offset.
func TestLongStringControlCharacters(t *testing.T) {
	for n := 16; n <= 40; n += 8 {
		for k := range n {
			for c := range 0x20 {
				s := bytes.Repeat([]byte{'x'}, n)
				s[k] = byte(c)
				doc := []byte(fmt.Sprintf(`"%s"`, s))
				want := &SyntaxError{Offset: int64(1 + k), Line: 1, Column: 2 + k,
					Msg: "invalid character " + quoteChar(byte(c)) + " in string literal"}
				if got := Validate(bytes.NewReader(doc)); !equalErr(got, want) {
					t.Fatalf("Validate(%q) = %v, want %v", doc, got, want)
				}
			}
		}
	}
}

// TestNumberForms checks numbers of every shape, valid and not, with digit
// runs around the 8- and 16-byte word sizes, followed by every byte that may
// end or break them, in arrays and objects, with and without the 64 bytes
// after them that the number fast path needs.
func TestNumberForms(t *testing.T) {
	ints := []string{"", "0", "00", "05"}
	fracs := []string{""}
	exps := []string{""}
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17} {
		d := strings.Repeat("7", n)
		ints = append(ints, "1"+d)
		fracs = append(fracs, "."+d)
		if n <= 1 || n >= 15 {
			exps = append(exps, "e"+d, "E+"+d, "e-"+d)
		}
	}
	ends := []string{"", ",", ", ", ",,", "]", ".", "e", "-", "x", "\n", "0", ", 1"}
	tail := strings.Repeat(" ", 70)
	// Under the race detector, which makes this 40x slower, one case in 5.
	stride, k := 1, 0
	if raceEnabled {
		stride = 5
	}
	for _, sign := range []string{"", "-"} {
		for _, in := range ints {
			for _, fr := range fracs {
				for _, ex := range exps {
					num := sign + in + fr + ex
					for _, end := range ends {
						if k++; k%stride != 0 {
							continue
						}
						for _, doc := range []string{
							"[0," + num + end + ",1]" + tail,
							`{"a":` + num + end + "}",
							num + end + tail,
						} {
							checkAgainstEncodingJSON(t, []byte(doc))
						}
					}
				}
			}
		}
	}
}

// TestValuesMatchesStateMachine checks the run-of-values fast path
// (values), which a whole document in memory goes through, against the
// state machine alone, which writes of 32 bytes go through (the fast path
// needs 64 bytes at hand): small documents
// of every kind, each with one byte replaced at every offset by bytes that
// break or change the grammar, must get the same verdict and the same error
// from both, and json.Valid's verdict.
func TestValuesMatchesStateMachine(t *testing.T) {
	numbers := genNumbersDoc(400)
	numbers = append(numbers[:bytes.Index(numbers, []byte(`],"pressure"`))], "]}"...) // 1000 numbers fewer
	docs := [][]byte{
		genRecordsDoc(600),
		numbers,
		genDoc(500),
		genStringsDoc(500),
		[]byte(`{"a":[[],[1,-0,0.5,1e5,-2E-3,12345678901234567890,1.0000000000000000001e+10],{},{"b":{}}],"c":[true,false,null,"x\"y\u00e9"]}`),
	}
	replacements := []byte{'x', '"', ',', ':', ']', '}', '[', '{', '0', '-', '.', 'e', ' ', '\n', '\\', 0x01}
	stride := 1
	if raceEnabled {
		stride = 7
	}
	for _, doc := range docs {
		require.True(t, json.Valid(doc), "%s", doc)
		// Pad the end so that the fast path, which needs 64 bytes at
		// hand, runs up to the last token too.
		doc = append(doc, strings.Repeat(" ", 70)...)
		b := make([]byte, len(doc))
		for k := 0; k < len(doc); k += stride {
			for _, c := range replacements {
				copy(b, doc)
				b[k] = c
				whole := Validate(bytes.NewReader(b))
				machine := scanInPieces(b, 32)
				if !equalErr(whole, machine) {
					t.Fatalf("byte %d replaced by %q in %q: whole %v, state machine alone %v", k, c, b, whole, machine)
				}
				if (whole == nil) != json.Valid(b) {
					t.Fatalf("byte %d replaced by %q in %q: Validate %v, json.Valid %v", k, c, b, whole, json.Valid(b))
				}
			}
		}
	}
}
