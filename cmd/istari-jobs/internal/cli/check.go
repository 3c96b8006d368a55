package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/internal/spec"
)

// The kinds of finding check adds to those of spec.CheckResponse.
const (
	// kindCall is a call that failed: an error status, or no answer.
	kindCall = "call"
	// kindSDK is a successful answer the SDK could not read, usually
	// because of a difference the other findings of the step show.
	kindSDK = "sdk"
	// kindRules is a status update that the SDK assumes the platform
	// refuses with 409 (a forbidden transition) and that it accepted or
	// refused otherwise: the platform's status rules differ from the SDK's,
	// and claims may not be exclusive.
	kindRules = "status-rules"
)

// maxCheckBody is the largest answer check reads: the limit of its
// client (facade.WithMaxResponseBytes) and of the answers it validates. A
// larger answer is one finding, not validated. With spec.MaxElements and
// spec.MaxFindings, it keeps check's memory small whatever the platform
// answers: the facade decodes at most this much (an answer of 256 KiB of
// empty objects costs it about 100 MB), and the spec validates a bounded
// part of it. The answers of check's steps (a page of one job, one job)
// are a few KiB.
const maxCheckBody = 256 << 10

// checkFlags are the flags of check.
type checkFlags struct {
	job, model, agent, function string
	write                       bool
}

func (a *app) checkCommand() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check [--job JOB_ID] [--write --model MODEL_ID [--agent AGENT_ID]]",
		Short: "Compare the platform's answers with the SDK's spec",
		Long: `Call the platform and validate every answer against the spec embedded in this
SDK (api/openapi.yaml), to find where the two disagree. It reports fields the
platform sends that the spec does not know, required fields that are missing,
enum values outside the spec's lists, type mismatches and unexpected status
codes, each with its JSON path.

By default it only reads: list with size=1 and with size=0, get of the newest
job (or of --job), and list-model for that job's model. With --write --model
it also adds one small job, whose display name says it is a check, archives
and restores it, assigns and unassigns the agent given with --agent, sets its
status to Canceled, tries one forbidden transition (Canceled back to Pending),
and archives it again, so that it stays archived. The SDK assumes that the
platform refuses a forbidden transition with 409 Conflict (its claims rely on
it); if the platform accepts it, or refuses it with another status, the step
reports a finding of kind status-rules, and the check sets the job to
Canceled again.

The table shows each call's operation, HTTP status, latency and findings; -o
json gives the same as one document, to attach to a bug report. The exit code
is 0 when there are no findings and 1 when there are.

Whatever the platform answers, check stays small: it reads answers of up to
256 KiB (a larger one is one finding), validates the first 1000 array
elements of each, and shows at most 100 findings per step, counting the
others by kind.`,
		Example: `  istari-jobs check
  istari-jobs check --job 3f2a... -o json > check-report.json
  istari-jobs check --write --model 7d0c... --agent agent-7`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			if f.write && f.model == "" {
				return usageErr("check --write needs --model MODEL_ID, a model it may add a job to")
			}
			if !f.write && (f.model != "" || f.agent != "") {
				return usageErr("--model and --agent are for check --write")
			}
			if a.output == outputJSONL {
				return usageErr("invalid --output %q: check prints a table or one JSON document", a.output)
			}
			v, err := spec.NewValidator()
			if err != nil {
				return err
			}
			rec := &recorder{next: a.transport}
			c, err := a.client(facade.WithHTTPClient(&http.Client{Transport: rec}), facade.WithRetry(facade.NoRetry()),
				facade.WithMaxResponseBytes(maxCheckBody))
			if err != nil {
				return err
			}
			ck := &checker{a: a, c: c, v: v, rec: rec, f: f}
			ck.run()
			if a.ctx.Err() != nil {
				return a.ctx.Err()
			}
			if err := ck.print(); err != nil {
				return err
			}
			return ck.verdict()
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.job, "job", "", "get this `JOB_ID` instead of the newest job")
	fs.BoolVar(&f.write, "write", false, "also add a job and move it along (needs --model)")
	fs.StringVar(&f.model, "model", "", "the `MODEL_ID` to add the check's job to, with --write")
	fs.StringVar(&f.agent, "agent", "", "assign and unassign this `AGENT_ID`, with --write (skipped when not given)")
	fs.StringVar(&f.function, "function", "@istari:extract", "the function `NAME` of the check's job, with --write")
	return cmd
}

