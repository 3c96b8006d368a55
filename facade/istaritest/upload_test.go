package istaritest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutPoints returns, for a well-formed multipart form whose last part is
// the file, the body cut at one point of every class: in a field, in the
// file part's headers, in the file's content, right after the content, in
// the CRLF and in the dashes and boundary that close the form, and with the
// closing boundary missing its final "--". Each cut body is sent as a
// complete HTTP request (its Content-Length is the cut length), as a
// lenient proxy or a client that stopped early might deliver it.
func cutPoints(t *testing.T, body []byte, content, boundary string) map[string][]byte {
	t.Helper()
	end := bytes.Index(body, []byte(content)) + len(content)
	require.Positive(t, end)
	closing := "\r\n--" + boundary + "--\r\n"
	require.Equal(t, closing, string(body[end:]), "the file is the last part")
	fieldAt := bytes.Index(body, []byte("@istari:extract")) + 3
	fileHeaderAt := bytes.Index(body, []byte(`name="file"`)) + 5
	return map[string][]byte{
		"in a field":                    body[:fieldAt],
		"in the file part's headers":    body[:fileHeaderAt],
		"mid-file":                      body[:end-len(content)/2],
		"after the file's last byte":    body[:end],
		"in the CRLF before the close":  body[:end+1],
		"after the CRLF":                body[:end+2],
		"in the closing dashes":         body[:end+3],
		"in the closing boundary":       body[:end+4+len(boundary)/2],
		"closing boundary without '--'": body[:end+4+len(boundary)],
		"closing boundary with one '-'": body[:end+5+len(boundary)],
	}
}

// TestTruncatedMultipartChangesNothing sends addJob and updateJob bodies cut
// at every class of point: each is refused, and no job or revision is
// created.
func TestTruncatedMultipartChangesNothing(t *testing.T) {
	srv := newServer(t)
	existing := srv.addJob("m")
	content := `{"k":[` + strings.Repeat("1,", 500) + `1]}`

	for _, op := range []struct {
		name, method, path string
		extra              []part
	}{
		{"addJob", http.MethodPost, "/models/m/jobs", []part{{name: "function", value: "@istari:extract"}}},
		{"updateJob", http.MethodPut, "/jobs/" + existing.ID, []part{{name: "description", value: "@istari:extract"}}},
	} {
		whole := formReq(op.method, op.path, append(op.extra, file("p.json", "application/json", content))...)
		_, params, err := mime.ParseMediaType(whole.ctype)
		require.NoError(t, err)
		for name, cut := range cutPoints(t, whole.body, content, params["boundary"]) {
			t.Run(op.name+"/"+name, func(t *testing.T) {
				rq := whole
				rq.body = cut
				res := srv.send(rq)
				assert.Equal(t, http.StatusUnprocessableEntity, res.status, "body %s", res.body)
				assert.NotEmpty(t, res.locs(t))
			})
		}
	}
	jobs := srv.Jobs()
	require.Len(t, jobs, 1, "no cut body created a job")
	assert.Len(t, jobs[0].File.Revisions, 1, "no cut body added a revision")
	assert.Len(t, srv.Uploads(existing.ID), 1)

	// The whole body is accepted, so the cuts were refused for being cut.
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs",
		part{name: "function", value: "f"}, file("p.json", "application/json", content)))
	assert.Equal(t, http.StatusCreated, res.status, "body %s", res.body)
}

// TestBodyShorterThanContentLength sends an addJob whose connection closes
// before the announced Content-Length: nothing is created.
func TestBodyShorterThanContentLength(t *testing.T) {
	// Not newServer: its response check cannot read the cut body either,
	// and would take the answer for one to no operation.
	srv := NewServer()
	defer srv.Close()
	content := `{"k":[` + strings.Repeat("1,", 500) + `1]}`
	whole := formReq(http.MethodPost, "/models/m/jobs",
		part{name: "function", value: "f"}, file("p.json", "application/json", content))
	for _, cut := range []int{len(whole.body) / 2, len(whole.body) - 1} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			u, err := url.Parse(srv.URL)
			require.NoError(t, err)
			conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
			head := fmt.Sprintf("POST /api/v2/models/m/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: %s\r\nContent-Length: %d\r\n\r\n", srv.Token, whole.ctype, len(whole.body))
			_, err = io.WriteString(conn, head)
			require.NoError(t, err)
			_, err = conn.Write(whole.body[:cut])
			require.NoError(t, err)
			require.NoError(t, conn.(*net.TCPConn).CloseWrite())
			// The server answers with an error or just closes; either way it
			// creates nothing.
			if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
				_ = res.Body.Close()
				assert.GreaterOrEqual(t, res.StatusCode, 400)
			}
		})
	}
	// Each case waited for the server's answer or its close, so the
	// handler is done.
	assert.Empty(t, srv.Jobs())
}

// TestReadFormRefusesCutBodies checks the form reader by itself, without
// the contract's validation in front of it: every cut body is an error.
func TestReadFormRefusesCutBodies(t *testing.T) {
	content := `{"k":[` + strings.Repeat("1,", 500) + `1]}`
	whole := formReq(http.MethodPost, "/models/m/jobs",
		part{name: "function", value: "@istari:extract"}, file("p.json", "application/json", content))
	_, params, err := mime.ParseMediaType(whole.ctype)
	require.NoError(t, err)
	f, err := readForm(multipart.NewReader(bytes.NewReader(whole.body), params["boundary"]), MaxKeptFileSize)
	require.NoError(t, err, "the whole body is read")
	assert.Equal(t, content, string(f.content))
	for name, cut := range cutPoints(t, whole.body, content, params["boundary"]) {
		t.Run(name, func(t *testing.T) {
			_, err := readForm(multipart.NewReader(bytes.NewReader(cut), params["boundary"]), MaxKeptFileSize)
			assert.Error(t, err)
		})
	}
}
