package jsonvalid

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readers returns the ways tests feed an input to Validate: whole, in pieces of
// various sizes, and with the final data arriving together with io.EOF.
func readers(b []byte) map[string]io.Reader {
	return map[string]io.Reader{
		"bytes":       bytes.NewReader(b),
		"buffer":      bytes.NewBuffer(b),
		"one-byte":    iotest.OneByteReader(bytes.NewReader(b)),
		"half":        iotest.HalfReader(bytes.NewReader(b)),
		"data-err":    iotest.DataErrReader(bytes.NewReader(b)),
		"chunks-3":    &chunkReader{data: b, sizes: []int{3}},
		"chunks-mix":  &chunkReader{data: b, sizes: []int{1, 2, 0, 5, 7, 0, 13}},
		"one-byte-de": iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(b))),
	}
}

// chunkReader returns data in pieces whose sizes cycle through sizes (a size
// of 0 is a (0, nil) read).
type chunkReader struct {
	data  []byte
	sizes []int
	k     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.sizes[r.k%len(r.sizes)], len(p), len(r.data))
	r.k++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

var validDocs = []string{
	`0`, `-0`, `1`, `-1`, `123`, `-1234567890`, `0.5`, `-0.0`, `1.25`, `1e3`, `1E3`, `1e+3`, `1e-3`,
	`1.5E-10`, `-0e0`, `0E+00`, `12345678901234567890123456789`,
	`""`, `"a"`, `"hello, world"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u0000"`, `"\uABCD\uabcd"`,
	`"\ud800"`, `"\udc00\ud800"`, "\"\x7f\"", "\"\xff\xfe\"", "\"\xed\xa0\x80\"", "\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\"",
	`true`, `false`, `null`,
	`[]`, `{}`, `[1]`, `[1,2,3]`, `[[]]`, `[[],[[]]]`, `{"a":1}`, `{"a":{"b":[true,false,null]}}`,
	`{"":""}`, `{"a":1,"b":2}`, `[{"a":[{"b":{}}]}]`,
	" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : \"c\" } \t\r\n",
	"\r\n[\r\n  1,\r\n  2\r\n]\r\n",
	` 1 `, "1\n", `"x" `, `[1 ]`, `[ 1]`, `{ }`, `[ ]`,
	`{"a":"b\"c\\d\u00e9"}`,
}

