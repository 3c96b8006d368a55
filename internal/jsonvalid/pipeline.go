package jsonvalid

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
)

// A Pipeline checks JSON that arrives in chunks, like a [Scanner], on
// goroutines of its own, so that the check overlaps the caller's work; with
// more than one worker it checks several chunks at once where it can. Its
// verdict and its errors are those of [Validate], at the same offsets.
//
// # How chunks are checked in parallel
//
// A worker that takes a chunk guesses the scanner's state at a resync point
// in the chunk's first half, and scans the rest of the chunk from there
// while the chunk before it is still being scanned. Chunks are then
// committed one at a time, in order: the bytes before the resync point are
// scanned from where the previous chunk ended, and if the true state there
// is the guessed one, the guess is known to have been right and the rest
// of the chunk is accounted for with its result. Otherwise (a wrong guess,
// or a syntax error found from a guess) the rest of the chunk is scanned
// again from the true state, which also reports errors at their exact
// place. So a guess can only cost time, never change the verdict.
//
// Between tokens, the scanner's whole state is where it is in the grammar
// and the stack of open brackets, and documents repeat it at places that
// look alike. A resync point is one of those: a line start (a line break
// can only be whitespace between two tokens), known by the line break, the
// indentation and the first byte after it, as in a file with one record a
// line or an indented one; or, in a chunk with no line break, the object
// after "},", known by those bytes and the object's first key, as in an
// array of records written on one line, or the array after "],", as in an
// array of rows of numbers. The guess is the state seen at the
// same bytes in an earlier chunk: the first chunk's first resync point gives
// the first guess, and the true state at a wrong guess the next one.
//
// A chunk with no resync point like the guessed one is scanned only at its
// commit, so a document with none checks at the speed of one goroutine.
// After a wrong guess, guesses stop for a number of chunks that doubles with
// each further wrong one, so a document whose resync points mislead costs
// little more than a scan on one goroutine.
type Pipeline struct {
	release func([]byte)
	workers int
	jobs    chan pipeJob
	held    chan struct{} // a token for each chunk held, given to Write and not released
	quit    chan struct{}
	bad     chan struct{} // closed when err is set
	wg      sync.WaitGroup

	// Owned by the caller's goroutine.
	seq     int64
	stopped bool

	// The chunks being checked, each in slot seq%len(slots), and the
	// commits. A worker that has scanned its chunk marks it ready and goes
	// on to the next chunk, unless its chunk is the next to commit and no
	// other worker is committing: it then commits its chunk and every ready
	// one after it. No worker ever waits for another.
	mu         sync.Mutex
	slots      []pipeSlot
	turn       int64 // the number of the next chunk to commit
	committing bool

	guess    atomic.Pointer[resyncGuess]
	guessOff atomic.Int64  // the first chunk at which workers guess again
	sampled  chan struct{} // closed once the first chunk has been committed

	// Owned by the commits, which run one at a time, in chunk order.
	v      *validator
	err    error // the first syntax error; set before bad is closed
	misses int   // wrong guesses in a row
	stats  PipelineStats
}

// PipelineStats counts how the chunks of a Pipeline were checked.
type PipelineStats struct {
	// Chunks is the number of chunks committed.
	Chunks int
	// Guessed is the number of chunks whose rest was scanned from a
	// guessed state, and Right how many of those guesses were right.
	Guessed, Right int
}

// resyncGuess is a guess: the state of the scanner at a resync point, a
// place in the input where it is likely to be in the same state each time
// the same bytes appear around it. sig is those bytes, and the scan starts
// off bytes into them; b is the first byte that is not whitespace from
// there, and st is normalized for it (see normalize). st is always a state
// between tokens (before stString), so a guess never matches a true state
// inside a string, number or literal.
type resyncGuess struct {
	st    state
	stack []byte
	sig   []byte
	off   int
	b     byte
}

// pipeJob is one chunk given to a Pipeline, and its number.
type pipeJob struct {
	chunk []byte
	seq   int64
}

// pipeSlot is a chunk that has been scanned from a guess, or not, and
// waits for its commit.
type pipeSlot struct {
	job   pipeJob
	sp    speculation
	sv    *validator // the state the scan from the guess ended in
	ready bool
}

