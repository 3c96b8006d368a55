package facade

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Option configures a [Client] at construction.
type Option func(*config)

// config is what the options set; NewClient turns it into a Client.
type config struct {
	token bearerToken
	// tokenField names where the token came from, for its errors.
	tokenField string
	// urlField names where the base URL came from, for its errors
	// ("baseURL" when empty).
	urlField     string
	httpClient   *http.Client
	timeout      time.Duration
	userAgent    string
	logger       *slog.Logger
	editors      []RequestEditor
	retry        RetryPolicy
	insecureHTTP bool
	prefetch     int
	getenv       func(string) string
	lenientEnums bool
	// maxResponseBytes limits a 2xx answer's body; 0 means the default.
	maxResponseBytes int64
	middleware       []Middleware
	observers        observers
}

// defaultConfig is the configuration before any option. Its zero fields
// take their defaults in newClient, as an option given zero does.
func defaultConfig() config {
	return config{retry: DefaultRetryPolicy()}
}

// RequestEditor changes an outgoing request before it is sent, for example
// to add a header or to sign it. It runs once per attempt, after the SDK's
// own headers are set, on a fresh copy of the request as the SDK built it,
// so that edits never pile up across retries. ctx is the attempt's
// context, as req.Context() is: [OperationFromContext] and
// [AttemptFromContext] tell which call and attempt it is.
type RequestEditor func(ctx context.Context, req *http.Request) error

// WithToken sets the bearer token sent as "Authorization: Bearer <token>".
// One trailing line break ("\n" or "\r\n"), as a token read whole from a
// file ends with, is trimmed. A token that still holds a control character
// or has white space around it is refused by [NewClient], with an error
// that does not repeat it. The empty token, the default, sends no
// Authorization header.
func WithToken(token string) Option {
	if t, ok := strings.CutSuffix(token, "\n"); ok {
		token = strings.TrimSuffix(t, "\r")
	}
	return func(c *config) { c.token, c.tokenField = bearerToken(token), "WithToken" }
}

// WithHTTPClient sets the HTTP client that sends requests. Its Transport is
// used as it is; its Timeout, if any, bounds every attempt on top of
// [WithTimeout]. The client uses a copy of hc whose redirects drop the
// token (and any other credentials) when they leave the base URL's origin;
// hc's own CheckRedirect, if any, runs after that. Without it the client
// uses a tuned transport of its own (TLS 1.2 or newer, up to 100 idle
// connections per host), as it does when hc is nil.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// defaultTimeout bounds each attempt when no timeout is set, so that a
// stalled server cannot hang a call whose caller passed no deadline.
const defaultTimeout = 60 * time.Second

// NoTimeout, given to [WithTimeout] or [WithRequestTimeout], turns the
// timeout of each attempt off, so that only the caller's context bounds a
// call. Zero, as everywhere in the SDK, means the default instead.
const NoTimeout time.Duration = -1

// WithTimeout sets the default timeout of one request (one attempt): the Go
// form of ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS. The default is 60 s, and
// zero means the default; [NoTimeout] turns it off, leaving only the
// caller's context. Any other negative value is refused by [NewClient].
// [WithRequestTimeout] overrides it per call.
//
// The uploads ([Client.AddJob] and [Client.UpdateJob]) get a stall timeout
// instead, since a large file may take longer than any fixed bound: an
// attempt ends when no progress is made for that long, neither sending the
// request's body nor reading the answer.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithUserAgent sets the User-Agent header. The default, also for "", is
// "istari-go/<version> go/<runtime version>".
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithLogger sets the logger that receives one debug record per request
// (operation, method, path, status, duration, attempt) and one per retry.
// The operation is an [Operation], such as "GetJob", or "Raw" for a request
// of [Client.Raw]. It
// never receives the token or a body. The default, also for nil, discards
// everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRequestEditor adds a function that edits every outgoing request, the
// facade's and those of [Client.Raw]. A nil fn adds nothing.
func WithRequestEditor(fn RequestEditor) Option {
	return func(c *config) {
		if fn != nil {
			c.editors = append(c.editors, fn)
		}
	}
}

