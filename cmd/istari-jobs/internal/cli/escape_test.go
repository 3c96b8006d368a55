package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// spoof is text a hostile platform sends: bidi controls that reorder what
// follows, zero-width characters, a byte-order mark, a C1 CSI, DEL, an
// escape sequence that clears the screen, and a forged line.
const spoof = "ok\u202egnp.exe\u2066\u200b\u200f\ufeff\U000e0041\u009b31m\x7f\x1b[2J\r\n istari-jobs: all good"

// assertShown checks that s holds no hidden character but line breaks.
func assertShown(t *testing.T, s, what string) {
	t.Helper()
	for i, r := range s {
		if r != '\n' && hidden(r) {
			assert.Failf(t, "a hidden character reached the output", "%s: %U at byte %d of %q", what, r, i, s)
			return
		}
	}
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, C:\\dir", "plain text, C:\\dir"},
		{"é ü 日本 🙂", "é ü 日本 🙂"},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"\x00\x07\x1b[31m\x7f", `\x00\x07\x1b[31m\x7f`},
		{"\u0085\u009b", `\u0085\u009b`},
		{"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", `\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`},
		{"\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad", `\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad`},
		{"\u2028\u2029", `\u2028\u2029`},
		{"\U000e0001\U000e0041", `\U000e0001\U000e0041`},
		{"bad \xff utf-8", "bad \ufffd utf-8"},
	} {
		got := escape(tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
		assertShown(t, got, tc.in)
		assert.NotContains(t, got, "\n")
	}
}

func TestEscapeJSON(t *testing.T) {
	for _, s := range []string{"plain", spoof, "é 日本 🙂 \\ \"", "\u2028\u2029\x00"} {
		data, err := json.Marshal(map[string]string{"v": s})
		require.NoError(t, err)
		out := escapeJSON(data)
		assertShown(t, string(out), s)
		assert.True(t, utf8.Valid(out))
		var back map[string]string
		require.NoError(t, json.Unmarshal(out, &back), "%s", out)
		assert.Equal(t, s, back["v"], "a reader decodes the same string")
	}
	assert.Equal(t, `"\u007f\u009b\u202e\udb40\udc41"`, string(escapeJSON([]byte("\"\x7f\u009b\u202e\U000e0041\""))))
	plain := []byte(`{"a": "b"}`)
	assert.Same(t, &plain[0], &escapeJSON(plain)[0], "clean output is not copied")
}

// hostileIDs is a proxy in front of e's platform that appends spoof to the
// job ids of list answers, as a hostile platform could.
func hostileIDs(t *testing.T, e *env, ids ...string) string {
	t.Helper()
	target, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	enc, err := json.Marshal(spoof)
	require.NoError(t, err)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host}) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/jobs") {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			for _, id := range ids {
				body = bytes.ReplaceAll(body, []byte(`"`+id+`"`), []byte(`"`+id+string(enc[1:])))
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestHostileTextEscaped checks that text from the platform reaches the
// terminal with every hidden character escaped, in tables, -q output, the
// progress of wait, errors (on one line) and JSON (which still decodes to
// the text sent).
func TestHostileTextEscaped(t *testing.T) {
	e := newEnv(t)
	j, err := e.c.AddJob(t.Context(), facade.AddJobParams{ModelID: "m", Function: "@evil:" + spoof, Parameters: map[string]any{}})
	require.NoError(t, err)
	_, err = e.c.UpdateJobStatus(t.Context(), j.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusCompleted, Message: spoof, AgentID: "agent\u202e"})
	require.NoError(t, err)
	escaped := escape(spoof)

	for _, args := range [][]string{
		{"get", j.ID},
		{"list"},
		{"list", "--all"},
		{"wait", j.ID},
		{"wait", j.ID, j.ID + "x"},
	} {
		r := e.run(args...)
		assertShown(t, r.stdout, strings.Join(args, " ")+": stdout")
		assertShown(t, r.stderr, strings.Join(args, " ")+": stderr")
		assert.Contains(t, r.stdout+r.stderr, escaped, "%v", args)
	}

	// -q: ids from a hostile list, one per line.
	vars := e.vars
	e.vars = map[string]string{envURL: hostileIDs(t, e, j.ID), envToken: secretToken}
	r := e.run("list", "-q")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, j.ID+escaped+"\n", r.stdout)
	assertShown(t, r.stdout, "list -q")
	e.vars = vars

	// An error is one line, whatever its detail holds.
	e.srv.InjectFault(istaritest.Fault{Operation: istaritest.OpGetJob, Count: 1, Status: http.StatusConflict, Detail: spoof})
	r = e.run("get", j.ID)
	assert.Equal(t, ExitAPI, r.code)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "%q", r.stderr)
	assert.True(t, strings.HasPrefix(r.stderr, "istari-jobs: GetJob failed: 409 Conflict"), r.stderr)
	assert.Contains(t, r.stderr, escaped)
	assertShown(t, r.stderr, "error")

	// JSON escapes what it holds, and decodes to what was sent.
	r = e.run("-o", "json", "get", j.ID)
	require.Equal(t, 0, r.code, r.stderr)
	assertShown(t, r.stdout, "-o json")
	var got facade.Job
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, "@evil:"+spoof, got.Function.Name)
	assert.Equal(t, spoof, got.StatusHistory[1].Message)
	r = e.run("-o", "jsonl", "list", "--all")
	require.Equal(t, 0, r.code, r.stderr)
	assertShown(t, r.stdout, "-o jsonl")
	assert.Equal(t, 1, strings.Count(r.stdout, "\n"))
}
