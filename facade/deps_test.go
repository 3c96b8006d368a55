package facade_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoOpenTelemetryWithoutIstariotel: a program that imports facade (or
// istaritest, or the command) builds no OpenTelemetry package; only
// facade/istariotel does, which the last row checks so that the test can
// fail.
func TestNoOpenTelemetryWithoutIstariotel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, tc := range []struct {
		pkg  string
		otel bool
	}{
		{"github.com/istari-go/sdk/facade", false},
		{"github.com/istari-go/sdk/facade/istaritest", false},
		{"github.com/istari-go/sdk/cmd/istari-jobs", false},
		{"github.com/istari-go/sdk/facade/istariotel", true},
	} {
		out, err := exec.Command(goBin, "list", "-deps", tc.pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		var otel []string
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "go.opentelemetry.io/") {
				otel = append(otel, p)
			}
		}
		if tc.otel {
			require.NotEmpty(t, otel, "%s builds OpenTelemetry", tc.pkg)
		} else {
			require.Empty(t, otel, "%s must not build OpenTelemetry", tc.pkg)
		}
	}
}
