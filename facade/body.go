package facade

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// bufferPool recycles the buffers that answers are read into. Each
// transport has its own.
type bufferPool struct{ p sync.Pool }

func (bp *bufferPool) get() *bytes.Buffer {
	if buf, ok := bp.p.Get().(*bytes.Buffer); ok {
		return buf
	}
	return new(bytes.Buffer)
}

// put recycles buf unless it grew large: one huge answer should not pin
// its memory for the life of the client.
func (bp *bufferPool) put(buf *bytes.Buffer) {
	if buf.Cap() <= 4<<20 {
		buf.Reset()
		bp.p.Put(buf)
	}
}

// bufferBody reads resp's body into memory, up to maxResponseBody+1 bytes,
// and replaces it with a *bufferedBody holding the bytes read (followed, for
// a larger answer, by what remains, which the decoder refuses unread).
func (bp *bufferPool) bufferBody(resp *http.Response) error {
	buf := bp.get()
	if resp.ContentLength > 0 && resp.ContentLength <= maxResponseBody {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		_ = resp.Body.Close()
		bp.put(buf)
		return err
	}
	bb := &bufferedBody{data: buf.Bytes(), buf: buf, pool: bp}
	bb.r.Reset(bb.data)
	if n > maxResponseBody {
		bb.rest = resp.Body
	} else {
		_ = resp.Body.Close()
	}
	resp.Body = bb
	return nil
}

// bufferedBody is an answer the transport read within its attempt. The
// decoder uses data directly; anyone else reads it as a stream.
type bufferedBody struct {
	data   []byte
	r      bytes.Reader
	buf    *bytes.Buffer
	pool   *bufferPool
	rest   io.ReadCloser // the unread remainder of an oversized answer
	closed bool
}

func (b *bufferedBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read on closed body")
	}
	n, err := b.r.Read(p)
	if err == io.EOF && b.rest != nil {
		if n > 0 {
			return n, nil
		}
		return b.rest.Read(p)
	}
	return n, err
}

// Close releases the buffer (the data must not be used afterwards) and the
// rest of an oversized answer.
func (b *bufferedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	if b.rest != nil {
		err = b.rest.Close()
	}
	b.data = nil
	b.pool.put(b.buf)
	b.buf = nil
	return err
}

// cancelOnClose releases an attempt's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// bufferedData returns the bytes of an answer the transport has read.
func bufferedData(body io.ReadCloser) ([]byte, bool) {
	if c, ok := body.(*cancelOnClose); ok {
		body = c.ReadCloser
	}
	if b, ok := body.(*bufferedBody); ok && !b.closed {
		return b.data, true
	}
	return nil, false
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
