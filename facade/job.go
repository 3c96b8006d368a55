package facade

import "github.com/istari-go/sdk/gen"

// Job is a job as the platform returns it. The generated fields (ID,
// StatusHistory, File, Function, ...) are reachable on the same value.
type Job struct {
	gen.Job
}

// Status returns the job's current status: the name of the last entry of
// its status history, or "" when it has none. A status this SDK does not
// know is returned as it is; its Valid method reports false.
func (j *Job) Status() JobStatusName {
	if j.StatusHistory == nil || len(*j.StatusHistory) == 0 {
		return ""
	}
	h := *j.StatusHistory
	return JobStatusName(h[len(h)-1].Name)
}

// LastStatus returns the last entry of the job's status history, with its
// message and agent, or nil when it has none.
func (j *Job) LastStatus() *gen.JobStatus {
	if j.StatusHistory == nil || len(*j.StatusHistory) == 0 {
		return nil
	}
	h := *j.StatusHistory
	return &h[len(h)-1]
}

// Archived reports whether the job is archived: the last entry of its
// archive history is Archived.
func (j *Job) Archived() bool {
	h := j.ArchiveStatusHistory
	return len(h) > 0 && h[len(h)-1].Name == gen.ArchiveStatusNameArchived
}

// JobPage is one page of a job list. It marshals to the wire form of a
// page, as [gen.PageJob] does.
type JobPage struct {
	// Items are the jobs on this page.
	Items []*Job `json:"items"`
	// Total is how many jobs match the filters, over all pages.
	Total int `json:"total"`
	// Page is this page's number, starting at 1.
	Page int `json:"page"`
	// Size is the page size.
	Size int `json:"size"`
	// Pages is how many pages there are at this size.
	Pages int `json:"pages"`
}

// HasNextPage reports whether a page follows this one.
func (p *JobPage) HasNextPage() bool { return p.Page < p.Pages }

func pageFromWire(w *gen.PageJob) *JobPage {
	p := &JobPage{Total: w.Total, Page: w.Page, Size: w.Size, Pages: w.Pages, Items: make([]*Job, len(w.Items))}
	jobs := make([]Job, len(w.Items))
	for i := range w.Items {
		jobs[i].Job = w.Items[i]
		p.Items[i] = &jobs[i]
	}
	return p
}

func jobFromWire(w *gen.Job) *Job { return &Job{Job: *w} }
