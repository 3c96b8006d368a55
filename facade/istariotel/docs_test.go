package istariotel_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocsGoBlocksAreTested fails when a Go block of docs/telemetry.md that
// uses istariotel is not found, word for word, in a test file of this
// package (ExampleWithTelemetry), so that the page shows code that runs,
// or when a declaration the page quotes is not in facade/middleware.go.
func TestDocsGoBlocksAreTested(t *testing.T) {
	doc, err := os.ReadFile("../../docs/telemetry.md")
	require.NoError(t, err)
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	var tests strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		tests.WriteString(normalizeCode(string(data)))
	}
	src, err := os.ReadFile("../middleware.go")
	require.NoError(t, err)
	var checked int
	for _, b := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if !strings.Contains(b[1], "istariotel.") {
			// The facade's declarations, quoted from its source.
			for _, line := range strings.Split(strings.TrimSpace(b[1]), "\n") {
				if !strings.Contains(string(src), line) {
					t.Errorf("docs/telemetry.md quotes %q, which facade/middleware.go does not declare", line)
				}
			}
			continue
		}
		checked++
		if !strings.Contains(tests.String(), normalizeCode(b[1])) {
			t.Errorf("a block of docs/telemetry.md is not kept, word for word, in facade/istariotel/*_test.go:\n%s", b[1])
		}
	}
	require.Positive(t, checked, "docs/telemetry.md shows how to wire istariotel")
}

// normalizeCode drops indentation, blank lines and runs of spaces, so that
// a block matches its copy at any depth.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
