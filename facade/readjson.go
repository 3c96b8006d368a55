package facade

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file reads the JSON of a job, or of a page of jobs, straight into
// the facade's types, in one pass over the bytes that checks the shape
// rules (decode.go's shapes) as it goes. It is a fast path: it accepts
// only what it can prove encoding/json reads into the generated types the
// same way (no duplicate keys, no key that differs from a field's name but
// in case, no escaped key, integers written as integers, ...), and gives
// up on anything else, leaving the answer to the slow path (encoding/json
// into the generated types, the shape walk, and the conversion), which
// words the errors. It never errs on its own: a body it gives up on costs
// one more decoding, and is rare (a broken answer, or an odd one).
// TestReadJSONMatchesGenerated and FuzzReadJSON hold the two paths to the
// same results.

// jsonReader reads one body. Its strings are substrings of s, the body
// copied once, so that a string field costs no allocation.
type jsonReader struct {
	s string
	i int
	// buf holds a time's JSON for time.Time.UnmarshalJSON.
	buf [64]byte
}

// maxSkipDepth bounds the nesting of a value the reader skips; deeper
// values are left to encoding/json, which has its own limit.
const maxSkipDepth = 512

func (d *jsonReader) next() byte {
	for d.i < len(d.s) {
		switch c := d.s[d.i]; c {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return c
		}
	}
	return 0
}

// open moves past c, the next non-space byte, or reports that it is not.
func (d *jsonReader) open(c byte) bool {
	if d.next() != c {
		return false
	}
	d.i++
	return true
}

// plainByte reports the bytes a string holds as they are: printable ASCII
// other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString moves past the string at d.i, whose opening quote it is, and
// returns its raw contents, whether they hold escapes and whether they
// hold bytes beyond ASCII. ok is false for a malformed string.
func (d *jsonReader) scanString() (raw string, escaped, nonASCII, ok bool) {
	start := d.i + 1
	s := d.s
	for j := start; j < len(s); j++ {
		c := s[j]
		if plainByte[c] {
			continue
		}
		switch {
		case c == '"':
			d.i = j + 1
			return s[start:j], escaped, nonASCII, true
		case c == '\\':
			escaped = true
			j++
			if j >= len(s) {
				return "", false, false, false
			}
			switch s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s) {
					return "", false, false, false
				}
				for _, h := range []byte(s[j+1 : j+5]) {
					if !isHex(h) {
						return "", false, false, false
					}
				}
				j += 4
			default:
				return "", false, false, false
			}
		case c >= 0x80:
			nonASCII = true
		default: // a control character
			return "", false, false, false
		}
	}
	return "", false, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str reads a string value into *dst.
func (d *jsonReader) str(dst *string) bool {
	if d.next() != '"' {
		return false
	}
	start := d.i
	raw, escaped, nonASCII, ok := d.scanString()
	switch {
	case !ok:
		return false
	case !escaped && (!nonASCII || utf8.ValidString(raw)):
		*dst = raw
		return true
	}
	// Escapes, or bytes that are not UTF-8: as encoding/json reads them
	// (into v, so that dst does not escape).
	var v string
	if json.Unmarshal([]byte(d.s[start:d.i]), &v) != nil {
		return false
	}
	*dst = v
	return true
}

// optStr reads an optional string: null is "".
func (d *jsonReader) optStr(dst *string) bool {
	if d.null() {
		*dst = ""
		return true
	}
	return d.str(dst)
}

