// Package api holds the contract of the Istari jobs SDK: the OpenAPI 3.0.3
// description of the platform's job endpoints (openapi.yaml), from which
// package gen is generated and against which the in-memory platform and the
// contract tests validate every request and response.
package api

import _ "embed"

//go:embed openapi.yaml
var spec []byte

// Spec returns the bytes of openapi.yaml as embedded at build time. Each call
// returns a fresh copy, so callers may modify it.
func Spec() []byte {
	return append([]byte(nil), spec...)
}

// BasePath is the prefix under which the platform serves every job route,
// as the spec's servers entry says: a client's base URL ends with it. The
// facade, the in-memory platform and the contract validator all use this
// one constant.
const BasePath = "/api/v2"
