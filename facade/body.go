package facade

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// ErrResponseTooLarge matches the error of an answer whose body is larger
// than the client's limit ([WithMaxResponseBytes] for a 2xx answer, 64 KiB
// for any other).
var ErrResponseTooLarge = errors.New("response body too large")

// defaultMaxResponseBytes is the default limit of a 2xx answer's body.
const defaultMaxResponseBytes = 64 << 20

// maxErrorBody caps the body of a non-2xx answer: what the facade keeps in
// [APIError.Body], and what Client.Raw may read.
const maxErrorBody = 64 << 10

// tooLargeError is an answer past its limit. It matches ErrResponseTooLarge.
type tooLargeError struct {
	limit  int64
	status int // the answer's status, when the transport refused it
}

func (e *tooLargeError) Error() string {
	return "response body larger than the limit of " + formatBytes(e.limit) + " (see WithMaxResponseBytes)"
}

func (e *tooLargeError) Is(target error) bool { return target == ErrResponseTooLarge }

// formatBytes prints n in the largest binary unit that divides it.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitedBody is every answer's body as the transport hands it on: reading
// past limit bytes fails with a *tooLargeError. It counts the bytes the
// caller reads, so a body that net/http decompresses counts decompressed.
type limitedBody struct {
	rc    io.ReadCloser
	limit int64
	n     int64
	err   error
	// stall, when set, is told of every read, so that an upload's attempt
	// ends only when no progress is made.
	stall *stallTimer
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.stall != nil {
		b.stall.progress()
	}
	if rest := b.limit - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		n -= int(b.n - b.limit)
		b.n = b.limit
		b.err = &tooLargeError{limit: b.limit}
		return n, b.err
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// bufferPool recycles the buffers that answers are read into. Each
// transport has its own.
type bufferPool struct{ p sync.Pool }

// maxPooled is the largest buffer the pool keeps: one huge answer should
// not pin its memory for the life of the client.
const maxPooled = 4 << 20

// get returns an empty buffer with room for at least n bytes.
func (bp *bufferPool) get(n int) []byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		if cap(*b) >= n {
			return (*b)[:0]
		}
		bp.p.Put(b)
	}
	return make([]byte, 0, max(n, 32<<10))
}

func (bp *bufferPool) put(b []byte) {
	if cap(b) > 0 && cap(b) <= maxPooled {
		b = b[:0]
		bp.p.Put(&b)
	}
}

// readCapped reads r to its end and returns its bytes, or a *tooLargeError
// once more than limit bytes arrive. hint is the answer's Content-Length
// (-1 when unknown): an honest one is allocated exactly. Without it the
// buffer doubles up to maxPooled and then grows by chunks of at most an
// eighth of the limit, so that reading an answer that turns out too large
// holds at most the limit plus one chunk. release returns the buffer to the
// pool; the data must not be used afterwards.
func (bp *bufferPool) readCapped(r io.Reader, hint, limit int64) (data []byte, release func(), err error) {
	data, pooled, err := bp.readCappedBuf(r, hint, limit)
	if err != nil {
		return nil, nil, err
	}
	if !pooled {
		return data, func() {}, nil
	}
	return data, func() { bp.put(data) }, nil
}

// readCappedBuf is readCapped, without a function to allocate: pooled
// tells whether data goes back to the pool (with put) once used.
func (bp *bufferPool) readCappedBuf(r io.Reader, hint, limit int64) (data []byte, pooled bool, err error) {
	if hint > limit {
		return nil, false, &tooLargeError{limit: limit}
	}
	first := bp.get(0)
	if hint >= 0 {
		// One more byte than announced, to see the end without a second
		// buffer.
		if cap(first) < int(hint)+1 {
			bp.put(first)
			first = make([]byte, 0, hint+1)
		}
	}
	done := func(b []byte) ([]byte, bool, error) {
		if int64(len(b)) > limit {
			bp.put(b)
			return nil, false, &tooLargeError{limit: limit}
		}
		return b, true, nil
	}
	// The first buffer: doubling while it is small.
	for {
		n, err := r.Read(first[len(first):cap(first)])
		first = first[:len(first)+n]
		if err == io.EOF {
			return done(first)
		}
		if err != nil {
			bp.put(first)
			return nil, false, err
		}
		if int64(len(first)) > limit {
			return done(first)
		}
		if len(first) < cap(first) {
			continue
		}
		if cap(first) >= maxPooled || int64(cap(first)) > limit {
			break
		}
		grown := make([]byte, len(first), min(2*cap(first), maxPooled, int(limit)+1))
		copy(grown, first)
		bp.put(first)
		first = grown
	}
	// Chunks, then one exact copy at the end.
	chunks := [][]byte{first}
	total := int64(len(first))
	chunk := max(limit/8, 1)
	for {
		size := min(chunk, limit+1-total)
		c := make([]byte, size)
		n, err := io.ReadFull(r, c)
		total += int64(n)
		chunks = append(chunks, c[:n])
		if total > limit {
			bp.put(first)
			return nil, false, &tooLargeError{limit: limit}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			bp.put(first)
			return nil, false, err
		}
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	bp.put(first)
	return out, false, nil
}

// bufferBody reads resp's body, already limited, into memory and replaces
// it with a *bufferedBody holding its bytes.
func (bp *bufferPool) bufferBody(body io.ReadCloser, hint, limit int64) (*bufferedBody, error) {
	data, pooled, err := bp.readCappedBuf(body, hint, limit)
	_ = body.Close()
	if err != nil {
		return nil, err
	}
	bb := &bufferedBody{data: data}
	if pooled {
		bb.pool = bp
	}
	bb.r.Reset(data)
	return bb, nil
}

// bufferedBody is an answer the transport read within its attempt. The
// call's decoding gets its data through the call's record (callInfo.answer);
// anyone else reads it as a stream.
type bufferedBody struct {
	data []byte
	r    readerAt
	// pool takes data back on Close; nil when data is not pooled.
	pool *bufferPool
	// cancel, when set, releases the attempt's timeout on Close (as
	// cancelOnClose does for other bodies).
	cancel func()
	closed bool
}

func (b *bufferedBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read on closed body")
	}
	return b.r.Read(p)
}

// Close releases the buffer; the data must not be used afterwards.
func (b *bufferedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.pool != nil {
		b.pool.put(b.data)
	}
	b.data = nil
	b.r.Reset(nil)
	if b.cancel != nil {
		b.cancel()
	}
	return nil
}

// readerAt reads a byte slice from its start.
type readerAt struct {
	b   []byte
	off int
}

func (r *readerAt) Reset(b []byte) { r.b, r.off = b, 0 }

func (r *readerAt) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// cancelOnClose releases an attempt's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// closeResp drains a little of a response we will not use, so that its
// connection can be reused, and closes it.
func closeResp(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

func closeReqBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}
