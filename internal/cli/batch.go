package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/istari-go/sdk/facade"
)

// batchLine is one add request of an `add --batch` file. Its field names
// are those of the platform's form fields and of the JSON output.
type batchLine struct {
	ModelID             string          `json:"model_id"`
	Function            string          `json:"function"`
	Parameters          json.RawMessage `json:"parameters"`
	ParametersFile      string          `json:"parameters_file"`
	ToolName            string          `json:"tool_name"`
	ToolVersion         string          `json:"tool_version"`
	OperatingSystem     string          `json:"operating_system"`
	AssignedAgentID     string          `json:"assigned_agent_id"`
	AssignedAgentPoolID string          `json:"assigned_agent_pool_id"`
	AgentID             string          `json:"agent_id"`
	Sources             []struct {
		RevisionID             string `json:"revision_id"`
		RelationshipIdentifier string `json:"relationship_identifier"`
	} `json:"sources"`
	Description        string `json:"description"`
	VersionName        string `json:"version_name"`
	ExternalIdentifier string `json:"external_identifier"`
	DisplayName        string `json:"display_name"`
}

// withBatch gives the add command its --batch and --concurrency flags: with
// --batch, add reads its requests from a JSON Lines file instead of its
// other flags, and submits them with facade's AddJobs. It returns cmd.
func (a *app) withBatch(cmd *cobra.Command) *cobra.Command {
	var (
		file        string
		concurrency int
	)
	fs := cmd.Flags()
	fs.StringVar(&file, "batch", "", "add one job per line of this JSON Lines `FILE` (- for standard input) instead of taking the flags")
	fs.IntVar(&concurrency, "concurrency", facade.DefaultBatchConcurrency, "with --batch, the most requests in flight at once")
	_ = cmd.MarkFlagFilename("batch", "jsonl", "json")
	cmd.Long += `

With --batch FILE, add reads JSON Lines instead: one object per line, with the
field names of the JSON output (model_id, function, parameters or
parameters_file, tool_name, tool_version, operating_system, assigned_agent_id,
assigned_agent_pool_id, agent_id, sources, description, version_name,
external_identifier, display_name). A relative parameters_file is found beside
FILE. Every line is checked before anything is sent. The jobs are submitted a
few at a time (--concurrency), slowing down when the platform asks; one result
per input is printed, in input order: a table row; with -o json one array of
{"index", "job"} or {"index", "error", "status"} objects, with -o jsonl one
such object per line; with -q the new jobs' ids, one per line (a failed
input's error then goes to standard error). The exit code is 1 when any job
failed.`
	cmd.Example += `
  istari-jobs add --batch sweep.jsonl -o jsonl   # {"model_id": "7d0c...", "function": "@istari:extract", "parameters": {"mode": "fast"}}`

	// --batch replaces the flags that describe one job, so those are no
	// longer required; PreRunE runs before cobra checks required flags.
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if file == "" {
			if cmd.Flags().Changed("concurrency") {
				return usageErr("--concurrency needs --batch")
			}
			return nil
		}
		var others []string
		cmd.Flags().Visit(func(f *pflag.Flag) {
			if f.Name != "batch" && f.Name != "concurrency" && f.Name != "quiet" && cmd.LocalNonPersistentFlags().Lookup(f.Name) != nil {
				others = append(others, "--"+f.Name)
			}
		})
		if len(others) > 0 {
			return usageErr("--batch takes every job from its file; it cannot be combined with %s", strings.Join(others, ", "))
		}
		if concurrency < 1 {
			return usageErr("invalid --concurrency %d: must be at least 1", concurrency)
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			delete(f.Annotations, cobra.BashCompOneRequiredFlag)
		})
		return nil
	}
	single := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if file == "" {
			return single(cmd, args)
		}
		return a.runE(func(*cobra.Command, []string) error { return a.addBatch(file, concurrency) })(cmd, args)
	}
	return cmd
}

// readBatch reads and checks every line of an add --batch file.
func (a *app) readBatch(file string) ([]facade.AddJobParams, error) {
	var (
		r   io.Reader
		dir string
	)
	if file == "-" {
		r = a.stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, usageErr("invalid --batch: %v", err)
		}
		defer func() { _ = f.Close() }()
		r, dir = f, filepath.Dir(file)
	}
	var out []facade.AddJobParams
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, usageErr("invalid --batch: reading line %d: %v", n, err)
		}
		if line := bytes.TrimSpace(raw); len(line) > 0 {
			p, perr := parseBatchLine(line, dir, a.allowUnknown)
			if perr != nil {
				return nil, usageErr("invalid --batch: line %d: %v", n, perr)
			}
			out = append(out, p)
		}
		if err != nil {
			break
		}
	}
	if len(out) == 0 {
		return nil, usageErr("invalid --batch: no add requests in %s", file)
	}
	return out, nil
}

// parseBatchLine turns one line into AddJob's parameters, checking what the
// CLI can: the JSON, the field names, the operating system (any clean value
// with allowUnknown) and the sources.
func parseBatchLine(line []byte, dir string, allowUnknown bool) (facade.AddJobParams, error) {
	var l batchLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return facade.AddJobParams{}, fmt.Errorf("not an add request: %v", err)
	}
	if dec.More() {
		return facade.AddJobParams{}, errors.New("more than one JSON value on the line")
	}
	osName, err := parseEnum("operating_system", l.OperatingSystem, facade.ParseOS, allowUnknown)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			err = ee.err
		}
		return facade.AddJobParams{}, err
	}
	p := facade.AddJobParams{
		ModelID: l.ModelID, Function: l.Function, ParametersFile: l.ParametersFile,
		ToolName: l.ToolName, ToolVersion: l.ToolVersion, OperatingSystem: osName,
		AssignedAgentID: l.AssignedAgentID, AssignedAgentPoolID: l.AssignedAgentPoolID, AgentID: l.AgentID,
		Description: l.Description, VersionName: l.VersionName,
		ExternalIdentifier: l.ExternalIdentifier, DisplayName: l.DisplayName,
	}
	if len(l.Parameters) > 0 && string(l.Parameters) != "null" {
		if l.ParametersFile != "" {
			return facade.AddJobParams{}, errors.New("parameters and parameters_file are mutually exclusive")
		}
		p.Parameters = l.Parameters
	}
	if p.ParametersFile != "" && dir != "" && !filepath.IsAbs(p.ParametersFile) {
		p.ParametersFile = filepath.Join(dir, p.ParametersFile)
	}
	for i, s := range l.Sources {
		if strings.TrimSpace(s.RevisionID) == "" {
			return facade.AddJobParams{}, fmt.Errorf("sources[%d].revision_id must not be empty", i)
		}
		p.Sources = append(p.Sources, facade.NewSource{RevisionID: s.RevisionID, RelationshipIdentifier: s.RelationshipIdentifier})
	}
	return p, nil
}

// batchResult is one result line of add --batch in JSON: the input's line
// number among the requests (from 1), and the job or the error.
type batchResult struct {
	Index int         `json:"index"`
	Job   *facade.Job `json:"job,omitempty"`
	Error string      `json:"error,omitempty"`
	// Status is the HTTP status of a platform's error answer.
	Status int `json:"status,omitempty"`
}

// addBatch submits every request of file with AddJobs and prints one
// result per input in input order: as JSON Lines, each as soon as every
// earlier one is out, or as a table at the end.
func (a *app) addBatch(file string, concurrency int) error {
	params, err := a.readBatch(file)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	out := &orderedResults{a: a, res: make([]*facade.JobResult, len(params))}
	streamed := a.quiet || a.output == outputJSON || a.output == outputJSONL
	if a.output == outputJSON && !a.quiet {
		if out.array, err = newJSONArray(a.stdout); err != nil {
			return err
		}
	}
	prog := a.batchProgress("jobs", len(params))
	res := c.AddJobs(a.ctx, params, facade.BatchOptions{
		Concurrency: concurrency,
		OnResult: func(i int, r facade.JobResult) {
			prog.add(r.Err == nil)
			if streamed {
				out.add(i, r)
			}
		},
	})
	prog.close()
	if out.err == nil && out.array != nil {
		out.err = out.array.close()
	}
	if out.err != nil {
		return out.err
	}
	if !streamed {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tID\tFUNCTION\tSTATUS")
		for i, r := range res {
			if r.Err != nil {
				fmt.Fprintf(tw, "%d\t-\t-\terror: %s\n", i+1, a.errorText(r.Err))
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, escape(r.Job.ID), escape(orDash(r.Job.Function.Name)), statusText(r.Job))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	failed := 0
	for _, r := range res {
		if r.Err != nil {
			failed++
		}
	}
	switch {
	case failed == 0:
		return nil
	case a.ctx.Err() != nil:
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: %d of %s not added", failed, plural(len(res), "job"))}
	default:
		return &exitError{code: ExitAPI, err: fmt.Errorf("%d of %s failed", failed, plural(len(res), "job"))}
	}
}

// orderedResults prints the results of a batch in input order, each one
// as soon as every earlier one is out: as elements of a JSON array (array
// set), as JSON Lines, or with -q as ids (the errors on standard error).
type orderedResults struct {
	a     *app
	array *jsonArray
	res   []*facade.JobResult
	next  int
	err   error
}

// add records result i and prints what is now in order. AddJobs never
// calls it concurrently.
func (o *orderedResults) add(i int, r facade.JobResult) {
	o.res[i] = &r
	for o.next < len(o.res) && o.res[o.next] != nil && o.err == nil {
		r := *o.res[o.next]
		br := batchResult{Index: o.next + 1, Job: r.Job}
		if r.Err != nil {
			br.Error = o.a.errorText(r.Err)
			var ae *facade.APIError
			if errors.As(r.Err, &ae) {
				br.Status = ae.StatusCode
			}
		}
		switch {
		case o.a.quiet && r.Err != nil:
			_, o.err = fmt.Fprintf(o.a.stderr, "istari-jobs: input %d: %s\n", br.Index, br.Error)
		case o.a.quiet:
			o.err = o.a.printID(r.Job)
		case o.array != nil:
			o.err = o.array.add(br)
		default:
			o.err = o.a.writeJSON(br, false)
		}
		o.res[o.next] = nil
		o.next++
	}
}

// errorText is err on one line, as classify would word it.
func (a *app) errorText(err error) string {
	var ae *facade.APIError
	var ve *facade.ValidationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return escape(apiMessage(ae))
	case errors.As(err, &ve):
		return escape(validationMessage(ve))
	}
	return escape(strings.TrimPrefix(err.Error(), "facade: "))
}

// batchProgress is one updating line on standard error, on a terminal
// only, with a batch's counts: how many inputs are done, how many of those
// succeeded and how many failed, and for wait the current statuses.
type batchProgress struct {
	w     io.Writer
	live  bool
	noun  string
	ok    string // what a success is called: "submitted", "finished"
	total int
	start time.Time

	mu       sync.Mutex
	done     int
	failed   int
	statuses map[string]int
	last     time.Time
	shown    bool
}

func (a *app) batchProgress(noun string, total int) *batchProgress {
	return &batchProgress{w: a.stderr, live: a.terminal(a.stderr), noun: noun, ok: "submitted", total: total, start: time.Now()}
}

// add counts one finished input.
func (p *batchProgress) add(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if !ok {
		p.failed++
	}
	p.draw()
}

// set replaces the counts shown.
func (p *batchProgress) set(done, failed int, statuses map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.failed, p.statuses = done, failed, statuses
	p.draw()
}

// draw redraws the line at most every progressInterval, and always for the
// last input. Called with mu held.
func (p *batchProgress) draw() {
	now := time.Now()
	if !p.live || (p.done != p.total && now.Sub(p.last) < progressInterval) {
		return
	}
	p.last, p.shown = now, true
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s: %d/%d done, %d %s, %d failed", clearLine, p.noun, p.done, p.total, p.done-p.failed, p.ok, p.failed)
	if len(p.statuses) > 0 {
		names := slices.Sorted(maps.Keys(p.statuses))
		b.WriteString(";")
		for _, n := range names {
			fmt.Fprintf(&b, " %s %d", escape(n), p.statuses[n])
		}
	}
	fmt.Fprintf(&b, " (%s)", now.Sub(p.start).Round(100*time.Millisecond))
	fmt.Fprint(p.w, b.String())
}

// close clears the line; later updates draw nothing.
func (p *batchProgress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, clearLine)
	}
	p.live = false
}

// waitMany waits for many jobs with facade's WaitForJobs, which polls them
// in bulk, and prints the final jobs in the order of ids: a table, one JSON
// array (-o json) or JSON Lines (-o jsonl). Each status change is shown on standard error, as wait shows one
// job's; on a terminal, one updating line counts the jobs done, those that
// failed (Failed or Canceled) and the current statuses instead. When
// timeout passes first, the jobs finished so far are printed and the exit
// code is ExitTimeout.
func (a *app) waitMany(ctx context.Context, c *facade.Client, ids []string, o facade.WaitOptions, timeout time.Duration) error {
	unique := map[string]bool{}
	for _, id := range ids {
		unique[id] = true
	}
	prog := a.batchProgress("jobs", len(unique))
	prog.ok = "finished"
	current := map[string]facade.JobStatusName{}
	o.OnStatus = func(st facade.JobStatus) {
		if !prog.live {
			line := fmt.Sprintf("job %s: %s", escape(st.JobID), statusNameText(st.Name))
			if m := escape(strings.TrimSpace(st.Message)); m != "" {
				line += ": " + m
			}
			fmt.Fprintln(a.stderr, line)
		}
		current[st.JobID] = st.Name
		var done, failed int
		counts := map[string]int{}
		for _, name := range current {
			counts[statusNameText(name)]++
			if name.IsTerminal() {
				done++
				if name != facade.JobStatusCompleted {
					failed++
				}
			}
		}
		prog.set(done, failed, counts)
	}
	jobs, err := c.WaitForJobs(ctx, ids, o)
	prog.close()

	out, perr := a.newJobStream(false)
	for _, j := range jobs {
		if j != nil && perr == nil {
			perr = out.add(j)
		}
	}
	if perr == nil {
		perr = out.close(false)
	}
	switch {
	case err == nil:
		return perr
	case a.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		waiting := 0
		for _, j := range jobs {
			if j == nil {
				waiting++
			}
		}
		return &exitError{code: ExitTimeout, err: fmt.Errorf("timed out after %s waiting for %d of %s", timeout, waiting, plural(len(ids), "job"))}
	default:
		return err
	}
}
