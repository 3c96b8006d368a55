package facade

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a [Client] at construction.
type Option func(*config)

// config is what the options set; NewClient turns it into a Client.
type config struct {
	token Token
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

// defaultConfig is the configuration before any option.
func defaultConfig() config {
	return config{retry: DefaultRetryPolicy(), prefetch: defaultPrefetch, timeout: defaultTimeout}
}

// RequestEditor changes an outgoing request before it is sent, for example
// to add a header or to sign it. It runs once per attempt, after the SDK's
// own headers are set, on a fresh copy of the request as the SDK built it,
// so that edits never pile up across retries. ctx is the attempt's
// context, as req.Context() is: [OperationFromContext] and
// [AttemptFromContext] tell which call and attempt it is.
type RequestEditor func(ctx context.Context, req *http.Request) error

// WithToken sets the bearer token sent as "Authorization: Bearer <token>".
// A token with a control character or surrounding white space is refused
// by [NewClient], with an error that does not repeat it.
func WithToken(token string) Option {
	return func(c *config) { c.token, c.tokenField = Token(token), "WithToken" }
}

// WithHTTPClient sets the HTTP client that sends requests. Its Transport is
// used as it is; its Timeout, if any, bounds every attempt on top of
// [WithTimeout]. The client uses a copy of hc whose redirects drop the
// token (and any other credentials) when they leave the base URL's origin;
// hc's own CheckRedirect, if any, runs after that. Without it the client
// uses a tuned transport of its own (TLS 1.2 or newer, up to 100 idle
// connections per host).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// defaultTimeout bounds each attempt when no timeout is set, so that a
// stalled server cannot hang a call whose caller passed no deadline.
const defaultTimeout = 60 * time.Second

// WithTimeout sets the default timeout of one request (one attempt): the Go
// form of ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS. The default is 60 s;
// zero means no timeout beyond the caller's context. [WithRequestTimeout]
// overrides it per call.
//
// The uploads ([Client.AddJob] and [Client.UpdateJob]) get a stall timeout
// instead, since a large file may take longer than any fixed bound: an
// attempt ends when no progress is made for that long, neither sending the
// request's body nor reading the answer.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithUserAgent sets the User-Agent header. The default is
// "istari-go/<version> go/<runtime version>".
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithLogger sets the logger that receives one debug record per request
// (operation, method, path, status, duration, attempt) and one per retry.
// The operation is an [Operation], such as "GetJob", or "Raw" for a request
// of [Client.Raw]. It
// never receives the token or a body. The default discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRequestEditor adds a function that edits every outgoing request, the
// facade's and those of [Client.Raw].
func WithRequestEditor(fn RequestEditor) Option {
	return func(c *config) { c.editors = append(c.editors, fn) }
}

// WithRetry sets the retry policy. Its fields left at zero keep their
// defaults; [NoRetry] turns retries off.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithMaxResponseBytes limits the body of a 2xx answer, the facade's and
// those of [Client.Raw] alike (default 64 MiB). The body of any other
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

// WithPrefetch sets how many pages [Client.AllJobs] and
// [Client.AllModelJobs] fetch ahead of the page being consumed. The default
// is 4: while the caller reads page N, pages N+1 to N+4 are fetched
// concurrently, and they are yielded in order. At most that many pages are
// held in memory beyond the current one. 1 fetches page N+1 while the caller
// reads page N; zero fetches strictly one page at a time.
func WithPrefetch(pages int) Option { return func(c *config) { c.prefetch = pages } }

// WithEnv makes [NewClientFromEnv] read its variables through getenv
// instead of [os.Getenv], so that a test or a command-line tool can supply
// them (a command-line flag can win over a variable this way). [NewClient]
// ignores it.
func WithEnv(getenv func(key string) string) Option { return func(c *config) { c.getenv = getenv } }

// CallOption configures one method call.
type CallOption func(*callConfig)

type callConfig struct {
	timeout    time.Duration
	timeoutSet bool
	progress   func(sent, total int64)
	info       *ResponseInfo
}

// WithUploadProgress reports the progress of the upload of [Client.AddJob]
// and [Client.UpdateJob]: fn is called with the bytes of the request body
// handed to the connection so far and the body's total size, as the body
// is read. The calls come from the goroutine that writes the request, one
// at a time (never concurrently, even when a retry's writer overlaps the
// previous attempt's), and never after the method has returned; fn should
// return quickly, since the upload waits for it. Each attempt reports from
// its start: on a retry, sent starts again from 0, and the previous
// attempt reports nothing more. Other methods ignore it.
func WithUploadProgress(fn func(sent, total int64)) CallOption {
	return func(c *callConfig) { c.progress = fn }
}

// WithRequestTimeout bounds each attempt of this call: the Go form of the
// Python SDK's http_request_timeout_secs. The caller's context bounds the
// whole call, retries included. Zero turns the attempt's timeout off. For
// an upload it is the stall timeout (see [WithTimeout]).
func WithRequestTimeout(d time.Duration) CallOption {
	return func(c *callConfig) { c.timeout, c.timeoutSet = d, true }
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

// WithResponseInfo makes the call fill *info with the status, header,
// request id, number of attempts and time of its last answer, on success
// and on failure alike. A call that fails before sending leaves it zero.
func WithResponseInfo(info *ResponseInfo) CallOption {
	return func(c *callConfig) { c.info = info }
}
