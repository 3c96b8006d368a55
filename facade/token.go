package facade

import "log/slog"

// bearerToken is the client's bearer token: a personal access token or a
// JWT. Every printed form of it (String, GoString, LogValue, MarshalJSON,
// MarshalText) is "[REDACTED]", so that it cannot leak through fmt,
// log/slog or encoding/json by accident, should a config or transport ever
// be printed or logged.
type bearerToken string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (bearerToken) String() string { return redacted }

// GoString returns "[REDACTED]", for the %#v verb.
func (bearerToken) GoString() string { return redacted }

// LogValue returns "[REDACTED]" for log/slog.
func (bearerToken) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (bearerToken) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[REDACTED]", for encoders that use encoding.TextMarshaler.
func (bearerToken) MarshalText() ([]byte, error) { return []byte(redacted), nil }
