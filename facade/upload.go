package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/jsonvalid"
)

// smallFileMax is the largest parameters file that AddJob reads whole into
// a pooled buffer, checks, and sends from that buffer, so that an invalid
// file sends nothing at all. A larger file is checked as it is sent (see
// uploadPass). The stronger guarantee costs time, since the check does not
// overlap the send, and a buffer as large as the file (rounded up to a
// power of two) for the call: at 8 MiB on loopback, reading whole (and
// checking on up to three goroutines) runs at about 0.88x the pipelined
// pass, some 1 ms a call, and at about 0.8x from 1 to 4 MiB
// (BenchmarkUploadThreshold). 8 MiB keeps both costs small.
const smallFileMax = 8 << 20

// upload is a multipart/form-data body whose file part comes from memory or
// from a file read in exact-length passes, between a small head and tail
// written by mime/multipart. Its length is known up front, so the request
// carries a Content-Length, and a new pass is opened for each attempt.
type upload struct {
	contentType string
	head, tail  []byte
	// field names the file in errors, such as "AddJobParams.ParametersFile".
	field string
	// The file part is data when it is in memory (Parameters, or a file
	// read whole), or else the size bytes of file, which was opened from
	// path when the call began; path only names it in errors.
	data []byte
	path string
	file *os.File
	size int64
	// check scans the file part as JSON; smallMax is the size up to which
	// a checked file is read whole before anything is sent.
	check    bool
	smallMax int64
}

// formField is one plain form field; empty values are not sent.
type formField struct{ name, value string }

// newUpload lays out the form: the plain fields, one JSON part per source,
// then the file part, so that a server can read the metadata before the
// file.
func newUpload(fields []formField, sources []NewSource, filename, fileType string) (*upload, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		if err := w.WriteField(f.name, f.value); err != nil {
			return nil, err
		}
	}
	for _, s := range sources {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="sources"`)
		h.Set("Content-Type", "application/json")
		pw, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		ns := struct {
			RevisionID             string `json:"revision_id"`
			RelationshipIdentifier string `json:"relationship_identifier,omitempty"`
		}{s.RevisionID, s.RelationshipIdentifier}
		if err := json.NewEncoder(pw).Encode(ns); err != nil {
			return nil, err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+quoteFilename(filename)+`"`)
	h.Set("Content-Type", fileType)
	if _, err := w.CreatePart(h); err != nil {
		return nil, err
	}
	headLen := buf.Len()
	if err := w.Close(); err != nil {
		return nil, err
	}
	all := buf.Bytes()
	return &upload{contentType: w.FormDataContentType(), head: all[:headLen:headLen], tail: all[headLen:]}, nil
}

