package facade_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
	"github.com/istari-go/sdk/internal/faultproxy"
)

// matrixToken is the bearer token of the fault matrix: distinctive, so that
// a leak into an error, a log line or a printed client is found.
const matrixToken = "pat-matrix-3f9c2a71-d0e4-SECRET"

// outcome is how a call ended, as the matrix classifies it.
type outcome string

const (
	okRetry       outcome = "ok after retry"
	errServer     outcome = "ErrServer"
	errRateLimit  outcome = "ErrRateLimited"
	errDecode     outcome = "*DecodeError"
	errDeadline   outcome = "DeadlineExceeded"
	errTransport  outcome = "transport error"
	outcomeOK     outcome = "ok"
	outcomeOthers outcome = "other"
)

// classifyOutcome names the class of err; attempts tells a first-time
// success from one after a retry.
func classifyOutcome(err error, attempts int) outcome {
	var de *facade.DecodeError
	var ne net.Error // *url.Error from the request, *net.OpError from reading the answer
	switch {
	case err == nil && attempts > 1:
		return okRetry
	case err == nil:
		return outcomeOK
	case errors.Is(err, context.DeadlineExceeded):
		return errDeadline
	case errors.As(err, &de):
		return errDecode
	case errors.Is(err, facade.ErrRateLimited):
		return errRateLimit
	case errors.Is(err, facade.ErrServer):
		return errServer
	case errors.As(err, &ne):
		return errTransport
	}
	return outcomeOthers
}

// matrixFault is one row of the matrix: a fault on the first attempt, and
// the outcome expected for a read (GET), an idempotent write
// (UpdateJobAssignedAgent, RemoveJobAssignedAgent: retried like a read)
// and any other write.
type matrixFault struct {
	name string
	// fault builds the fault when the cell runs, so that an HTTP-date is
	// computed from the current time.
	fault func() faultproxy.Fault
	// timeout is the attempt timeout; 0 means a generous default.
	timeout     time.Duration
	read, write outcome
	// idem is the outcome for an idempotent write; empty means as read.
	idem outcome
}

// forwarded tells whether the server processed the request before the fault.
func (m matrixFault) forwarded() bool {
	f := m.fault()
	switch f.Kind {
	case faultproxy.Slow, faultproxy.Truncate, faultproxy.ResetMidBody:
		return true
	}
	return f.Forward
}

func jsonHeader(extra ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

// matrixFaults are the rows. "Forward" says the server processed the
// request before the fault hit the answer: the realistic case for a reset,
// a timeout, a 500 and a mangled 2xx answer. A 503 or 429 with Retry-After,
// and the HTML error page of a gateway that could not reach the server, are
// answered without the server. The HTML page is sent with 502, the status
// gateways use; an HTML page with 200 is covered by the wrong-content-type
// row, which the SDK refuses by its content type before looking at the body.
func matrixFaults() []matrixFault {
	return []matrixFault{
		{name: "connection refused", read: okRetry, write: okRetry,
			fault: func() faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Refuse} }},
		{name: "reset before response (fwd)", read: okRetry, write: errTransport,
			fault: func() faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.ResetBeforeResponse, Forward: true} }},
		{name: "reset mid-body (fwd)", read: okRetry, write: errTransport,
			fault: func() faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.ResetMidBody} }},
		{name: "500 (fwd)", read: errServer, write: errServer,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Status: 500, Header: jsonHeader(),
					Body: []byte(`{"detail":"Internal Server Error"}`)}
			}},
		{name: "502 (fwd)", read: okRetry, write: errServer,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Status: 502, Header: jsonHeader(),
					Body: []byte(`{"detail":"Bad Gateway"}`)}
			}},
		{name: "503 Retry-After: 1", read: okRetry, write: okRetry,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Status: 503, Header: jsonHeader("Retry-After", "1"),
					Body: []byte(`{"detail":"Service Unavailable"}`)}
			}},
		{name: "429 Retry-After: 1", read: okRetry, write: okRetry,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Status: 429, Header: jsonHeader("Retry-After", "1"),
					Body: []byte(`{"detail":"Too Many Requests"}`)}
			}},
		{name: "429 Retry-After: <HTTP-date>", read: okRetry, write: okRetry,
			fault: func() faultproxy.Fault {
				date := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
				return faultproxy.Fault{Kind: faultproxy.Respond, Status: 429, Header: jsonHeader("Retry-After", date),
					Body: []byte(`{"detail":"Too Many Requests"}`)}
			}},
		{name: "429 without Retry-After", read: okRetry, write: okRetry,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Status: 429, Header: jsonHeader(),
					Body: []byte(`{"detail":"Too Many Requests"}`)}
			}},
		{name: "slower than timeout (fwd)", read: okRetry, write: errDeadline, timeout: 200 * time.Millisecond,
			fault: func() faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Slow, Delay: 10 * time.Second} }},
		{name: "truncated JSON 2xx (fwd)", read: errDecode, write: errDecode,
			fault: func() faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Truncate} }},
		{name: "invalid JSON 200 (fwd)", read: errDecode, write: errDecode,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Status: 200, Header: jsonHeader(),
					Body: []byte(`{"id": "job", "created": 2026-01-01}`)}
			}},
		{name: "HTML error page 502", read: okRetry, write: errServer,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Status: 502, Header: http.Header{"Content-Type": {"text/html"}},
					Body: []byte("<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>")}
			}},
		{name: "empty 200 (fwd)", read: errDecode, write: errDecode,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Status: 200, Body: []byte{}}
			}},
		{name: "200 text/plain (fwd)", read: errDecode, write: errDecode,
			fault: func() faultproxy.Fault {
				return faultproxy.Fault{Kind: faultproxy.Respond, Forward: true, Status: 200,
					Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}}
			}},
	}
}

