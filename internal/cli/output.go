package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// The output formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// tableHeader is the header of every job table.
const tableHeader = "ID\tFUNCTION\tSTATUS\tCREATED\tAGENT"

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
		sanitize(j.ID, false), sanitize(orDash(j.Function.Name), false), statusText(j),
		j.Created.UTC().Format(time.RFC3339), sanitize(agentText(j), false))
}

func (t *jobTable) flush() error { return t.tw.Flush() }

// statusText is a job's current status as the table shows it.
func statusText(j *facade.Job) string {
	st := j.Status()
	s := sanitize(string(st), false)
	switch {
	case st == "":
		s = "-"
	case !st.Valid():
		s += " (unknown)"
	}
	if j.Archived() {
		s += " [archived]"
	}
	return s
}

// agentText is the agent or agent pool a job is assigned to.
func agentText(j *facade.Job) string {
	switch {
	case j.AssignedAgentID != nil && *j.AssignedAgentID != "":
		return *j.AssignedAgentID
	case j.AssignedAgentPoolID != nil && *j.AssignedAgentPoolID != "":
		return "pool:" + *j.AssignedAgentPoolID
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
	if a.output == outputJSON {
		return a.writeJSON(j, true)
	}
	t := newJobTable(a.stdout)
	t.add(j)
	return t.flush()
}

// printPage writes one page of jobs: a table with a footer, or the page as
// the platform sends it.
func (a *app) printPage(p *facade.JobPage, countOnly bool) error {
	if a.output == outputJSON {
		return a.writeJSON(pageWire(p), true)
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

// pageWire returns the page in its wire form. facade.JobPage has no JSON
// field names of its own.
func pageWire(p *facade.JobPage) gen.PageJob {
	w := gen.PageJob{Items: make([]gen.Job, len(p.Items)), Total: p.Total, Page: p.Page, Size: p.Size, Pages: p.Pages}
	for i, j := range p.Items {
		w.Items[i] = j.Job
	}
	return w
}

// writeJSON writes v as one JSON document, indented or on one line.
func (a *app) writeJSON(v any, indent bool) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
