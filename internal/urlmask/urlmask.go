// Package urlmask prints URLs without the secrets they may carry. The
// facade's errors and facade/istariotel's telemetry share it, so that both
// show a URL the same way.
package urlmask

import (
	"net/url"
	"strings"
)

// Mask prints u with its user info and every query value masked
// ("https://***@host/?sig=***"), and its fragment too, so that what it
// returns never repeats a secret carried in a URL. The query's keys, the
// scheme, host and path are kept.
func Mask(u *url.URL) string {
	m := *u
	if m.User != nil {
		m.User = url.User("***")
	}
	if m.RawQuery != "" {
		var b strings.Builder
		for i, kv := range strings.Split(m.RawQuery, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, _, _ := strings.Cut(kv, "=")
			b.WriteString(k)
			b.WriteString("=***")
		}
		m.RawQuery = b.String()
	}
	if m.Fragment != "" {
		m.Fragment, m.RawFragment = "***", ""
	}
	return strings.Replace(m.String(), "%2A%2A%2A@", "***@", 1)
}
