package facade

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"sync"

	"github.com/istari-go/sdk/internal/jsonvalid"
)

// The ring of buffers through which a large checked file passes: the body
// reads the file into a free chunk, hands it to the JSON check's
// goroutines, and copies it out to the connection; the check gives the
// chunk back when it has checked it. The body is never more than ringChunks
// chunks ahead of the check, so a pass holds at most
// ringChunks*ringChunkSize bytes (2 MiB) of the file, whatever its size.
const (
	ringChunkSize = 256 << 10
	ringChunks    = 8
)

// errPassClosed is what a pass's Read returns after Close.
var errPassClosed = errors.New("upload body closed")

// uploadPools recycles the memory of uploads: the buffers small files are
// read into, by power-of-two size class, and the rings of the pipelined
// pass. Each Client has its own; the zero value is ready to use.
type uploadPools struct {
	bufs  [bufClasses]sync.Pool
	rings sync.Pool
}

// Buffer classes run from 64 KiB (class 0) to smallFileMax.
const (
	minBufShift = 16
	bufClasses  = 24 - minBufShift // up to 8 MiB
)

// bufClass returns the class of the smallest buffer that holds n bytes.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// getBuf returns a buffer of at least n bytes.
func (p *uploadPools) getBuf(n int) *[]byte {
	c := bufClass(n)
	if c >= bufClasses {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.bufs[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 1<<(c+minBufShift))
	return &b
}

// putBuf recycles a buffer from getBuf.
func (p *uploadPools) putBuf(b *[]byte) {
	n := cap(*b)
	if c := bufClass(n); c < bufClasses && n == 1<<(c+minBufShift) {
		*b = (*b)[:n]
		p.bufs[c].Put(b)
	}
}

// uploadCall is the upload of one AddJob or UpdateJob call: it opens a pass
// over the body for each attempt, and remembers why a pass failed.
type uploadCall struct {
	up       *upload
	pools    *uploadPools
	buf      *[]byte // the pooled buffer up.data lives in, if any
	progress *progressReporter

	mu     sync.Mutex
	passes []*uploadPass
	failed error // the first failure of a pass
	ended  bool
}

// open starts a new pass over the whole body; it is also the request's
// GetBody.
func (uc *uploadCall) open() (io.ReadCloser, error) {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	if uc.ended {
		return nil, errors.New("upload reopened after its call returned")
	}
	up := uc.up
	p := &uploadPass{call: uc, head: up.head, tail: up.tail, total: up.length()}
	switch {
	case up.file == nil || uc.buf != nil:
		p.mem = up.data
	default:
		// Each pass reads the file opened when the call began, from its
		// start, at offsets of its own (pread): passes never share a
		// position, and never reopen the path.
		p.f, p.remaining = io.NewSectionReader(up.file, 0, math.MaxInt64), up.size
		if up.check {
			p.ring = startScanRing(uc.pools)
		}
	}
	p.gen = uc.progress.restart()
	uc.passes = append(uc.passes, p)
	return p, nil
}

// mostSent returns the most bytes a pass has handed to the connection so
// far, and the body's size: a pass that has handed out all of them sent the
// whole request.
func (uc *uploadCall) mostSent() (sent, total int64) {
	uc.mu.Lock()
	passes := uc.passes
	uc.mu.Unlock()
	total = uc.up.length()
	for _, p := range passes {
		p.mu.Lock()
		sent = max(sent, p.sent)
		p.mu.Unlock()
	}
	return sent, total
}

// fail records the first failure of a pass.
func (uc *uploadCall) fail(err error) {
	uc.mu.Lock()
	if uc.failed == nil {
		uc.failed = err
	}
	uc.mu.Unlock()
}

// end closes every pass (waiting for their JSON checks to stop), stops the
// progress reports, releases the call's memory, closes the file, and
// returns the first failure of a pass. No pass can be opened afterwards.
func (uc *uploadCall) end() error {
	uc.mu.Lock()
	uc.ended = true
	passes := uc.passes
	uc.passes = nil
	uc.mu.Unlock()
	uc.progress.end()
	for _, p := range passes {
		_ = p.Close()
	}
	if uc.buf != nil {
		uc.pools.putBuf(uc.buf)
		uc.buf = nil
	}
	if f := uc.up.file; f != nil {
		// No pass reads it any more: Close waited for their Reads.
		_ = f.Close()
		uc.up.file = nil
	}
	uc.mu.Lock()
	defer uc.mu.Unlock()
	return uc.failed
}

// progressReporter calls a WithUploadProgress callback one call at a time,
// only for the newest pass (so a retry starts again from 0 and an older
// attempt's writer, still running, reports nothing), and never after the
// call has ended. A nil *progressReporter reports nothing.
type progressReporter struct {
	fn    func(sent, total int64)
	mu    sync.Mutex
	gen   uint64
	ended bool
}

// restart makes a new pass the one that reports, and returns its number.
func (r *progressReporter) restart() uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	return r.gen
}