func TestValidateValid(t *testing.T) {
	for _, doc := range validDocs {
		require.True(t, json.Valid([]byte(doc)), "test table disagrees with json.Valid: %q", doc)
		for name, r := range readers([]byte(doc)) {
			assert.NoError(t, Validate(r), "%s: %q", name, doc)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		in           string
		offset       int64
		line, column int
		msg          string
	}{
		{"", 0, 1, 1, msgEOF},
		{" \n\t\r\n ", 6, 3, 2, msgEOF},
		{"[", 1, 1, 2, msgEOF},
		{"{\"a\":1", 6, 1, 7, msgEOF},
		{"{\"a\":1,\n", 8, 2, 1, msgEOF},
		{"[1,\r\n", 5, 2, 1, msgEOF},
		{`"abc`, 4, 1, 5, msgEOF},
		{`"ab\`, 4, 1, 5, msgEOF},
		{`"\u12`, 5, 1, 6, msgEOF},
		{`tru`, 3, 1, 4, msgEOF},
		{`-`, 1, 1, 2, msgEOF},
		{`1.`, 2, 1, 3, msgEOF},
		{`1e`, 2, 1, 3, msgEOF},
		{`1e+`, 3, 1, 4, msgEOF},
		{`-1.5E`, 5, 1, 6, msgEOF},
		{`01`, 1, 1, 2, "invalid character '1' after top-level value"},
		{`[01]`, 2, 1, 3, "invalid character '1' after array element"},
		{`-01`, 2, 1, 3, "invalid character '1' after top-level value"},
		{`+1`, 0, 1, 1, "invalid character '+' looking for beginning of value"},
		{`.5`, 0, 1, 1, "invalid character '.' looking for beginning of value"},
		{`-a`, 1, 1, 2, "invalid character 'a' in numeric literal"},
		{`1.e5`, 2, 1, 3, "invalid character 'e' after decimal point in numeric literal"},
		{`[1.]`, 3, 1, 4, "invalid character ']' after decimal point in numeric literal"},
		{`1e.5`, 2, 1, 3, "invalid character '.' in exponent of numeric literal"},
		{`1e+x`, 3, 1, 4, "invalid character 'x' in exponent of numeric literal"},
		{`1.5.5`, 3, 1, 4, "invalid character '.' after top-level value"},
		{`1e5.5`, 3, 1, 4, "invalid character '.' after top-level value"},
		{`1e5e5`, 3, 1, 4, "invalid character 'e' after top-level value"},
		{`0x10`, 1, 1, 2, "invalid character 'x' after top-level value"},
		{`1 2`, 2, 1, 3, "invalid character '2' after top-level value"},
		{`{} {}`, 3, 1, 4, "invalid character '{' after top-level value"},
		{"[1]\n\n]", 5, 3, 1, "invalid character ']' after top-level value"},
		{`nulll`, 4, 1, 5, "invalid character 'l' after top-level value"},
		{`[1,]`, 3, 1, 4, "invalid character ']' looking for beginning of value"},
		{`{"a":1,}`, 7, 1, 8, "invalid character '}' looking for beginning of object key string"},
		{"{\n  \"a\": 1,\n  \"b\": 2,\n}", 22, 4, 1, "invalid character '}' looking for beginning of object key string"},
		{"{\r\n  \"a\": 1,\r\n  \"b\"}", 19, 3, 6, "invalid character '}' after object key"},
		{"[\n1,\n2,\n{\"k\" \"v\"}]", 13, 4, 6, "invalid character '\"' after object key"},
		{`{"a" 1}`, 5, 1, 6, "invalid character '1' after object key"},
		{`{"a":1 "b":2}`, 7, 1, 8, "invalid character '\"' after object key:value pair"},
		{`[1 2]`, 3, 1, 4, "invalid character '2' after array element"},
		{`[1}`, 2, 1, 3, "invalid character '}' after array element"},
		{`{"a":1]`, 6, 1, 7, "invalid character ']' after object key:value pair"},
		{`{1:2}`, 1, 1, 2, "invalid character '1' looking for beginning of object key string"},
		{`{'a':2}`, 1, 1, 2, "invalid character '\\'' looking for beginning of object key string"},
		{`]`, 0, 1, 1, "invalid character ']' looking for beginning of value"},
		{`}`, 0, 1, 1, "invalid character '}' looking for beginning of value"},
		{`[}`, 1, 1, 2, "invalid character '}' looking for beginning of value"},
		{`{]`, 1, 1, 2, "invalid character ']' looking for beginning of object key string"},
		{"\"abc\ndef\"", 4, 1, 5, "invalid character '\\n' in string literal"},
		{"[\n\"ab\tc\"]", 5, 2, 4, "invalid character '\\t' in string literal"},
		{"\"\x00\"", 1, 1, 2, "invalid character '\\x00' in string literal"},
		{"\"\x1f\"", 1, 1, 2, "invalid character '\\x1f' in string literal"},
		{`"\a"`, 2, 1, 3, "invalid character 'a' in string escape code"},
		{`"\x41"`, 2, 1, 3, "invalid character 'x' in string escape code"},
		{`"\'"`, 2, 1, 3, "invalid character '\\'' in string escape code"},
		{`"\u12G4"`, 5, 1, 6, "invalid character 'G' in \\u hexadecimal character escape"},
		{`"\U1234"`, 2, 1, 3, "invalid character 'U' in string escape code"},
		{"{\n\"a\": \"x\\q\"\n}", 10, 2, 9, "invalid character 'q' in string escape code"},
		{`trUe`, 2, 1, 3, "invalid character 'U' in literal true (expecting 'u')"},
		{`fals`, 4, 1, 5, msgEOF},
		{`falsy`, 4, 1, 5, "invalid character 'y' in literal false (expecting 'e')"},
		{`nul`, 3, 1, 4, msgEOF},
		{`nUll`, 1, 1, 2, "invalid character 'U' in literal null (expecting 'u')"},
		{`True`, 0, 1, 1, "invalid character 'T' looking for beginning of value"},
		{"\xef\xbb\xbf{}", 0, 1, 1, "invalid character '\\xef' looking for beginning of value"},
		{"[1,\xff]", 3, 1, 4, "invalid character '\\xff' looking for beginning of value"},
		{"\x00", 0, 1, 1, "invalid character '\\x00' looking for beginning of value"},
		{"1\x00", 1, 1, 2, "invalid character '\\x00' after top-level value"},
		{"\f1", 0, 1, 1, "invalid character '\\f' looking for beginning of value"},
		{"1\v", 1, 1, 2, "invalid character '\\v' after top-level value"},
		{"{\"a\":1}\r\n{\"b\":2}", 9, 2, 1, "invalid character '{' after top-level value"},
		{"\n\n\n    {\"key\": [1, 2,, 3]}", 21, 4, 19, "invalid character ',' looking for beginning of value"},
	}
	for _, tt := range tests {
		require.False(t, json.Valid([]byte(tt.in)), "test table disagrees with json.Valid: %q", tt.in)
		want := &SyntaxError{Offset: tt.offset, Line: tt.line, Column: tt.column, Msg: tt.msg}
		for name, r := range readers([]byte(tt.in)) {
			err := Validate(r)
			var se *SyntaxError
			if assert.ErrorAs(t, err, &se, "%s: %q", name, tt.in) {
				assert.Equal(t, want, se, "%s: %q", name, tt.in)
			}
		}
	}
}

func TestSyntaxErrorError(t *testing.T) {
	err := &SyntaxError{Offset: 40, Line: 3, Column: 14, Msg: "invalid character '}' after object key"}
	assert.Equal(t, "line 3, column 14: invalid character '}' after object key", err.Error())

	got := Validate(strings.NewReader("{\n\"a\": 1,\n\"bcdefghijkl\"}"))
	assert.EqualError(t, got, "line 3, column 14: invalid character '}' after object key")
}

func TestDepth(t *testing.T) {
	nest := func(open, close string, n int) []byte {
		return []byte(strings.Repeat(open, n) + "1" + strings.Repeat(close, n))
	}
	for _, tc := range []struct{ open, close string }{{"[", "]"}, {`{"k":`, "}"}, {`[{"k":`, "}]"}} {
		ok := nest(tc.open, tc.close, maxDepth/len(strings.Trim(tc.close, " ")))
		require.True(t, json.Valid(ok))
		assert.NoError(t, Validate(bytes.NewReader(ok)))
		assert.NoError(t, Validate(iotest.OneByteReader(bytes.NewReader(ok))))
	}

	tooDeep := nest("[", "]", maxDepth+1)
	require.False(t, json.Valid(tooDeep))
	err := Validate(bytes.NewReader(tooDeep))
	assert.Equal(t, &SyntaxError{Offset: maxDepth, Line: 1, Column: maxDepth + 1, Msg: msgDepth}, err)

	// Depth is released by closing brackets: many shallow values are fine.
	wide := []byte("[" + strings.Repeat("[[[]]],{\"a\":{}},", 3*maxDepth) + "1]")
	assert.NoError(t, Validate(bytes.NewReader(wide)))
}

func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(`{"a": [1, 2`), iotest.ErrReader(boom))
	err := Validate(r)
	require.Error(t, err)
	assert.ErrorIs(t, err, boom)
	var se *SyntaxError
	assert.False(t, errors.As(err, &se), "a read error is not a SyntaxError")
	assert.Contains(t, err.Error(), "offset 11")

	err = Validate(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("[1]"))))
	assert.ErrorIs(t, err, iotest.ErrTimeout)

	// A syntax error found before the read error wins, since Validate stops reading.
	err = Validate(io.MultiReader(strings.NewReader(`[1,]`), iotest.ErrReader(boom)))
	assert.ErrorAs(t, err, &se)

	// Data returned together with an error is scanned first.
	err = Validate(&errAfterData{data: []byte("[1,}"), err: boom})
	assert.ErrorAs(t, err, &se)
	err = Validate(&errAfterData{data: []byte("[1]"), err: boom})
	assert.ErrorIs(t, err, boom)
}

