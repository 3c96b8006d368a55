package facade

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/api"
	"github.com/istari-go/sdk/internal/spec"
)

// answering returns a server that answers status (with Retry-After ra when
// set) to the first failures requests, and a job afterwards.
func answering(t *testing.T, status int, ra string, failures int) *httptest.Server {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		fail := n <= failures
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if fail {
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"detail":"again"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"j","created":"2026-01-01T00:00:00Z","file":{"id":"f","created":"2026-01-01T00:00:00Z","revisions":[],"archive_status_history":[]},"comments":[],"archive_status_history":[],"created_by_id":"u","function":{"name":"f"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// watchdog is a context that a test on a fake clock can use: cancelled
// after a few seconds, so that a regression fails instead of hanging, but
// with no deadline, which would cut the fake waits short.
func watchdog(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	stop := time.AfterFunc(5*time.Second, cancel)
	t.Cleanup(func() { stop.Stop(); cancel() })
	return ctx
}

func fakeClockClient(t *testing.T, url string, p RetryPolicy) (*Client, *fakeSleep) {
	t.Helper()
	c, err := NewClient(url, WithRetry(p))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	fs := &fakeSleep{}
	c.tr.sleep = fs.sleep
	return c, fs
}

// TestBackoffSchedule: on a fake clock, the waits grow as MinInterval·2ⁿ,
// within their jitter bounds (the upper half of the computed wait), and are
// capped at MaxInterval. Asserted from below as well as from above, so
// that a zero backoff fails.
func TestBackoffSchedule(t *testing.T) {
	ctx := watchdog(t)
	for _, tc := range []struct {
		name     string
		policy   RetryPolicy
		min, max time.Duration
	}{
		{"jitter", RetryPolicy{MaxAttempts: 7, MinInterval: 10 * time.Millisecond, MaxInterval: 80 * time.Millisecond}, 10 * time.Millisecond, 80 * time.Millisecond},
		{"no jitter", RetryPolicy{MaxAttempts: 7, MinInterval: 10 * time.Millisecond, MaxInterval: 80 * time.Millisecond, NoJitter: true}, 10 * time.Millisecond, 80 * time.Millisecond},
		{"defaults field by field", RetryPolicy{MaxAttempts: 6}, defaultMinInterval, defaultMaxInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := answering(t, 503, "", 100)
			c, fs := fakeClockClient(t, srv.URL, tc.policy)
			_, err := c.GetJob(ctx, "j")
			require.ErrorIs(t, err, ErrServer)
			fs.mu.Lock()
			defer fs.mu.Unlock()
			require.Len(t, fs.waits, tc.policy.MaxAttempts-1)
			for n, w := range fs.waits {
				want := min(tc.min<<n, tc.max)
				lo := want / 2
				if tc.policy.NoJitter {
					lo = want
				}
				assert.GreaterOrEqual(t, w, lo, "wait %d", n+1)
				assert.LessOrEqual(t, w, want, "wait %d", n+1)
			}
			t.Logf("waits: %v", fs.waits)
		})
	}
}

// TestRetryAfterHonoured: a Retry-After up to MaxRetryAfter is waited out
// as asked, not cut to MaxInterval.
func TestRetryAfterHonoured(t *testing.T) {
	ctx := watchdog(t)
	for _, tc := range []struct {
		status int
		ra     string
		want   time.Duration
	}{
		{429, "30", 30 * time.Second},
		{503, "60", 60 * time.Second},
		{429, "0", 0},
	} {
		srv := answering(t, tc.status, tc.ra, 1)
		c, fs := fakeClockClient(t, srv.URL, RetryPolicy{})
		_, err := c.AddJob(ctx, AddJobParams{ModelID: "m", Function: "f"})
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{tc.want}, fs.waits, "Retry-After %s", tc.ra)
	}
}

// TestPolicyDefaults: each zero field of a RetryPolicy takes its default.
func TestPolicyDefaults(t *testing.T) {
	assert.Equal(t, DefaultRetryPolicy(), RetryPolicy{}.withDefaults())
	p := RetryPolicy{MaxAttempts: 6}.withDefaults()
	assert.Equal(t, RetryPolicy{MaxAttempts: 6, MinInterval: defaultMinInterval, MaxInterval: defaultMaxInterval, MaxRetryAfter: defaultMaxRetryAfter}, p)
	assert.Equal(t, 1, NoRetry().withDefaults().MaxAttempts)
	assert.Equal(t, time.Second, RetryPolicy{MinInterval: time.Second, MaxInterval: time.Millisecond}.withDefaults().MaxInterval, "MaxInterval is at least MinInterval")
}

// TestOperationTableMatchesSpec: the retry table has one row per operation
// of api/openapi.yaml, with its method and path, and a Raw request to each
// path maps to its row.
// facadeNames are the facade's names of the operations whose method is not
// named after their operationId.
var facadeNames = map[string]string{"getJobFile": "OpenJobFile"}

func TestOperationTableMatchesSpec(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	param := regexp.MustCompile(`\{[^}]+\}`)
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
			if n, ok := facadeNames[op.OperationID]; ok {
				name = n
			}
			row, ok := operationNamed(Operation(name))
			require.True(t, ok, "no row for %s", op.OperationID)
			assert.Equal(t, method, row.method, name)
			assert.Equal(t, param.ReplaceAllString(path, "{}"), row.path, name)
			raw, ok := operationOf(method, "/tenant"+api.BasePath+param.ReplaceAllString(path, "x-1"), "/tenant"+api.BasePath)
			require.True(t, ok, "%s %s", method, path)
			assert.Equal(t, Operation(name), raw.name)
			seen[name] = true
		}
	}
	// ClaimJob is the one row on another operation's route.
	assert.Len(t, seen, len(operations)-1)
	claim, ok := operationNamed("ClaimJob")
	require.True(t, ok)
	update, _ := operationNamed("UpdateJobStatus")
	assert.Equal(t, update.path, claim.path)
	assert.Equal(t, update.class, claim.class)
	for _, p := range []string{"/tenant/api/v2/jobs/", "/tenant/api/v2/jobs/a/b", "/tenant/api/v2/models//jobs", "/other/api/v2/jobs", "/tenant/api/v2/jobs/a/status/x"} {
		_, ok := operationOf(http.MethodGet, p, "/tenant/api/v2")
		_, ok2 := operationOf(http.MethodPatch, p, "/tenant/api/v2")
		assert.False(t, ok || ok2, p)
	}
	assert.Equal(t, classSafe, classOfMethod(http.MethodGet))
	assert.Equal(t, classIdempotent, classOfMethod(http.MethodDelete))
	assert.Equal(t, classUnsafe, classOfMethod(http.MethodPost))
}

