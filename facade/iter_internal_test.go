package facade

import (
	"strconv"
	"testing"
)

// TestRecentIDsIsBounded: the iterator's memory of ids covers the last
// keep pages only, so a walk of any length holds at most keep pages' ids,
// and a repeat within them is still caught.
func TestRecentIDsIsBounded(t *testing.T) {
	r := newRecentIDs(3)
	for p := range 1000 {
		r.startPage(2)
		for _, id := range []string{itoaID(2 * p), itoaID(2*p + 1)} {
			if !r.add(id) {
				t.Fatalf("page %d: %s reported as a repeat", p, id)
			}
		}
		if p >= 2 && r.add(itoaID(2*(p-2))) {
			t.Fatalf("page %d: a repeat from two pages back was not caught", p)
		}
		if len(r.pages) > 3 {
			t.Fatalf("page %d: %d pages remembered, want at most 3", p, len(r.pages))
		}
	}
	r.startPage(1)
	if !r.add(itoaID(0)) {
		t.Fatal("an id from a page long forgotten is reported as a repeat: memory is not bounded")
	}
}

func itoaID(n int) string { return "job-" + strconv.Itoa(n) }
