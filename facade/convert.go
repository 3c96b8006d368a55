package facade

import "github.com/istari-go/sdk/gen"

// This file is the one place where generated values become the facade's.
// Every field of the generated model is carried over; a nil pointer becomes
// the zero value, and a list keeps the difference between absent (nil) and
// empty, so that the JSON form of a facade value equals that of the
// generated value it came from (roundtrip_model_test.go proves it).

// jobFromWire converts a decoded job. The result keeps w as its Wire value
// (and no bytes for RawJSON: its caller may give them).
func jobFromWire(w *gen.Job) *Job {
	j := &Job{
		AgentID:              deref(w.AgentID),
		ArchiveStatusHistory: archiveFromWire(w.ArchiveStatusHistory),
		AssignedAgentID:      deref(w.AssignedAgentID),
		AssignedAgentPoolID:  deref(w.AssignedAgentPoolID),
		Comments:             convertSlice(w.Comments, commentFromWire),
		Created:              w.Created,
		CreatedByID:          w.CreatedByID,
		File:                 fileFromWire(&w.File),
		Function:             functionFromWire(&w.Function),
		ID:                   w.ID,
		ModelID:              deref(w.ModelID),
		TenantID:             deref(w.TenantID),
		src:                  &jobSource{wire: w},
	}
	if w.StatusHistory != nil {
		j.StatusHistory = convertSlice(*w.StatusHistory, statusFromWire)
	}
	return j
}

// pageFromWire converts a decoded page of jobs.
func pageFromWire(w *gen.PageJob) *JobPage {
	p := &JobPage{Total: w.Total, Page: w.Page, Size: w.Size, Pages: w.Pages}
	if w.Items != nil {
		p.Items = make([]*Job, len(w.Items))
		for i := range w.Items {
			p.Items[i] = jobFromWire(&w.Items[i])
		}
	}
	return p
}

func statusFromWire(w *gen.JobStatus) JobStatus {
	return JobStatus{
		AgentID:     deref(w.AgentID),
		Created:     w.Created,
		CreatedByID: deref(w.CreatedByID),
		ID:          w.ID,
		JobID:       w.JobID,
		Message:     deref(w.Message),
		Name:        JobStatusName(w.Name),
	}
}

func functionFromWire(w *gen.FunctionVersion) FunctionVersion {
	f := FunctionVersion{
		ID:       deref(w.ID),
		Name:     w.Name,
		ToolName: deref(w.ToolName),
		Version:  deref(w.Version),
	}
	if w.OperatingSystems != nil {
		oss := *w.OperatingSystems
		f.OperatingSystems = make([]OS, len(oss))
		f.osIDs = make([]string, len(oss))
		for i, o := range oss {
			f.OperatingSystems[i], f.osIDs[i] = OS(o.Name), deref(o.ID)
		}
	}
	if w.ToolVersions != nil {
		tvs := *w.ToolVersions
		f.ToolVersions = make([]string, len(tvs))
		f.toolVersionIDs = make([]string, len(tvs))
		for i, v := range tvs {
			f.ToolVersions[i], f.toolVersionIDs[i] = v.ToolVersion, deref(v.ID)
		}
	}
	return f
}

func fileFromWire(w *gen.File) File {
	return File{
		ArchiveStatusHistory: archiveFromWire(w.ArchiveStatusHistory),
		Created:              w.Created,
		ID:                   w.ID,
		Revisions:            convertSlice(w.Revisions, revisionFromWire),
	}
}

func revisionFromWire(w *gen.FileRevision) FileRevision {
	r := FileRevision{
		Created:            w.Created,
		Description:        deref(w.Description),
		DisplayName:        deref(w.DisplayName),
		Extension:          deref(w.Extension),
		ExternalIdentifier: deref(w.ExternalIdentifier),
		FileID:             deref(w.FileID),
		ID:                 w.ID,
		Mime:               deref(w.Mime),
		Name:               w.Name,
		Size:               w.Size,
		VersionName:        deref(w.VersionName),
	}
	if w.Products != nil {
		r.Products = convertSlice(*w.Products, productFromWire)
	}
	if w.Sources != nil {
		r.Sources = convertSlice(*w.Sources, sourceFromWire)
	}
	return r
}

func productFromWire(w *gen.Product) Product {
	return Product{
		FileID:                 deref(w.FileID),
		RelationshipIdentifier: deref(w.RelationshipIdentifier),
		ResourceID:             deref(w.ResourceID),
		ResourceType:           deref(w.ResourceType),
		RevisionID:             w.RevisionID,
	}
}

func sourceFromWire(w *gen.Source) Source {
	return Source{
		FileID:                 deref(w.FileID),
		ID:                     deref(w.ID),
		RelationshipIdentifier: deref(w.RelationshipIdentifier),
		ResourceID:             deref(w.ResourceID),
		ResourceType:           deref(w.ResourceType),
		RevisionID:             w.RevisionID,
	}
}

func commentFromWire(w *gen.Comment) Comment {
	return Comment{Content: deref(w.Content), Created: w.Created, CreatedByID: deref(w.CreatedByID), ID: w.ID}
}

func archiveFromWire(ws []gen.ResourceArchiveStatus) []ArchiveEntry {
	return convertSlice(ws, func(w *gen.ResourceArchiveStatus) ArchiveEntry {
		return ArchiveEntry{
			Created:     w.Created,
			CreatedByID: deref(w.CreatedByID),
			ID:          w.ID,
			Name:        ArchiveStatusName(w.Name),
			Reason:      deref(w.Reason),
		}
	})
}

// convertSlice converts each element of ws; nil stays nil, and empty stays
// empty (and not nil).
func convertSlice[W, F any](ws []W, conv func(*W) F) []F {
	if ws == nil {
		return nil
	}
	fs := make([]F, len(ws))
	for i := range ws {
		fs[i] = conv(&ws[i])
	}
	return fs
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
