package jsonvalid

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestScannerMatchesValidate feeds inputs to a Scanner in every split and
// checks that it gives Validate's answer, at the same offset.
func TestScannerMatchesValidate(t *testing.T) {
	inputs := []string{`{"a":[1,2.5e3,"x\u00e9"]}`, `  [true,false,null] `, `{"a":}`, `[1,2`, ``, `"abc`, `{} x`, `-`, `1.5`}
	for _, in := range inputs {
		want := Validate(strings.NewReader(in))
		for cut := 0; cut <= len(in); cut++ {
			s := NewScanner()
			_, err1 := s.Write([]byte(in[:cut]))
			var err2 error
			if err1 == nil {
				_, err2 = s.Write([]byte(in[cut:]))
			}
			got := s.Close()
			if (want == nil) != (got == nil) {
				t.Fatalf("%q cut %d: Close = %v, Validate = %v", in, cut, got, want)
			}
			if want != nil {
				var a, b *SyntaxError
				if !errors.As(want, &a) || !errors.As(got, &b) || a.Offset != b.Offset || a.Msg != b.Msg {
					t.Fatalf("%q cut %d: Close = %v, Validate = %v", in, cut, got, want)
				}
				if err1 == nil && err2 == nil && a.Msg != msgEOF {
					t.Fatalf("%q cut %d: Write accepted invalid input", in, cut)
				}
			}
		}
	}
}

func TestScannerAfterClose(t *testing.T) {
	s := NewScanner()
	if _, err := s.Write([]byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte(" ")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestScannerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	doc := genDoc(1 << 20)
	s := NewScanner()
	defer s.Close()
	off, k := 0, 0
	allocs := testing.AllocsPerRun(100, func() {
		// Writes of uneven sizes (at most 101 of 7,000 bytes, well within
		// doc), so that tokens span writes.
		k++
		n := 1 + k*6151%7000
		if _, err := s.Write(doc[off : off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
	})
	assert.Zero(t, allocs, "Scanner.Write should not allocate")
	if _, err := s.Write(doc[off:]); err != nil {
		t.Fatal(err)
	}
	assert.NoError(t, s.Close())
}
