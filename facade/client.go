package facade

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/istari-go/sdk/gen"
)

// Version is the SDK's version, sent in the default User-Agent.
const Version = "0.1.0"

// apiPrefix is where the registry's job routes sit.
const apiPrefix = "/api/v2"

// Client calls the job API of the Istari Digital Platform. Create one with
// [NewClient] or [NewClientFromEnv]; it is safe for concurrent use, and one
// Client should be shared rather than one made per call.
type Client struct {
	baseURL  string
	api      *gen.Client
	raw      *gen.ClientWithResponses
	tr       *transport
	prefetch int
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
		retry: cfg.retry, logger: logger, sleep: sleepCtx,
	}
	api, err := gen.NewClient(base, gen.WithHTTPClient(tr))
	if err != nil {
		return nil, fmt.Errorf("facade: %w", err)
	}
	raw, err := gen.NewClientWithResponses(base, gen.WithHTTPClient(tr))
	if err != nil {
		return nil, fmt.Errorf("facade: %w", err)
	}
	return &Client{baseURL: base, api: api, raw: raw, tr: tr, prefetch: cfg.prefetch}, nil
}

// normalizeBaseURL checks baseURL and returns it with the /api/v2 prefix and
// without a trailing slash.
func normalizeBaseURL(baseURL string, hasToken, insecureOK bool) (string, error) {
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

// NewClientFromEnv returns a client configured as the Python SDK is, from
// the environment:
//
//   - ISTARI_REGISTRY_URL: the registry's URL (required);
//   - ISTARI_REGISTRY_AUTH_TOKEN: the bearer token (required unless
//     [WithToken] is given);
//   - ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS: the default request timeout;
//   - ISTARI_CLIENT_RETRY_ENABLED (default true),
//     ISTARI_CLIENT_RETRY_MAX_ATTEMPTS, ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS,
//     ISTARI_CLIENT_RETRY_MAX_INTERVAL_MILLIS and
//     ISTARI_CLIENT_RETRY_JITTER_ENABLED (default true): the retry policy;
//   - ISTARI_CLIENT_LOG_LEVEL (default INFO): when set and no [WithLogger]
//     is given, records at that level and above go to standard error.
//
// Explicit options win over the environment, and [WithEnv] replaces the
// environment. A missing or malformed variable is an error that names it.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	cfg := config{retry: DefaultRetryPolicy(), prefetch: defaultPrefetch}
	var probe config
	for _, o := range opts {
		o(&probe)
	}
	getenv := os.Getenv
	if probe.getenv != nil {
		getenv = probe.getenv
	}
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	envErr := func(name, v, reason string, err error) error {
		return &ValidationError{Field: name, Value: v, Reason: reason, Err: err}
	}

	baseURL := env("ISTARI_REGISTRY_URL")
	if baseURL == "" {
		return nil, envErr("ISTARI_REGISTRY_URL", "", "is not set: it must hold the registry's URL", nil)
	}
	cfg.token = Token(env("ISTARI_REGISTRY_AUTH_TOKEN"))
	if v := env("ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 {
			return nil, envErr("ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", v, "must be a number of seconds, 0 or more", err)
		}
		cfg.timeout = time.Duration(secs * float64(time.Second))
	}
	boolVar := func(name string, def bool) (bool, error) {
		v := env(name)
		if v == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, envErr(name, v, "must be true or false", err)
		}
		return b, nil
	}
	intVar := func(name string, dst *int) error {
		v := env(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return envErr(name, v, "must be a whole number, 0 or more", err)
		}
		*dst = n
		return nil
	}
	enabled, err := boolVar("ISTARI_CLIENT_RETRY_ENABLED", true)
	if err != nil {
		return nil, err
	}
	if cfg.retry.Jitter, err = boolVar("ISTARI_CLIENT_RETRY_JITTER_ENABLED", true); err != nil {
		return nil, err
	}
	minMs, maxMs := int(cfg.retry.MinInterval/time.Millisecond), int(cfg.retry.MaxInterval/time.Millisecond)
	for _, e := range []error{
		intVar("ISTARI_CLIENT_RETRY_MAX_ATTEMPTS", &cfg.retry.MaxAttempts),
		intVar("ISTARI_CLIENT_RETRY_MIN_INTERVAL_MILLIS", &minMs),
		intVar("ISTARI_CLIENT_RETRY_MAX_INTERVAL_MILLIS", &maxMs),
	} {
		if e != nil {
			return nil, e
		}
	}
	cfg.retry.MinInterval = time.Duration(minMs) * time.Millisecond
	cfg.retry.MaxInterval = time.Duration(maxMs) * time.Millisecond
	if !enabled {
		cfg.retry = NoRetry()
	}
	if v := env("ISTARI_CLIENT_LOG_LEVEL"); v != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return nil, envErr("ISTARI_CLIENT_LOG_LEVEL", v, "must be DEBUG, INFO, WARN or ERROR", err)
		}
		cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	}

	for _, o := range opts {
		o(&cfg)
	}
	if cfg.token == "" {
		return nil, envErr("ISTARI_REGISTRY_AUTH_TOKEN", "", "is not set: it must hold a personal access token or a JWT", nil)
	}
	return newClient(baseURL, cfg)
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
