package facade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// An upload's or a download's attempt is not bounded as a whole, since a
// large file may take longer than any fixed bound: it ends when nothing
// moves for the call's timeout.

// stallTimer ends an upload's attempt when no progress is made for d:
// every read of the request body or of the answer pushes the end back.
type stallTimer struct {
	d      time.Duration
	t      *time.Timer
	cancel context.CancelCauseFunc
}

// errStalled is the cause of an attempt ended by its stall timer.
var errStalled = errors.New("no progress")

func newStallTimer(d time.Duration, cancel context.CancelCauseFunc) *stallTimer {
	s := &stallTimer{d: d, cancel: cancel}
	s.t = time.AfterFunc(d, func() { cancel(fmt.Errorf("%w for %s: %w", errStalled, d, context.DeadlineExceeded)) })
	return s
}

func (s *stallTimer) progress() { s.t.Reset(s.d) }

func (s *stallTimer) stop() { s.t.Stop() }

// progressReader tells a stall timer of every read of a request body.
type progressReader struct {
	io.ReadCloser
	stall *stallTimer
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.stall.progress()
	return n, err
}
