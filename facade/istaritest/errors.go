package istaritest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/gen/server"
)

// problem is an error answer: {"detail": string}, or on 422
// {"detail": [{loc, msg, type}]}.
type problem struct {
	status     int
	detail     string
	items      []gen.ValidationErrorItem
	retryAfter string
}

// writeProblem writes an error answer.
func writeProblem(w http.ResponseWriter, pr problem) {
	var body any = gen.HTTPError{Detail: pr.detail}
	if pr.status == http.StatusUnprocessableEntity {
		items := pr.items
		if len(items) == 0 {
			items = []gen.ValidationErrorItem{item(pr.detail, "value_error", "body")}
		}
		body = gen.HTTPValidationError{Detail: items}
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(body); err != nil {
		// Nothing above can fail to encode; answer plainly if it ever does.
		http.Error(w, `{"detail":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if pr.retryAfter != "" {
		w.Header().Set("Retry-After", pr.retryAfter)
	}
	w.WriteHeader(pr.status)
	_, _ = buf.WriteTo(w)
}

// item builds one validation error; numeric location parts become integers,
// as array indexes are on the platform.
func item(msg, typ string, loc ...string) gen.ValidationErrorItem {
	it := gen.ValidationErrorItem{Msg: msg, Type: typ, Loc: make([]gen.ValidationErrorItem_Loc_Item, 0, len(loc))}
	for _, l := range loc {
		var li gen.ValidationErrorItem_Loc_Item
		if n, err := strconv.Atoi(l); err == nil {
			_ = li.FromValidationErrorItemLoc1(n)
		} else {
			_ = li.FromValidationErrorItemLoc0(l)
		}
		it.Loc = append(it.Loc, li)
	}
	return it
}

// validationItems turns a kin-openapi request validation error into the
// items of a 422 answer, each naming where the offending input is.
func validationItems(err error) []gen.ValidationErrorItem {
	var out []gen.ValidationErrorItem
	var walk func(err error, loc []string)
	walk = func(err error, loc []string) {
		// Match the outermost error first: a RequestError unwraps to the
		// MultiError or SchemaError inside it, which lacks its location.
		switch e := err.(type) {
		case nil:
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner, loc)
			}
		case *openapi3filter.RequestError:
			next := loc
			switch {
			case e.Parameter != nil:
				next = []string{e.Parameter.In, e.Parameter.Name}
			case e.RequestBody != nil:
				next = []string{"body"}
			}
			var multi openapi3.MultiError
			var schemaErr *openapi3.SchemaError
			if errors.As(e.Err, &multi) || errors.As(e.Err, &schemaErr) {
				walk(e.Err, next)
				return
			}
			typ := "value_error"
			if errors.Is(e.Err, openapi3filter.ErrInvalidRequired) {
				typ = "missing"
			}
			out = append(out, item(e.Error(), typ, next...))
		case *openapi3.SchemaError:
			l := append(append([]string(nil), loc...), e.JSONPointer()...)
			msg := e.Reason
			if msg == "" {
				msg = e.Error()
			}
			typ := "value_error"
			if e.SchemaField == "required" {
				typ = "missing"
			}
			out = append(out, item(msg, typ, l...))
		case *openapi3filter.SecurityRequirementsError:
			out = append(out, item(e.Error(), "security", "header", "Authorization"))
		default:
			if u, ok := err.(interface{ Unwrap() error }); ok && u.Unwrap() != nil {
				walk(u.Unwrap(), loc)
				return
			}
			if len(loc) == 0 {
				loc = []string{"request"}
			}
			out = append(out, item(err.Error(), "value_error", loc...))
		}
	}
	walk(err, nil)
	if len(out) == 0 {
		out = append(out, item(err.Error(), "value_error", "request"))
	}
	return out
}

// paramError answers a parameter the generated wrapper could not bind.
func paramError(w http.ResponseWriter, r *http.Request, err error) {
	name, typ := "", "value_error"
	var (
		required  *server.RequiredParamError
		format    *server.InvalidParamFormatError
		unmarshal *server.UnmarshalingParamError
		tooMany   *server.TooManyValuesForParamError
	)
	switch {
	case errors.As(err, &required):
		name, typ = required.ParamName, "missing"
	case errors.As(err, &format):
		name = format.ParamName
	case errors.As(err, &unmarshal):
		name = unmarshal.ParamName
	case errors.As(err, &tooMany):
		name = tooMany.ParamName
	}
	in := "query"
	switch {
	case name == "":
		in = "request"
	case !r.URL.Query().Has(name) && (name == "job_id" || name == "model_id"):
		in = "path"
	}
	loc := []string{in}
	if name != "" {
		loc = append(loc, name)
	}
	writeProblem(w, problem{status: http.StatusUnprocessableEntity, items: []gen.ValidationErrorItem{item(err.Error(), typ, loc...)}})
}

// requestError answers a body the generated strict handler could not decode.
func requestError(w http.ResponseWriter, _ *http.Request, err error) {
	writeProblem(w, problem{status: http.StatusUnprocessableEntity, items: []gen.ValidationErrorItem{item(err.Error(), "value_error", "body")}})
}

// responseError answers a response the generated strict handler could not
// write: a bug of this package, or, when the answer had begun, a client
// that left, which needs no answer.
func responseError(w http.ResponseWriter, _ *http.Request, err error) {
	if begun(w) {
		return
	}
	writeProblem(w, problem{status: http.StatusInternalServerError, detail: "internal error: " + err.Error()})
}

type userKey struct{}

// withUser stores the authenticated user in ctx.
func withUser(ctx context.Context, u user) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom returns the authenticated user of a request.
func userFrom(ctx context.Context) (user, bool) {
	u, ok := ctx.Value(userKey{}).(user)
	return u, ok
}