// errAfterData returns all of data and err from its first Read.
type errAfterData struct {
	data []byte
	err  error
}

func (r *errAfterData) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, r.err
}

type noProgressReader struct{}

func (noProgressReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	assert.ErrorIs(t, Validate(noProgressReader{}), io.ErrNoProgress)
}

// TestChunkBoundaries checks inputs larger than the read buffer, with every
// kind of token placed across the boundary between two reads.
func TestChunkBoundaries(t *testing.T) {
	tokens := []string{
		`"abcdefgh\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00xyz"`, `-12345.678e+90`, `0.5E-3`, `0`, `true`, `false`, `null`,
		`{"key with \"escapes\"" : [ ]}`, "\"\xc3\xa9\xf0\x9f\x98\x80\"", "{\r\n}",
	}
	for _, tok := range tokens {
		for shift := 0; shift <= len(tok)+1; shift++ {
			// Pad so that tok starts shift bytes before the end of the first buffer.
			prefix := "[" + strings.Repeat(" ", bufSize-1-shift)
			doc := []byte(prefix + tok + "]")
			require.True(t, json.Valid(doc))
			bad := []byte(prefix + tok + ",]")
			// A plain reader is read in chunks; a bytes.Reader is scanned whole.
			for name, r := range map[string]func([]byte) io.Reader{
				"reader":       func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} },
				"bytes.Reader": func(b []byte) io.Reader { return bytes.NewReader(b) },
			} {
				assert.NoError(t, Validate(r(doc)), "%s: %q at shift %d", name, tok, shift)
				err := Validate(r(bad))
				var se *SyntaxError
				if assert.ErrorAs(t, err, &se) {
					assert.Equal(t, int64(len(bad)-1), se.Offset, "%s: %q at shift %d", name, tok, shift)
					assert.Equal(t, len(bad)-1-bytes.LastIndexByte(bad, '\n'), se.Column)
				}
			}
		}
	}

	// A string much longer than the buffer, with an error far into it.
	long := "\"" + strings.Repeat(`abc\"def\u1234ghi\\`, 3*bufSize/16) + "\""
	assert.NoError(t, Validate(strings.NewReader(long)))
	assert.NoError(t, Validate(iotest.HalfReader(strings.NewReader(long))))
	badLong := long[:len(long)-1] + "\x01\""
	err := Validate(strings.NewReader(badLong))
	assert.Equal(t, &SyntaxError{Offset: int64(len(badLong) - 2), Line: 1, Column: len(badLong) - 1,
		Msg: "invalid character '\\x01' in string literal"}, err)

	// Line counting across buffers, including CRLF.
	lines := strings.Repeat("[1,\r\n2,\n\"x\"],\n", 2*bufSize/14)
	doc := "[\n" + lines + "1,\n  x]"
	nLines := strings.Count(doc, "\n") + 1
	want := &SyntaxError{Offset: int64(len(doc) - 2), Line: nLines, Column: 3,
		Msg: "invalid character 'x' looking for beginning of value"}
	assert.Equal(t, want, Validate(strings.NewReader(doc)))
	assert.Equal(t, want, Validate(bytes.NewReader([]byte(doc))), "scanned whole, in pieces of bufSize")
}

// TestGeneratedDocument checks the benchmark document with several readers.
func TestGeneratedDocument(t *testing.T) {
	doc := genDoc(3 * bufSize)
	require.True(t, json.Valid(doc))
	for name, r := range readers(doc) {
		assert.NoError(t, Validate(r), name)
	}
	// Truncated at many points (so almost never valid), the verdict and the
	// error match what encoding/json reports; the cuts are in the first
	// 192 KiB, as each costs a scan of the document up to it.
	for n := 0; n < min(len(doc), 192<<10); n += 4999 {
		checkAgainstEncodingJSON(t, doc[:n])
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	doc := genDoc(1 << 20)
	r := bytes.NewReader(doc)
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(doc)
		if err := Validate(r); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "Validate of a valid document should not allocate once warm")
}