// target is what an operation works on: a job the setup made, and the
// model that a cell's jobs belong to.
type target struct {
	jobID, modelID string
}

// matrixOp is one column of the matrix: a facade operation, how to prepare
// its target, and how to count its effect on the server.
type matrixOp struct {
	name  string
	write bool
	// idempotent writes have the same effect when repeated, and are
	// retried like reads.
	idempotent bool
	// prepare makes the target with a client that meets no fault.
	prepare func(ctx context.Context, c *facade.Client, tg *target) error
	call    func(ctx context.Context, c *facade.Client, tg target) (any, error)
	// effect counts what the operation adds on the server: jobs, status
	// entries, archive entries, file revisions, or (for the assigned agent,
	// which has no history) 1 once the change is in place.
	effect func(srv *istaritest.Server, tg target) int
}

func addJobFor(ctx context.Context, c *facade.Client, tg *target, agent string) error {
	j, err := c.AddJob(ctx, facade.AddJobParams{ModelID: tg.modelID, Function: "@istari:extract",
		Parameters: map[string]any{"mesh": "fine"}, AssignedAgentID: agent})
	if err == nil {
		tg.jobID = j.ID
	}
	return err
}

func prepareJob(ctx context.Context, c *facade.Client, tg *target) error {
	return addJobFor(ctx, c, tg, "")
}

func jobOf(srv *istaritest.Server, tg target) *facade.Job {
	j, ok := srv.Job(tg.jobID)
	if !ok {
		return &facade.Job{}
	}
	return j
}

