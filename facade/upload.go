package facade

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/istari-go/sdk/internal/jsonvalid"
)

// upload is a multipart/form-data body whose file part streams from disk
// (or from bytes already in memory) between a small head and tail written by
// mime/multipart. Its length is known up front, so the request carries a
// Content-Length, and open can be called again for each retry.
type upload struct {
	contentType string
	head, tail  []byte
	// Exactly one of path and data is the file's content.
	path string
	data []byte
	size int64
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
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": filename}))
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

// length is the body's exact size in bytes.
func (u *upload) length() int64 { return int64(len(u.head)) + u.size + int64(len(u.tail)) }

// open returns the whole body from its start.
func (u *upload) open() (io.ReadCloser, error) {
	if u.path == "" {
		return io.NopCloser(io.MultiReader(bytes.NewReader(u.head), bytes.NewReader(u.data), bytes.NewReader(u.tail))), nil
	}
	f, err := os.Open(u.path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if st.Size() != u.size {
		_ = f.Close()
		return nil, fmt.Errorf("%s changed size while being uploaded (%d bytes, now %d)", u.path, u.size, st.Size())
	}
	return &fileBody{Reader: io.MultiReader(bytes.NewReader(u.head), f, bytes.NewReader(u.tail)), f: f}, nil
}

// progressBody reports how much of a request body has been read.
type progressBody struct {
	io.ReadCloser
	sent, total int64
	fn          func(sent, total int64)
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.sent += int64(n)
		b.fn(b.sent, b.total)
	}
	return n, err
}

type fileBody struct {
	io.Reader
	f *os.File
}

func (b *fileBody) Close() error { return b.f.Close() }

// statRegular checks that path names a readable regular file and returns
// its size. Errors are ValidationErrors that name field and path.
func statRegular(field, path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		reason := "cannot be read: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			reason = "does not exist"
		}
		return 0, &ValidationError{Field: field, Value: path, Reason: reason, Err: err}
	}
	if !st.Mode().IsRegular() {
		kind := "not a regular file"
		if st.IsDir() {
			kind = "a directory, not a file"
		}
		return 0, &ValidationError{Field: field, Value: path, Reason: "is " + kind}
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, &ValidationError{Field: field, Value: path, Reason: "cannot be read: " + err.Error(), Err: err}
	}
	_ = f.Close()
	return st.Size(), nil
}

// checkJSONFile streams path through the JSON syntax checker without
// holding it in memory. A syntax error names the line and column.
func checkJSONFile(field, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return &ValidationError{Field: field, Value: path, Reason: "cannot be read: " + err.Error(), Err: err}
	}
	defer f.Close()
	if err := jsonvalid.Validate(f); err != nil {
		var se *jsonvalid.SyntaxError
		if errors.As(err, &se) {
			return &ValidationError{Field: field, Value: path, Reason: "is not valid JSON: " + se.Error(), Err: err}
		}
		return &ValidationError{Field: field, Value: path, Reason: "cannot be read: " + err.Error(), Err: err}
	}
	return nil
}

// parametersUpload builds the body of AddJob from Parameters or
// ParametersFile, checking both before anything is sent.
func parametersUpload(p *AddJobParams) (*upload, error) {
	const fileField = "AddJobParams.ParametersFile"
	if parametersGiven(p.Parameters) && p.ParametersFile != "" {
		return nil, &ValidationError{Field: "AddJobParams.Parameters", Reason: "set Parameters or ParametersFile, not both"}
	}
	var (
		data     []byte
		size     int64
		filename = "parameters.json"
	)
	switch {
	case p.ParametersFile != "":
		var err error
		if size, err = statRegular(fileField, p.ParametersFile); err != nil {
			return nil, err
		}
		if err := checkJSONFile(fileField, p.ParametersFile); err != nil {
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
		return nil, err
	}
	u.data, u.size = data, size
	if p.ParametersFile != "" {
		u.path = p.ParametersFile
	}
	return u, nil
}

// fileUpload builds the body of UpdateJob from any regular file.
func fileUpload(p *UpdateJobParams) (*upload, error) {
	const field = "UpdateJobParams.Path"
	if p.Path == "" {
		return nil, &ValidationError{Field: field, Reason: "must name the new file"}
	}
	size, err := statRegular(field, p.Path)
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
		return nil, err
	}
	u.path, u.size = p.Path, size
	return u, nil
}
