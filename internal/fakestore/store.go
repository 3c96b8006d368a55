// Package fakestore is the state of the in-memory Istari platform
// (facade/istaritest): jobs, their files and histories, and the registry of
// functions. It knows nothing of HTTP. Every method is safe for concurrent
// use, and every job it returns is a deep copy, so callers may keep or change
// it freely.
package fakestore

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/istari-go/sdk/gen"
)

// Kinds of error, matched with errors.Is.
var (
	// ErrNotFound: the job, or a function matching the request, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the job is not in a state that allows the change.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is well-formed but not acceptable.
	ErrInvalid = errors.New("invalid input")
)

// Error is what every method of Store returns on failure. Detail is the
// user-facing message (the platform's `detail`), Kind one of ErrNotFound,
// ErrConflict, ErrInvalid or ErrFull, and Loc, for ErrInvalid, where the bad input is
// (such as ["query", "sort"]).
type Error struct {
	Kind   error
	Detail string
	Loc    []string
}

// Error returns the detail.
func (e *Error) Error() string { return e.Detail }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.Kind }

func notFound(jobID string) error {
	return &Error{Kind: ErrNotFound, Detail: fmt.Sprintf("Job %s not found", jobID)}
}

// Function is one registered function version: the name a job asks for, the
// tool it runs, and the tool versions and operating systems it supports.
type Function struct {
	// ID is the function version's id; Store.AddFunction assigns one when empty.
	ID               string
	Name             string
	ToolName         string
	ToolVersions     []string
	OperatingSystems []gen.OS
}

// matches tells whether f satisfies a request; an empty request field
// matches anything.
func (f Function) matches(name, tool, version string, os gen.OS) bool {
	return f.Name == name &&
		(tool == "" || tool == f.ToolName) &&
		(version == "" || slices.Contains(f.ToolVersions, version)) &&
		(os == "" || slices.Contains(f.OperatingSystems, os))
}

// version renders f as the FunctionVersion recorded on a job.
func (f Function) version() gen.FunctionVersion {
	fv := gen.FunctionVersion{ID: ptr(f.ID), Name: f.Name}
	if f.ToolName != "" {
		fv.ToolName = ptr(f.ToolName)
	}
	tvs := make([]gen.ToolVersion, 0, len(f.ToolVersions))
	for i, v := range f.ToolVersions {
		tvs = append(tvs, gen.ToolVersion{ID: ptr(fmt.Sprintf("%s-tv%d", f.ID, i+1)), ToolVersion: v})
	}
	fv.ToolVersions = &tvs
	oss := make([]gen.OperatingSystem, 0, len(f.OperatingSystems))
	for i, o := range f.OperatingSystems {
		oss = append(oss, gen.OperatingSystem{ID: ptr(fmt.Sprintf("%s-os%d", f.ID, i+1)), Name: o})
	}
	fv.OperatingSystems = &oss
	return fv
}

func (f Function) clone() Function {
	f.ToolVersions = slices.Clone(f.ToolVersions)
	f.OperatingSystems = slices.Clone(f.OperatingSystems)
	return f
}

// FileInput is one uploaded file and the metadata of its revision.
type FileInput struct {
	// FileName is the uploaded file's name, as sent (such as "params.json").
	FileName string
	// ContentType is the media type of the file part; empty when not sent.
	ContentType string
	// Size is the file's size in bytes.
	Size int64
	// Content is the file's bytes, or nil when they were not kept.
	Content []byte

	Description        *string
	VersionName        *string
	ExternalIdentifier *string
	DisplayName        *string
	Sources            []gen.NewSource
}

// NewJob is what creates a job: the NewJob form, already parsed.
type NewJob struct {
	ModelID             string
	Function            string
	ToolName            string
	ToolVersion         string
	OperatingSystem     gen.OS
	AssignedAgentID     *string
	AssignedAgentPoolID *string
	AgentID             *string
	File                FileInput
}

