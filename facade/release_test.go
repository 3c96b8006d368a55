package facade_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// TestVersionIsTheChangelogs: facade.Version is the newest version of
// CHANGELOG.md, whose version headings are well formed, newest first, and
// dated but for the newest, which may be Unreleased.
func TestVersionIsTheChangelogs(t *testing.T) {
	b, err := os.ReadFile("../CHANGELOG.md")
	require.NoError(t, err)
	heading := regexp.MustCompile(`^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2}|Unreleased)$`)
	var versions [][3]int
	var names []string
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "## ") || line == "## [Unreleased]" {
			continue
		}
		m := heading.FindStringSubmatch(line)
		require.NotNil(t, m, "CHANGELOG.md line %d: a version heading reads \"## [X.Y.Z] - YYYY-MM-DD\" (or \"- Unreleased\" for the newest): %q", i+1, line)
		var v [3]int
		for j := range v {
			v[j], _ = strconv.Atoi(m[j+1])
		}
		if m[4] == "Unreleased" {
			assert.Empty(t, versions, "CHANGELOG.md line %d: only the newest version may be Unreleased", i+1)
		}
		if len(versions) > 0 {
			prev := versions[len(versions)-1]
			assert.True(t, v[0] < prev[0] || v[0] == prev[0] && (v[1] < prev[1] || v[1] == prev[1] && v[2] < prev[2]),
				"CHANGELOG.md line %d: %s is not older than the entry above it", i+1, m[0])
		}
		versions = append(versions, v)
		names = append(names, m[1]+"."+m[2]+"."+m[3])
		assert.Contains(t, string(b), "\n["+names[len(names)-1]+"]: ", "CHANGELOG.md: the link of %s", names[len(names)-1])
	}
	require.NotEmpty(t, names, "CHANGELOG.md has no version")
	assert.Equal(t, names[0], facade.Version, "facade.Version must be the newest version of CHANGELOG.md")
}