// quoteFilename returns name as the filename parameter of the file part's
// Content-Disposition carries it, between its quotes: the form that curl,
// browsers and Go's multipart.CreateFormFile write, which strict parsers
// accept. As CreateFormFile does, it puts a backslash before '\\' and '"';
// as browsers do CR and LF, it percent-encodes the control characters, so
// that no name can end the header's line; invalid UTF-8 becomes U+FFFD.
func quoteFilename(name string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(name, "\uFFFD") {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "%%%02X", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// length is the body's exact size in bytes.
func (u *upload) length() int64 { return int64(len(u.head)) + u.size + int64(len(u.tail)) }

// openRegular opens path, checks that it is a readable regular file, and
// returns it with its size. Every attempt of the call reads this open file,
// never the path again, so that a file swapped for another, or for a FIFO,
// between two attempts changes nothing. The open does not block on a FIFO
// (O_NONBLOCK where the system has it), and the check is made on the file
// opened. Errors are ValidationErrors that name field and path.
func openRegular(field, path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		reason := "cannot be read: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			reason = "does not exist"
		}
		return nil, 0, &ValidationError{Field: field, Value: path, Reason: reason, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, &ValidationError{Field: field, Value: path, Reason: "cannot be read: " + err.Error(), Err: err}
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		kind := "not a regular file"
		if st.IsDir() {
			kind = "a directory, not a file"
		}
		return nil, 0, &ValidationError{Field: field, Value: path, Reason: "is " + kind}
	}
	return f, st.Size(), nil
}

// parametersUpload lays out the body of AddJob from Parameters or
// ParametersFile, once AddJobParams.check has passed. A file is only opened here: sendUpload reads it, a small
// one whole and checked before anything is sent, a large one checked as it
// is sent, and closes it.
func parametersUpload(p *AddJobParams) (*upload, error) {
	const fileField = "AddJobParams.ParametersFile"
	var (
		data     []byte
		size     int64
		file     *os.File
		filename = "parameters.json"
	)
	switch {
	case p.ParametersFile != "":
		var err error
		if file, size, err = openRegular(fileField, p.ParametersFile); err != nil {
			return nil, err
		}
		filename = filepath.Base(p.ParametersFile)
	case parametersGiven(p.Parameters):
		var err error
		if data, err = encodeParameters(p.Parameters); err != nil {
			return nil, err
		}
		size = int64(len(data))
	default:
		data, size = []byte("{}"), 2
	}
	u, err := newUpload([]formField{
		{"function", p.Function},
		{"tool_name", p.ToolName},
		{"tool_version", p.ToolVersion},
		{"operating_system", string(p.OperatingSystem)},
		{"assigned_agent_id", p.AssignedAgentID},
		{"assigned_agent_pool_id", p.AssignedAgentPoolID},
		{"agent_id", p.AgentID},
		{"description", p.Description},
		{"version_name", p.VersionName},
		{"external_identifier", p.ExternalIdentifier},
		{"display_name", p.DisplayName},
	}, p.Sources, filename, "application/json")
	if err != nil {
		if file != nil {
			_ = file.Close()
		}
		return nil, err
	}
	u.data, u.size = data, size
	if file != nil {
		u.field, u.path, u.file, u.check, u.smallMax = fileField, p.ParametersFile, file, true, smallFileMax
	}
	return u, nil
}

// fileUpload lays out the body of UpdateJob, once UpdateJobParams.check
// has passed, from any regular file, which
// is streamed in exact-length passes without a check. It opens the file,
// which sendUpload closes.
func fileUpload(p *UpdateJobParams) (*upload, error) {
	const field = "UpdateJobParams.Path"
	file, size, err := openRegular(field, p.Path)
	if err != nil {
		return nil, err
	}
	ctype := mime.TypeByExtension(strings.ToLower(filepath.Ext(p.Path)))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	u, err := newUpload([]formField{
		{"description", p.Description},
		{"version_name", p.VersionName},
		{"external_identifier", p.ExternalIdentifier},
		{"display_name", p.DisplayName},
	}, p.Sources, filepath.Base(p.Path), ctype)
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	u.field, u.path, u.file, u.size = field, p.Path, file, size
	return u, nil
}

// inMemory reports whether sendUpload reads the file whole before sending:
// a checked file up to smallMax, and any file whose Stat reported 0 bytes,
// which may be a special file (such as /proc/self/status) that has content
// all the same. Those are read to their end, up to smallFileMax, and sent
// whole.
func (u *upload) inMemory() bool {
	return u.file != nil && (u.size == 0 || (u.check && u.size <= u.smallMax))
}

// readWhole reads the file into a buffer from pools, exactly its size (or,
// when Stat reported 0 bytes, whatever it holds up to smallFileMax), checks
// it as JSON if u.check, and makes it the upload's data. The caller returns
// the buffer with pools.putBuf once no pass can read it.
func (u *upload) readWhole(pools *uploadPools) (*[]byte, error) {
	f := u.file
	limit := u.size
	if limit == 0 {
		limit = smallFileMax
	}
	buf := pools.getBuf(int(limit))
	b := (*buf)[:limit]
	n, err := io.ReadFull(f, b)
	if err == nil {
		// The buffer is full: the file must end here.
		var one [1]byte
		var m int
		m, err = f.Read(one[:])
		switch {
		case m > 0 && u.size == 0:
			pools.putBuf(buf)
			return nil, &ValidationError{Field: u.field, Value: u.path, Reason: fmt.Sprintf(
				"reports a size of 0 but holds more than %d bytes (a special file?); copy it to a regular file", smallFileMax)}
		case m > 0:
			pools.putBuf(buf)
			return nil, u.changedSize(fmt.Sprintf("it holds more than the %d bytes it had", u.size))
		case errors.Is(err, io.EOF):
			err = nil
		}
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if u.size > 0 {
			pools.putBuf(buf)
			return nil, u.changedSize(fmt.Sprintf("it had %d bytes, and ended after %d", u.size, n))
		}
	case err != nil:
		pools.putBuf(buf)
		return nil, u.unreadable(err)
	}
	u.data, u.size = b[:n], int64(n)
	if u.check {
		if err := jsonvalid.ValidateParallel(u.data, scanWorkers()); err != nil {
			pools.putBuf(buf)
			return nil, u.invalidJSON(err)
		}
	}
	return buf, nil
}

// unreadable is the error for a file that cannot be opened or read.
func (u *upload) unreadable(err error) error {
	return &ValidationError{Field: u.field, Value: u.path, Reason: "cannot be read: " + err.Error(), Err: err}
}

// changedSize is the error for a file whose size is not the one Stat
// reported when the call began; how says what was found.
func (u *upload) changedSize(how string) error {
	return &ValidationError{Field: u.field, Value: u.path, Reason: "changed size while being uploaded: " + how, Err: errChangedSize}
}

// invalidJSON is the error for a file that is not well-formed JSON.
func (u *upload) invalidJSON(err error) error {
	var se *jsonvalid.SyntaxError
	if errors.As(err, &se) {
		return &ValidationError{Field: u.field, Value: u.path, Reason: "is not valid JSON: " + se.Error(), Err: err}
	}
	return u.unreadable(err)
}

// errChangedSize is the cause of the error for a file that changed size
// while it was being uploaded.
var errChangedSize = errors.New("file changed size during the upload")

// sendUpload sends up with send, one pass over the body per attempt, and
// decodes the job answered. A small checked file is read and checked first
// and sent from memory, so an invalid one sends nothing. When a pass fails
// (invalid JSON, a file that changed size or cannot be read), its body
// fails before the closing boundary, the server never receives a complete
// request, and that failure, not the transport's, is the error returned.
// Nothing of the upload (goroutine, progress call, buffer) outlives the
// call.
func (c *Client) sendUpload(ctx context.Context, op Operation, wantID string, cc callConfig, up *upload,
	send func(context.Context, io.Reader, gen.RequestEditorFn) (*http.Response, error)) (*Job, error) {
	uc := &uploadCall{up: up, pools: &c.uploads}
	if up.inMemory() {
		buf, err := up.readWhole(uc.pools)
		if err != nil {
			uc.end()
			return nil, err
		}
		uc.buf = buf
	}
	if cc.progress != nil {
		uc.progress = &progressReporter{fn: cc.progress}
	}
	body, err := uc.open()
	if err != nil {
		uc.end()
		return nil, err // the file's ValidationError
	}
	// The generated request cannot know the body's length or how to reopen
	// it; this editor tells it both, so the upload has a Content-Length and
	// a retry sends (and checks) the whole file again.
	edit := func(_ context.Context, req *http.Request) error {
		req.ContentLength = up.length()
		req.GetBody = uc.open
		return nil
	}
	cx := c.callContext(ctx, op, cc)
	resp, err := send(cx, body, edit)
	if err != nil {
		_ = body.Close() // the transport closes it, unless building the request failed first
		if failed := uc.end(); failed != nil {
			return nil, failed
		}
		return decodeJob(c, cx, wantID, resp, err)
	}
	status := resp.StatusCode
	job, err := decodeJob(c, cx, wantID, resp, nil)
	sent, total := uc.mostSent()
	failed := uc.end()
	if status >= 200 && status <= 299 && sent < total {
		// A server that reads the whole request cannot succeed before the
		// body has handed out its last byte: this one answered a request it
		// did not receive, and whatever it made of it is not the file. (An
		// early error answer, such as a 401, is an answer like any other.)
		reason := fmt.Sprintf("the server answered after %d of the request's %d bytes, before it had the whole file", sent, total)
		if job != nil {
			reason += "; it reports job " + job.ID + ", which may hold a partial file"
		}
		return nil, &DecodeError{Operation: op, StatusCode: status, Reason: reason, Err: errors.Join(failed, err)}
	}
	return job, err
}