// WithRetry sets the retry policy. Its fields left at zero keep their
// defaults; [NoRetry] turns retries off.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithMaxResponseBytes limits the body of a 2xx answer, the facade's and
// those of [Client.Raw] alike (default 64 MiB, also for 0; a negative n is
// refused by [NewClient]). The body of any other
// answer is limited to 64 KiB. Reading past the limit is an error that
// matches [ErrResponseTooLarge] and names the limit; a body that net/http
// decompresses counts decompressed. An answer whose Content-Length is
// above the limit is refused before its body is read.
func WithMaxResponseBytes(n int64) Option { return func(c *config) { c.maxResponseBytes = n } }

// WithInsecureHTTP allows plain http:// to a host that is not loopback while
// a token is set. Without it such a client is refused, since the token would
// cross the network in clear text.
func WithInsecureHTTP() Option { return func(c *config) { c.insecureHTTP = true } }

// defaultPrefetch is how many pages the iterators fetch ahead by default.
// One page ahead only overlaps a fetch with the caller's work, so a caller
// that reads fast still waits for every round trip; four in flight cut the
// wall time of a long list to about a third on a 5 ms round trip, while at
// most four pages (400 jobs at the iterators' page size) are held and a
// server sees at most four concurrent requests from one iteration.
const defaultPrefetch = 4

// NoPrefetch, given to [WithPrefetch], makes the iterators fetch strictly
// one page at a time, each when the caller reaches it. Zero, as everywhere
// in the SDK, means the default instead.
const NoPrefetch = -1

// WithPrefetch sets how many pages [Client.AllJobs] and
// [Client.AllModelJobs] fetch ahead of the page being consumed. The default,
// also for 0, is 4: while the caller reads page N, pages N+1 to N+4 are
// fetched concurrently, and they are yielded in order. At most that many
// pages are held in memory beyond the current one. 1 fetches page N+1 while
// the caller reads page N; [NoPrefetch] fetches strictly one page at a time.
// Any other negative value is refused by [NewClient].
func WithPrefetch(pages int) Option { return func(c *config) { c.prefetch = pages } }

// WithEnv makes [NewClientFromEnv] read its variables through getenv
// instead of [os.Getenv], so that a test or a command-line tool can supply
// them (a command-line flag can win over a variable this way). A nil
// getenv means [os.Getenv]. [NewClient] ignores it.
func WithEnv(getenv func(key string) string) Option { return func(c *config) { c.getenv = getenv } }

// CallOption configures one method call. An option that has no meaning for
// a method is refused with a [*ValidationError] naming it, before anything
// is sent ([WithUploadProgress] given to a method that uploads nothing, say);
// a nil CallOption, like an option given its zero value, changes nothing.
//
// The methods that make many requests apply [WithRequestTimeout] to each
// request; [WithResponseInfo] describes the last request made (for the
// iterators, the page of the item just yielded) and is filled on the
// caller's goroutine; AddJobs refuses it and [WithUploadProgress], which
// [JobResult.Info] and [BatchOptions.OnUploadProgress] give per job.
// COMPATIBILITY.md states the rule for every such method.
type CallOption func(*callConfig)

type callConfig struct {
	// timeout bounds each attempt: 0 means the client's, NoTimeout none.
	timeout  time.Duration
	progress func(sent, total int64)
	info     *ResponseInfo
}

// callOptions applies opts.
func callOptions(opts []CallOption) callConfig {
	var cc callConfig
	for _, o := range opts {
		if o != nil {
			o(&cc)
		}
	}
	return cc
}

// checkTimeout refuses a negative timeout other than NoTimeout.
func (cc callConfig) checkTimeout() error {
	if cc.timeout < 0 && cc.timeout != NoTimeout {
		return &ValidationError{Field: "WithRequestTimeout", Value: cc.timeout.String(), Reason: "must not be negative (NoTimeout turns the timeout off; 0 means the client's)"}
	}
	return nil
}

