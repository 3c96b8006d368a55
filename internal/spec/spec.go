// Package spec loads api/openapi.yaml with kin-openapi and validates HTTP
// requests and responses against it. The in-memory platform and the contract
// tests share it, so both are exactly as strict as the contract.
package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/istari-go/sdk/api"
)

// BasePath is the prefix under which every job route sits.
const BasePath = api.BasePath

// Load parses and validates the embedded contract. Each call returns a new
// document, so callers may change it without affecting others.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Spec())
	if err != nil {
		return nil, fmt.Errorf("spec: load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("spec: api/openapi.yaml is not valid: %w", err)
	}
	return doc, nil
}

// Validator checks requests and responses against the contract. It is safe
// for concurrent use.
type Validator struct {
	router  routers.Router
	version string
}

// NewValidator loads the contract and builds a router that matches any host
// with the /api/v2 prefix.
func NewValidator() (*Validator, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	// Match any scheme and host: the servers entry of the contract carries
	// variables, but tests and the in-memory platform run on loopback ports.
	doc.Servers = openapi3.Servers{{URL: BasePath}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("spec: build router: %w", err)
	}
	return &Validator{router: router, version: doc.Info.Version}, nil
}

// Version is the contract's info.version.
func (v *Validator) Version() string { return v.version }

// Route finds the operation a request is for.
func (v *Validator) Route(req *http.Request) (*routers.Route, map[string]string, error) {
	// Route on the path alone: a client's request carries scheme and host, a
	// server's does not, and the router's server entry is the bare prefix.
	// Anything mounted before the /api/v2 prefix is not the contract's
	// concern, so it is cut off.
	p, raw := req.URL.Path, req.URL.RawPath
	if i := strings.Index(p, BasePath+"/"); i > 0 {
		p = p[i:]
		if j := strings.Index(raw, BasePath+"/"); j > 0 {
			raw = raw[j:]
		}
	}
	r := req.Clone(req.Context())
	r.URL = &url.URL{Path: p, RawPath: raw}
	return v.router.FindRoute(r)
}

// Authenticate is the openapi3filter.AuthenticationFunc of the contract: the
// RequestAuthenticator scheme wants a non-empty bearer token.
func Authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "RequestAuthenticator" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	if _, ok := BearerToken(in.RequestValidationInput.Request); !ok {
		return errors.New("missing bearer token")
	}
	return nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header, and false when there is none.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// ValidateRequest validates req against the contract and returns the input it
// built, for a response check later. The request body is read and put back,
// so the request can still be served.
func (v *Validator) ValidateRequest(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := v.Route(req)
	if err != nil {
		return nil, fmt.Errorf("no operation for %s %s: %w", req.Method, req.URL.Path, err)
	}
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		defer func() { req.Body = io.NopCloser(bytes.NewReader(body)) }()
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: Authenticate,
			MultiError:         true,
		},
	}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		return in, err
	}
	return in, nil
}

// ValidateResponse checks one response to the request described by in.
func (v *Validator) ValidateResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, out)
}