func matrixOps(t *testing.T) []matrixOp {
	newFile := filepath.Join(t.TempDir(), "params-v2.json")
	require.NoError(t, os.WriteFile(newFile, []byte(`{"mesh":"coarse"}`), 0o600))
	none := func(*istaritest.Server, target) int { return 0 }
	return []matrixOp{
		{name: "AddJob", write: true,
			prepare: func(context.Context, *facade.Client, *target) error { return nil },
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.AddJob(ctx, facade.AddJobParams{ModelID: tg.modelID, Function: "@istari:extract",
					Parameters: map[string]any{"mesh": "fine"}, OperatingSystem: facade.OSUbuntu2404})
			},
			effect: func(srv *istaritest.Server, tg target) int {
				n := 0
				for _, j := range srv.Jobs() {
					if j.ModelID == tg.modelID {
						n++
					}
				}
				return n
			}},
		{name: "GetJob", prepare: prepareJob, effect: none,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) { return c.GetJob(ctx, tg.jobID) }},
		{name: "UpdateJob", write: true, prepare: prepareJob,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.UpdateJob(ctx, tg.jobID, facade.UpdateJobParams{Path: newFile, VersionName: "v2"})
			},
			effect: func(srv *istaritest.Server, tg target) int { return len(jobOf(srv, tg).File.Revisions) }},
		{name: "ListJobs", prepare: prepareJob, effect: none,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.ListJobs(ctx, facade.ListJobsParams{ModelID: tg.modelID})
			}},
		{name: "ListModelJobs", prepare: prepareJob, effect: none,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.ListModelJobs(ctx, tg.modelID, facade.ListModelJobsParams{Size: 5})
			}},
		{name: "UpdateJobStatus", write: true, prepare: prepareJob,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.UpdateJobStatus(ctx, tg.jobID, facade.UpdateJobStatusParams{Status: facade.JobStatusRunning, AgentID: "agent-7", Message: "meshing"})
			},
			effect: func(srv *istaritest.Server, tg target) int {
				j := jobOf(srv, tg)
				if j.StatusHistory == nil {
					return 0
				}
				return len(j.StatusHistory)
			}},
		{name: "UpdateJobAssignedAgent", write: true, idempotent: true, prepare: prepareJob,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.UpdateJobAssignedAgent(ctx, tg.jobID, facade.AssignedAgent{AgentID: "agent-7"})
			},
			effect: func(srv *istaritest.Server, tg target) int {
				if jobOf(srv, tg).AssignedAgentID == "agent-7" {
					return 1
				}
				return 0
			}},
		{name: "RemoveJobAssignedAgent", write: true, idempotent: true,
			prepare: func(ctx context.Context, c *facade.Client, tg *target) error { return addJobFor(ctx, c, tg, "agent-3") },
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.RemoveJobAssignedAgent(ctx, tg.jobID)
			},
			effect: func(srv *istaritest.Server, tg target) int {
				if jobOf(srv, tg).AssignedAgentID == "" {
					return 1
				}
				return 0
			}},
		{name: "ArchiveJob", write: true, prepare: prepareJob,
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.ArchiveJob(ctx, tg.jobID, facade.ArchiveJobParams{Reason: "superseded"})
			},
			effect: func(srv *istaritest.Server, tg target) int { return len(jobOf(srv, tg).ArchiveStatusHistory) }},
		{name: "RestoreJob", write: true,
			prepare: func(ctx context.Context, c *facade.Client, tg *target) error {
				if err := prepareJob(ctx, c, tg); err != nil {
					return err
				}
				_, err := c.ArchiveJob(ctx, tg.jobID, facade.ArchiveJobParams{})
				return err
			},
			call: func(ctx context.Context, c *facade.Client, tg target) (any, error) {
				return c.RestoreJob(ctx, tg.jobID, facade.RestoreJobParams{Reason: "needed again"})
			},
			effect: func(srv *istaritest.Server, tg target) int { return len(jobOf(srv, tg).ArchiveStatusHistory) }},
	}
}

// cellResult is what one cell saw.
type cellResult struct {
	fault, op         string
	forwarded, write  bool
	idempotent        bool
	want, got         outcome
	attempts, recv    int
	applied, retryLog int
}

// duplicates is how many times more than once a write reached the server
// or changed its state; for an idempotent write, how many times more than
// once it changed the state. The matrix requires 0 everywhere.
func (r cellResult) duplicates() int {
	switch {
	case !r.write:
		return 0
	case r.idempotent:
		return max(r.applied, 1) - 1
	}
	return max(r.applied, r.recv, 1) - 1
}