// Upload is one file the platform received, for a test to inspect.
type Upload struct {
	// RevisionID is the id of the file revision the upload created.
	RevisionID string
	// FileName is the file name the client sent.
	FileName string
	// ContentType is the media type of the file part.
	ContentType string
	// Size is the file's size in bytes.
	Size int64
	// Content is the file's bytes; nil when the file was too large to keep.
	Content []byte
}

// Query selects one page of jobs.
type Query struct {
	// ModelID, when set, keeps only the jobs of that model.
	ModelID *string
	// StatusName, when set, keeps only jobs whose current status has that name.
	StatusName *gen.JobStatusName
	// CreatedByID, when set, keeps only the jobs that user created.
	CreatedByID *string
	// AssignedAgentID, when set, keeps only the jobs assigned to that agent.
	AssignedAgentID *string
	// AssignedAgentPoolID, when set, keeps only the jobs assigned to that
	// agent pool.
	AssignedAgentPoolID *string
	// Name, when set, keeps only the jobs whose display name (the
	// display_name of the file's latest revision) contains it, ignoring case.
	Name *string
	// ArchiveStatus keeps active, archived or all jobs; empty means active.
	ArchiveStatus gen.ArchiveStatus
	// Sort is "created" (the default when empty) or "-created".
	Sort string
	// Page is the page number, from 1 (0 means 1).
	Page int
	// Size is the page size; 0 gives a page without items.
	Size int
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithAnyStatusTransition turns the status rules off (see UpdateStatus):
// every status update is accepted.
func WithAnyStatusTransition() Option {
	return func(s *Store) { s.anyTransition = true }
}

// Store holds the platform's state. The zero value is not usable; call New.
type Store struct {
	mu            sync.Mutex
	now           func() time.Time
	anyTransition bool // the status rules are off
	jobs          map[string]*entry
	order         []*entry // creation order
	functions     []Function
	limits        Limits // WithLimits (limits.go)
	bytes         int64  // the sum of the entries' sizes
}

type entry struct {
	seq     int
	job     gen.Job
	uploads []Upload
	size    int64 // its bytes, as Size counts them
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{now: time.Now, jobs: map[string]*entry{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) timestamp() time.Time { return s.now().UTC() }

// AddFunction registers a function version. Once one is registered, AddJob
// accepts only functions that match a registered one.
func (s *Store) AddFunction(f Function) {
	f = f.clone()
	if f.ID == "" {
		f.ID = uuid.NewString()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.functions = append(s.functions, f)
}

// Functions returns the registered functions, in the order they were added.
func (s *Store) Functions() []Function {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Function, len(s.functions))
	for i, f := range s.functions {
		out[i] = f.clone()
	}
	return out
}

// resolveFunction finds the function version a new job runs. With no
// function registered, any function is accepted as described by the request.
func (s *Store) resolveFunction(in NewJob) (gen.FunctionVersion, error) {
	if len(s.functions) == 0 {
		fv := gen.FunctionVersion{Name: in.Function}
		if in.ToolName != "" {
			fv.ToolName = ptr(in.ToolName)
		}
		if in.ToolVersion != "" {
			fv.ToolVersions = &[]gen.ToolVersion{{ToolVersion: in.ToolVersion}}
		}
		if in.OperatingSystem != "" {
			fv.OperatingSystems = &[]gen.OperatingSystem{{Name: in.OperatingSystem}}
		}
		return fv, nil
	}
	for _, f := range s.functions {
		if f.matches(in.Function, in.ToolName, in.ToolVersion, in.OperatingSystem) {
			return f.version(), nil
		}
	}
	return gen.FunctionVersion{}, &Error{Kind: ErrNotFound, Detail: fmt.Sprintf(
		"No function found matching name '%s', tool '%s', version '%s', operating system '%s'",
		in.Function, in.ToolName, in.ToolVersion, in.OperatingSystem)}
}

// revision builds a file revision and the upload record from an input.
func revision(fileID string, at time.Time, in FileInput) (gen.FileRevision, Upload) {
	base := filepath.Base(strings.ReplaceAll(in.FileName, `\`, "/"))
	if base == "." || base == "/" {
		base = ""
	}
	ext := filepath.Ext(base)
	name := strings.TrimSuffix(base, ext)
	if name == "" && ext != "" { // a dot file such as ".env"
		name, ext = base, ""
	}
	rev := gen.FileRevision{
		ID:                 uuid.NewString(),
		Created:            at,
		FileID:             ptr(fileID),
		Name:               name,
		Size:               in.Size,
		Description:        clonePtr(in.Description),
		VersionName:        clonePtr(in.VersionName),
		ExternalIdentifier: clonePtr(in.ExternalIdentifier),
		DisplayName:        clonePtr(in.DisplayName),
	}
	if ext = strings.TrimPrefix(ext, "."); ext != "" {
		rev.Extension = ptr(ext)
	}
	if in.ContentType != "" {
		rev.Mime = ptr(in.ContentType)
	}
	sources := make([]gen.Source, 0, len(in.Sources))
	for _, src := range in.Sources {
		sources = append(sources, gen.Source{
			ID:                     ptr(uuid.NewString()),
			RevisionID:             src.RevisionID,
			RelationshipIdentifier: clonePtr(src.RelationshipIdentifier),
		})
	}
	rev.Sources = &sources
	up := Upload{
		RevisionID:  rev.ID,
		FileName:    in.FileName,
		ContentType: in.ContentType,
		Size:        in.Size,
		Content:     slices.Clone(in.Content),
	}
	return rev, up
}

// AddJob creates a job for userID. Its status history starts with Pending
// and its archive history with Active.
func (s *Store) AddJob(userID string, in NewJob) (gen.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.room(true); err != nil {
		return gen.Job{}, err
	}
	fv, err := s.resolveFunction(in)
	if err != nil {
		return gen.Job{}, err
	}
	now := s.timestamp()
	jobID, fileID := uuid.NewString(), uuid.NewString()
	rev, up := revision(fileID, now, in.File)
	s.describeSources(rev.Sources)
	job := gen.Job{
		ID:          jobID,
		Created:     now,
		CreatedByID: userID,
		Comments:    []gen.Comment{},
		File: gen.File{
			ID:                   fileID,
			Created:              now,
			Revisions:            []gen.FileRevision{rev},
			ArchiveStatusHistory: []gen.ResourceArchiveStatus{archiveEntry(now, userID, gen.ArchiveStatusNameActive, nil)},
		},
		ArchiveStatusHistory: []gen.ResourceArchiveStatus{archiveEntry(now, userID, gen.ArchiveStatusNameActive, nil)},
		Function:             fv,
		AssignedAgentID:      clonePtr(in.AssignedAgentID),
		AssignedAgentPoolID:  clonePtr(in.AssignedAgentPoolID),
		AgentID:              clonePtr(in.AgentID),
		ModelID:              ptr(in.ModelID),
		StatusHistory: &[]gen.JobStatus{{
			ID:          uuid.NewString(),
			Created:     now,
			JobID:       jobID,
			Name:        gen.JobStatusNamePending,
			CreatedByID: ptr(userID),
			AgentID:     clonePtr(in.AgentID),
		}},
	}
	e := &entry{seq: len(s.order), job: job, uploads: []Upload{up}}
	s.jobs[jobID] = e
	s.order = append(s.order, e)
	s.measure(e)
	return cloneJob(job), nil
}

func archiveEntry(at time.Time, userID string, name gen.ArchiveStatusName, reason *string) gen.ResourceArchiveStatus {
	return gen.ResourceArchiveStatus{
		ID:          uuid.NewString(),
		Created:     at,
		CreatedByID: ptr(userID),
		Name:        name,
		Reason:      clonePtr(reason),
	}
}

// update runs change on the job under the lock and returns a copy of the
// result. change must leave the job untouched when it fails. A full store
// (see Limits) refuses every change with ErrFull.
func (s *Store) update(jobID string, change func(e *entry, now time.Time) error) (gen.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[jobID]
	if !ok {
		return gen.Job{}, notFound(jobID)
	}
	if err := s.room(false); err != nil {
		return gen.Job{}, err
	}
	if err := change(e, s.timestamp()); err != nil {
		return gen.Job{}, err
	}
	s.measure(e)
	return cloneJob(e.job), nil
}

// Job returns one job.
func (s *Store) Job(jobID string) (gen.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[jobID]
	if !ok {
		return gen.Job{}, notFound(jobID)
	}
	return cloneJob(e.job), nil
}

// UpdateFile adds a revision to the job's file.
func (s *Store) UpdateFile(jobID string, in FileInput) (gen.Job, error) {
	return s.update(jobID, func(e *entry, now time.Time) error {
		rev, up := revision(e.job.File.ID, now, in)
		s.describeSources(rev.Sources)
		e.job.File.Revisions = append(e.job.File.Revisions, rev)
		e.uploads = append(e.uploads, up)
		return nil
	})
}

// AddProducts records products, a job's outputs, on the latest revision of
// the job's file, after those it has, as the job's agent would. A product
// without a revision id gets a new one. Once the job has ended (Completed,
// Failed or Canceled) its products no longer change: adding more is
// ErrConflict.
func (s *Store) AddProducts(jobID string, products []gen.Product) (gen.Job, error) {
	return s.update(jobID, func(e *entry, _ time.Time) error {
		switch st := statusName(e.job); st {
		case gen.JobStatusNameCompleted, gen.JobStatusNameFailed, gen.JobStatusNameCanceled:
			return &Error{Kind: ErrConflict, Detail: fmt.Sprintf("Job %s is %s: its products no longer change", jobID, st)}
		}
		revs := e.job.File.Revisions
		if len(revs) == 0 {
			return &Error{Kind: ErrConflict, Detail: fmt.Sprintf("Job %s has no file revision", jobID)}
		}
		latest := &revs[len(revs)-1]
		var have []gen.Product
		if latest.Products != nil {
			have = *latest.Products
		}
		for _, p := range products {
			p = cloneProduct(p)
			if p.RevisionID == "" {
				p.RevisionID = uuid.NewString()
			}
			have = append(have, p)
		}
		latest.Products = &have
		return nil
	})
}

// describeSources fills in the file, resource type and resource id of each
// source whose revision the store knows, as the platform does: a product
// (with the product's own fields), or a revision of a job's file (resource
// type "Job", and the job's id). Other sources keep only what was sent. The
// caller holds s.mu.
func (s *Store) describeSources(sources *[]gen.Source) {
	if sources == nil {
		return
	}
	for i := range *sources {
		src := &(*sources)[i]
		if known, ok := s.knownRevision(src.RevisionID); ok {
			src.FileID, src.ResourceType, src.ResourceID = known.FileID, known.ResourceType, known.ResourceID
		}
	}
}

// knownRevision describes a revision the store holds, as a product or as a
// revision of a job's file. The caller holds s.mu.
func (s *Store) knownRevision(revisionID string) (gen.Product, bool) {
	for _, e := range s.order {
		for _, rev := range e.job.File.Revisions {
			if rev.ID == revisionID {
				return gen.Product{FileID: ptr(e.job.File.ID), ResourceType: ptr("Job"), ResourceID: ptr(e.job.ID)}, true
			}
			if rev.Products == nil {
				continue
			}
			for _, p := range *rev.Products {
				if p.RevisionID == revisionID {
					return cloneProduct(p), true
				}
			}
		}
	}
	return gen.Product{}, false
}

// UpdateStatus appends a status to the job's history, if the status rules
// allow it (see CheckTransition; WithAnyStatusTransition and
// SetAnyStatusTransition turn them off). The check and the append happen
// under one lock, so of concurrent claims exactly one wins. A refused update
// is ErrConflict and changes nothing. When agentID is set it also becomes the
// job's agent_id.
func (s *Store) UpdateStatus(jobID, userID string, name gen.JobStatusName, agentID, message *string) (gen.Job, error) {
	return s.update(jobID, func(e *entry, now time.Time) error {
		var hist []gen.JobStatus
		if e.job.StatusHistory != nil {
			hist = *e.job.StatusHistory
		}
		if !s.anyTransition {
			if err := CheckTransition(jobID, hist, name, agentID); err != nil {
				return err
			}
		}
		hist = append(hist, gen.JobStatus{
			ID:          uuid.NewString(),
			Created:     now,
			JobID:       jobID,
			Name:        name,
			CreatedByID: ptr(userID),
			AgentID:     clonePtr(agentID),
			Message:     clonePtr(message),
		})
		e.job.StatusHistory = &hist
		if agentID != nil {
			e.job.AgentID = clonePtr(agentID)
		}
		return nil
	})
}

// SetAnyStatusTransition turns the status rules off (true) or on (false)
// from now on.
func (s *Store) SetAnyStatusTransition(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyTransition = on
}

// AssignAgent assigns the job to one agent or one agent pool: exactly one of
// agentID and poolID must be set, and setting one clears the other.
func (s *Store) AssignAgent(jobID string, agentID, poolID *string) (gen.Job, error) {
	if (agentID == nil) == (poolID == nil) {
		return gen.Job{}, &Error{Kind: ErrInvalid, Loc: []string{"body"},
			Detail: "exactly one of agent_id and agent_pool_id must be set"}
	}
	return s.update(jobID, func(e *entry, _ time.Time) error {
		e.job.AssignedAgentID = clonePtr(agentID)
		e.job.AssignedAgentPoolID = clonePtr(poolID)
		return nil
	})
}

// RemoveAssignedAgent clears the job's assigned agent and agent pool.
func (s *Store) RemoveAssignedAgent(jobID string) (gen.Job, error) {
	return s.update(jobID, func(e *entry, _ time.Time) error {
		e.job.AssignedAgentID, e.job.AssignedAgentPoolID = nil, nil
		return nil
	})
}

// Archive archives the job; archiving an archived job is ErrConflict.
func (s *Store) Archive(jobID, userID string, reason *string) (gen.Job, error) {
	return s.setArchive(jobID, userID, gen.ArchiveStatusNameArchived, reason)
}

// Restore makes an archived job active again; restoring an active job is
// ErrConflict.
func (s *Store) Restore(jobID, userID string, reason *string) (gen.Job, error) {
	return s.setArchive(jobID, userID, gen.ArchiveStatusNameActive, reason)
}

func (s *Store) setArchive(jobID, userID string, to gen.ArchiveStatusName, reason *string) (gen.Job, error) {
	return s.update(jobID, func(e *entry, now time.Time) error {
		if archiveName(e.job) == to {
			state := "active"
			if to == gen.ArchiveStatusNameArchived {
				state = "archived"
			}
			return &Error{Kind: ErrConflict, Detail: fmt.Sprintf("Job %s is already %s", jobID, state)}
		}
		e.job.ArchiveStatusHistory = append(e.job.ArchiveStatusHistory, archiveEntry(now, userID, to, reason))
		return nil
	})
}

// archiveName is the job's current archive state.
func archiveName(j gen.Job) gen.ArchiveStatusName {
	if n := len(j.ArchiveStatusHistory); n > 0 {
		return j.ArchiveStatusHistory[n-1].Name
	}
	return gen.ArchiveStatusNameActive
}

// statusName is the job's current status, empty when it has none.
func statusName(j gen.Job) gen.JobStatusName {
	if j.StatusHistory == nil || len(*j.StatusHistory) == 0 {
		return ""
	}
	h := *j.StatusHistory
	return h[len(h)-1].Name
}

// List returns one page of the jobs that match q. pages is ceil(total/size),
// 0 when size is 0, and a page beyond the last has no items.
func (s *Store) List(q Query) (gen.PageJob, error) {
	desc := false
	switch q.Sort {
	case "", "created":
	case "-created":
		desc = true
	default:
		return gen.PageJob{}, &Error{Kind: ErrInvalid, Loc: []string{"query", "sort"},
			Detail: fmt.Sprintf("unknown sort key %q: sort must be created or -created", q.Sort)}
	}
	archive := q.ArchiveStatus
	if archive == "" {
		archive = gen.ArchiveStatusActive
	}
	if !archive.Valid() {
		return gen.PageJob{}, &Error{Kind: ErrInvalid, Loc: []string{"query", "archive_status"},
			Detail: fmt.Sprintf("unknown archive status %q", archive)}
	}
	if q.Size < 0 {
		return gen.PageJob{}, &Error{Kind: ErrInvalid, Loc: []string{"query", "size"}, Detail: "size must be at least 0"}
	}
	page := max(q.Page, 1)

	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*entry
	for _, e := range s.order {
		j := &e.job
		switch {
		case q.ModelID != nil && (j.ModelID == nil || *j.ModelID != *q.ModelID),
			q.StatusName != nil && statusName(*j) != *q.StatusName,
			q.CreatedByID != nil && j.CreatedByID != *q.CreatedByID,
			q.AssignedAgentID != nil && (j.AssignedAgentID == nil || *j.AssignedAgentID != *q.AssignedAgentID),
			q.AssignedAgentPoolID != nil && (j.AssignedAgentPoolID == nil || *j.AssignedAgentPoolID != *q.AssignedAgentPoolID),
			q.Name != nil && !nameContains(*j, *q.Name),
			archive == gen.ArchiveStatusActive && archiveName(*j) != gen.ArchiveStatusNameActive,
			archive == gen.ArchiveStatusArchived && archiveName(*j) != gen.ArchiveStatusNameArchived:
			continue
		}
		match = append(match, e)
	}
	slices.SortStableFunc(match, func(a, b *entry) int {
		c := cmp.Or(a.job.Created.Compare(b.job.Created), cmp.Compare(a.seq, b.seq))
		if desc {
			return -c
		}
		return c
	})
	out := gen.PageJob{Items: []gen.Job{}, Total: len(match), Page: page, Size: q.Size}
	if q.Size > 0 {
		out.Pages = (len(match) + q.Size - 1) / q.Size
		// Compare in the page domain so a huge page number cannot overflow.
		if page <= out.Pages {
			start := (page - 1) * q.Size
			end := min(start+q.Size, len(match))
			for _, e := range match[start:end] {
				out.Items = append(out.Items, cloneJob(e.job))
			}
		}
	}
	return out, nil
}

// nameContains tells whether the display name of the job file's latest
// revision contains sub, ignoring case.
func nameContains(j gen.Job, sub string) bool {
	revs := j.File.Revisions
	if len(revs) == 0 || revs[len(revs)-1].DisplayName == nil {
		return false
	}
	return strings.Contains(strings.ToLower(*revs[len(revs)-1].DisplayName), strings.ToLower(sub))
}

// Jobs returns every job, in creation order.
func (s *Store) Jobs() []gen.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]gen.Job, len(s.order))
	for i, e := range s.order {
		out[i] = cloneJob(e.job)
	}
	return out
}

// Len returns how many jobs there are.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// Uploads returns the files uploaded for a job, oldest first: one for its
// creation and one for each update.
func (s *Store) Uploads(jobID string) ([]Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[jobID]
	if !ok {
		return nil, notFound(jobID)
	}
	out := make([]Upload, len(e.uploads))
	for i, u := range e.uploads {
		u.Content = slices.Clone(u.Content)
		out[i] = u
	}
	return out, nil
}

// LatestUpload returns the upload of the job file's latest revision. Its
// Content is the stored slice itself, not a copy, so that a large file can
// be served without copying it: the caller must not change it. Content is
// nil when the bytes were not kept (then len(Content) != Size).
func (s *Store) LatestUpload(jobID string) (Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[jobID]
	if !ok {
		return Upload{}, notFound(jobID)
	}
	if len(e.uploads) == 0 {
		return Upload{}, &Error{Kind: ErrNotFound, Detail: fmt.Sprintf("Job %s has no file", jobID)}
	}
	return e.uploads[len(e.uploads)-1], nil
}