// exchange is one request and its answer, as the recorder saw them.
type exchange struct {
	method, url string
	status      int
	header      http.Header
	body        []byte
	// tooLarge is set when the body was longer than maxCheckBody; body is
	// then nil.
	tooLarge bool
	latency  time.Duration
	err      error
}

// recorder is a RoundTripper that keeps the exchanges of the step in
// progress, so that check can validate the answers exactly as they
// arrived, whatever the facade makes of them.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := r.next.RoundTrip(req)
	x := exchange{method: req.Method, url: req.URL.String()}
	if err != nil {
		x.err, x.latency = err, time.Since(start)
		r.add(x)
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckBody+1))
	x.latency = time.Since(start)
	x.status, x.header, x.body, x.err = resp.StatusCode, resp.Header.Clone(), body, err
	if len(body) > maxCheckBody {
		// The facade, whose limit is maxCheckBody too, reads the answer
		// from its start and refuses it.
		x.body, x.tooLarge = nil, true
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		r.add(x)
		return resp, nil
	}
	_ = resp.Body.Close()
	r.add(x)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, err
}

func (r *recorder) add(x exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, x)
}

// take returns the exchanges after the first n and forgets them, so that
// the answers of a finished step are not held.
func (r *recorder) take(n int) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	xs := r.log[n:]
	r.log = slices.Clip(r.log[:n])
	return xs
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// checkStep is one call of check and what it found.
type checkStep struct {
	Step      string         `json:"step"`
	Operation string         `json:"operation,omitempty"`
	Method    string         `json:"method,omitempty"`
	Path      string         `json:"path,omitempty"`
	Status    int            `json:"status,omitempty"`
	LatencyMS float64        `json:"latency_ms,omitempty"`
	Skipped   string         `json:"skipped,omitempty"`
	Findings  []spec.Finding `json:"findings"`
	// Omitted counts by kind the findings past spec.MaxFindings left out.
	Omitted map[string]int `json:"omitted_findings,omitempty"`
	// Unvalidated counts the array elements past spec.MaxElements of the
	// answer that were not validated.
	Unvalidated int `json:"unvalidated_elements,omitempty"`

	body []byte
}

// checker runs the steps of one check.
type checker struct {
	a     *app
	c     *facade.Client
	v     *spec.Validator
	rec   *recorder
	f     checkFlags
	steps []*checkStep
}

// run runs the read steps and, with --write, the write steps.
func (ck *checker) run() {
	ctx := ck.a.ctx
	newest := ck.step("list size=1", func() error {
		_, err := ck.c.ListJobs(ctx, facade.ListJobsParams{Size: 1, Sort: "-created"})
		return err
	})
	ck.step("list size=0", func() error {
		_, err := ck.c.ListJobs(ctx, facade.ListJobsParams{CountOnly: true})
		return err
	})
	jobID := ck.f.job
	if jobID == "" {
		jobID = firstItemID(newest.body)
	}
	var got *checkStep
	if jobID == "" {
		got = ck.skip("get", "no job found: pass --job JOB_ID, or --write --model MODEL_ID")
	} else {
		got = ck.step("get", func() error {
			_, err := ck.c.GetJob(ctx, jobID)
			return err
		})
	}
	if model := stringField(got.body, "model_id"); model != "" {
		ck.step("list-model size=1", func() error {
			_, err := ck.c.ListModelJobs(ctx, model, facade.ListModelJobsParams{Size: 1})
			return err
		})
	} else {
		ck.skip("list-model size=1", "no model: the get step gave none")
	}
	if ck.f.write {
		ck.runWrite()
	}
}