// TestFaultMatrix meets each of the ten operations with each fault on its
// first attempt, through a fault-injecting proxy in front of the in-memory
// platform, and checks the outcome and what the platform holds afterwards:
// a write that may have been processed is never sent again, so no job,
// status entry, archive entry or file revision is ever added twice.
//
// It also checks that the token appears in no error, no debug log line and
// no printed client, and that each retry is logged with its reason and
// attempt number.
func TestFaultMatrix(t *testing.T) {
	srv := istaritest.NewServer(istaritest.WithUser(matrixToken, "matrix-user", false))
	t.Cleanup(srv.Close)
	setup, err := facade.NewClient(srv.URL, facade.WithToken(matrixToken), facade.WithRetry(facade.NoRetry()))
	require.NoError(t, err)
	t.Cleanup(setup.CloseIdleConnections)

	ops := matrixOps(t)
	faults := matrixFaults()
	var (
		mu      sync.Mutex
		results []cellResult
		allLogs bytes.Buffer
	)
	// The rows run in parallel, each with its own proxy; the cells of a
	// row run one after the other, since they share the proxy's fault.
	t.Run("rows", func(t *testing.T) {
		for fi, mf := range faults {
			t.Run(mf.name, func(t *testing.T) {
				t.Parallel()
				proxy, err := faultproxy.New(srv.URL)
				require.NoError(t, err)
				defer func() { assert.NoError(t, proxy.Close()) }()
				for oi, op := range ops {
					r, logs := runCell(t, srv, setup, proxy, mf, op, fmt.Sprintf("model-%02d-%02d", fi, oi))
					mu.Lock()
					results = append(results, r)
					allLogs.Write(logs)
					mu.Unlock()
				}
				assert.Zero(t, proxy.Stats().Panics, "the proxy never panicked")
			})
		}
	})

	require.Len(t, results, len(faults)*len(ops))
	assert.NotContains(t, allLogs.String(), matrixToken, "no debug log line holds the token")
	assert.NotContains(t, allLogs.String(), "SECRET")
	logMatrix(t, faults, ops, results)
}

// runCell runs one operation against one fault and returns what it saw and
// the debug log it wrote.
func runCell(t *testing.T, srv *istaritest.Server, setup *facade.Client, proxy *faultproxy.Proxy,
	mf matrixFault, op matrixOp, modelID string) (cellResult, []byte) {
	t.Helper()
	ctx := context.Background()
	tg := target{modelID: modelID}
	require.NoError(t, op.prepare(ctx, setup, &tg), "%s: prepare", op.name)

	var logBuf bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := facade.DefaultTransport()
	tr.DialContext = proxy.DialContext
	timeout := mf.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	c, err := facade.NewClient(proxy.URL, facade.WithToken(matrixToken), facade.WithHTTPClient(&http.Client{Transport: tr}),
		facade.WithRetry(facade.RetryPolicy{MaxAttempts: 3, MinInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}),
		facade.WithTimeout(timeout), facade.WithLogger(logger))
	require.NoError(t, err)

	before := op.effect(srv, tg)
	jobBefore, _ := srv.Job(tg.jobID)
	statsBefore := proxy.Stats()
	proxy.Set(mf.fault())

	res, callErr := op.call(ctx, c, tg)

	c.CloseIdleConnections()
	tr.CloseIdleConnections()
	proxy.Wait()
	proxy.Clear()
	stats := proxy.Stats()
	after := op.effect(srv, tg)

	r := cellResult{
		fault: mf.name, op: op.name, forwarded: mf.forwarded(), write: op.write, idempotent: op.idempotent,
		want: mf.read, attempts: stats.Attempts - statsBefore.Attempts,
		recv: stats.Forwarded - statsBefore.Forwarded, applied: after - before,
	}
	switch {
	case op.idempotent && mf.idem != "":
		r.want = mf.idem
	case op.idempotent:
		r.want = mf.read
	case op.write:
		r.want = mf.write
	}
	r.got = classifyOutcome(callErr, r.attempts)

	name := mf.name + " × " + op.name
	assert.Equal(t, 1, stats.Faulted-statsBefore.Faulted, "%s: the fault hit exactly one attempt", name)
	assert.Equal(t, r.want, r.got, "%s: outcome (err = %v)", name, callErr)
	if callErr == nil {
		assert.NotNil(t, res, "%s: a result on success", name)
	} else {
		assert.True(t, res == nil || isNilResult(res), "%s: no result with an error", name)
		assert.Contains(t, callErr.Error(), op.name, "%s: the error names the operation", name)
	}

	// What the server holds: the key figure.
	wantAttempts := 1
	if r.want == okRetry {
		wantAttempts = 2
	}
	assert.Equal(t, wantAttempts, r.attempts, "%s: attempts", name)
	if op.write {
		wantApplied := 0
		if r.forwarded || r.want == okRetry {
			wantApplied = 1
		}
		assert.Equal(t, wantApplied, r.applied, "%s: applied on the server", name)
		if op.idempotent {
			assert.LessOrEqual(t, r.recv, r.attempts, "%s: requests that reached the server", name)
		} else {
			assert.Equal(t, wantApplied, r.recv, "%s: requests that reached the server", name)
			assert.LessOrEqual(t, r.recv, 1, "%s: a write reaches the server at most once", name)
		}
	} else {
		jobAfter, _ := srv.Job(tg.jobID)
		assert.Equal(t, jobBefore, jobAfter, "%s: a read changes nothing", name)
	}
	assert.Zero(t, r.duplicates(), "%s: duplicates", name)

	// Security: neither the error nor the logs nor the printed client hold
	// the token.
	if callErr != nil {
		for _, s := range []string{callErr.Error(), fmt.Sprintf("%+v", callErr), fmt.Sprintf("%#v", callErr)} {
			assert.NotContains(t, s, matrixToken, "%s: the error holds the token", name)
		}
	}
	assert.NotContains(t, fmt.Sprintf("%#v", c), matrixToken)
	assert.NotContains(t, fmt.Sprintf("%+v", c), matrixToken)

	// The retry log: one record per retry, with its reason and attempt.
	logMu.Lock()
	logs := slices.Clone(logBuf.Bytes())
	logMu.Unlock()
	retries := retryRecords(t, logs)
	r.retryLog = len(retries)
	assert.Len(t, retries, r.attempts-1, "%s: one retry record per retry", name)
	for i, rec := range retries {
		assert.Equal(t, "DEBUG", rec["level"])
		assert.Equal(t, op.name, rec["operation"])
		assert.EqualValues(t, i+2, rec["attempt"], "%s: the record numbers the attempt", name)
		assert.NotEmpty(t, rec["reason"], "%s: the record gives the reason", name)
	}
	return r, logs
}

