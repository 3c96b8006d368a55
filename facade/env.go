package facade

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

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
	cfg := defaultConfig()
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
	jitter, err := boolVar("ISTARI_CLIENT_RETRY_JITTER_ENABLED", true)
	if err != nil {
		return nil, err
	}
	cfg.retry.NoJitter = !jitter
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
