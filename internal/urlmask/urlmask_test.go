package urlmask

import (
	"net/url"
	"testing"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://host/api/v2/jobs/j-1", "https://host/api/v2/jobs/j-1"},
		{"https://user:pw@host/p", "https://***@host/p"},
		{"https://user@host/p", "https://***@host/p"},
		{"https://host/p?sig=abc&page=2&flag", "https://host/p?sig=***&page=***&flag=***"},
		{"https://host/p#frag", "https://host/p#***"},
		{"http://u:p@127.0.0.1:8080/a?b=c#d", "http://***@127.0.0.1:8080/a?b=***#***"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Mask(u); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
