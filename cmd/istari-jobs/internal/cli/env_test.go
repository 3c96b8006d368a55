package cli

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/istari-go/sdk/facade/istaritest"
)

// TestClientSettingsFromEnvironment: the ISTARI_CLIENT_* variables reach
// the facade, as they do for the Python SDK.
func TestClientSettingsFromEnvironment(t *testing.T) {
	e := newEnv(t)
	id := e.addJob("m1").ID

	e.vars["ISTARI_CLIENT_RETRY_MAX_ATTEMPTS"] = "many"
	r := e.run("get", id)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "ISTARI_CLIENT_RETRY_MAX_ATTEMPTS")

	// Retries on: a GET goes through one 503.
	e.vars["ISTARI_CLIENT_RETRY_MAX_ATTEMPTS"] = "2"
	e.vars["ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS"] = "1"
	e.srv.FailOperation(istaritest.OpGetJob, 1, http.StatusServiceUnavailable, 0)
	r = e.run("get", id)
	assert.Equal(t, 0, r.code, r.stderr)

	// Retries off: the same 503 is an API error.
	e.vars["ISTARI_CLIENT_RETRY_ENABLED"] = "false"
	e.srv.FailOperation(istaritest.OpGetJob, 1, http.StatusServiceUnavailable, time.Second)
	r = e.run("get", id)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "503")
}
