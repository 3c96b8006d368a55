package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/istari-go/sdk/facade"
)

// maxBatchLine is the longest line of an add --batch input, in bytes.
const maxBatchLine = 16 << 20

// The requests add --batch reads ahead and submits together: at most
// batchAhead × --concurrency of them, and batchAheadBytes of their lines
// (at least one line). With the one line being read, this bounds the
// memory of a batch, however long its input.
const (
	batchAhead      = 4
	batchAheadBytes = 32 << 20
)

// errLineTooLong is a line longer than maxBatchLine.
var errLineTooLong = fmt.Errorf("longer than %d MiB", maxBatchLine>>20)

// batchRequest is one add request of an add --batch input.
type batchRequest struct {
	line   int // its line number, from 1
	size   int // the length of its line
	params facade.AddJobParams
}

// batchLineError is a line that is not an add request, or that could not
// be read.
type batchLineError struct {
	line int
	err  error
}

func (e *batchLineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *batchLineError) Unwrap() error { return e.err }

// batchInput reads the add requests of an add --batch input one line at a
// time. A goroutine opens and reads the input, so that a read that blocks
// (standard input, a named pipe) does not keep a batch from ending when
// its context does; that goroutine ends once its read returns.
type batchInput struct {
	dir          string // where a relative parameters_file is found
	allowUnknown bool
	lines        chan lineRead
	stop         chan struct{}
	stopOnce     sync.Once
	// done is closed when the reading goroutine has returned.
	done chan struct{}
	// end is the last lineRead, with io.EOF or an error: next returns it
	// again.
	end *lineRead
}

// lineRead is one line as the reading goroutine hands it on.
type lineRead struct {
	n    int
	text []byte
	err  error // io.EOF after the last line
}

// openBatch starts reading file ("-" for r, standard input) in a
// goroutine. Call close when done.
func openBatch(file string, stdin io.Reader, allowUnknown bool) *batchInput {
	in := &batchInput{allowUnknown: allowUnknown, lines: make(chan lineRead),
		stop: make(chan struct{}), done: make(chan struct{})}
	open := func() (io.Reader, func(), error) { return stdin, func() {}, nil }
	if file != "-" {
		in.dir = filepath.Dir(file)
		open = func() (io.Reader, func(), error) {
			f, err := os.Open(file)
			if err != nil {
				return nil, nil, err
			}
			return f, func() { _ = f.Close() }, nil
		}
	}
	go in.read(open)
	return in
}

// read opens the input and hands its lines on, until the input ends, a
// line cannot be read, or close is called.
func (in *batchInput) read(open func() (io.Reader, func(), error)) {
	defer close(in.done)
	send := func(l lineRead) bool {
		select {
		case in.lines <- l:
			return true
		case <-in.stop:
			return false
		}
	}
	r, closeFn, err := open()
	if err != nil {
		send(lineRead{err: err})
		return
	}
	defer closeFn()
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		text, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			send(lineRead{n: n, err: err})
			return
		}
		if len(text) > 0 && !send(lineRead{n: n, text: text}) {
			return
		}
		if err != nil {
			send(lineRead{n: n, err: io.EOF})
			return
		}
	}
}

// readLine reads one line, without its line break, refusing one longer
// than maxBatchLine before reading past it.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		need := len(line) + len(frag)
		if need > maxBatchLine+2 { // room for "\r\n"
			return nil, errLineTooLong
		}
		if need > cap(line) {
			// Double, rather than append's 1.25 for large slices, so that
			// a long line leaves less garbage behind.
			grown := make([]byte, len(line), min(max(2*cap(line), need), maxBatchLine+2))
			copy(grown, line)
			line = grown
		}
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > maxBatchLine {
			return nil, errLineTooLong
		}
		return line, err
	}
}

// next returns the next add request; false at the end of the input. A
// line that is not an add request, or that cannot be read, is a
// *batchLineError; when ctx ends first, its error.
func (in *batchInput) next(ctx context.Context) (batchRequest, bool, error) {
	for {
		var l lineRead
		if in.end != nil {
			l = *in.end
		} else {
			select {
			case l = <-in.lines:
			case <-ctx.Done():
				return batchRequest{}, false, ctx.Err()
			}
			if l.err != nil {
				in.end = &l
			}
		}
		switch {
		case errors.Is(l.err, io.EOF):
			return batchRequest{}, false, nil
		case l.err != nil && l.n == 0:
			var pe *os.PathError
			if errors.As(l.err, &pe) {
				return batchRequest{}, false, pe.Err
			}
			return batchRequest{}, false, l.err
		case l.err != nil:
			return batchRequest{}, false, &batchLineError{line: l.n, err: l.err}
		}
		line := bytes.TrimSpace(l.text)
		if len(line) == 0 {
			continue
		}
		p, err := parseBatchLine(line, in.dir, in.allowUnknown)
		if err != nil {
			return batchRequest{}, false, &batchLineError{line: l.n, err: err}
		}
		return batchRequest{line: l.n, size: len(l.text), params: p}, true, nil
	}
}

// close stops the reading goroutine at its next line.
func (in *batchInput) close() { in.stopOnce.Do(func() { close(in.stop) }) }

// countBatch checks every line of a regular file and counts its add
// requests, so that a bad line is found before anything is sent.
func countBatch(ctx context.Context, file string, allowUnknown bool) (int, error) {
	in := openBatch(file, nil, allowUnknown)
	defer in.close()
	n := 0
	for {
		_, ok, err := in.next(ctx)
		if err != nil || !ok {
			return n, err
		}
		n++
	}
}
