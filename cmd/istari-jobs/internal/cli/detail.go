package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/istari-go/sdk/facade"
)

// printJobDetail writes one job in the chosen format; as a table it is the
// detailed view of get: one line per property, then the products (the
// outputs) if any, then the status history.
func (a *app) printJobDetail(j *facade.Job) error {
	if a.output != outputTable {
		return a.printJob(j)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	row := func(key, value string) { fmt.Fprintf(tw, "%s:\t%s\n", key, escape(value)) }
	row("ID", j.ID)
	row("Model", orDash(j.ModelID))
	row("Function", functionText(j.Function))
	row("Tool", toolText(j.Function))
	row("OS", osText(j.Function.OperatingSystems))
	row("Status", statusLine(j))
	row("Assigned to", assignedText(j))
	if j.AgentID != "" {
		row("Agent", j.AgentID)
	}
	row("Created", timeText(j.Created)+byText(j.CreatedByID, ""))
	row("Archive", archiveText(j.ArchiveStatusHistory))
	row("File", fileText(j.File))
	if j.TenantID != "" {
		row("Tenant", j.TenantID)
	}
	if len(j.Comments) > 0 {
		row("Comments", plural(len(j.Comments), "comment"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := a.printProducts(j.Products()); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	if len(j.StatusHistory) == 0 {
		_, err := fmt.Fprintln(a.stdout, "No status history.")
		return err
	}
	fmt.Fprintln(a.stdout, "Status history:")
	tw = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CREATED\tSTATUS\tAGENT\tBY\tMESSAGE")
	for _, st := range j.StatusHistory {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", timeText(st.Created), statusNameText(st.Name),
			escape(orDash(st.AgentID)), escape(orDash(st.CreatedByID)),
			escape(orDash(strings.TrimSpace(st.Message))))
	}
	return tw.Flush()
}

// printProducts writes a job's products, its outputs, as a table after the
// job's properties; nothing when it has none.
func (a *app) printProducts(ps []facade.Product) error {
	if len(ps) == 0 {
		return nil
	}
	fmt.Fprintln(a.stdout)
	fmt.Fprintln(a.stdout, "Products:")
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RELATIONSHIP\tREVISION\tRESOURCE\tFILE")
	for _, p := range ps {
		resource := strings.TrimSpace(p.ResourceType + " " + p.ResourceID)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", escape(orDash(p.RelationshipIdentifier)),
			escape(orDash(p.RevisionID)), escape(orDash(resource)), escape(orDash(p.FileID)))
	}
	return tw.Flush()
}

// functionText is a function's name and version.
func functionText(f facade.FunctionVersion) string {
	s := orDash(f.Name)
	if f.Version != "" {
		s += " (version " + f.Version + ")"
	}
	return s
}

// toolText is a function's tool and its versions.
func toolText(f facade.FunctionVersion) string {
	if f.ToolName == "" && len(f.ToolVersions) == 0 {
		return "-"
	}
	s := orDash(f.ToolName)
	if len(f.ToolVersions) > 0 {
		s += " " + strings.Join(f.ToolVersions, ", ")
	}
	return s
}

// osText lists operating systems, marking those the SDK does not know.
func osText(oss []facade.OS) string {
	if len(oss) == 0 {
		return "-"
	}
	parts := make([]string, len(oss))
	for i, o := range oss {
		parts[i] = string(o)
		if !o.Valid() {
			parts[i] += " (unknown)"
		}
	}
	return strings.Join(parts, ", ")
}

// statusLine is a job's current status with its message, agent and time.
func statusLine(j *facade.Job) string {
	st, ok := j.LastStatus()
	if !ok {
		return "-"
	}
	s := statusNameText(st.Name)
	if m := strings.TrimSpace(st.Message); m != "" {
		s += ": " + m
	}
	s += " (" + timeText(st.Created)
	if st.AgentID != "" {
		s += ", agent " + st.AgentID
	}
	return s + ")"
}

// assignedText is the agent and the agent pool a job is assigned to.
func assignedText(j *facade.Job) string {
	var parts []string
	if j.AssignedAgentID != "" {
		parts = append(parts, "agent "+j.AssignedAgentID)
	}
	if j.AssignedAgentPoolID != "" {
		parts = append(parts, "pool "+j.AssignedAgentPoolID)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// byText says who created something: a user, an agent, or both.
func byText(user, agent string) string {
	switch {
	case user != "" && agent != "":
		return " by " + user + " (agent " + agent + ")"
	case user != "":
		return " by " + user
	case agent != "":
		return " by agent " + agent
	}
	return ""
}

// timeText formats a time as the tables do, or "-" when it is absent.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// archiveText is the current archive state, with when, by whom and why.
func archiveText(h []facade.ArchiveEntry) string {
	if len(h) == 0 {
		return "-"
	}
	e := h[len(h)-1]
	s := strings.ToLower(string(e.Name))
	if !e.Name.Valid() {
		s = string(e.Name) + " (unknown)"
	}
	if e.Name == facade.ArchiveStatusNameActive && len(h) == 1 {
		return s
	}
	s += " since " + timeText(e.Created) + byText(e.CreatedByID, "")
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// fileText is the job file's latest revision.
func fileText(f facade.File) string {
	if len(f.Revisions) == 0 {
		return orDash(f.ID)
	}
	r := f.Revisions[len(f.Revisions)-1]
	name := r.Name
	if r.Extension != "" && !strings.HasSuffix(name, "."+r.Extension) {
		name += "." + r.Extension
	}
	s := fmt.Sprintf("%s, %s, revision %d of %d", orDash(name), plural(int(r.Size), "byte"), len(f.Revisions), len(f.Revisions))
	var meta []string
	for _, kv := range [][2]string{{"version", r.VersionName}, {"display name", r.DisplayName}, {"external id", r.ExternalIdentifier}} {
		if kv[1] != "" {
			meta = append(meta, kv[0]+" "+kv[1])
		}
	}
	if len(meta) > 0 {
		s += " (" + strings.Join(meta, ", ") + ")"
	}
	return s
}
