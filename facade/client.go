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
)

// Version is the SDK's version, sent in the default User-Agent.
const Version = "0.1.0"

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
}

// NewClient returns a client for the registry at baseURL, such as
// "https://registry.example.com". The job routes sit under /api/v2, which is
// appended unless baseURL already ends with it; a trailing slash is ignored.
// A URL without a scheme or host is an error, and so is plain http:// to a
// host other than loopback while a token is set, unless [WithInsecureHTTP]
// is given.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{retry: DefaultRetryPolicy(), prefetch: defaultPrefetch}
	for _, o := range opts {
		o(&cfg)
	}
	return newClient(baseURL, cfg)
}

func newClient(baseURL string, cfg config) (*Client, error) {
	base, err := normalizeBaseURL(baseURL, cfg.token != "", cfg.insecureHTTP)
	if err != nil {
		return nil, err
	}
	if cfg.timeout < 0 {
		return nil, &ValidationError{Field: "WithTimeout", Value: cfg.timeout.String(), Reason: "must not be negative"}
	}
	if cfg.prefetch < 0 {
		return nil, &ValidationError{Field: "WithPrefetch", Value: strconv.Itoa(cfg.prefetch), Reason: "must not be negative"}
	}
	if cfg.retry.MinInterval < 0 || cfg.retry.MaxInterval < 0 {
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
	tr := &transport{
		hc: hc, token: cfg.token, userAgent: ua, timeout: cfg.timeout, editors: cfg.editors,
		retry: cfg.retry, logger: logger, sleep: sleepCtx, gate: newGate(cfg.retry.MaxInterval),
	}
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
func normalizeBaseURL(baseURL string, hasToken, insecureOK bool) (string, error) {
	if !strings.Contains(baseURL, "://") {
		// "localhost:8080" parses with the scheme "localhost", and
		// "127.0.0.1:8080" does not parse: say the same for both, and for
		// a bare host.
		return "", &ValidationError{Field: "baseURL", Value: schemelessValue(baseURL),
			Reason: `needs a scheme: "https://" (or "http://" for a local platform)`}
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		// The text of err holds the URL, which may carry a password.
		return "", &ValidationError{Field: "baseURL", Reason: "not a URL"}
	}
	bad := func(reason string) error {
		// Redacted hides a password, so the error never repeats one.
		return &ValidationError{Field: "baseURL", Value: u.Redacted(), Reason: reason}
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

// schemelessValue is a URL without a scheme as an error may show it: not at
// all when it may carry credentials or a query.
func schemelessValue(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "@?#") {
		return "<hidden: it may hold credentials>"
	}
	return s
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
	return fmt.Sprintf("facade.Client{BaseURL: %q, Token: %s, Timeout: %s, Retry: %+v}", c.baseURL, tok, c.tr.timeout, c.tr.retry)
}

// GoString describes the client without its token, for the %#v verb.
func (c *Client) GoString() string { return c.String() }

// callContext carries the operation name and the per-call timeout to the
// transport.
func (c *Client) callContext(ctx context.Context, op string, opts []CallOption) context.Context {
	ci := &callInfo{op: op}
	if len(opts) > 0 {
		var cc callConfig
		for _, o := range opts {
			o(&cc)
		}
		ci.timeout, ci.timeoutSet = cc.timeout, cc.timeoutSet
	}
	return context.WithValue(ctx, callInfoKey{}, ci)
}
