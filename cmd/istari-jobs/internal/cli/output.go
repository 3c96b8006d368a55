package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/istari-go/sdk/facade"
)

// The output formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputJSONL = "jsonl"
)

// outputHelp is the help of --output, the one JSON rule of every command.
const outputHelp = "output `FORMAT`: table; json (one JSON document: a job, a page, or with --all an array of jobs); " +
	"jsonl (one job per line)"

// tableHeader is the header of every job table.
const tableHeader = "ID\tFUNCTION\tSTATUS\tCREATED\tASSIGNED"

// jobTable writes jobs as an aligned table.
type jobTable struct {
	tw   *tabwriter.Writer
	rows int
}

func newJobTable(w io.Writer) *jobTable {
	t := &jobTable{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.tw, tableHeader)
	return t
}

// add writes one job's row.
func (t *jobTable) add(j *facade.Job) {
	t.rows++
	fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\n",
		escape(j.ID), escape(orDash(j.Function.Name)), statusText(j),
		j.Created.UTC().Format(time.RFC3339), escape(agentText(j)))
}

func (t *jobTable) flush() error { return t.tw.Flush() }

// statusText is a job's current status as the table shows it.
func statusText(j *facade.Job) string {
	s := statusNameText(j.Status())
	if j.Archived() {
		s += " [archived]"
	}
	return s
}

// statusNameText shows a status name, marking one the SDK does not know.
func statusNameText(st facade.JobStatusName) string {
	switch {
	case st == "":
		return "-"
	case !st.Valid():
		return escape(string(st)) + " (unknown)"
	}
	return escape(string(st))
}

// agentText is the agent or agent pool a job is assigned to.
func agentText(j *facade.Job) string {
	switch {
	case j.AssignedAgentID != "":
		return j.AssignedAgentID
	case j.AssignedAgentPoolID != "":
		return "pool:" + j.AssignedAgentPoolID
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printJob writes one job in the chosen format.
func (a *app) printJob(j *facade.Job) error {
	switch {
	case a.quiet:
		return a.printID(j)
	case a.output == outputJSON:
		return a.writeJSON(j, true)
	case a.output == outputJSONL:
		return a.writeJSON(j, false)
	}
	t := newJobTable(a.stdout)
	t.add(j)
	return t.flush()
}

// printID writes a job's id on its own line, for --quiet.
func (a *app) printID(j *facade.Job) error {
	_, err := fmt.Fprintln(a.stdout, escape(j.ID))
	return err
}

// printPage writes one page of jobs: a table with a footer, the page as the
// platform sends it (json), one job per line (jsonl), or the ids (quiet).
func (a *app) printPage(p *facade.JobPage, countOnly bool) error {
	switch {
	case a.output == outputJSON:
		return a.writeJSON(p, true)
	case a.quiet || a.output == outputJSONL:
		for _, j := range p.Items {
			if err := a.printJob(j); err != nil {
				return err
			}
		}
		return nil
	}
	if countOnly {
		_, err := fmt.Fprintf(a.stdout, "%s in all\n", plural(p.Total, "job"))
		return err
	}
	t := newJobTable(a.stdout)
	for _, j := range p.Items {
		t.add(j)
	}
	if err := t.flush(); err != nil {
		return err
	}
	footer := fmt.Sprintf("page %d of %d, %s in all", p.Page, p.Pages, plural(p.Total, "job"))
	if p.Total == 0 {
		footer = "no jobs"
	}
	_, err := fmt.Fprintln(a.stdout, footer)
	return err
}

// jsonArray writes values one at a time as one indented JSON array, so
// that a long list is one JSON document without being held in memory.
type jsonArray struct {
	w io.Writer
	n int
}

func newJSONArray(w io.Writer) (*jsonArray, error) {
	_, err := io.WriteString(w, "[")
	return &jsonArray{w: w}, err
}

// add writes one element.
func (j *jsonArray) add(v any) error {
	var b bytes.Buffer
	if j.n == 0 {
		b.WriteString("\n  ")
	} else {
		b.WriteString(",\n  ")
	}
	j.n++
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := j.w.Write(escapeJSON(bytes.TrimSuffix(b.Bytes(), []byte("\n"))))
	return err
}

// close ends the array.
func (j *jsonArray) close() error {
	end := "]\n"
	if j.n > 0 {
		end = "\n]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}

// jobStream writes jobs one at a time in the chosen format: table rows (and
// a count when counted is set), one JSON array, JSON Lines, or ids.
type jobStream struct {
	a       *app
	table   *jobTable
	array   *jsonArray
	counted bool
	n       int
}

func (a *app) newJobStream(counted bool) (*jobStream, error) {
	s := &jobStream{a: a, counted: counted}
	var err error
	switch {
	case a.quiet, a.output == outputJSONL:
	case a.output == outputJSON:
		s.array, err = newJSONArray(a.stdout)
	default:
		s.table = newJobTable(a.stdout)
	}
	return s, err
}

// add writes one job.
func (s *jobStream) add(j *facade.Job) error {
	s.n++
	switch {
	case s.table != nil:
		s.table.add(j)
		return nil
	case s.array != nil:
		return s.array.add(j)
	}
	return s.a.printJob(j)
}

// close ends the output after the last job. After an error (failed is
// set) a JSON array is left open, so that no reader takes it for whole.
func (s *jobStream) close(failed bool) error {
	switch {
	case s.table != nil:
		if err := s.table.flush(); err != nil || failed || !s.counted {
			return err
		}
		_, err := fmt.Fprintln(s.a.stdout, plural(s.n, "job"))
		return err
	case s.array != nil && !failed:
		return s.array.close()
	}
	return nil
}

// writeJSON writes v as one JSON document, indented or on one line, with
// every hidden character escaped (escapeJSON).
func (a *app) writeJSON(v any, indent bool) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := a.stdout.Write(escapeJSON(b.Bytes()))
	return err
}