// null moves past a null, if one comes next.
func (d *jsonReader) null() bool {
	if d.next() == 'n' && strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// time reads a time as encoding/json does, with time.Time.UnmarshalJSON.
func (d *jsonReader) time(dst *time.Time) bool {
	if d.next() != '"' {
		return false
	}
	start := d.i
	if _, _, _, ok := d.scanString(); !ok {
		return false
	}
	return dst.UnmarshalJSON(append(d.buf[:0], d.s[start:d.i]...)) == nil
}

// int reads an integer of bitSize bits, written as one: encoding/json
// refuses a fraction or an exponent for an integer field.
func (d *jsonReader) int(bitSize int) (int64, bool) {
	d.next()
	start := d.i
	if !d.number() {
		return 0, false
	}
	n, err := strconv.ParseInt(d.s[start:d.i], 10, bitSize)
	return n, err == nil
}

func (d *jsonReader) intField(dst *int) bool {
	n, ok := d.int(strconv.IntSize)
	*dst = int(n)
	return ok
}

// number moves past a number in JSON's grammar.
func (d *jsonReader) number() bool {
	s, i := d.s, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	return true
}

// skip moves past a well-formed value.
func (d *jsonReader) skip(depth int) bool {
	switch d.next() {
	case '"':
		_, _, _, ok := d.scanString()
		return ok
	case '{':
		if depth >= maxSkipDepth {
			return false
		}
		d.i++
		if d.next() == '}' {
			d.i++
			return true
		}
		for {
			if d.next() != '"' {
				return false
			}
			if _, _, _, ok := d.scanString(); !ok || !d.open(':') || !d.skip(depth+1) {
				return false
			}
			switch d.next() {
			case ',':
				d.i++
			case '}':
				d.i++
				return true
			default:
				return false
			}
		}
	case '[':
		if depth >= maxSkipDepth {
			return false
		}
		d.i++
		if d.next() == ']' {
			d.i++
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			switch d.next() {
			case ',':
				d.i++
			case ']':
				d.i++
				return true
			default:
				return false
			}
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case 0:
		return false
	default:
		return d.number()
	}
}

func (d *jsonReader) literal(lit string) bool {
	if !strings.HasPrefix(d.s[d.i:], lit) {
		return false
	}
	d.i += len(lit)
	return true
}

// key reads the next key of an object, and the colon after it; done
// reports the object's end, which it moves past. first is true for the
// object's first key. A key with escapes or bytes beyond ASCII is refused.
func (d *jsonReader) key(first bool) (k string, done, ok bool) {
	c := d.next()
	if c == '}' {
		d.i++
		return "", true, true
	}
	if !first {
		if c != ',' {
			return "", false, false
		}
		d.i++
		c = d.next()
	}
	if c != '"' {
		return "", false, false
	}
	k, escaped, nonASCII, ok := d.scanString()
	if !ok || escaped || nonASCII || !d.open(':') {
		return "", false, false
	}
	return k, false, true
}

// unknown skips the value of a key the type does not have, unless
// encoding/json would match the key to one of the type's fields by case.
func (d *jsonReader) unknown(k string, fields []string) bool {
	for _, f := range fields {
		if strings.EqualFold(k, f) {
			return false
		}
	}
	return d.skip(0)
}

// list reads an array into a new slice, of exactly its length ([] gives
// an empty slice, not nil).
func list[T any](d *jsonReader, minBytes int, elem func(*jsonReader, *T) bool) ([]T, bool) {
	if !d.open('[') {
		return nil, false
	}
	n, ok := d.count(minBytes)
	if !ok {
		return nil, false
	}
	out := make([]T, n)
	for i := range out {
		if i > 0 && !d.open(',') || !elem(d, &out[i]) {
			return nil, false
		}
	}
	return out, d.open(']')
}

// optList reads an array that may be null (nil) or absent.
func optList[T any](d *jsonReader, dst *[]T, minBytes int, elem func(*jsonReader, *T) bool) bool {
	if d.null() {
		*dst = nil
		return true
	}
	var ok bool
	*dst, ok = list(d, minBytes, elem)
	return ok
}

// count counts the elements of the array whose '[' is behind d.i, and
// leaves d.i where it was. It only matches brackets and quotes, which is
// enough: the elements are then read strictly, and a count that does not
// match them (for JSON that is not well formed) fails that reading. An
// element takes at least minBytes bytes (those of its required fields): an
// array of more, smaller elements is refused before its slice is made, so
// that what it allocates stays within a few times the answer's size.
func (d *jsonReader) count(minBytes int) (int, bool) {
	s := d.s
	depth, n, empty := 0, 0, true
	for i := d.i; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			// Move to the closing quote: one not escaped.
			for {
				k := strings.IndexByte(s[i+1:], '"')
				if k < 0 {
					return 0, false
				}
				i += k + 1
				bs := 0
				for p := i - 1; s[p] == '\\'; p-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
			}
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				if empty {
					return 0, true
				}
				return n + 1, (n+1)*minBytes <= i-d.i
			}
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		}
		empty = false
	}
	return 0, false
}

// The fewest bytes an element of each list takes: the keys of its
// required fields, with empty values (see count).
const (
	minJob          = len(`{"archive_status_history":[],"comments":[],"created":"","created_by_id":"","file":{},"function":{},"id":""}`)
	minStatus       = len(`{"created":"","id":"","job_id":"","name":""}`)
	minArchiveEntry = len(`{"created":"","id":"","name":""}`)
	minComment      = len(`{"created":"","id":""}`)
	minRevision     = len(`{"created":"","id":"","name":"","size":0}`)
	minProduct      = len(`{"revision_id":""}`) // and a Source
	minOS           = len(`{"name":""}`)
	minTool         = len(`{"tool_version":""}`)
)

