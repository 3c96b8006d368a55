//go:build tools

// Package tools pins the code generator used by make generate, so that its
// version is fixed in go.mod and every run produces the same bytes.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
