package facade

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// NewClientFromEnv returns a client configured as the Python SDK is, from
// the environment: ISTARI_REGISTRY_URL (required), ISTARI_REGISTRY_AUTH_TOKEN
// (required unless [WithToken] is given), ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS
// (0 turns the timeout off, as in the Python SDK), the retry policy's
// ISTARI_CLIENT_RETRY_ENABLED, _MAX_ATTEMPTS, _MIN_INTERVAL_MILLIS,
// _MAX_INTERVAL_MILLIS and _JITTER_ENABLED, and ISTARI_CLIENT_LOG_LEVEL (when
// no [WithLogger] is given, records at that level and above go to standard
// error). docs/client.md has the table.
//
// Explicit options win over the environment, and [WithEnv] replaces the
// environment. A missing or malformed variable is an error that names it.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	var probe config
	for _, o := range opts {
		if o != nil {
			o(&probe)
		}
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
	cfg.token = bearerToken(env("ISTARI_REGISTRY_AUTH_TOKEN"))
	if v := env("ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS"); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			return nil, envErr("ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS", v, err.Error(), nil)
		}
		cfg.timeout = d
		if d == 0 {
			cfg.timeout = NoTimeout
		}
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
	// Zero is refused: in a RetryPolicy it means "the default", which
	// would surprise whoever wrote 0 here. Retries are turned off with
	// ISTARI_CLIENT_RETRY_ENABLED=false.
	intVar := func(name string, dst *int) error {
		v := env(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEnvInt {
			return envErr(name, v, fmt.Sprintf("must be a whole number from 1 to %d (ISTARI_CLIENT_RETRY_ENABLED=false turns retries off)", maxEnvInt), nil)
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
		lvl, err := parseLogLevel(v)
		if err != nil {
			return nil, envErr("ISTARI_CLIENT_LOG_LEVEL", v, "must be DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL or FATAL, in any case", err)
		}
		cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	}

	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.token == "" {
		return nil, envErr("ISTARI_REGISTRY_AUTH_TOKEN", "", "is not set: it must hold a personal access token or a JWT", nil)
	}
	cfg.urlField = "ISTARI_REGISTRY_URL"
	return newClient(baseURL, cfg)
}

// maxEnvInt bounds the whole-number variables: a retry count or interval
// in milliseconds past a billion is a typing error, and it keeps every
// interval far from overflowing a time.Duration.
const maxEnvInt = 1_000_000_000

// parseSeconds reads a timeout in seconds, as the Python SDK takes it: a
// number, 0 (no timeout) or at least a millisecond, and small enough for a
// time.Duration. NaN, infinities and overflowing values are refused.
func parseSeconds(v string) (time.Duration, error) {
	secs, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(secs) || math.IsInf(secs, 0):
		return 0, errors.New("must be a number of seconds, such as 30 or 2.5")
	case secs < 0:
		return 0, errors.New("must not be negative")
	case secs == 0:
		return 0, nil
	case secs < 0.001:
		return 0, errors.New("must be 0 (no timeout) or at least 0.001 (a millisecond)")
	case secs > float64(math.MaxInt64/int64(time.Second)):
		return 0, fmt.Errorf("must be at most %d seconds", math.MaxInt64/int64(time.Second))
	}
	return time.Duration(secs * float64(time.Second)).Round(time.Millisecond), nil
}

// parseLogLevel reads a log level by the Python logging module's names
// (DEBUG, INFO, WARNING, ERROR, CRITICAL, FATAL) or log/slog's (WARN,
// and offsets such as INFO+2), in any case.
func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToUpper(v) {
	case "WARNING":
		return slog.LevelWarn, nil
	case "CRITICAL", "FATAL":
		return slog.LevelError + 4, nil
	}
	var lvl slog.Level
	err := lvl.UnmarshalText([]byte(strings.ToUpper(v)))
	return lvl, err
}
