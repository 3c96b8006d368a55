package facade

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSameOrigin: an origin is scheme, host and port, with the scheme's
// default port filled in and case ignored.
func TestSameOrigin(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"https://registry.example.com/api/v2/jobs", "https://registry.example.com/other", true},
		{"https://registry.example.com/", "https://registry.example.com:443/", true},
		{"http://registry.example.com/", "http://registry.example.com:80/", true},
		{"https://Registry.Example.COM/", "HTTPS://registry.example.com/", true},
		{"https://registry.example.com/", "http://registry.example.com/", false},
		{"https://registry.example.com/", "https://registry.example.com:8443/", false},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8081/", false},
		{"http://127.0.0.1:8080/", "http://localhost:8080/", false},
		{"https://example.com/", "https://registry.example.com/", false},
		{"https://registry.example.com/", "https://evil.registry.example.com/", false},
		{"http://[::1]:80/", "http://[::1]/", true},
	}
	for _, tc := range cases {
		a, err := url.Parse(tc.a)
		require.NoError(t, err)
		b, err := url.Parse(tc.b)
		require.NoError(t, err)
		assert.Equal(t, tc.want, sameOrigin(a, b), "%s vs %s", tc.a, tc.b)
		assert.Equal(t, tc.want, sameOrigin(b, a), "%s vs %s", tc.b, tc.a)
	}
}