// Bounds of the guesses.
const (
	// maxSigLen bounds the bytes that tell a resync point: an indentation
	// deeper than this, or a first key longer, is not looked for.
	maxSigLen = 64
	// maxGuessPause is the longest run of chunks without a guess after
	// wrong guesses.
	maxGuessPause = 64
)

// NewPipeline returns a Pipeline that checks the chunks given to Write on
// workers goroutines (at least 1), and calls release with each chunk once it
// no longer needs it, in the order of the Writes, from one of those
// goroutines. The Pipeline holds at most maxChunks chunks (given to Write
// and not yet released) at a time.
//
// Every Pipeline must end with Close or Stop, which wait for its goroutines
// to return.
func NewPipeline(workers, maxChunks int, release func(chunk []byte)) *Pipeline {
	workers = max(workers, 1)
	maxChunks = max(maxChunks, 1)
	p := &Pipeline{
		release: release,
		workers: workers,
		jobs:    make(chan pipeJob, maxChunks),
		held:    make(chan struct{}, maxChunks),
		quit:    make(chan struct{}),
		bad:     make(chan struct{}),
		v:       newStateValidator(),
		slots:   make([]pipeSlot, maxChunks),
		sampled: make(chan struct{}),
	}
	for i := range p.slots {
		p.slots[i].sv = newStateValidator()
	}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// Write hands chunk, the next bytes of the input, to the workers. The
// Pipeline reads chunk until it passes it to release; the caller must not
// change it before then. Write blocks while maxChunks chunks are held. It
// must not be called after Close or Stop.
func (p *Pipeline) Write(chunk []byte) {
	p.held <- struct{}{}
	p.jobs <- pipeJob{chunk: chunk, seq: p.seq}
	p.seq++
}

// Failed returns a channel that is closed once a syntax error has been
// found; Err then returns it.
func (p *Pipeline) Failed() <-chan struct{} { return p.bad }

// Err returns the first syntax error found so far, or nil.
func (p *Pipeline) Err() error {
	select {
	case <-p.bad:
		return p.err
	default:
		return nil
	}
}

// Close ends the input. It waits for every chunk to be checked and
// released and for the workers to return, and returns the verdict of
// Validate on the whole input: nil or a *SyntaxError.
func (p *Pipeline) Close() error {
	if p.stopped {
		return errPipelineEnded
	}
	p.stopped = true
	close(p.jobs)
	p.wg.Wait()
	if p.err != nil {
		return p.err
	}
	return p.v.finish()
}

// Stop abandons the input: it stops the workers and waits for them to
// return. Chunks not yet released are not released.
func (p *Pipeline) Stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	close(p.quit)
	p.wg.Wait()
}

// Stats returns the counts of the chunks committed; it may be called after
// Close or Stop.
func (p *Pipeline) Stats() PipelineStats {
	return p.stats
}

// speculation is what a worker found from a guessed state.
type speculation struct {
	guess *resyncGuess
	start int  // the index of the resync point in the chunk
	ok    bool // the rest of the chunk holds no error from the guess
}

// work is a worker: it takes chunks, scans each from a guess where it
// can, and commits the chunks that are ready in order when it is the one
// to.
func (p *Pipeline) work() {
	defer p.wg.Done()
	for {
		var j pipeJob
		select {
		case c, ok := <-p.jobs:
			if !ok {
				return
			}
			j = c
		case <-p.quit:
			return
		}
		// The slot is free: Write waited for the chunk seq-len(slots) to be
		// done with.
		sl := &p.slots[j.seq%int64(len(p.slots))]
		sl.job = j
		sl.sp = p.speculate(sl.sv, j)
		p.mu.Lock()
		sl.ready = true
		if p.committing || j.seq != p.turn {
			p.mu.Unlock()
			continue
		}
		p.committing = true
		for {
			next := &p.slots[p.turn%int64(len(p.slots))]
			if !next.ready {
				break
			}
			next.ready = false
			p.mu.Unlock()
			p.commit(next.job, next.sp, next.sv)
			if next.job.seq == 0 {
				close(p.sampled)
			}
			// The slot is done with: a Write may now reuse it.
			chunk := next.job.chunk
			<-p.held
			p.release(chunk)
			p.mu.Lock()
			p.turn++
			if p.stopping() {
				break
			}
		}
		p.committing = false
		p.mu.Unlock()
	}
}

