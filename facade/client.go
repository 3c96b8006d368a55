package facade

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	"github.com/istari-go/sdk/api"
	"github.com/istari-go/sdk/gen"
	"github.com/istari-go/sdk/internal/urlmask"
)

// Version is the SDK's version, sent in the default User-Agent. It is the
// newest version in CHANGELOG.md.
const Version = "0.3.0"

// apiPrefix is where the registry's job routes sit.
const apiPrefix = api.BasePath

// Client calls the job API of the Istari Digital Platform. Create one with
// [NewClient] or [NewClientFromEnv]; it is safe for concurrent use, and one
// Client should be shared rather than one made per call.
type Client struct {
	baseURL  string
	api      *gen.Client
	raw      *gen.ClientWithResponses
	tr       *transport
	prefetch int
	// lenientEnums sends enum values the SDK does not list.
	lenientEnums bool
	uploads      uploadPools // the memory of uploads, recycled (upload_pass.go)
}

// NewClient returns a client for the registry at baseURL, such as
// "https://registry.example.com": the registry's URL, as
// ISTARI_REGISTRY_URL holds it. The job routes sit under /api/v2, which is
// appended (a baseURL that already ends with it is accepted as it is); a
// trailing slash is ignored.
// A URL without a scheme or host is an error, and so is plain http:// to a
// host other than loopback while a token is set, unless [WithInsecureHTTP]
// is given. Errors about the URL show it with its user info and query
// values masked. A token with a control character or surrounding white
// space is an error that does not repeat it.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return newClient(baseURL, cfg)
}

