package fakestore

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrFull: the store holds as much as its Limits allow, and takes no more.
var ErrFull = errors.New("store full")

// Limits bound what a Store holds, so that a client that adds without end
// meets an error rather than exhausting the memory of the process.
type Limits struct {
	// MaxJobs is the most jobs the store holds; 0 means no bound.
	MaxJobs int
	// MaxBytes bounds the bytes the store holds, as Size counts them; 0
	// means no bound. A change is refused once the store holds MaxBytes or
	// more, so the change that crosses the bound is kept: the store can
	// pass it by one change's size.
	MaxBytes int64
}

// WithLimits bounds what the store holds (see Limits); without it, the
// store has no bound.
func WithLimits(l Limits) Option {
	return func(s *Store) { s.limits = l }
}

// Size returns how many jobs the store holds and how many bytes: those of
// every job as JSON and of every file's kept bytes, about what they take
// in memory.
func (s *Store) Size() (jobs int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order), s.bytes
}

// room returns ErrFull when the store holds its MaxBytes, or, when adding
// a job, its MaxJobs. The caller holds s.mu.
func (s *Store) room(addingJob bool) error {
	l := s.limits
	switch {
	case addingJob && l.MaxJobs > 0 && len(s.order) >= l.MaxJobs:
		return &Error{Kind: ErrFull, Detail: fmt.Sprintf(
			"the in-memory platform holds %d jobs, its limit: it takes no more (istaritest.WithStoreLimits)", l.MaxJobs)}
	case l.MaxBytes > 0 && s.bytes >= l.MaxBytes:
		return &Error{Kind: ErrFull, Detail: fmt.Sprintf(
			"the in-memory platform holds %d bytes, its limit of %d: it takes no more (istaritest.WithStoreLimits)", s.bytes, l.MaxBytes)}
	}
	return nil
}

// measure counts e's bytes again, after a change. The caller holds s.mu.
func (s *Store) measure(e *entry) {
	n := int64(0)
	if data, err := json.Marshal(&e.job); err == nil {
		n = int64(len(data))
	}
	for _, u := range e.uploads {
		n += int64(len(u.Content)) + int64(len(u.FileName)+len(u.ContentType)+len(u.RevisionID))
	}
	s.bytes += n - e.size
	e.size = n
}
