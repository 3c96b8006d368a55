package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/istari-go/sdk/facade"
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

// uploadProgress returns the call options that make the upload of path
// show its progress on standard error, and a function to call when the
// upload is over. Progress is shown only on a terminal, and only for a file
// of at least progressMin bytes.
func (a *app) uploadProgress(path string) ([]facade.CallOption, func()) {
	if path == "" || !a.terminal(a.stderr) {
		return nil, func() {}
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() < a.progressMin {
		return nil, func() {}
	}
	p := &progress{w: a.stderr, label: "uploading " + escape(filepath.Base(path))}
	return []facade.CallOption{facade.WithUploadProgress(p.update)}, p.done
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
