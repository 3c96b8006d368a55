package facade

import "log/slog"

// Token is a bearer token: a personal access token or a JWT. Every printed
// form of it (String, GoString, LogValue, MarshalJSON) is "[REDACTED]", so it
// cannot leak through fmt, log/slog or encoding/json by accident.
type Token string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Token) String() string { return redacted }

// GoString returns "[REDACTED]", for the %#v verb.
func (Token) GoString() string { return redacted }

// LogValue returns "[REDACTED]" for log/slog.
func (Token) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (Token) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[REDACTED]", for encoders that use encoding.TextMarshaler.
func (Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }
