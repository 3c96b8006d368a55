package cli

import (
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
FILE. A line may hold up to 16 MiB.

The input is streamed: a few lines are read ahead of the requests in flight,
so that a batch of any length uses little memory. When FILE is a regular
file, every line is checked before anything is sent; from standard input (-)
or a pipe, lines are checked as they come, and a bad line stops the batch:
the requests of the lines before it have been sent.

The jobs are submitted a few at a time (--concurrency), slowing down when the
platform asks; one result per input is printed, in input order: a table row;
with -o json one array of {"index", "job"} or {"index", "error", "status"}
objects, with -o jsonl one such object per line; with -q the new jobs' ids,
one per line (a failed input's error then goes to standard error). The exit
code is 1 when any job failed, 2 for a bad line.`
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

// addBatch reads the requests of file as it submits them with AddJobs, a
// window at a time (batchinput.go), and prints one result per input in
// input order: as JSON, each as soon as every earlier one is out; as a
// table, a window at a time.
func (a *app) addBatch(file string, concurrency int) error {
	total := 0 // unknown, for standard input or a pipe
	if file != "-" {
		fi, err := os.Stat(file)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return usageErr("invalid --batch %q: %v", file, err)
		}
		if fi.Mode().IsRegular() {
			if total, err = countBatch(a.ctx, file, a.allowUnknown); err != nil {
				if a.ctx.Err() != nil {
					return &exitError{code: ExitInterrupted, err: errors.New("interrupted while checking the lines: no job added")}
				}
				return a.batchInputError(file, err, 0)
			}
			if total == 0 {
				return usageErr("invalid --batch: no add requests in %s", file)
			}
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	in := openBatch(file, a.stdin, a.allowUnknown)
	defer in.close()

	out := &orderedResults{a: a}
	if a.output == outputJSON && !a.quiet {
		if out.array, err = newJSONArray(a.stdout); err != nil {
			return err
		}
	}
	prog := a.batchProgress("jobs", total)
	var (
		read, failed int
		readErr      error
		window       []facade.AddJobParams
		table        *tabwriter.Writer
	)
	for readErr == nil && out.err == nil {
		window, readErr = a.readWindow(in, window[:0], concurrency)
		if len(window) == 0 {
			break
		}
		out.start(read, len(window))
		res := c.AddJobs(a.ctx, window, facade.BatchOptions{
			Concurrency: concurrency,
			OnResult: func(i int, r facade.JobResult) {
				prog.add(r.Err == nil)
				out.add(i, r)
			},
		})
		for i, r := range res {
			if r.Err != nil {
				failed++
			}
			if table == nil && out.tabular() {
				table = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(table, "#\tID\tFUNCTION\tSTATUS")
			}
			if table != nil {
				a.batchRow(table, read+i+1, r)
			}
		}
		if table != nil && out.err == nil {
			out.err = table.Flush()
		}
		read += len(window)
		clear(window) // drop the parameters before reading the next window
		if a.ctx.Err() != nil {
			break
		}
	}
	prog.close()
	if out.err == nil && out.array != nil && readErr == nil {
		out.err = out.array.close()
	}
	if out.err != nil {
		return out.err
	}
	switch {
	case errors.Is(readErr, context.Canceled) || errors.Is(readErr, context.DeadlineExceeded) || a.ctx.Err() != nil:
		switch {
		case total > 0:
			return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: %d of %s not added", failed+total-read, plural(total, "job"))}
		case read == 0:
			return &exitError{code: ExitInterrupted, err: errors.New("interrupted before a request was read: no job added")}
		}
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: %d of the %s read not added", failed, plural(read, "job"))}
	case readErr != nil:
		return a.batchInputError(file, readErr, read)
	case read == 0:
		return usageErr("invalid --batch: no add requests in %s", batchName(file))
	case failed > 0:
		return &exitError{code: ExitAPI, err: fmt.Errorf("%d of %s failed", failed, plural(read, "job"))}
	}
	return nil
}

// readWindow reads the next requests to submit together into window: up
// to batchAhead × concurrency of them and batchAheadBytes of lines, at
// least one. It returns the requests read before an error too.
func (a *app) readWindow(in *batchInput, window []facade.AddJobParams, concurrency int) ([]facade.AddJobParams, error) {
	size := 0
	for len(window) < batchAhead*concurrency {
		req, ok, err := in.next(a.ctx)
		if err != nil || !ok {
			return window, err
		}
		window = append(window, req.params)
		if size += req.size; size >= batchAheadBytes {
			break
		}
	}
	return window, nil
}

// batchInputError is the usage error for a batch input that could not be
// read or held a bad line, saying how many requests were sent before it.
func (a *app) batchInputError(file string, err error, sent int) error {
	var le *batchLineError
	if !errors.As(err, &le) {
		return usageErr("invalid --batch %q: %v", file, err)
	}
	if sent > 0 {
		return usageErr("invalid --batch: %v (%s sent before it)", le, plural(sent, "request"))
	}
	return usageErr("invalid --batch: %v", le)
}

// batchName names a batch input in messages.
func batchName(file string) string {
	if file == "-" {
		return "standard input"
	}
	return file
}

// batchRow writes one result of a batch as a table row.
func (a *app) batchRow(tw *tabwriter.Writer, n int, r facade.JobResult) {
	if r.Err != nil {
		fmt.Fprintf(tw, "%d\t-\t-\terror: %s\n", n, a.errorText(r.Err))
		return
	}
	fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", n, escape(r.Job.ID), escape(orDash(r.Job.Function.Name)), statusText(r.Job))
}

// orderedResults prints the results of a batch in input order, each one
// as soon as every earlier one is out: as elements of a JSON array (array
// set), as JSON Lines, or with -q as ids (the errors on standard error).
// It holds the results of one window at a time; a table is printed by
// addBatch instead.
type orderedResults struct {
	a     *app
	array *jsonArray
	base  int // the index of the window's first input among all
	res   []*facade.JobResult
	next  int
	err   error
}

// tabular reports whether the results are printed as a table.
func (o *orderedResults) tabular() bool {
	return !o.a.quiet && o.a.output != outputJSON && o.a.output != outputJSONL
}

// start begins a window of n inputs, the first of which is input base.
func (o *orderedResults) start(base, n int) {
	o.base, o.next = base, 0
	o.res = slices.Grow(o.res[:0], n)[:n]
	clear(o.res)
}

// add records result i of the window and prints what is now in order.
// AddJobs never calls it concurrently.
func (o *orderedResults) add(i int, r facade.JobResult) {
	if o.tabular() {
		return
	}
	o.res[i] = &r
	for o.next < len(o.res) && o.res[o.next] != nil && o.err == nil {
		r := *o.res[o.next]
		br := batchResult{Index: o.base + o.next + 1, Job: r.Job}
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
		return escape(a.describeAPIError(ae))
	case errors.As(err, &ve):
		return escape(validationMessage(ve))
	}
	return escape(strings.TrimPrefix(err.Error(), "facade: "))
}

// batchProgress is one updating line on standard error, on a terminal
// only, with a batch's counts: how many inputs are done (of total, when it
// is known), how many of those succeeded and how many failed, and for wait
// the current statuses.
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
	drawn    int // the done count last drawn
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
	p.draw(false)
}

// set replaces the counts shown.
func (p *batchProgress) set(done, failed int, statuses map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.failed, p.statuses = done, failed, statuses
	p.draw(false)
}

// draw redraws the line at most every progressInterval (unless force is
// set), and always for the last input. Called with mu held.
func (p *batchProgress) draw(force bool) {
	now := time.Now()
	if !p.live || (!force && p.done != p.total && now.Sub(p.last) < progressInterval) {
		return
	}
	p.last, p.shown, p.drawn = now, true, p.done
	var b strings.Builder
	total := ""
	if p.total > 0 {
		total = fmt.Sprintf("/%d", p.total)
	}
	fmt.Fprintf(&b, "%s%s: %d%s done, %d %s, %d failed", clearLine, p.noun, p.done, total, p.done-p.failed, p.ok, p.failed)
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
	if p.shown && p.drawn != p.done {
		p.draw(true) // the last counts, when the total was not known
	}
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
// --wait-timeout passes first, or the run is interrupted, the jobs finished
// so far are printed, and the error says which are not and their last
// statuses.
func (a *app) waitMany(ctx context.Context, c *facade.Client, ids []string, w *waitFlags) error {
	o := w.options()
	seen := make(map[string]bool, len(ids))
	var unique []string // each id once, in order
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	prog := a.batchProgress("jobs", len(unique))
	prog.ok = "finished"
	// The counts change by one job at a time, so that each status costs
	// the same however many jobs are waited for.
	var (
		current      = map[string]facade.JobStatusName{}
		counts       = map[string]int{}
		done, failed int
	)
	count := func(name facade.JobStatusName, d int) {
		text := statusNameText(name)
		if counts[text] += d; counts[text] == 0 {
			delete(counts, text)
		}
		if name.IsTerminal() {
			done += d
			if name != facade.JobStatusCompleted {
				failed += d
			}
		}
	}
	o.OnStatus = func(st facade.JobStatus) {
		if !prog.live {
			line := fmt.Sprintf("job %s: %s", escape(st.JobID), statusNameText(st.Name))
			if m := escape(strings.TrimSpace(st.Message)); m != "" {
				line += ": " + m
			}
			fmt.Fprintln(a.stderr, line)
		}
		if prev, ok := current[st.JobID]; ok {
			count(prev, -1)
		}
		current[st.JobID] = st.Name
		count(st.Name, 1)
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
	if err == nil {
		return perr
	}
	finished := map[string]bool{}
	for i, j := range jobs {
		if j != nil {
			finished[ids[i]] = true
		}
	}
	last := func(id string) string {
		if finished[id] {
			return ""
		}
		if st, ok := current[id]; ok {
			return statusNameText(st)
		}
		return "not seen"
	}
	if serr := w.stopped(a, ctx, unfinished(unique, last)); serr != nil {
		return serr
	}
	return err
}