func newClient(baseURL string, cfg config) (*Client, error) {
	if err := checkToken(cfg.token, cfg.tokenField); err != nil {
		return nil, err
	}
	urlField := cfg.urlField
	if urlField == "" {
		urlField = "baseURL"
	}
	base, err := normalizeBaseURL(urlField, baseURL, cfg.token != "", cfg.insecureHTTP)
	if err != nil {
		return nil, err
	}
	if cfg.maxResponseBytes < 0 {
		return nil, &ValidationError{Field: "WithMaxResponseBytes", Value: strconv.FormatInt(cfg.maxResponseBytes, 10), Reason: "must not be negative"}
	}
	if cfg.maxResponseBytes == 0 {
		cfg.maxResponseBytes = defaultMaxResponseBytes
	}
	switch {
	case cfg.timeout == NoTimeout:
		cfg.timeout = 0 // the transport's "none"
	case cfg.timeout == 0:
		cfg.timeout = defaultTimeout
	case cfg.timeout < 0:
		return nil, &ValidationError{Field: "WithTimeout", Value: cfg.timeout.String(), Reason: "must not be negative (NoTimeout turns the timeout off; 0 means the default)"}
	}
	switch {
	case cfg.prefetch == NoPrefetch:
		cfg.prefetch = 0 // the iterators' "one page at a time"
	case cfg.prefetch == 0:
		cfg.prefetch = defaultPrefetch
	case cfg.prefetch < 0:
		return nil, &ValidationError{Field: "WithPrefetch", Value: strconv.Itoa(cfg.prefetch), Reason: "must not be negative (NoPrefetch fetches one page at a time; 0 means the default)"}
	}
	if cfg.retry.MaxAttempts < 0 {
		return nil, &ValidationError{Field: "RetryPolicy.MaxAttempts", Value: strconv.Itoa(cfg.retry.MaxAttempts), Reason: "must not be negative (0 means the default; NoRetry makes one attempt)"}
	}
	if cfg.retry.MinInterval < 0 || cfg.retry.MaxInterval < 0 || cfg.retry.MaxRetryAfter < 0 {
		return nil, &ValidationError{Field: "RetryPolicy", Reason: "intervals must not be negative"}
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{Transport: DefaultTransport()}
	}
	hc = guardRedirects(hc)
	ua := cfg.userAgent
	if ua == "" {
		ua = "istari-go/" + Version + " go/" + strings.TrimPrefix(runtime.Version(), "go")
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bu, err := url.Parse(base)
	if err != nil {
		return nil, &ValidationError{Field: urlField, Reason: "not a URL"}
	}
	tr := &transport{
		hc: hc, token: cfg.token, userAgent: ua, timeout: cfg.timeout, editors: cfg.editors,
		retry: cfg.retry.withDefaults(), logger: logger, sleep: sleepCtx,
		maxBody: cfg.maxResponseBytes, basePath: bu.Path,
		// A hold lasts at most MaxRetryAfter: a longer Retry-After ends
		// the call that got it instead of being waited out.
		gate: newGate(cfg.retry.withDefaults().MaxRetryAfter),
		obs:  cfg.observers,
	}
	if cfg.token != "" {
		tr.auth = "Bearer " + cfg.token
	}
	tr.shared = len(cfg.editors) == 0 && len(cfg.middleware) == 0 && len(cfg.observers) == 0
	tr.send = chain(append(cfg.middleware[:len(cfg.middleware):len(cfg.middleware)], cfg.observers.middleware()...), hc.Do)
	api, err := gen.NewClient(base, gen.WithHTTPClient(tr))
	if err != nil {
		return nil, fmt.Errorf("facade: %w", err)
	}
	raw, err := gen.NewClientWithResponses(base, gen.WithHTTPClient(tr))
	if err != nil {
		return nil, fmt.Errorf("facade: %w", err)
	}
	return &Client{baseURL: base, api: api, raw: raw, tr: tr, prefetch: cfg.prefetch, lenientEnums: cfg.lenientEnums}, nil
}

// normalizeBaseURL checks baseURL and returns it with the /api/v2 prefix and
// without a trailing slash.
func normalizeBaseURL(field, baseURL string, hasToken, insecureOK bool) (string, error) {
	if !strings.Contains(baseURL, "://") {
		// "localhost:8080" parses with the scheme "localhost", and
		// "127.0.0.1:8080" does not parse: say the same for both, and for
		// a bare host.
		return "", &ValidationError{Field: field, Value: schemelessValue(baseURL),
			Reason: `needs a scheme: "https://" (or "http://" for a local platform)`}
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		// The text of err holds the URL, which may carry a password.
		return "", &ValidationError{Field: field, Reason: "not a URL"}
	}
	bad := func(reason string) error {
		return &ValidationError{Field: field, Value: maskURL(u), Reason: reason}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", bad(`needs the scheme "https://" (or "http://")`)
	}
	if u.Host == "" {
		return "", bad("has no host")
	}
	if u.User != nil {
		return "", bad("must not carry credentials; use WithToken")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", bad("must not have a query or fragment")
	}
	if u.Scheme == "http" && hasToken && !insecureOK && !isLoopback(u.Hostname()) {
		return "", bad("plain http:// would send the token in clear text to a host that is not loopback; use https:// or WithInsecureHTTP()")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if !strings.HasSuffix(u.Path, apiPrefix) {
		u.Path += apiPrefix
	}
	return u.String(), nil
}

// schemelessValue is a URL without a scheme as an error may show it:
// masked as maskURL masks any URL, or not at all when it does not parse.
func schemelessValue(s string) string {
	u, err := url.Parse("//" + strings.TrimSpace(s))
	if err != nil {
		return "<not shown: not a URL>"
	}
	return strings.TrimPrefix(maskURL(u), "//")
}

// maskURL prints u with its user info and every query value masked
// ("https://***@host/?sig=***"), and its fragment too, so that an error
// never repeats a secret carried in a URL. Telemetry masks URLs the same
// way (internal/urlmask).
func maskURL(u *url.URL) string { return urlmask.Mask(u) }

// checkToken refuses a token net/http would refuse to send, or that was
// pasted with white space around it. The error never repeats the token.
func checkToken(tok bearerToken, field string) error {
	if tok == "" {
		return nil
	}
	if field == "" {
		field = "ISTARI_REGISTRY_AUTH_TOKEN"
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x20 || c == 0x7f {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("the token holds a control character (byte %d of %d)", i+1, len(tok))}
		}
	}
	if strings.TrimSpace(string(tok)) != string(tok) {
		return &ValidationError{Field: field, Reason: "the token has white space around it"}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultTransport returns the transport a Client uses when no HTTP client is
// given: the standard library's defaults, TLS 1.2 or newer, and up to 100
// idle connections per host, so that concurrent callers reuse connections
// instead of opening new ones.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 200
	t.MaxIdleConnsPerHost = 100
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return t
}

// BaseURL returns the URL every route is resolved against, /api/v2 included.
func (c *Client) BaseURL() string { return c.baseURL }

// Raw returns the generated client, for calls the facade does not cover. It
// shares the facade's base URL, auth, transport, user agent, request editors
// and retries.
func (c *Client) Raw() *gen.ClientWithResponses { return c.raw }

// CloseIdleConnections closes the connections the client keeps open for
// reuse, as [http.Client.CloseIdleConnections] does. The client stays usable.
func (c *Client) CloseIdleConnections() { c.tr.hc.CloseIdleConnections() }

// String describes the client without its token.
func (c *Client) String() string {
	tok := "<none>"
	if c.tr.token != "" {
		tok = redacted
	}
	return fmt.Sprintf("facade.Client{BaseURL: %q, Token: %s, Timeout: %s, Retry: %+v, MaxResponseBytes: %d}", c.baseURL, tok, c.tr.timeout, c.tr.retry, c.tr.maxBody)
}

// GoString describes the client without its token, for the %#v verb.
func (c *Client) GoString() string { return c.String() }

// callContext carries the operation, the per-call timeout and the
// response info to the transport.
func (c *Client) callContext(ctx context.Context, op Operation, cc callConfig) *callContext {
	cx := &callContext{Context: ctx, ci: callInfo{op: op, info: cc.info}}
	switch cc.timeout {
	case 0: // the client's
	case NoTimeout:
		cx.ci.timeoutSet = true
	default:
		cx.ci.timeout, cx.ci.timeoutSet = cc.timeout, true
	}
	return cx
}

// callContext is a facade call's context: its parent, and the callInfo
// the transport reads from it, in one allocation where context.WithValue
// takes two.
type callContext struct {
	context.Context
	ci callInfo
}

// answer returns the body of the call's final answer if the transport read
// it within the attempt (nil otherwise), for the call's decoding.
func (c *callContext) answer() []byte { return c.ci.answer }

func (c *callContext) Value(key any) any {
	if key == (callInfoKey{}) {
		return &c.ci
	}
	return c.Context.Value(key)
}