// isNilResult reports whether v is a typed nil pointer.
func isNilResult(v any) bool {
	switch x := v.(type) {
	case *facade.Job:
		return x == nil
	case *facade.JobPage:
		return x == nil
	}
	return false
}

// retryRecords returns the "istari retry" records of a JSON log.
func retryRecords(t *testing.T, logs []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(logs))
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "a log line is JSON: %s", sc.Text())
		if rec["msg"] == "istari retry" {
			out = append(out, rec)
		}
	}
	return out
}

// logMatrix logs every cell, then the matrix as a grid.
func logMatrix(t *testing.T, faults []matrixFault, ops []matrixOp, results []cellResult) {
	t.Helper()
	byCell := map[[2]string]cellResult{}
	for _, r := range results {
		byCell[[2]string{r.fault, r.op}] = r
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tOPERATION\tKIND\tOUTCOME\tATTEMPTS\tSERVER-RECV\tAPPLIED\tDUPLICATES")
	for _, f := range faults {
		for _, op := range ops {
			r := byCell[[2]string{f.name, op.name}]
			kind := "read"
			switch {
			case r.idempotent:
				kind = "idempotent"
			case r.write:
				kind = "write"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\tduplicates=%d\n", r.fault, r.op, kind, r.got, r.attempts, r.recv, r.applied, r.duplicates())
		}
	}
	_ = tw.Flush()
	t.Logf("fault matrix, every cell:\n%s", b.String())

	b.Reset()
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "fault \\ operation")
	for _, op := range ops {
		fmt.Fprintf(tw, "\t%s", op.name)
	}
	fmt.Fprintln(tw)
	dups := 0
	for _, f := range faults {
		fmt.Fprint(tw, f.name)
		for _, op := range ops {
			r := byCell[[2]string{f.name, op.name}]
			dups += r.duplicates()
			fmt.Fprintf(tw, "\t%s", short(r))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	t.Logf("fault matrix (ok² = success on the 2nd attempt; +N = server state changes, writes only; ⁱ = idempotent, retried like a read; %d cells, duplicates=%d):\n%s",
		len(results), dups, b.String())
}

func short(r cellResult) string {
	s := map[outcome]string{
		okRetry: "ok²", outcomeOK: "ok", errServer: "ErrServer", errRateLimit: "ErrRateLimited",
		errDecode: "DecodeError", errDeadline: "Deadline", errTransport: "transport", outcomeOthers: "OTHER",
	}[r.got]
	if r.write {
		s += fmt.Sprintf(" +%d", r.applied)
	}
	if r.idempotent {
		s += "ⁱ"
	}
	return s
}
