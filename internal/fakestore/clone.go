package fakestore

import "github.com/istari-go/sdk/gen"

func ptr[T any](v T) *T { return &v }

// clonePtr copies the value p points at, so the copy shares no memory.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneSlicePtr deep-copies a pointer to a slice with the element copier c.
func cloneSlicePtr[T any](p *[]T, c func(T) T) *[]T {
	if p == nil {
		return nil
	}
	s := cloneSlice(*p, c)
	return &s
}

// cloneSlice deep-copies s with the element copier c; nil stays nil.
func cloneSlice[T any](s []T, c func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = c(v)
	}
	return out
}

// cloneJob returns a copy of j that shares no memory with it.
func cloneJob(j gen.Job) gen.Job {
	j.AgentID = clonePtr(j.AgentID)
	j.AssignedAgentID = clonePtr(j.AssignedAgentID)
	j.AssignedAgentPoolID = clonePtr(j.AssignedAgentPoolID)
	j.TenantID = clonePtr(j.TenantID)
	j.ModelID = clonePtr(j.ModelID)
	j.ArchiveStatusHistory = cloneSlice(j.ArchiveStatusHistory, cloneArchive)
	j.Comments = cloneSlice(j.Comments, func(c gen.Comment) gen.Comment {
		c.Content = clonePtr(c.Content)
		c.CreatedByID = clonePtr(c.CreatedByID)
		return c
	})
	j.File.ArchiveStatusHistory = cloneSlice(j.File.ArchiveStatusHistory, cloneArchive)
	j.File.Revisions = cloneSlice(j.File.Revisions, cloneRevision)
	j.Function = cloneFunction(j.Function)
	j.StatusHistory = cloneSlicePtr(j.StatusHistory, func(s gen.JobStatus) gen.JobStatus {
		s.AgentID = clonePtr(s.AgentID)
		s.CreatedByID = clonePtr(s.CreatedByID)
		s.Message = clonePtr(s.Message)
		return s
	})
	return j
}

func cloneArchive(a gen.ResourceArchiveStatus) gen.ResourceArchiveStatus {
	a.CreatedByID = clonePtr(a.CreatedByID)
	a.Reason = clonePtr(a.Reason)
	return a
}

func cloneRevision(r gen.FileRevision) gen.FileRevision {
	r.Description = clonePtr(r.Description)
	r.DisplayName = clonePtr(r.DisplayName)
	r.Extension = clonePtr(r.Extension)
	r.ExternalIdentifier = clonePtr(r.ExternalIdentifier)
	r.FileID = clonePtr(r.FileID)
	r.Mime = clonePtr(r.Mime)
	r.VersionName = clonePtr(r.VersionName)
	r.Sources = cloneSlicePtr(r.Sources, func(s gen.Source) gen.Source {
		s.FileID = clonePtr(s.FileID)
		s.ID = clonePtr(s.ID)
		s.RelationshipIdentifier = clonePtr(s.RelationshipIdentifier)
		s.ResourceID = clonePtr(s.ResourceID)
		s.ResourceType = clonePtr(s.ResourceType)
		return s
	})
	r.Products = cloneSlicePtr(r.Products, cloneProduct)
	return r
}

func cloneProduct(p gen.Product) gen.Product {
	p.FileID = clonePtr(p.FileID)
	p.RelationshipIdentifier = clonePtr(p.RelationshipIdentifier)
	p.ResourceID = clonePtr(p.ResourceID)
	p.ResourceType = clonePtr(p.ResourceType)
	return p
}

func cloneFunction(f gen.FunctionVersion) gen.FunctionVersion {
	f.ID = clonePtr(f.ID)
	f.ToolName = clonePtr(f.ToolName)
	f.Version = clonePtr(f.Version)
	f.ToolVersions = cloneSlicePtr(f.ToolVersions, func(t gen.ToolVersion) gen.ToolVersion {
		t.ID = clonePtr(t.ID)
		return t
	})
	f.OperatingSystems = cloneSlicePtr(f.OperatingSystems, func(o gen.OperatingSystem) gen.OperatingSystem {
		o.ID = clonePtr(o.ID)
		return o
	})
	return f
}
