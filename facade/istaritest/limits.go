package istaritest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/istari-go/sdk/internal/fakestore"
)

// The bounds of the platform as a server that people run, in CI or with
// istari-jobs serve, so that no client holds it or fills its memory
// without end.
const (
	// ReadHeaderTimeout is how long a client of NewServer (and of
	// istari-jobs serve) has to send a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// IdleTimeout closes a kept-alive connection that sends no request for
	// that long.
	IdleTimeout = 2 * time.Minute
	// BodyGrace and MinBodyRate pace a request body: counted from when the
	// platform starts reading it, the body's first bytes have BodyGrace to
	// come, and every MinBodyRate bytes after them one second more. A
	// 32 MiB upload may take 10 s + 512 s (64 KiB/s on average); a body
	// trickled at 1 byte/s is cut after about 10 s, and answered 408. The
	// pace holds wherever Handler is mounted: it is the connection's read
	// deadline, set through http.ResponseController.
	BodyGrace = 10 * time.Second
	// MinBodyRate is the slowest average pace of a request body, in bytes
	// per second, after BodyGrace.
	MinBodyRate = 64 << 10
	// MaxFormParts bounds the parts of a multipart request (the file, the
	// sources and the text fields); a request with more is answered 422
	// without being read further.
	MaxFormParts = 128
	// MaxSources bounds the sources of one upload, whether each comes in a
	// part of its own or in an array; more is 422.
	MaxSources = 100
	// DefaultMaxStoreJobs and DefaultMaxStoreBytes bound what the platform
	// holds unless WithStoreLimits says otherwise: past either, a change
	// is answered 507 Insufficient Storage and stored nothing. The bytes
	// are those of the jobs as JSON and of the files' kept bytes (see
	// WithMaxKeptFileSize), about what they take in memory; the change
	// that crosses the bound is kept, so the platform can pass it by one
	// request's size. Reads go on when the platform is full.
	DefaultMaxStoreJobs = 100_000
	// DefaultMaxStoreBytes is 1 GiB; see DefaultMaxStoreJobs.
	DefaultMaxStoreBytes = 1 << 30
)

// WithStoreLimits bounds what the platform holds: maxJobs jobs and
// maxBytes bytes (DefaultMaxStoreJobs and DefaultMaxStoreBytes when not
// given; 0 or less keeps the default). Past either, a request that would
// add to the platform is answered 507.
func WithStoreLimits(maxJobs int, maxBytes int64) ServerOption {
	return func(c *config) {
		if maxJobs > 0 {
			c.store.MaxJobs = maxJobs
		}
		if maxBytes > 0 {
			c.store.MaxBytes = maxBytes
		}
	}
}

// defaultStoreLimits are the store's bounds unless WithStoreLimits says
// otherwise.
var defaultStoreLimits = fakestore.Limits{MaxJobs: DefaultMaxStoreJobs, MaxBytes: DefaultMaxStoreBytes}

// bodyPace is the pace a request body must keep (BodyGrace, MinBodyRate).
type bodyPace struct {
	grace time.Duration
	rate  int64 // bytes per second
}

var defaultPace = bodyPace{grace: BodyGrace, rate: MinBodyRate}

// withBodyPace changes the pace of request bodies, for this package's
// tests.
func withBodyPace(grace time.Duration, rate int64) ServerOption {
	return func(c *config) { c.pace = bodyPace{grace: grace, rate: rate} }
}

// Errors of a request body that break the platform's bounds.
var (
	errBodyTooSlow  = errors.New("request body too slow")
	errTooManyParts = fmt.Errorf("more than %d parts in the multipart body", MaxFormParts)
)

// pacedBody is a request body that must keep pace: each read moves the
// connection's read deadline to start + grace + (bytes read) / rate.
type pacedBody struct {
	rc    io.ReadCloser
	ctl   *http.ResponseController
	pace  bodyPace
	start time.Time
	n     int64
	set   time.Time // the deadline last set
}

// paceBody sets r's read deadline to now + wait + the grace, and, when r
// has a body, makes it a pacedBody whose time starts when it is first read.
// It is a no-op where the ResponseWriter cannot set deadlines.
func paceBody(w http.ResponseWriter, r *http.Request, pace bodyPace, wait time.Duration) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	ctl := http.NewResponseController(w)
	dl := time.Now().Add(wait + pace.grace)
	if ctl.SetReadDeadline(dl) != nil {
		return
	}
	r.Body = &pacedBody{rc: r.Body, ctl: ctl, pace: pace, set: dl}
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.start.IsZero() {
		b.start = time.Now()
		b.move()
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if n > 0 {
		b.move()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errBodyTooSlow
	}
	return n, err
}

// move sets the read deadline the bytes read so far earn, when it moved
// by a quarter second at least.
func (b *pacedBody) move() {
	dl := b.start.Add(b.pace.grace + time.Duration(b.n)*time.Second/time.Duration(b.pace.rate))
	if dl.Sub(b.set) >= time.Second/4 || dl.Before(b.set) {
		_ = b.ctl.SetReadDeadline(dl)
		b.set = dl
	}
}

func (b *pacedBody) Close() error { return b.rc.Close() }

// countParts makes r's body fail with errTooManyParts once it has passed
// more than MaxFormParts parts, when r is multipart: the count stops a
// body of endless parts as it streams, before anything parses it.
func countParts(r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || r.Body == nil {
		return
	}
	r.Body = &partCounter{rc: r.Body, delim: []byte("\r\n--" + params["boundary"]), tail: []byte("\r\n")}
}

// partCounter counts the delimiters of a multipart body as it is read.
type partCounter struct {
	rc    io.ReadCloser
	delim []byte // CRLF, "--" and the boundary
	tail  []byte // the end of what was read, a delimiter's start maybe
	buf   []byte
	n     int // delimiters seen: the parts and the closing one
}

func (c *partCounter) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if n > 0 {
		c.buf = append(append(c.buf[:0], c.tail...), p[:n]...)
		c.n += bytes.Count(c.buf, c.delim)
		keep := min(len(c.buf), len(c.delim)-1)
		c.tail = append(c.tail[:0], c.buf[len(c.buf)-keep:]...)
		if c.n > MaxFormParts+1 {
			return n, errTooManyParts
		}
	}
	return n, err
}

func (c *partCounter) Close() error { return c.rc.Close() }

// answer is the ResponseWriter the platform's handlers write to. It
// remembers whether the answer has begun, so that an answer that fails
// half-way (the client left) is not followed by an error answer, which
// net/http would log as a superfluous WriteHeader.
type answer struct {
	http.ResponseWriter
	begun bool
}

func (a *answer) WriteHeader(code int) {
	if code >= 200 {
		a.begun = true
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answer) Write(b []byte) (int, error) {
	a.begun = true
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (a *answer) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// begun reports whether the answer written to w has begun.
func begun(w http.ResponseWriter) bool {
	a, ok := w.(*answer)
	return ok && a.begun
}