func (r *progressReporter) report(gen uint64, sent, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended && gen == r.gen {
		r.fn(sent, total)
	}
}

// end waits for a callback in progress to return and stops the reports.
func (r *progressReporter) end() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
}

// uploadPass is one read of the whole body: the head, the file part, and
// the tail. The file part is read exactly: a file that ends early or holds
// more than its size fails the pass, and so does a checked file that is not
// valid JSON, always before the tail (the closing boundary) is returned, so
// that the server never receives a complete request. Read and Close may be
// called from different goroutines.
type uploadPass struct {
	call  *uploadCall
	gen   uint64
	total int64
	sent  int64

	mu         sync.Mutex
	head, tail []byte
	mem        []byte            // the file part, when it is in memory
	f          *io.SectionReader // the pass's own reader of the call's file
	remaining  int64             // of the file part, when it is read from f
	ring       *scanRing         // the JSON check of a file read from f, if any
	cur        []byte            // the unread rest of the ring's current chunk
	err        error             // sticky: the pass failed or was closed
}

// Read implements io.Reader.
func (p *uploadPass) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.read(b)
	if err != nil && err != io.EOF {
		p.err = err
		if !errors.Is(err, errPassClosed) {
			p.call.fail(err)
		}
		p.release()
	}
	if n > 0 {
		p.sent += int64(n)
		if pr := p.call.progress; pr != nil {
			pr.report(p.gen, p.sent, p.total)
		}
	}
	return n, err
}

func (p *uploadPass) read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	if len(p.mem) > 0 {
		n := copy(b, p.mem)
		p.mem = p.mem[n:]
		return n, nil
	}
	if p.f != nil {
		if n, err := p.readFile(b); n > 0 || err != nil {
			return n, err
		}
		// The whole file part is read; only the tail is left.
		if err := p.finishFile(); err != nil {
			return 0, err
		}
	}
	if len(p.tail) > 0 {
		n := copy(b, p.tail)
		p.tail = p.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

// readFile returns the next bytes of the file part, or (0, nil) once all of
// them have been returned.
func (p *uploadPass) readFile(b []byte) (int, error) {
	up := p.call.up
	if p.ring == nil {
		if p.remaining == 0 {
			return 0, nil
		}
		n, err := p.f.Read(b[:min(int64(len(b)), p.remaining)])
		p.remaining -= int64(n)
		switch {
		case n > 0:
			return n, nil
		case err == nil || errors.Is(err, io.EOF):
			return 0, up.changedSize(fmt.Sprintf("it had %d bytes, and ended after %d", up.size, up.size-p.remaining))
		default:
			return 0, up.unreadable(err)
		}
	}
	if err := p.ring.failure(); err != nil {
		return 0, up.invalidJSON(err)
	}
	if len(p.cur) == 0 {
		if p.remaining == 0 {
			return 0, nil
		}
		c, err := p.ring.next()
		if err != nil {
			return 0, up.invalidJSON(err)
		}
		c = c[:min(int64(len(c)), p.remaining)]
		n, err := io.ReadFull(p.f, c)
		p.remaining -= int64(n)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, up.changedSize(fmt.Sprintf("it had %d bytes, and ended after %d", up.size, up.size-p.remaining))
			}
			return 0, up.unreadable(err)
		}
		p.ring.give(c)
		p.cur = c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// finishFile checks, once the file part has been read, that the file ended
// there and that the JSON check accepted it all.
func (p *uploadPass) finishFile() error {
	up := p.call.up
	var one [1]byte
	n, err := p.f.Read(one[:])
	switch {
	case n > 0:
		return up.changedSize(fmt.Sprintf("it holds more than the %d bytes it had", up.size))
	case err != nil && !errors.Is(err, io.EOF):
		return up.unreadable(err)
	}
	p.f = nil
	if p.ring != nil {
		err := p.ring.finish()
		p.ring = nil
		if err != nil {
			return up.invalidJSON(err)
		}
	}
	return nil
}

// release drops the pass's reader of the file (which the call closes) and
// stops the JSON check; it needs p.mu.
func (p *uploadPass) release() {
	p.f = nil
	if p.ring != nil {
		p.ring.stop()
		p.ring = nil
	}
	p.mem, p.cur = nil, nil
}

// Close implements io.Closer. It waits for a Read in progress and for the
// pass's JSON check to stop; later Reads fail.
func (p *uploadPass) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = errPassClosed
	}
	p.release()
	return nil
}

