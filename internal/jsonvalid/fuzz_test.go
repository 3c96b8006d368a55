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
// result against what is stable across Go releases:
//
//   - the verdict is json.Valid's;
//   - every reader gives the same error;
//   - Line and Column agree with Offset;
//   - Offset follows the rule documented on SyntaxError, with encoding/json as
//     the witness: the input before Offset is a prefix of a valid document
//     (json.Valid accepts it once completed), and Offset is the length of the
//     input exactly when the error is about its end.
//
// encoding/json's error offsets and wording are not compared: they differ
// between Go releases (Go 1.27 reports the end of input at offset 0 for "-",
// and words escape errors differently), while validity does not.
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
		"scanner":  func() error { return scanInPieces(b, 5) },
	} {
		if name == "one-byte" && len(b) > 4096 {
			continue // slow, and the chunks already include 1-byte reads
		}
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
	if (se.Msg == msgEOF) != (se.Offset == int64(len(b))) {
		t.Fatalf("Validate(%q) = %v at offset %d of %d", b, err, se.Offset, len(b))
	}
	if se.Msg != msgEOF && se.Msg != msgDepth {
		if want := "invalid character " + quoteChar(b[se.Offset]) + " "; !strings.HasPrefix(se.Msg, want) {
			t.Fatalf("Validate(%q) message %q, want it to start with %q", b, se.Msg, want)
		}
	}
	if doc := completed(t, before); !json.Valid(doc) {
		t.Fatalf("Validate(%q) = %v, but json.Valid rejects the input before offset %d completed as %q", b, err, se.Offset, doc)
	}
}

// scanInPieces feeds b to a Scanner in writes of n bytes and returns Close's result.
func scanInPieces(b []byte, n int) error {
	s := NewScanner()
	for p := b; len(p) > 0; p = p[min(n, len(p)):] {
		if _, err := s.Write(p[:min(n, len(p))]); err != nil {
			break
		}
	}
	return s.Close()
}

// completed returns prefix, which the scanner must accept as the start of a
// document, followed by the shortest bytes that close every open token,
// value and bracket, so that json.Valid can judge whether the prefix was
// indeed the start of a valid document.
func completed(t *testing.T, prefix []byte) []byte {
	t.Helper()
	s := NewScanner()
	defer s.Close()
	if _, err := s.Write(prefix); err != nil {
		t.Fatalf("Scanner.Write(%q) = %v, want the prefix accepted", prefix, err)
	}
	v := s.v
	doc := append([]byte(nil), prefix...)
	afterKey := func() {
		if v.key {
			doc = append(doc, ":0"...)
		}
	}
	switch v.st {
	case stValue, stNumMinus, stNumDot, stNumE, stNumESign:
		doc = append(doc, '0')
	case stObjectKey:
		doc = append(doc, `"":0`...)
	case stColon:
		doc = append(doc, ":0"...)
	case stString:
		doc = append(doc, '"')
		afterKey()
	case stEsc:
		doc = append(doc, `n"`...)
		afterKey()
	case stHex:
		doc = append(doc, strings.Repeat("0", 4-v.n)+`"`...)
		afterKey()
	case stLit:
		doc = append(doc, v.lit[v.n:]...)
	}
	for k := len(v.stack) - 1; k >= 0; k-- {
		doc = append(doc, v.stack[k]+2) // '[' + 2 == ']', '{' + 2 == '}'
	}
	return doc
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
	pad := bytes.Repeat([]byte{' '}, 64)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstEncodingJSON(t, b)
		// The fast paths for numbers need 64 bytes at hand, more than most
		// fuzzed inputs hold; trailing whitespace gives them room.
		checkAgainstEncodingJSON(t, append(b[:len(b):len(b)], pad...))
	})
}
