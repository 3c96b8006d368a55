package jsonvalid

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// checkAgainstEncodingJSON validates b with several readers and checks the
// result against encoding/json: the same verdict as json.Valid, the same error
// offset as json.Unmarshal's SyntaxError and, for ASCII bytes, the same
// message; it also checks that Line and Column agree with Offset.
func checkAgainstEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	err := Validate(bytes.NewReader(b))
	valid := json.Valid(b)
	if valid != (err == nil) {
		t.Fatalf("Validate(%q) = %v, json.Valid = %v", b, err, valid)
	}
	for name, r := range map[string]func() error{
		"one-byte": func() error { return Validate(iotest.OneByteReader(bytes.NewReader(b))) },
		"chunks":   func() error { return Validate(&chunkReader{data: b, sizes: []int{7, 1, 2}}) },
	} {
		if err2 := r(); !equalErr(err, err2) {
			t.Fatalf("%s: Validate(%q) = %v, want %v as with bytes.Reader", name, b, err2, err)
		}
	}
	if valid {
		return
	}

	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Validate(%q) = %#v, want a *SyntaxError", b, err)
	}
	if se.Offset < 0 || se.Offset > int64(len(b)) {
		t.Fatalf("Validate(%q): offset %d out of range", b, se.Offset)
	}
	before := b[:se.Offset]
	line := 1 + bytes.Count(before, []byte{'\n'})
	col := len(before) - bytes.LastIndexByte(before, '\n')
	if se.Line != line || se.Column != col {
		t.Fatalf("Validate(%q) = %v at offset %d, want line %d, column %d", b, err, se.Offset, line, col)
	}

	var raw json.RawMessage
	var je *json.SyntaxError
	if !errors.As(json.Unmarshal(b, &raw), &je) {
		t.Fatalf("json.Unmarshal(%q) did not return a *json.SyntaxError", b)
	}
	// encoding/json counts the offending byte as read; at the end of input
	// it may also report the end as an invalid ' '.
	wantOff := je.Offset - 1
	if se.Msg == msgEOF {
		wantOff = je.Offset
	}
	if se.Offset != wantOff {
		t.Fatalf("Validate(%q) = %v at offset %d, json.Unmarshal = %q at offset %d", b, err, se.Offset, je, je.Offset)
	}
	if se.Msg != msgEOF && se.Msg != msgDepth && b[se.Offset] < utf8RuneSelf && se.Msg != je.Error() {
		t.Fatalf("Validate(%q) message %q, json.Unmarshal message %q", b, se.Msg, je.Error())
	}
}

func equalErr(a, b error) bool {
	var sa, sb *SyntaxError
	if errors.As(a, &sa) && errors.As(b, &sb) {
		return *sa == *sb
	}
	return a == nil && b == nil
}

// fuzzSeeds are interesting inputs beyond validDocs.
var fuzzSeeds = []string{
	"", " ", "\n", "\r\n", "\t", "\f", "\v", "\x00", "\xef\xbb\xbf{}", "\xff", "\x80",
	"0", "-", "+1", "+", ".", "01", "00", "-01", "1.", "1.e1", ".1", "1e", "1E", "1e+", "1e-", "1e+1", "1e1.5",
	"-0.0e-0", "1.0.0", "0x1F", "Infinity", "-Infinity", "NaN", "1_000", "１",
	"t", "tr", "tru", "true", "truex", "trUe", "f", "fals", "false", "falsee", "n", "nul", "null", "NULL", "nil", "None",
	`"`, `"a`, `"\`, `"\"`, `"\u`, `"\u0`, `"\u00`, `"\u000`, `"\u0000`, `"\u0000"`, `"\uGGGG"`, `"\u00g0"`, `"\a"`,
	`"\x00"`, `"\0"`, `"\'"`, "\"\x00\"", "\"\x1f\"", "\"\x20\"", "\"\x7f\"", "\"\x80\"", "\"\xff\"", "\"\xc3\"",
	"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"a\nb\"", "\"a\rb\"", "\"a\tb\"",
	"[", "]", "[]", "[[", "[]]", "[,]", "[1,]", "[,1]", "[1,,2]", "[1 2]", "[1:2]", "[1}", "[\"a\":1]",
	"{", "}", "{}", "{{}}", "{,}", `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{a:1}`, `{'a':1}`,
	`{"a":1]`, `{1:1}`, `{"a"::1}`, `{"a":1:2}`, `{"a":[}`, `{"a":{]}`, `{"a":1,"a":2}`,
	"1 2", "{} {}", "[] x", "null null", "\"a\" \"b\"", "1\n\n2", "[1]\r\n,", "{}\x00",
	// Deeper nesting is left to TestDepth: the fuzzer is much slower on large inputs.
	strings.Repeat("[", 100), strings.Repeat("[", 50) + strings.Repeat("]", 50),
	strings.Repeat(`[{"":`, 20) + "0" + strings.Repeat("}]", 20),
	"{\n  \"name\": \"wing\",\n  \"span_m\": 12.5,\n  \"ribs\": [1, 2, 3],\n  \"opts\": {\"fast\": true, \"tol\": 1e-6}\n}\n",
	"{\r\n\t\"a\": [\r\n\t\t1,\r\n\t\t2\r\n\t]\r\n}\r\n",
	"[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u00e9j\\uD83D\\uDE00\"]",
}

func FuzzValidate(f *testing.F) {
	for _, s := range validDocs {
		f.Add([]byte(s))
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add(genDoc(1)) // one record of the benchmark document
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstEncodingJSON(t, b)
	})
}