// scanRing runs the JSON check over a pass's chunks on goroutines of its
// own (a jsonvalid.Pipeline), which give each chunk back to the free list
// once it has been checked.
type scanRing struct {
	pools *uploadPools
	mem   *[]byte
	free  chan []byte // chunks the body may fill
	check *jsonvalid.Pipeline
}

// scanWorkers is how many goroutines check a pass's chunks (see
// jsonvalid.Pipeline): one where only one CPU can run Go code at a time,
// since a second could only redo work, and three otherwise. On 2 CPUs
// shared with the send, three gave about 7% more throughput than two on
// unthrottled loopback (a median of 1,385 MB/s against 1,288 in six
// interleaved runs), and the same at 1 GB/s: the check, the slower of the
// two, gets a larger share of the CPUs. Each scans at most one chunk at a
// time, so a pass's memory is the same.
func scanWorkers() int {
	if runtime.GOMAXPROCS(0) < 2 {
		return 1
	}
	return 3
}

func startScanRing(pools *uploadPools) *scanRing {
	mem, ok := pools.rings.Get().(*[]byte)
	if !ok {
		b := make([]byte, ringChunks*ringChunkSize)
		mem = &b
	}
	r := &scanRing{pools: pools, mem: mem, free: make(chan []byte, ringChunks)}
	for i := range ringChunks {
		r.free <- (*mem)[i*ringChunkSize : (i+1)*ringChunkSize : (i+1)*ringChunkSize]
	}
	// After a syntax error the pipeline gives chunks back unchecked, so
	// that the body never waits.
	r.check = jsonvalid.NewPipeline(scanWorkers(), ringChunks, func(c []byte) { r.free <- c[:ringChunkSize] })
	return r
}

// failure returns the check's error if it has found one.
func (r *scanRing) failure() error { return r.check.Err() }

// next returns a free chunk, waiting for the check to give one back.
func (r *scanRing) next() ([]byte, error) {
	select {
	case c := <-r.free:
		return c, nil
	case <-r.check.Failed():
		return nil, r.check.Err()
	}
}

// give hands a filled chunk to the check. It never blocks: there are only
// ringChunks chunks.
func (r *scanRing) give(c []byte) { r.check.Write(c) }

// finish ends the input and waits for the check's verdict on all of it.
func (r *scanRing) finish() error {
	err := r.check.Close()
	r.recycle()
	return err
}

// stop ends the check early and waits for its goroutines to return.
func (r *scanRing) stop() {
	r.check.Stop()
	r.recycle()
}

func (r *scanRing) recycle() {
	r.pools.rings.Put(r.mem)
	r.mem = nil
}
