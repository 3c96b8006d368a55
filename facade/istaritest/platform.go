package istaritest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/istari-go/sdk/api"
	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/gen/server"
	"github.com/istari-go/sdk/internal/fakestore"
	"github.com/istari-go/sdk/internal/spec"
)

// The users every Platform starts with.
const (
	// DefaultToken is the bearer token of the default user, a normal user
	// whose id is DefaultUserID. Server.Token holds it.
	DefaultToken = "istaritest-token"
	// DefaultUserID is the id of the default user.
	DefaultUserID = "istaritest-user"
	// DefaultAdminToken is the bearer token of the default admin, whose id is
	// DefaultAdminUserID. Server.AdminToken holds it.
	DefaultAdminToken = "istaritest-admin-token"
	// DefaultAdminUserID is the id of the default admin.
	DefaultAdminUserID = "istaritest-admin"
)

// BasePath is the prefix under which the platform serves every job route,
// as the contract's servers entry says.
const BasePath = api.BasePath

// MaxKeptFileSize is the default bound (64 MiB) on the size of an uploaded
// file whose bytes the platform keeps; see WithMaxKeptFileSize. It serves them on getJobFile (GET /jobs/{job_id}/file, the
// facade's OpenJobFile), so that an agent under test can read its job's
// parameters, and returns them from Uploads. Of a larger file it records only
// the size, and getJobFile answers 404 saying that its bytes were not kept.
// A file must also fit in a request body (see WithMaxBodySize).
const MaxKeptFileSize = 64 << 20

// DefaultMaxBodySize is the default bound on the size of a request body; see
// WithMaxBodySize.
const DefaultMaxBodySize = 32 << 20

// Function is one function version registered with the platform (see
// WithFunctions): the name a job asks for, such as "@istari:extract", the
// tool it runs, and the tool versions and operating systems it supports.
type Function struct {
	Name             string
	ToolName         string
	ToolVersions     []string
	OperatingSystems []facade.OS
}

// Upload is one file the platform received, on a job's creation or update,
// so a test can check what a client sent.
type Upload struct {
	// RevisionID is the id of the file revision the upload created.
	RevisionID string
	// FileName is the file name the client sent, such as "params.json".
	FileName string
	// ContentType is the media type of the file part.
	ContentType string
	// Size is the file's size in bytes.
	Size int64
	// Content is the file's bytes; nil when the file is larger than the
	// platform keeps (MaxKeptFileSize unless WithMaxKeptFileSize says
	// otherwise), or empty.
	Content []byte
}

// RequestCounts tells how many requests the platform received.
type RequestCounts struct {
	// Total counts every request, including those that matched no operation
	// or failed (by a fault, authentication or validation).
	Total int
	// ByOperation counts the requests of each operation, such as
	// ByOperation[OpAddJob]. Operations never called are absent.
	ByOperation map[Operation]int
}

// user is one account the platform knows.
type user struct {
	id    string
	admin bool
}

// config collects the options.
type config struct {
	users     map[string]user
	functions []Function
	faults    []Fault
	latency   time.Duration
	now       func() time.Time
	maxBody   int64
	maxKept   int64
	wrap      func(http.Handler) http.Handler
	limiter   *rateLimiter // WithRateLimit (ratelimit.go)
	anyStatus bool         // WithAnyStatusTransition
	store     fakestore.Limits
	pace      bodyPace
}

// ServerOption configures a Platform, and so a Server.
type ServerOption func(*config)

// WithUser adds a user whose bearer token is token. An admin may list the
// jobs of all users. A later option for the same token replaces an earlier
// one; an empty token or user id is ignored.
func WithUser(token, userID string, admin bool) ServerOption {
	return func(c *config) {
		if token != "" && userID != "" {
			c.users[token] = user{id: userID, admin: admin}
		}
	}
}

// WithFunctions registers function versions. Once one is registered, adding
// a job for a function that matches none (by name, tool, tool version and
// operating system; a field the request leaves out matches anything) fails
// with 404, and a matched job records the registered function version. With
// none registered, any function is accepted as the request describes it.
func WithFunctions(fs ...Function) ServerOption {
	return func(c *config) { c.functions = append(c.functions, fs...) }
}

// WithFault makes the platform fail requests from the start, as
// Platform.InjectFault does.
func WithFault(f Fault) ServerOption {
	return func(c *config) { c.faults = append(c.faults, f) }
}

// WithLatency delays every request by d before it is handled. A request whose
// context ends first is abandoned without changing anything.
func WithLatency(d time.Duration) ServerOption {
	return func(c *config) { c.latency = max(d, 0) }
}

