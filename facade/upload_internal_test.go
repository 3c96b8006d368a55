package facade

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadWholeExactSize reads a small file whose size is not the one Stat
// reported when the call began (it changed in between): both directions are
// the file's error, before any request.
func TestReadWholeExactSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte(`{"a":[1,2,3]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var pools uploadPools
	for _, tc := range []struct {
		name   string
		size   int64
		wantOK bool
	}{{"exact", 13, true}, {"grew", 12, false}, {"shrank", 14, false}, {"stat said 0", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			up := &upload{field: "AddJobParams.ParametersFile", path: path, file: f, size: tc.size, check: true, smallMax: smallFileMax}
			if !up.inMemory() {
				t.Fatal("a small file is read whole")
			}
			buf, err := up.readWhole(&pools)
			if tc.wantOK {
				if err != nil || string(up.data) != `{"a":[1,2,3]}` || up.size != 13 {
					t.Fatalf("got %q (%d bytes), %v", up.data, up.size, err)
				}
				pools.putBuf(buf)
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, errChangedSize) || !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("got %v, want the file's changed-size error", err)
			}
			t.Log(err)
		})
	}
}

func TestBufClass(t *testing.T) {
	for _, tc := range []struct{ n, class, size int }{
		{0, 0, 64 << 10}, {1, 0, 64 << 10}, {64 << 10, 0, 64 << 10}, {64<<10 + 1, 1, 128 << 10},
		{smallFileMax, bufClasses - 1, smallFileMax},
	} {
		var pools uploadPools
		if c := bufClass(tc.n); c != tc.class {
			t.Errorf("bufClass(%d) = %d, want %d", tc.n, c, tc.class)
		}
		b := pools.getBuf(tc.n)
		if len(*b) != tc.size {
			t.Errorf("getBuf(%d) has %d bytes, want %d", tc.n, len(*b), tc.size)
		}
		pools.putBuf(b)
	}
}