// stopping reports whether Stop has been called.
func (p *Pipeline) stopping() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

// newStateValidator returns a validator at the start of its input, for
// Write and scan only: it has no read buffer.
func newStateValidator() *validator {
	v := &validator{stack: make([]byte, 0, 64)}
	v.reset()
	return v
}

// speculate scans the chunk of j from its first resync point that looks
// like the guessed one, in the guessed state, with sv. It returns the zero
// speculation if it made no guess.
func (p *Pipeline) speculate(sv *validator, j pipeJob) speculation {
	if p.workers < 2 {
		return speculation{}
	}
	if j.seq > 0 {
		// The first chunk's commit takes the first guess; without it, the
		// workers would run through the chunks after it with nothing to do.
		select {
		case <-p.sampled:
		case <-p.quit:
			return speculation{}
		}
	}
	g := p.guess.Load()
	if g == nil || j.seq < p.guessOff.Load() || p.Err() != nil {
		return speculation{}
	}
	// Only the first half of the chunk is searched, so that what is
	// scanned from the guess is most of it.
	c := j.chunk
	i := bytes.Index(c[:min(len(c), len(c)/2+len(g.sig))], g.sig)
	if i < 0 {
		return speculation{}
	}
	sv.reset()
	sv.st = g.st
	sv.stack = append(sv.stack, g.stack...)
	sp := speculation{guess: g, start: i + g.off}
	sp.ok = sv.scan(c[sp.start:]) < 0
	return sp
}

// commit accounts for the chunk of j, after every chunk before it: it scans
// the chunk with p.v, or, where the speculation sp with sv was right, takes
// the state sv ended in.
func (p *Pipeline) commit(j pipeJob, sp speculation, sv *validator) {
	if p.err != nil {
		return
	}
	p.stats.Chunks++
	c := j.chunk
	if sp.guess == nil {
		if p.workers > 1 {
			// The first chunk gives its first resync point, as early as
			// can be; a later one a resync point after its middle.
			from := len(c) / 2
			if j.seq == 0 {
				from = 0
			}
			c = p.sample(c, from)
		}
		p.scan(c)
		return
	}
	p.stats.Guessed++
	if !p.scan(c[:sp.start]) {
		return
	}
	g := sp.guess
	if sp.ok && normalize(p.v.st, g.b) == g.st && bytes.Equal(p.v.stack, g.stack) {
		p.stats.Right++
		p.misses = 0
		p.v.st, p.v.key, p.v.n, p.v.lit = sv.st, sv.key, sv.n, sv.lit
		p.v.stack = append(p.v.stack[:0], sv.stack...)
		p.v.advance(c[sp.start:])
		return
	}
	// The true state here is the better guess for the next chunks.
	p.setGuess(g.sig, g.off, g.b)
	p.misses++
	p.guessOff.Store(j.seq + 1 + min(int64(1)<<min(p.misses, 30), maxGuessPause))
	p.scan(c[sp.start:])
}

// sample scans c up to its first resync point at or after from, takes the
// state there as the guess for the chunks that follow if there is none yet
// or if the last one was wrong, and returns the rest of c.
func (p *Pipeline) sample(c []byte, from int) []byte {
	if p.guess.Load() != nil && p.misses == 0 {
		return c
	}
	k, sig, off := resyncPoint(c, from)
	if k < 0 {
		return c
	}
	if !p.scan(c[:k]) {
		return nil
	}
	p.setGuess(sig, off, c[skipSpace(c, k)])
	return c[k:]
}

// setGuess makes the state of p.v, at the resync point off bytes into sig
// whose first byte that is not whitespace is b, the guess for the chunks
// that follow, unless p.v is inside a token there.
func (p *Pipeline) setGuess(sig []byte, off int, b byte) {
	if p.v.st >= stString {
		return
	}
	p.guess.Store(&resyncGuess{st: normalize(p.v.st, b), stack: bytes.Clone(p.v.stack), sig: bytes.Clone(sig), off: off, b: b})
}

