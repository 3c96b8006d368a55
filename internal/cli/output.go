package cli

import (
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
		return sanitize(string(st), false) + " (unknown)"
	}
	return sanitize(string(st), false)
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
		return a.writeJSON(p, true)
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

// writeJSON writes v as one JSON document, indented or on one line.
func (a *app) writeJSON(v any, indent bool) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
