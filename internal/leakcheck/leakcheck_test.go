package leakcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestVerifyWithin(t *testing.T) {
	t.Run("a goroutine that never exits is reported", func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		ignore := goleak.IgnoreCurrent()
		go func() { <-block }()
		r := &recorder{TB: t}
		start := time.Now()
		verifyWithin(r, 200*time.Millisecond, ignore)
		if len(r.errs) != 1 || !strings.Contains(r.errs[0], "still running after") {
			t.Fatalf("errors = %q, want one naming the leak", r.errs)
		}
		if time.Since(start) < 200*time.Millisecond {
			t.Errorf("reported after %v, before its patience", time.Since(start))
		}
	})
	t.Run("a goroutine that exits late is allowed for", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		go time.Sleep(1500 * time.Millisecond) // longer than goleak's own wait
		r := &recorder{TB: t}
		verifyWithin(r, 10*time.Second, ignore)
		if len(r.errs) != 0 {
			t.Fatalf("errors = %q, want none", r.errs)
		}
	})
}