// WithClock makes the platform read the time from now instead of time.Now,
// for stable timestamps in tests.
func WithClock(now func() time.Time) ServerOption {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithMaxBodySize bounds the size of a request body (DefaultMaxBodySize when
// not given). A larger body is refused with 413.
func WithMaxBodySize(n int64) ServerOption {
	return func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithAnyStatusTransition turns the status rules off: the platform then
// accepts any status update from anyone, as it did before the rules, for
// tests that need any transition (such as Completed back to Pending, or a
// job set to Unknown). By default it enforces the rules written in
// api/openapi.yaml's updateJobStatus and answers a forbidden transition with
// 409: Completed, Failed and Canceled are final; Claimed is accepted only
// from Created or Pending and with an agent_id; a claimed job takes statuses
// only from its claimant, except Canceled; nothing moves back to Created or
// Pending, except the claimant's release of a Claimed job to Pending; and
// Unknown is never accepted.
func WithAnyStatusTransition() ServerOption {
	return func(c *config) { c.anyStatus = true }
}

// WithMaxKeptFileSize sets the largest uploaded file whose bytes the platform
// keeps, to serve them on getJobFile and return them from Uploads
// (MaxKeptFileSize, 64 MiB, when not given). Of a larger file it records only
// the size, and getJobFile answers 404 saying so. The platform holds every
// kept file in memory for its whole life. A file must also fit in a request
// body: raise WithMaxBodySize (32 MiB by default) for larger files.
func WithMaxKeptFileSize(n int64) ServerOption {
	return func(c *config) {
		if n >= 0 {
			c.maxKept = n
		}
	}
}

// withMiddleware wraps the platform's whole handler, for this package's tests.
func withMiddleware(m func(http.Handler) http.Handler) ServerOption {
	return func(c *config) { c.wrap = m }
}

// Platform is the in-memory Istari platform: the job API of api/openapi.yaml,
// served by Handler under BasePath. Every request is checked for a bearer
// token and validated against the contract before it is handled. All its
// methods are safe for concurrent use, also while it serves requests.
type Platform struct {
	store     *fakestore.Store
	validator *spec.Validator
	handler   http.Handler
	maxBody   int64
	maxKept   int64
	limiter   *rateLimiter
	pace      bodyPace

	mu      sync.Mutex
	users   map[string]user
	faults  []Fault
	latency time.Duration
	total   int
	byOp    map[Operation]int
}

// New returns a Platform configured by opts. It knows two users to begin
// with: DefaultToken (a normal user) and DefaultAdminToken (an admin).
//
// New panics only if the contract embedded at build time does not load,
// which the contract's own tests rule out.
func New(opts ...ServerOption) *Platform {
	c := &config{
		users: map[string]user{
			DefaultToken:      {id: DefaultUserID},
			DefaultAdminToken: {id: DefaultAdminUserID, admin: true},
		},
		now:     time.Now,
		maxBody: DefaultMaxBodySize,
		maxKept: MaxKeptFileSize,
		store:   defaultStoreLimits,
		pace:    defaultPace,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	v, err := spec.NewValidator()
	if err != nil {
		panic(fmt.Sprintf("istaritest: %v", err))
	}
	storeOpts := []fakestore.Option{fakestore.WithClock(c.now), fakestore.WithLimits(c.store)}
	if c.anyStatus {
		storeOpts = append(storeOpts, fakestore.WithAnyStatusTransition())
	}
	p := &Platform{
		store:     fakestore.New(storeOpts...),
		validator: v,
		maxBody:   c.maxBody,
		maxKept:   c.maxKept,
		limiter:   c.limiter.fresh(),
		pace:      c.pace,
		users:     c.users,
		latency:   c.latency,
		byOp:      map[Operation]int{},
	}
	for _, f := range c.functions {
		p.AddFunction(f)
	}
	for _, f := range c.faults {
		p.InjectFault(f)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem{status: http.StatusNotFound, detail: "Not Found"})
	})
	strict := server.NewStrictHandlerWithOptions(&handlers{p: p}, nil, server.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  requestError,
		ResponseErrorHandlerFunc: responseError,
	})
	api := server.HandlerWithOptions(strict, server.StdHTTPServerOptions{
		BaseURL:          BasePath,
		BaseRouter:       mux,
		ErrorHandlerFunc: paramError,
	})
	var h http.Handler = &front{p: p, next: api}
	if c.wrap != nil {
		h = c.wrap(h)
	}
	p.handler = h
	return p
}

// Handler returns the platform's HTTP handler. It serves the job routes
// under BasePath (/api/v2), so the handler's address is the URL to give
// [facade.NewClient], which appends /api/v2 itself. To mount it under
// another prefix, strip that prefix first (http.StripPrefix).
func (p *Platform) Handler() http.Handler { return p.handler }

// AddUser adds a user whose bearer token is token, as WithUser does. An
// empty token or user id is ignored.
func (p *Platform) AddUser(token, userID string, admin bool) {
	if token == "" || userID == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[token] = user{id: userID, admin: admin}
}

// AddFunction registers a function version, as WithFunctions does.
func (p *Platform) AddFunction(f Function) {
	p.store.AddFunction(fakestore.Function{
		Name:             f.Name,
		ToolName:         f.ToolName,
		ToolVersions:     f.ToolVersions,
		OperatingSystems: osToWire(f.OperatingSystems),
	})
}

// SetLatency changes the delay WithLatency set; 0 removes it.
func (p *Platform) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = max(d, 0)
}

