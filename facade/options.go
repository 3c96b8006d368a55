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
	token        Token
	httpClient   *http.Client
	timeout      time.Duration
	userAgent    string
	logger       *slog.Logger
	editors      []RequestEditor
	retry        RetryPolicy
	retrySet     bool
	insecureHTTP bool
	prefetch     int
	getenv       func(string) string
	lenientEnums bool
}

// RequestEditor changes an outgoing request before it is sent, for example
// to add a header. It runs once per attempt, after the SDK's own headers are
// set.
type RequestEditor func(ctx context.Context, req *http.Request) error

// WithToken sets the bearer token sent as "Authorization: Bearer <token>".
func WithToken(token string) Option { return func(c *config) { c.token = Token(token) } }

// WithHTTPClient sets the HTTP client that sends requests. Its Transport is
// used as it is; its Timeout, if any, bounds every attempt on top of
// [WithTimeout]. The client uses a copy of hc whose redirects drop the
// token (and any other credentials) when they leave the base URL's origin;
// hc's own CheckRedirect, if any, runs after that. Without it the client
// uses a tuned transport of its own (TLS 1.2 or newer, up to 100 idle
// connections per host).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithTimeout sets the default timeout of one request (one attempt): the Go
// form of ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS. Zero means no timeout
// beyond the caller's context. [WithRequestTimeout] overrides it per call.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithUserAgent sets the User-Agent header. The default is
// "istari-go/<version> go/<runtime version>".
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithLogger sets the logger that receives one debug record per request
// (operation, method, path, status, duration, attempt) and one per retry. It
// never receives the token or a body. The default discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRequestEditor adds a function that edits every outgoing request, the
// facade's and those of [Client.Raw].
func WithRequestEditor(fn RequestEditor) Option {
	return func(c *config) { c.editors = append(c.editors, fn) }
}

// WithRetry sets the retry policy. [NoRetry] turns retries off.
func WithRetry(p RetryPolicy) Option {
	return func(c *config) { c.retry, c.retrySet = p, true }
}

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
}

// WithUploadProgress reports the progress of the upload of [Client.AddJob]
// and [Client.UpdateJob]: fn is called from the goroutine that sends the
// request, with the bytes of the request body sent so far and its total
// size, as the body is read. A retry starts again from zero. Other methods
// ignore it.
func WithUploadProgress(fn func(sent, total int64)) CallOption {
	return func(c *callConfig) { c.progress = fn }
}

// WithRequestTimeout bounds each attempt of this call: the Go form of the
// Python SDK's http_request_timeout_secs. The caller's context bounds the
// whole call, retries included.
func WithRequestTimeout(d time.Duration) CallOption {
	return func(c *callConfig) { c.timeout, c.timeoutSet = d, true }
}