// runWrite adds a job and moves it along, leaving it archived.
func (ck *checker) runWrite() {
	ctx := ck.a.ctx
	now := time.Now().UTC().Format(time.RFC3339)
	added := ck.step("add", func() error {
		_, err := ck.c.AddJob(ctx, facade.AddJobParams{
			ModelID: ck.f.model, Function: ck.f.function,
			Parameters:  map[string]any{"istari_jobs_check": now},
			DisplayName: "istari-jobs check " + now,
			Description: "Added by istari-jobs check, which compares the platform with the SDK's spec; it archives the job when done.",
		})
		return err
	})
	id := stringField(added.body, "id")
	call := func(name string, fn func(id string) (*facade.Job, error)) {
		if id == "" {
			ck.skip(name, "the add step gave no job")
			return
		}
		ck.step(name, func() error {
			_, err := fn(id)
			return err
		})
	}
	const reason = "istari-jobs check"
	if id == "" {
		ck.skip("file", "the add step gave no job")
	} else {
		ck.step("file", func() error { return ck.readBack(id, now) })
	}
	call("archive", func(id string) (*facade.Job, error) {
		return ck.c.ArchiveJob(ctx, id, facade.ArchiveJobParams{Reason: reason})
	})
	call("restore", func(id string) (*facade.Job, error) {
		return ck.c.RestoreJob(ctx, id, facade.RestoreJobParams{Reason: reason})
	})
	if ck.f.agent == "" {
		ck.skip("assign", "no --agent")
		ck.skip("unassign", "no --agent")
	} else {
		call("assign", func(id string) (*facade.Job, error) {
			return ck.c.UpdateJobAssignedAgent(ctx, id, facade.AssignedAgent{AgentID: ck.f.agent})
		})
		call("unassign", func(id string) (*facade.Job, error) { return ck.c.RemoveJobAssignedAgent(ctx, id) })
	}
	call("status Canceled", func(id string) (*facade.Job, error) {
		return ck.c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{
			Status: facade.JobStatusCanceled, AgentID: ck.f.agent, Message: reason})
	})
	ck.forbiddenTransition(id, call)
	call("archive again", func(id string) (*facade.Job, error) {
		return ck.c.ArchiveJob(ctx, id, facade.ArchiveJobParams{Reason: reason})
	})
}

// readBack reads the check's job's file, as an agent would with
// OpenJobFile, and compares it with the parameters the add step sent.
func (ck *checker) readBack(id, now string) error {
	rc, err := ck.c.OpenJobFile(ck.a.ctx, id)
	if err != nil {
		return err
	}
	defer rc.Close()
	var got map[string]any
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&got); err != nil {
		return fmt.Errorf("the job's file is not the JSON the add step sent: %w", err)
	}
	if got["istari_jobs_check"] != now {
		return fmt.Errorf("the job's file is not the one the add step sent: it holds %d keys", len(got))
	}
	return nil
}

// forbiddenTransition tries to move the check's job, just Canceled, back to
// Pending, which the SDK assumes the platform refuses with 409; if the
// platform accepts it, it cancels the job again.
func (ck *checker) forbiddenTransition(id string, call func(name string, fn func(id string) (*facade.Job, error))) {
	const name = "status Pending after Canceled"
	switch canceled := ck.steps[len(ck.steps)-1]; {
	case id == "":
		ck.skip(name, "the add step gave no job")
		return
	case canceled.Status < 200 || canceled.Status > 299:
		ck.skip(name, "the status Canceled step failed")
		return
	}
	ctx := ck.a.ctx
	forbidden := ck.expect(name, http.StatusConflict,
		"the platform accepted Canceled → Pending, a forbidden transition: the SDK assumes that it refuses it with 409, "+
			"as it must refuse a second claim for claims to be exclusive",
		func() error {
			_, err := ck.c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{
				Status: facade.JobStatusPending, AgentID: ck.f.agent,
				Message: "istari-jobs check: a forbidden transition, which the platform should refuse"})
			return err
		})
	if forbidden.Status >= 200 && forbidden.Status <= 299 {
		// The job is Pending again: cancel it, so that no agent runs it.
		call("status Canceled again", func(id string) (*facade.Job, error) {
			return ck.c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{
				Status: facade.JobStatusCanceled, AgentID: ck.f.agent, Message: "istari-jobs check"})
		})
	}
}

// skip records a step that did not run.
func (ck *checker) skip(name, why string) *checkStep {
	s := &checkStep{Step: name, Skipped: why, Findings: []spec.Finding{}}
	ck.steps = append(ck.steps, s)
	return s
}

