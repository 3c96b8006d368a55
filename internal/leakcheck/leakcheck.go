// Package leakcheck checks that a test leaves no goroutine behind. It is
// goleak.VerifyNone with more patience: a goroutine that has done its work
// (and been waited for) may still stand runnable for a while before it
// exits on a loaded machine, longer than the half second or so that goleak
// waits by default. A goroutine that has really leaked never exits, so
// waiting longer costs a passing test nothing and still fails a leaking
// one.
package leakcheck

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Patience is how long VerifyNone waits for goroutines to exit.
const Patience = 5 * time.Second

// VerifyNone fails t if goroutines other than those opts ignore are still
// running after Patience.
func VerifyNone(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	verifyWithin(t, Patience, opts...)
}

// verifyWithin is VerifyNone with a patience of d.
func verifyWithin(t testing.TB, d time.Duration, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := goleak.Find(opts...) // waits about 0.4 s itself
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("still running after %v: %v", d, err)
			return
		}
	}
}
