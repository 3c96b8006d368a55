package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// defaultProgressMin is the smallest upload whose progress is shown.
const defaultProgressMin = 1 << 20

// progressInterval is how often the progress line is redrawn at most.
const progressInterval = 100 * time.Millisecond

// clearLine returns the cursor to the start of the line and clears it.
const clearLine = "\r\x1b[K"

// terminal reports whether w is a terminal that understands control
// sequences.
func (a *app) terminal(w io.Writer) bool {
	return a.isTerminal != nil && a.isTerminal(w) && a.getenv("TERM") != "dumb"
}

// progressKey carries an upload's *progress to uploadProgressEditor
// through the request's context.
type progressKey struct{}

// withUploadProgress returns a context that makes the upload of path show
// its progress on standard error, and a function to call when the upload
// is over. Progress is shown only on a terminal, and only for a file of at
// least progressMin bytes.
func (a *app) withUploadProgress(ctx context.Context, path string) (context.Context, func()) {
	if path == "" || !a.terminal(a.stderr) {
		return ctx, func() {}
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() < a.progressMin {
		return ctx, func() {}
	}
	p := &progress{w: a.stderr, label: "uploading " + sanitize(filepath.Base(path), false)}
	return context.WithValue(ctx, progressKey{}, p), p.done
}

// uploadProgressEditor is a facade.RequestEditor: when the request's
// context carries a *progress, it counts the body's bytes as the transport
// reads them. It runs for every attempt, on the attempt's own body, so a
// retried upload starts counting again from zero.
func uploadProgressEditor(ctx context.Context, req *http.Request) error {
	p, ok := ctx.Value(progressKey{}).(*progress)
	if !ok || req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	req.Body = &countingBody{ReadCloser: req.Body, p: p, total: req.ContentLength}
	return nil
}

// countingBody reports the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	p     *progress
	n     int64
	total int64
}

func (b *countingBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.n += int64(n)
	b.p.update(b.n, b.total)
	return n, err
}

// progress draws one updating line on a terminal.
type progress struct {
	w     io.Writer
	label string

	mu     sync.Mutex
	last   time.Time
	shown  bool
	closed bool
}

// update redraws the line, at most every progressInterval and always at
// the end.
func (p *progress) update(n, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.closed || (n != total && now.Sub(p.last) < progressInterval) {
		return
	}
	p.last, p.shown = now, true
	if total > 0 {
		fmt.Fprintf(p.w, "%s%s: %d / %d bytes (%d%%)", clearLine, p.label, n, total, n*100/total)
		return
	}
	fmt.Fprintf(p.w, "%s%s: %d bytes", clearLine, p.label, n)
}

// done clears the line; later updates draw nothing.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown && !p.closed {
		fmt.Fprint(p.w, clearLine)
	}
	p.closed = true
}