// step runs call and validates the answer it got.
func (ck *checker) step(name string, call func() error) *checkStep {
	return ck.expect(name, 0, "", call)
}

// expect runs call, which the SDK expects the platform to refuse with the
// status want (0: to accept), and validates the answer it got. An answer
// other than want is a kindRules finding; accepted says what an accepted
// call means.
func (ck *checker) expect(name string, want int, accepted string, call func() error) *checkStep {
	s := &checkStep{Step: name, Findings: []spec.Finding{}}
	ck.steps = append(ck.steps, s)
	if ck.a.ctx.Err() != nil {
		s.Skipped = "interrupted"
		return s
	}
	n := ck.rec.len()
	err := call()
	xs := ck.rec.take(n)
	if len(xs) == 0 {
		// The facade refused the call before sending it.
		s.Findings = append(s.Findings, spec.Finding{Kind: kindCall, Message: "not sent: " + errText(err)})
		return s
	}
	x := xs[len(xs)-1] // after redirects, the last answer
	s.Method, s.LatencyMS = x.method, float64(x.latency.Microseconds())/1000
	req, rerr := http.NewRequestWithContext(ck.a.ctx, x.method, x.url, nil)
	if rerr == nil {
		s.Path = req.URL.Path
	}
	if x.status == 0 {
		s.Findings = append(s.Findings, spec.Finding{Kind: kindCall, Message: "no answer: " + errText(err)})
		return s
	}
	s.Status, s.body = x.status, x.body
	switch {
	case x.tooLarge:
		if route, _, err := ck.v.Route(req); err == nil {
			s.Operation = route.Operation.OperationID
		}
		s.Findings = append(s.Findings, spec.Finding{Path: "$", Kind: spec.KindSchema,
			Message: fmt.Sprintf("not validated: the answer is larger than %d KiB", maxCheckBody>>10)})
	case rerr == nil:
		res := ck.v.CheckResponse(ck.a.ctx, req, x.status, x.header, x.body)
		s.Operation, s.Omitted, s.Unvalidated = res.OperationID, res.Omitted, res.Skipped
		s.Findings = append(s.Findings, res.Findings...)
	}
	switch {
	case want != 0 && x.status == want:
	case want != 0 && x.status < 300:
		s.Findings = append(s.Findings, spec.Finding{Kind: kindRules, Message: accepted})
	case want != 0:
		s.Findings = append(s.Findings, spec.Finding{Kind: kindRules, Message: fmt.Sprintf(
			"the platform refused the call with %d, not %d as the SDK assumes: %s", x.status, want, errText(err))})
	case x.status >= 300:
		s.Findings = append(s.Findings, spec.Finding{Kind: kindCall,
			Message: fmt.Sprintf("the call failed: %s", errText(err))})
	case err != nil:
		s.Findings = append(s.Findings, spec.Finding{Path: "$", Kind: kindSDK,
			Message: "the SDK could not read the answer: " + errText(err)})
	}
	return s
}

// errText renders an error from the facade for a finding.
func errText(err error) string {
	if err == nil {
		return "no error"
	}
	var ae *facade.APIError
	if errors.As(err, &ae) {
		return apiMessage(ae)
	}
	return strings.TrimPrefix(err.Error(), "facade: ")
}

// verdict is check's result: nil without findings, else an error that
// says how many differences from the spec and how many failed calls there
// were, or that the platform never answered.
func (ck *checker) verdict() error {
	var diffs, unread, failed, rules, answered int
	var firstFailure string
	for _, s := range ck.steps {
		if s.Status != 0 {
			answered++
		}
		for _, f := range s.Findings {
			switch f.Kind {
			case kindSDK:
				unread++
			case kindRules:
				rules++
			case kindCall:
				failed++
				if firstFailure == "" {
					firstFailure = f.Message
				}
			default:
				diffs++
			}
		}
		for _, n := range s.Omitted {
			diffs += n
		}
	}
	switch {
	case diffs+unread+failed+rules == 0:
		return nil
	case answered == 0 && failed > 0:
		return &exitError{code: ExitAPI, err: fmt.Errorf("the platform did not answer: %s", firstFailure)}
	}
	var parts []string
	if diffs > 0 {
		parts = append(parts, plural(diffs, "difference")+" from the SDK's spec")
	}
	if unread > 0 {
		parts = append(parts, plural(unread, "answer")+" the SDK could not read")
	}
	if failed > 0 {
		parts = append(parts, plural(failed, "failed call"))
	}
	if rules > 0 {
		parts = append(parts, plural(rules, "status rule")+" other than the SDK assumes")
	}
	return &exitError{code: ExitAPI, err: fmt.Errorf("check found %s", strings.Join(parts, ", "))}
}