// Jobs returns every job, in creation order, as the facade's values: what
// a client would get from GetJob. They are copies; changing them changes
// nothing on the platform.
func (p *Platform) Jobs() []*facade.Job {
	ws := p.store.Jobs()
	jobs := make([]*facade.Job, len(ws))
	for i := range ws {
		jobs[i] = toFacade(&ws[i])
	}
	return jobs
}

// Job returns a copy of one job, and false when there is no such job.
func (p *Platform) Job(id string) (*facade.Job, bool) {
	w, err := p.store.Job(id)
	if err != nil {
		return nil, false
	}
	return toFacade(&w), true
}

// toFacade converts a stored job the way a client decodes it: through its
// JSON form, so that Wire returns the generated value.
func toFacade(w *gen.Job) *facade.Job {
	data, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("istaritest: a stored job does not marshal: %v", err))
	}
	j := new(facade.Job)
	if err := json.Unmarshal(data, j); err != nil {
		panic(fmt.Sprintf("istaritest: a stored job does not decode: %v", err))
	}
	return j
}

func osToWire(oss []facade.OS) []gen.OS {
	if oss == nil {
		return nil
	}
	out := make([]gen.OS, len(oss))
	for i, o := range oss {
		out[i] = gen.OS(o)
	}
	return out
}

// Uploads returns the files uploaded for a job, oldest first: the one it was
// created with, then one for each update. It returns nil for an unknown job.
func (p *Platform) Uploads(jobID string) []Upload {
	ups, err := p.store.Uploads(jobID)
	if err != nil {
		return nil
	}
	out := make([]Upload, len(ups))
	for i, u := range ups {
		out[i] = Upload(u)
	}
	return out
}

// Requests returns how many requests the platform has received.
func (p *Platform) Requests() RequestCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return RequestCounts{Total: p.total, ByOperation: maps.Clone(p.byOp)}
}

// lookupUser returns the user a bearer token belongs to.
func (p *Platform) lookupUser(token string) (user, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.users[token]
	return u, ok
}

// count records one received request.
func (p *Platform) count(op Operation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	if op != "" {
		p.byOp[op]++
	}
}

func (p *Platform) currentLatency() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latency
}

// pathExists tells whether some operation serves r's path with another
// method.
func (p *Platform) pathExists(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		c := r.Clone(r.Context())
		c.Method = m
		if _, _, err := p.validator.Route(c); err == nil {
			return true
		}
	}
	return false
}

// statusClientClosedRequest answers a request whose context ended while it
// waited; nobody reads it.
const statusClientClosedRequest = 499

// front runs, for every request, what comes before the generated handler:
// routing on the contract, counting, latency, faults, authentication, the
// body's pace, size and parts (limits.go), and validation.
type front struct {
	p    *Platform
	next http.Handler
}

func (f *front) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	p := f.p
	w := &answer{ResponseWriter: rw}
	paceBody(rw, r, p.pace, p.currentLatency())
	route, _, err := p.validator.Route(r)
	if err != nil {
		p.count("")
		if p.pathExists(r) {
			writeProblem(w, problem{status: http.StatusMethodNotAllowed, detail: "Method Not Allowed"})
			return
		}
		writeProblem(w, problem{status: http.StatusNotFound, detail: "Not Found"})
		return
	}
	op := operationOf(route.Operation.OperationID)
	p.count(op)

	if d := p.currentLatency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			writeProblem(w, problem{status: statusClientClosedRequest, detail: "client closed request"})
			return
		}
	}
	if pr, limited := p.limiter.take(); limited {
		writeProblem(w, pr)
		return
	}
	if fault, ok := p.takeFault(op); ok {
		writeProblem(w, fault.problem())
		return
	}

	token, ok := spec.BearerToken(r)
	if !ok {
		writeProblem(w, problem{status: http.StatusUnauthorized, detail: "Not authenticated"})
		return
	}
	u, ok := p.lookupUser(token)
	if !ok {
		writeProblem(w, problem{status: http.StatusUnauthorized, detail: "Invalid authentication credentials"})
		return
	}

	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(rw, r.Body, p.maxBody)
		countParts(r)
	}
	if _, err := p.validator.ValidateRequest(r); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeProblem(w, problem{status: http.StatusRequestEntityTooLarge,
				detail: fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit)})
		case errors.Is(err, errBodyTooSlow):
			writeProblem(w, problem{status: http.StatusRequestTimeout, detail: fmt.Sprintf(
				"request body too slow: after the first %s, it must come at %d bytes/s on average", p.pace.grace, p.pace.rate)})
		case errors.Is(err, errTooManyParts):
			writeProblem(w, problem{status: http.StatusUnprocessableEntity,
				items: []gen.ValidationErrorItem{item(errTooManyParts.Error(), "value_error", "body")}})
		default:
			writeProblem(w, problem{status: http.StatusUnprocessableEntity, items: validationItems(err)})
		}
		return
	}
	f.next.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
}