// The fields of each type, for unknown.
var (
	jobFields = []string{"agent_id", "archive_status_history", "assigned_agent_id", "assigned_agent_pool_id", "comments",
		"created", "created_by_id", "file", "function", "id", "model_id", "status_history", "tenant_id"}
	pageFields     = []string{"items", "page", "pages", "size", "total"}
	statusFields   = []string{"agent_id", "created", "created_by_id", "id", "job_id", "message", "name"}
	functionFields = []string{"id", "name", "operating_systems", "tool_name", "tool_versions", "version"}
	osFields       = []string{"id", "name"}
	toolFields     = []string{"id", "tool_version"}
	fileFields     = []string{"archive_status_history", "created", "id", "revisions"}
	revisionFields = []string{"created", "description", "display_name", "extension", "external_identifier", "file_id",
		"id", "mime", "name", "products", "size", "sources", "version_name"}
	sourceFields  = []string{"file_id", "id", "relationship_identifier", "resource_id", "resource_type", "revision_id"}
	productFields = []string{"file_id", "relationship_identifier", "resource_id", "resource_type", "revision_id"}
	commentFields = []string{"content", "created", "created_by_id", "id"}
	archiveFields = []string{"created", "created_by_id", "id", "name", "reason"}
)

// object reads an object whose fields field reads, one key at a time:
// field returns the key's bit (0 for a key the type does not have) and
// whether its value was read. Each key may come once, and every bit of
// required must have come.
func object[T any](d *jsonReader, v *T, required uint32, field func(*jsonReader, *T, string) (uint32, bool)) bool {
	if !d.open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		k, done, ok := d.key(first)
		if !ok {
			return false
		}
		if done {
			return seen&required == required
		}
		bit, ok := field(d, v, k)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// readJobAt reads the job object that comes next into j, and keeps its
// bytes as j's source.
func readJobAt(d *jsonReader, j *Job, src *jobSource) bool {
	d.next()
	start := d.i
	if !object(d, j, 1<<1|1<<4|1<<5|1<<6|1<<7|1<<8|1<<9, jobField) {
		return false
	}
	src.raw = d.s[start:d.i]
	j.src = src
	return true
}

func jobField(d *jsonReader, j *Job, k string) (uint32, bool) {
	switch k {
	case "agent_id":
		return 1 << 0, d.optStr(&j.AgentID)
	case "archive_status_history":
		var ok bool
		j.ArchiveStatusHistory, ok = list(d, minArchiveEntry, readArchiveEntry)
		return 1 << 1, ok
	case "assigned_agent_id":
		return 1 << 2, d.optStr(&j.AssignedAgentID)
	case "assigned_agent_pool_id":
		return 1 << 3, d.optStr(&j.AssignedAgentPoolID)
	case "comments":
		var ok bool
		j.Comments, ok = list(d, minComment, readComment)
		return 1 << 4, ok
	case "created":
		return 1 << 5, d.time(&j.Created)
	case "created_by_id":
		return 1 << 6, d.str(&j.CreatedByID)
	case "file":
		return 1 << 7, object(d, &j.File, 1<<0|1<<1|1<<2|1<<3, fileField)
	case "function":
		return 1 << 8, readFunction(d, &j.Function)
	case "id":
		return 1 << 9, d.str(&j.ID)
	case "model_id":
		return 1 << 10, d.optStr(&j.ModelID)
	case "status_history":
		return 1 << 11, optList(d, &j.StatusHistory, minStatus, readStatus)
	case "tenant_id":
		return 1 << 12, d.optStr(&j.TenantID)
	}
	return 0, d.unknown(k, jobFields)
}

func readStatus(d *jsonReader, s *JobStatus) bool {
	return object(d, s, 1<<1|1<<3|1<<4|1<<6, func(d *jsonReader, s *JobStatus, k string) (uint32, bool) {
		switch k {
		case "agent_id":
			return 1 << 0, d.optStr(&s.AgentID)
		case "created":
			return 1 << 1, d.time(&s.Created)
		case "created_by_id":
			return 1 << 2, d.optStr(&s.CreatedByID)
		case "id":
			return 1 << 3, d.str(&s.ID)
		case "job_id":
			return 1 << 4, d.str(&s.JobID)
		case "message":
			return 1 << 5, d.optStr(&s.Message)
		case "name":
			return 1 << 6, d.str((*string)(&s.Name))
		}
		return 0, d.unknown(k, statusFields)
	})
}

func readFunction(d *jsonReader, f *FunctionVersion) bool {
	return object(d, f, 1<<1, func(d *jsonReader, f *FunctionVersion, k string) (uint32, bool) {
		switch k {
		case "id":
			return 1 << 0, d.optStr(&f.ID)
		case "name":
			return 1 << 1, d.str(&f.Name)
		case "operating_systems":
			return 1 << 2, readPairs(d, &f.OperatingSystems, &f.osIDs, "name", minOS, osFields)
		case "tool_name":
			return 1 << 3, d.optStr(&f.ToolName)
		case "tool_versions":
			return 1 << 4, readPairs(d, &f.ToolVersions, &f.toolVersionIDs, "tool_version", minTool, toolFields)
		case "version":
			return 1 << 5, d.optStr(&f.Version)
		}
		return 0, d.unknown(k, functionFields)
	})
}

// readPairs reads an optional list of objects of an optional "id" and a
// required string named name into two slices of the same length: the
// names and the ids.
func readPairs[T ~string](d *jsonReader, names *[]T, ids *[]string, name string, minBytes int, fields []string) bool {
	if d.null() {
		*names, *ids = nil, nil
		return true
	}
	if !d.open('[') {
		return false
	}
	n, ok := d.count(minBytes)
	if !ok {
		return false
	}
	vals, idv := make([]T, n), make([]string, n)
	for i := range n {
		if i > 0 && !d.open(',') || !d.open('{') {
			return false
		}
		var seen uint32
		for first := true; ; first = false {
			k, done, ok := d.key(first)
			if !ok {
				return false
			}
			if done {
				break
			}
			var bit uint32
			switch k {
			case "id":
				bit, ok = 1<<0, d.optStr(&idv[i])
			case name:
				var v string
				bit, ok = 1<<1, d.str(&v)
				vals[i] = T(v)
			default:
				ok = d.unknown(k, fields)
			}
			if !ok || seen&bit != 0 {
				return false
			}
			seen |= bit
		}
		if seen&(1<<1) == 0 {
			return false
		}
	}
	if !d.open(']') {
		return false
	}
	*names, *ids = vals, idv
	return true
}

func fileField(d *jsonReader, f *File, k string) (uint32, bool) {
	var ok bool
	switch k {
	case "archive_status_history":
		f.ArchiveStatusHistory, ok = list(d, minArchiveEntry, readArchiveEntry)
		return 1 << 0, ok
	case "created":
		return 1 << 1, d.time(&f.Created)
	case "id":
		return 1 << 2, d.str(&f.ID)
	case "revisions":
		f.Revisions, ok = list(d, minRevision, readRevision)
		return 1 << 3, ok
	}
	return 0, d.unknown(k, fileFields)
}

func readRevision(d *jsonReader, r *FileRevision) bool {
	return object(d, r, 1<<0|1<<6|1<<8|1<<10, func(d *jsonReader, r *FileRevision, k string) (uint32, bool) {
		switch k {
		case "created":
			return 1 << 0, d.time(&r.Created)
		case "description":
			return 1 << 1, d.optStr(&r.Description)
		case "display_name":
			return 1 << 2, d.optStr(&r.DisplayName)
		case "extension":
			return 1 << 3, d.optStr(&r.Extension)
		case "external_identifier":
			return 1 << 4, d.optStr(&r.ExternalIdentifier)
		case "file_id":
			return 1 << 5, d.optStr(&r.FileID)
		case "id":
			return 1 << 6, d.str(&r.ID)
		case "mime":
			return 1 << 7, d.optStr(&r.Mime)
		case "name":
			return 1 << 8, d.str(&r.Name)
		case "products":
			return 1 << 9, optList(d, &r.Products, minProduct, readProduct)
		case "size":
			var ok bool
			r.Size, ok = d.int(64)
			return 1 << 10, ok
		case "sources":
			return 1 << 11, optList(d, &r.Sources, minProduct, readSource)
		case "version_name":
			return 1 << 12, d.optStr(&r.VersionName)
		}
		return 0, d.unknown(k, revisionFields)
	})
}

func readSource(d *jsonReader, s *Source) bool {
	return object(d, s, 1<<5, func(d *jsonReader, s *Source, k string) (uint32, bool) {
		switch k {
		case "file_id":
			return 1 << 0, d.optStr(&s.FileID)
		case "id":
			return 1 << 1, d.optStr(&s.ID)
		case "relationship_identifier":
			return 1 << 2, d.optStr(&s.RelationshipIdentifier)
		case "resource_id":
			return 1 << 3, d.optStr(&s.ResourceID)
		case "resource_type":
			return 1 << 4, d.optStr(&s.ResourceType)
		case "revision_id":
			return 1 << 5, d.str(&s.RevisionID)
		}
		return 0, d.unknown(k, sourceFields)
	})
}

func readProduct(d *jsonReader, p *Product) bool {
	return object(d, p, 1<<4, func(d *jsonReader, p *Product, k string) (uint32, bool) {
		switch k {
		case "file_id":
			return 1 << 0, d.optStr(&p.FileID)
		case "relationship_identifier":
			return 1 << 1, d.optStr(&p.RelationshipIdentifier)
		case "resource_id":
			return 1 << 2, d.optStr(&p.ResourceID)
		case "resource_type":
			return 1 << 3, d.optStr(&p.ResourceType)
		case "revision_id":
			return 1 << 4, d.str(&p.RevisionID)
		}
		return 0, d.unknown(k, productFields)
	})
}

func readComment(d *jsonReader, c *Comment) bool {
	return object(d, c, 1<<1|1<<3, func(d *jsonReader, c *Comment, k string) (uint32, bool) {
		switch k {
		case "content":
			return 1 << 0, d.optStr(&c.Content)
		case "created":
			return 1 << 1, d.time(&c.Created)
		case "created_by_id":
			return 1 << 2, d.optStr(&c.CreatedByID)
		case "id":
			return 1 << 3, d.str(&c.ID)
		}
		return 0, d.unknown(k, commentFields)
	})
}

func readArchiveEntry(d *jsonReader, a *ArchiveEntry) bool {
	return object(d, a, 1<<0|1<<2|1<<3, func(d *jsonReader, a *ArchiveEntry, k string) (uint32, bool) {
		switch k {
		case "created":
			return 1 << 0, d.time(&a.Created)
		case "created_by_id":
			return 1 << 1, d.optStr(&a.CreatedByID)
		case "id":
			return 1 << 2, d.str(&a.ID)
		case "name":
			return 1 << 3, d.str((*string)(&a.Name))
		case "reason":
			return 1 << 4, d.optStr(&a.Reason)
		}
		return 0, d.unknown(k, archiveFields)
	})
}

// end reports whether only spaces follow the value read.
func (d *jsonReader) end() bool { return d.next() == 0 && d.i == len(d.s) }

// fastJob reads a job, or reports that the slow path must.
func fastJob(data []byte) (*Job, bool) {
	d := &jsonReader{s: string(data)}
	box := new(struct {
		job Job
		src jobSource
	})
	if !readJobAt(d, &box.job, &box.src) || !d.end() {
		return nil, false
	}
	return &box.job, true
}

// fastPage reads a page of jobs, or reports that the slow path must.
func fastPage(data []byte) (*JobPage, bool) {
	d := &jsonReader{s: string(data)}
	p := new(JobPage)
	ok := object(d, p, 1<<0|1<<1|1<<2|1<<3|1<<4, func(d *jsonReader, p *JobPage, k string) (uint32, bool) {
		switch k {
		case "items":
			return 1 << 0, readItems(d, p)
		case "page":
			return 1 << 1, d.intField(&p.Page)
		case "pages":
			return 1 << 2, d.intField(&p.Pages)
		case "size":
			return 1 << 3, d.intField(&p.Size)
		case "total":
			return 1 << 4, d.intField(&p.Total)
		}
		return 0, d.unknown(k, pageFields)
	})
	if !ok || !d.end() {
		return nil, false
	}
	return p, true
}

// readItems reads a page's jobs, allocated together: a job kept from a
// page keeps the page's jobs, and the page's bytes (which its strings are
// part of), from the garbage collector.
func readItems(d *jsonReader, p *JobPage) bool {
	if !d.open('[') {
		return false
	}
	n, ok := d.count(minJob)
	if !ok {
		return false
	}
	jobs, srcs, items := make([]Job, n), make([]jobSource, n), make([]*Job, n)
	for i := range items {
		if i > 0 && !d.open(',') || !readJobAt(d, &jobs[i], &srcs[i]) {
			return false
		}
		items[i] = &jobs[i]
	}
	p.Items = items
	return d.open(']')
}