// resyncPoint returns the first resync point in c at or after from: a line
// start (after a '\n'), or, in a chunk with no line break, the first object
// after "}," (the next record of an array of records written on one line),
// or failing that the first array after "]," (the next row of an array of
// arrays). It returns the index of the point, the bytes around it that are
// looked for in later chunks, and the point's offset in them; or -1 if
// there is none. A line start's bytes are the '\n', the indentation and the
// first byte after it; an object's or array's are the "}," or "]," before
// it, the whitespace and its '{' or '['; an object's also take in its first
// key and ':', which tell records apart from objects nested in them.
func resyncPoint(c []byte, from int) (k int, sig []byte, off int) {
	if n := bytes.IndexByte(c[from:], '\n'); n >= 0 {
		k = from + n + 1
		if e := skipSpace(c, k); e < len(c) && e-k < maxSigLen {
			return k, c[k-1 : e+1], 1
		}
		return -1, nil, 0
	}
	for _, open := range []byte{'{', '['} {
		sep := []byte{open + 2, ','} // "}," or "],"
		for i := from; ; {
			n := bytes.Index(c[i:], sep)
			if n < 0 {
				break
			}
			k = i + n + 2
			e := skipSpace(c, k)
			if e < len(c) && e-k < maxSigLen && c[e] == open {
				end := e + 1
				if colon := bytes.IndexByte(c[e:min(len(c), e+maxSigLen)], ':'); open == '{' && colon > 0 {
					end = e + colon + 1
				}
				return k, c[k-2 : end], 2
			}
			i = k // a "}," before a key, or a "]," before a value
		}
	}
	return -1, nil, 0
}

// scan scans q with p.v, after the bytes already committed, and records the
// first syntax error. It reports whether q holds none.
func (p *Pipeline) scan(q []byte) bool {
	if p.err != nil {
		return false
	}
	if _, err := p.v.write(q); err != nil {
		p.err = err
		close(p.bad)
		return false
	}
	return true
}

// normalize returns the state st, at a resync point whose first byte that
// is not whitespace is b, as one of the states that scan b and what follows it
// alike: the state after '[' scans anything but ']' as a value does, and
// the state after '{' anything but '}' as the one after ',' in an object.
func normalize(st state, b byte) state {
	switch {
	case st == stArrayFirst && b != ']':
		return stValue
	case st == stObjectFirst && b != '}':
		return stObjectKey
	}
	return st
}

// errPipelineEnded is what Close returns after Close or Stop.
var errPipelineEnded = errors.New("jsonvalid: Pipeline closed twice or after Stop")

// pieceSize is the size of the chunks ValidateParallel hands to its
// Pipeline: the size of Validate's reads.
const pieceSize = bufSize

// ValidateParallel reports, like [Validate], whether p holds exactly one
// well-formed JSON value, with the same errors, but checks it on workers
// goroutines through a [Pipeline], in chunks of 256 KiB. With one worker,
// or an input of at most two chunks, it is Validate.
func ValidateParallel(p []byte, workers int) error {
	if workers <= 1 || len(p) <= 2*pieceSize {
		return Validate(bytes.NewReader(p))
	}
	// The Pipeline may hold every chunk: they are p's, and never reused,
	// so no Write need wait for one to be released.
	_, err := validateParallel(p, workers, (len(p)+pieceSize-1)/pieceSize)
	return err
}

// validateParallel checks p through a Pipeline of workers goroutines that
// holds at most maxChunks chunks, and returns the Pipeline's stats with its
// verdict.
func validateParallel(p []byte, workers, maxChunks int) (PipelineStats, error) {
	pl := NewPipeline(workers, maxChunks, func([]byte) {})
	for q := p; len(q) > 0; q = q[min(pieceSize, len(q)):] {
		pl.Write(q[:min(pieceSize, len(q))])
	}
	err := pl.Close()
	return pl.Stats(), err
}
