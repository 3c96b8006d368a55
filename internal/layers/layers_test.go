package layers

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/istari-go/sdk"

// deps returns, for each package of the module, every package it imports,
// directly or not, as go list -deps reports them.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	all := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		all[fields[0]] = fields[1:]
	}
	require.Contains(t, all, module+"/facade")
	return all
}

// TestLayers: nothing under internal/ imports facade or the command line;
// facade imports neither its test platform, its telemetry nor the command
// line; gen imports nothing of the module but gen.
func TestLayers(t *testing.T) {
	for pkg, imports := range deps(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		var forbidden []string
		switch {
		case strings.HasPrefix(rel, "internal/"):
			forbidden = []string{"facade", "cmd/"}
		case rel == "facade":
			forbidden = []string{"facade/", "cmd/"}
		case rel == "facade/istaritest":
			forbidden = []string{"facade/istariotel", "cmd/"}
		case strings.HasPrefix(rel, "gen"):
			forbidden = []string{"facade", "internal/", "cmd/", "api"}
		}
		for _, imp := range imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) {
					t.Errorf("%s imports %s: the layers go cmd/ → facade/ → internal/ → gen/, never back up", rel, dep)
				}
			}
		}
	}
}