// opOptions applies opts for one request of op, and refuses those that
// have no meaning for it.
func opOptions(op Operation, opts []CallOption) (callConfig, error) {
	cc := callOptions(opts)
	if err := cc.checkTimeout(); err != nil {
		return cc, err
	}
	if cc.progress != nil && op != OpAddJob && op != OpUpdateJob {
		return cc, noUploadError(string(op))
	}
	return cc, nil
}

// manyOptions applies opts for method, which makes more than one request,
// and refuses those that have no meaning for it (see CallOption).
func manyOptions(method string, opts []CallOption) (callConfig, error) {
	cc := callOptions(opts)
	if err := cc.checkTimeout(); err != nil {
		return cc, err
	}
	if cc.progress != nil {
		return cc, noUploadError(method)
	}
	return cc, nil
}

// noUploadError refuses WithUploadProgress for a method that uploads
// nothing.
func noUploadError(method string) error {
	return &ValidationError{Field: "WithUploadProgress", Reason: method + " uploads no file; only AddJob and UpdateJob report upload progress"}
}

// with returns an option that sets a call's configuration to cc, with info
// as its ResponseInfo: how a method that makes many requests hands its
// options on to each.
func (cc callConfig) with(info *ResponseInfo) CallOption {
	return func(d *callConfig) { *d = cc; d.info = info }
}

// WithUploadProgress reports the progress of the upload of [Client.AddJob]
// and [Client.UpdateJob]: fn is called with the bytes of the request body
// handed to the connection so far and the body's total size, as the body
// is read. The calls come from the goroutine that writes the request, one
// at a time (never concurrently, even when a retry's writer overlaps the
// previous attempt's), and never after the method has returned; fn should
// return quickly, since the upload waits for it. Each attempt reports from
// its start: on a retry, sent starts again from 0, and the previous
// attempt reports nothing more. The other methods refuse it (see
// [CallOption]); a nil fn reports nothing.
func WithUploadProgress(fn func(sent, total int64)) CallOption {
	return func(c *callConfig) { c.progress = fn }
}

// WithRequestTimeout bounds each attempt of this call: the Go form of the
// Python SDK's http_request_timeout_secs. The caller's context bounds the
// whole call, retries included. Zero means the client's timeout (see
// [WithTimeout]), and [NoTimeout] turns the attempt's timeout off; any
// other negative value is refused. For an upload it is the stall timeout
// (see [WithTimeout]).
func WithRequestTimeout(d time.Duration) CallOption {
	return func(c *callConfig) { c.timeout = d }
}

// ResponseInfo is what a call learned of the platform's last answer. Pass
// one to [WithResponseInfo]; the call fills it on success and on failure.
type ResponseInfo struct {
	// Operation is the operation of the request the answer belongs to,
	// such as [OpGetJob]; for a method that makes requests of more than
	// one operation ([Client.WaitForJobs]), the one that made the last.
	Operation Operation
	// StatusCode is the last answer's HTTP status, 0 when none arrived.
	StatusCode int
	// Header is the last answer's header, nil when none arrived.
	Header http.Header
	// RequestID is the answer's X-Request-Id header, or X-Correlation-Id
	// when that is present instead.
	RequestID string
	// Attempts is how many attempts the call made, the first included.
	Attempts int
	// Elapsed is the call's time in the transport, retries and waits
	// included, until the last answer arrived (a 2xx answer's body
	// included).
	Elapsed time.Duration
}

func (ri *ResponseInfo) fill(status int, h http.Header) {
	ri.StatusCode, ri.Header, ri.RequestID = status, h, requestID(h)
}

// requestID returns the answer's request id: X-Request-Id, or
// X-Correlation-Id when that is present.
func requestID(h http.Header) string {
	if id := h.Get("X-Request-Id"); id != "" {
		return id
	}
	return h.Get("X-Correlation-Id")
}

// WithResponseInfo makes the call fill *info with the operation, status,
// header, request id, number of attempts and time of its last answer, on
// success and on failure alike. A call that fails before sending leaves it
// zero. [CallOption] says what it describes for a method that makes more
// than one request; a nil info is not filled.
func WithResponseInfo(info *ResponseInfo) CallOption {
	return func(c *callConfig) { c.info = info }
}
