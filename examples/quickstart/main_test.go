package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the README's quick start program as `go run` would.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out))
	assert.Regexp(t, `(?s)^added job \S+
status: Pending 
status: Claimed 
status: Running 
status: Completed extracted @istari:extract
job ended Completed
$`, out.String())
}
