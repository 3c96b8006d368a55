package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// The kinds of a Finding.
const (
	// KindUnknownField is a field the answer holds and the spec does not
	// describe.
	KindUnknownField = "unknown-field"
	// KindMissingField is a field the spec requires and the answer lacks.
	KindMissingField = "missing-field"
	// KindEnum is a value outside the list the spec gives.
	KindEnum = "enum"
	// KindType is a value of another type than the spec's (a null where
	// the spec allows none included).
	KindType = "type"
	// KindStatus is a status code the spec does not list for the
	// operation, or an error status where success was expected.
	KindStatus = "status"
	// KindSchema is any other way the answer breaks the spec (a format, a
	// minimum, a body that is not JSON).
	KindSchema = "schema"
)

// Finding is one way an answer differs from the spec.
type Finding struct {
	// Path locates the value in the answer's body, as a JSONPath such as
	// "$.items[0].function.operating_systems[0].name"; "$" is the whole
	// body, and "" means the answer as a whole (its status).
	Path string `json:"path"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Message says what differs.
	Message string `json:"message"`
}

// String formats the finding on one line.
func (f Finding) String() string {
	if f.Path == "" {
		return f.Kind + ": " + f.Message
	}
	return f.Path + ": " + f.Kind + ": " + f.Message
}

// CheckResult is what CheckResponse found out about one answer.
type CheckResult struct {
	// OperationID is the spec's operationId for the request, such as
	// "getJob"; "" when the spec has no operation for it.
	OperationID string
	// Findings are the differences, sorted by path: at most MaxFindings.
	Findings []Finding
	// Omitted counts, by kind, the findings past MaxFindings that Findings
	// leaves out; nil when there are none.
	Omitted map[string]int
	// Skipped counts the array elements past MaxElements that were not
	// validated.
	Skipped int
}

// add records a finding, counting it in Omitted once maxCollected are
// held.
func (r *CheckResult) add(f Finding) {
	if len(r.Findings) < maxCollected {
		r.Findings = append(r.Findings, f)
		return
	}
	r.omit(f.Kind, 1)
}

func (r *CheckResult) omit(kind string, n int) {
	if r.Omitted == nil {
		r.Omitted = map[string]int{}
	}
	r.Omitted[kind] += n
}

// finish sorts the findings, drops repeats and keeps the first MaxFindings.
func (r *CheckResult) finish() {
	r.Findings = dedupe(r.Findings)
	if len(r.Findings) > MaxFindings {
		for _, f := range r.Findings[MaxFindings:] {
			r.omit(f.Kind, 1)
		}
		r.Findings = slices.Clip(r.Findings[:MaxFindings])
	}
}

// CheckResponse compares one answer to req with the spec: its status code
// must be one the operation lists, and its JSON body is validated with
// kin-openapi against the schema of that status. On top of what
// kin-openapi reports (missing required fields, enum values, types), it
// lists the fields the body holds that the spec does not describe, which
// the spec allows but a client cannot read.
//
// Its cost is bounded whatever the body holds: it validates the first
// MaxElements array elements of a JSON body and keeps MaxFindings findings
// (see CheckResult). The caller bounds the body's size.
func (v *Validator) CheckResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) (res CheckResult) {
	route, params, err := v.Route(req)
	if err != nil {
		return CheckResult{Findings: []Finding{{Kind: KindStatus,
			Message: fmt.Sprintf("the spec has no operation for %s %s", req.Method, req.URL.Path)}}}
	}
	res.OperationID = route.Operation.OperationID
	defer res.finish()
	add := res.add
	// Responses.Status falls back to a range such as 5XX; a status that
	// only the default response covers is unexpected, though its body is
	// still checked against the default.
	resp := route.Operation.Responses.Status(status)
	if resp == nil {
		add(Finding{Kind: KindStatus, Message: fmt.Sprintf("status %d is not among the operation's responses (%s)",
			status, strings.Join(listedStatuses(route.Operation), ", "))})
		resp = route.Operation.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		return res
	}

	// A JSON body is validated as decoded here, with its arrays bounded;
	// any other body (or one that does not decode) as it came, which costs
	// one finding at most.
	var doc any
	decoded := false
	if isJSON(header) && len(bytes.TrimSpace(body)) > 0 {
		d, skipped, err := boundedDoc(body, MaxElements)
		switch {
		case errors.Is(err, errTooDeep):
			add(Finding{Path: "$", Kind: KindSchema, Message: "not validated: the JSON is " + err.Error()})
			return res
		case err == nil:
			if b, merr := json.Marshal(d); merr == nil {
				doc, decoded, body, res.Skipped = d, true, b, skipped
			}
		}
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true},
	}
	if err := v.ValidateResponse(ctx, in, status, header, body); err != nil {
		for _, f := range findingsOf(err) {
			add(f)
		}
	}
	if mt := resp.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil && decoded {
		unknownFields(mt.Schema.Value, doc, "$", add)
	}
	return res
}

// isJSON reports whether a Content-Type header names JSON.
func isJSON(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// listedStatuses returns the status codes an operation lists, in order.
func listedStatuses(op *openapi3.Operation) []string {
	var out []string
	for code := range op.Responses.Map() {
		out = append(out, code)
	}
	sort.Strings(out)
	return out
}

// findingsOf turns kin-openapi's response error into findings.
func findingsOf(err error) []Finding {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []Finding
		for _, e := range me {
			out = append(out, findingsOf(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return []Finding{schemaFinding(se)}
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		msg := re.Reason
		if msg == "" {
			msg = err.Error()
		}
		kind := KindSchema
		if strings.Contains(msg, "status code") {
			kind = KindStatus
		}
		return []Finding{{Path: "$", Kind: kind, Message: msg}}
	}
	return []Finding{{Path: "$", Kind: KindSchema, Message: err.Error()}}
}

// schemaFinding turns one kin-openapi schema error into a finding.
func schemaFinding(se *openapi3.SchemaError) Finding {
	path := jsonPath(se.JSONPointer())
	switch se.SchemaField {
	case "required":
		return Finding{Path: path, Kind: KindMissingField, Message: "required by the spec, absent from the answer"}
	case "enum":
		return Finding{Path: path, Kind: KindEnum, Message: fmt.Sprintf("%s is not one of %s", shortJSON(se.Value), enumList(se.Schema))}
	case "type", "nullable":
		want := "a value"
		if se.Schema != nil && se.Schema.Type != nil && len(se.Schema.Type.Slice()) > 0 {
			want = strings.Join(se.Schema.Type.Slice(), " or ")
		}
		return Finding{Path: path, Kind: KindType, Message: fmt.Sprintf("got %s, the spec says %s", typeOf(se.Value), want)}
	}
	return Finding{Path: path, Kind: KindSchema, Message: se.Reason}
}

// unknownFields reports the object fields of doc that schema does not
// describe, at every depth. A schema with additionalProperties set allows
// any field.
func unknownFields(schema *openapi3.Schema, doc any, path string, add func(Finding)) {
	if schema == nil {
		return
	}
	switch d := doc.(type) {
	case map[string]any:
		props, open := objectProperties(schema)
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "." + k
			s, ok := props[k]
			switch {
			case ok:
				unknownFields(s, d[k], p, add)
			case !open:
				add(Finding{Path: p, Kind: KindUnknownField, Message: fmt.Sprintf("the spec does not describe this field (value %s)", shortJSON(d[k]))})
			}
		}
	case []any:
		items := arrayItems(schema)
		for i, e := range d {
			unknownFields(items, e, path+"["+strconv.Itoa(i)+"]", add)
		}
	}
}

// objectProperties collects the properties of schema and of its allOf,
// oneOf and anyOf branches, and whether it allows other fields.
func objectProperties(schema *openapi3.Schema) (props map[string]*openapi3.Schema, open bool) {
	props = map[string]*openapi3.Schema{}
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		for k, p := range s.Properties {
			if p != nil {
				props[k] = p.Value
			}
		}
		ap := s.AdditionalProperties
		if (ap.Has != nil && *ap.Has) || ap.Schema != nil {
			open = true
		}
		for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
			for _, r := range group {
				if r != nil {
					walk(r.Value)
				}
			}
		}
	}
	walk(schema)
	return props, open
}

// arrayItems returns the item schema of an array schema, looking into its
// allOf, oneOf and anyOf branches.
func arrayItems(schema *openapi3.Schema) *openapi3.Schema {
	if schema == nil {
		return nil
	}
	if schema.Items != nil {
		return schema.Items.Value
	}
	for _, group := range []openapi3.SchemaRefs{schema.AllOf, schema.OneOf, schema.AnyOf} {
		for _, r := range group {
			if r != nil {
				if it := arrayItems(r.Value); it != nil {
					return it
				}
			}
		}
	}
	return nil
}

// jsonPath renders a JSON pointer's tokens as a JSONPath.
func jsonPath(tokens []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		b.WriteString("." + t)
	}
	return b.String()
}

// enumList lists a schema's enum values.
func enumList(s *openapi3.Schema) string {
	if s == nil || len(s.Enum) == 0 {
		return "the spec's list"
	}
	vals := make([]string, len(s.Enum))
	for i, v := range s.Enum {
		vals[i] = shortJSON(v)
	}
	return strings.Join(vals, ", ")
}

// maxShown caps how much of a value a finding quotes.
const maxShown = 60

// shortJSON renders v as JSON, cut to maxShown bytes.
func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > maxShown {
		return string(b[:maxShown]) + "…"
	}
	return string(b)
}

// typeOf names the JSON type of a decoded value.
func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, int, int64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// dedupe sorts findings by path and drops repeats: a value that fails in
// several branches of a schema is reported once per kind.
func dedupe(fs []Finding) []Finding {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return slices.CompactFunc(fs, func(a, b Finding) bool { return a.Path == b.Path && a.Kind == b.Kind })
}