// TestShapesMatchSpec: the shape checks of decode.go require exactly what
// api/openapi.yaml requires, none of it nullable, and follow every nested
// object the spec describes.
func TestShapesMatchSpec(t *testing.T) {
	doc, err := spec.Load()
	require.NoError(t, err)
	shapes := map[string]*shape{"PageJob": pageShape}
	var walk func(name string, sh *shape)
	walk = func(name string, sh *shape) {
		s := doc.Components.Schemas[name]
		require.NotNil(t, s, name)
		assert.ElementsMatch(t, s.Value.Required, sh.required, "%s: required", name)
		for _, r := range s.Value.Required {
			assert.False(t, s.Value.Properties[r].Value.Nullable, "%s.%s: a required field is not nullable", name, r)
		}
		var nested []string
		for prop, ps := range s.Value.Properties {
			ref := ps.Ref
			if ps.Value.Type.Is(openapi3.TypeArray) && ps.Value.Items != nil {
				ref = ps.Value.Items.Ref
			}
			target := strings.TrimPrefix(ref, "#/components/schemas/")
			if ref == "" || !doc.Components.Schemas[target].Value.Type.Is(openapi3.TypeObject) {
				continue
			}
			nested = append(nested, prop)
			_, sub := sh.nestedShape([]byte(prop))
			require.NotNil(t, sub, "%s.%s: nested shape", name, prop)
			if prev, ok := shapes[target]; ok {
				assert.Same(t, prev, sub, "%s.%s: one shape per schema", name, prop)
				continue
			}
			shapes[target] = sub
			walk(target, sub)
		}
		var have []string
		for _, n := range sh.nested {
			have = append(have, n.key)
		}
		slices.Sort(nested)
		slices.Sort(have)
		assert.Equal(t, nested, have, "%s: nested shapes", name)
	}
	walk("PageJob", pageShape)
	assert.Same(t, jobShape, shapes["Job"])
}

// TestDecide: the one retry decision takes the operation's class, the
// attempt's outcome and the policy, and refuses what the policy refuses.
func TestDecide(t *testing.T) {
	p := RetryPolicy{MinInterval: time.Second, MaxInterval: 8 * time.Second, MaxRetryAfter: time.Minute, NoJitter: true}.withDefaults()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	answer := func(status int, retryAfter string) attemptOutcome {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return attemptOutcome{resp: &http.Response{StatusCode: status, Header: h}}
	}
	for _, tc := range []struct {
		name     string
		class    opClass
		o        attemptOutcome
		attempt  int
		last     bool
		deadline time.Time
		retry    bool
		wait     time.Duration
		refused  string
	}{
		{"a 503 to a read: the backoff", classSafe, answer(503, ""), 2, false, time.Time{}, true, 2 * time.Second, ""},
		{"a 503 to a write without Retry-After", classUnsafe, answer(503, ""), 1, false, time.Time{}, false, 0, ""},
		{"a 429 to a write: its Retry-After", classUnsafe, answer(429, "7"), 1, false, time.Time{}, true, 7 * time.Second, ""},
		{"the last attempt", classSafe, answer(503, ""), 4, true, time.Time{}, false, 0, ""},
		{"a Retry-After past MaxRetryAfter", classSafe, answer(429, "3600"), 1, false, time.Time{}, false, 0, "longer than MaxRetryAfter"},
		{"a wait past the deadline", classSafe, answer(503, "10"), 1, false, now.Add(5 * time.Second), false, 0, "outlast the context's deadline"},
		{"a wait within the deadline", classSafe, answer(503, "10"), 1, false, now.Add(time.Minute), true, 10 * time.Second, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.decide(tc.class, tc.o, tc.attempt, tc.last, now, tc.deadline)
			assert.Equal(t, tc.retry, d.retry)
			assert.Equal(t, tc.wait, d.wait)
			if tc.refused == "" {
				assert.Empty(t, d.refused)
			} else {
				assert.Contains(t, d.refused, tc.refused)
			}
		})
	}
}