// findings counts the findings of every step, those left out included.
func (ck *checker) findings() int {
	n := 0
	for _, s := range ck.steps {
		n += s.findings()
	}
	return n
}

// findings counts the step's findings, those left out included.
func (s *checkStep) findings() int {
	n := len(s.Findings)
	for _, c := range s.Omitted {
		n += c
	}
	return n
}

// omittedText says how many findings the step left out, of which kinds:
// "and 6900 more (missing-field 6900)"; "" when none were.
func (s *checkStep) omittedText() string {
	if len(s.Omitted) == 0 {
		return ""
	}
	var parts []string
	n := 0
	for _, k := range slices.Sorted(maps.Keys(s.Omitted)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.Omitted[k]))
		n += s.Omitted[k]
	}
	return fmt.Sprintf("and %d more (%s)", n, strings.Join(parts, ", "))
}

// checkReport is check's -o json document.
type checkReport struct {
	SDKVersion  string       `json:"sdk_version"`
	SpecVersion string       `json:"spec_version"`
	Registry    string       `json:"registry"`
	Findings    int          `json:"findings"`
	Steps       []*checkStep `json:"steps"`
}

// print writes the report as a table with the findings below it, or as one
// JSON document.
func (ck *checker) print() error {
	out := ck.a.stdout
	if ck.a.output == outputJSON {
		return ck.a.writeJSON(checkReport{
			SDKVersion: facade.Version, SpecVersion: ck.v.Version(), Registry: registryURL(ck.c),
			Findings: ck.findings(), Steps: ck.steps,
		}, true)
	}
	fmt.Fprintf(out, "Checking %s against the spec %s of istari-jobs %s.\n\n", registryURL(ck.c), ck.v.Version(), facade.Version)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tOPERATION\tHTTP\tLATENCY\tFINDINGS")
	for _, s := range ck.steps {
		if s.Skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\tskipped: %s\n", s.Step, s.Skipped)
			continue
		}
		status, op := "-", orDash(s.Operation)
		if s.Status != 0 {
			status = fmt.Sprint(s.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fms\t%d\n", s.Step, op, status, s.LatencyMS, s.findings())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noted := false
	for _, s := range ck.steps {
		if s.Unvalidated > 0 {
			if !noted {
				fmt.Fprintln(out)
				noted = true
			}
			fmt.Fprintf(out, "%s: only the first %d array elements of the answer were validated, not the %d after them.\n",
				s.Step, spec.MaxElements, s.Unvalidated)
		}
	}
	n := ck.findings()
	if n == 0 {
		_, err := fmt.Fprintf(out, "\nNo findings: the platform's answers match the spec.\n")
		return err
	}
	fmt.Fprintf(out, "\nFindings:\n")
	for _, s := range ck.steps {
		for _, f := range s.Findings {
			fmt.Fprintf(out, "  %s: %s\n", s.Step, escape(f.String()))
		}
		if t := s.omittedText(); t != "" {
			fmt.Fprintf(out, "  %s: %s\n", s.Step, t)
		}
	}
	_, err := fmt.Fprintf(out, "\n%s. Please send the output of 'istari-jobs check -o json' with an issue.\n", plural(n, "finding"))
	return err
}

// firstItemID returns the id of a page's first item, or "".
func firstItemID(body []byte) string {
	var p struct {
		Items []json.RawMessage `json:"items"`
	}
	if json.Unmarshal(body, &p) != nil || len(p.Items) == 0 {
		return ""
	}
	return stringField(p.Items[0], "id")
}

// stringField returns a string field of a JSON object, or "".
func stringField(body []byte, name string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) != nil {
		return ""
	}
	return s
}
