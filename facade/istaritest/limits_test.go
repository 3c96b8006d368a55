package istaritest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/internal/fakestore"
)

// rawRequest sends head and then body, a chunk at a time with pause
// between chunks, on a connection of its own, and returns the status line
// of the answer.
func rawRequest(t *testing.T, addr, head string, chunks []string, pause time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(60*time.Second))) // a hang guard
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	go func() {
		for _, c := range chunks {
			if _, err := io.WriteString(conn, c); err != nil {
				return
			}
			time.Sleep(pause)
		}
	}()
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(status)
}

// TestBodyPace checks that a body trickled below the pace is cut and
// answered 408, and that one that keeps it goes through.
func TestBodyPace(t *testing.T) {
	srv := NewServer(withBodyPace(200*time.Millisecond, 1000))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	head := "POST " + BasePath + "/models/m/jobs HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + DefaultToken +
		"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
	trickle := make([]string, 200)
	for i := range trickle {
		trickle[i] = "x"
	}
	assert.Equal(t, "HTTP/1.1 408 Request Timeout", rawRequest(t, addr, head, trickle, 50*time.Millisecond))
	assert.Empty(t, srv.Jobs())

	// 4 MiB at loopback speed: far above 1000 bytes/s after 200 ms.
	rq := formReq(http.MethodPost, "/models/m/jobs", file("big.json", "application/json", `"`+strings.Repeat("x", 4<<20)+`"`),
		part{name: "function", value: "f"})
	ts := &testServer{Server: srv, t: t}
	res := ts.send(rq)
	assert.Equal(t, http.StatusCreated, res.status, "%s", res.body)
}

// TestServerTimeouts checks the timeouts of the server NewServer starts.
func TestServerTimeouts(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	assert.Equal(t, ReadHeaderTimeout, srv.srv.Config.ReadHeaderTimeout)
	assert.Equal(t, IdleTimeout, srv.srv.Config.IdleTimeout)
}

// TestFormLimits checks that a request of more than MaxFormParts parts, or
// of more than MaxSources sources, is answered 422 and stores nothing, and
// that a body of endless parts is refused as it streams.
func TestFormLimits(t *testing.T) {
	srv := newServer(t)
	base := []part{file("p.json", "application/json", "{}"), {name: "function", value: "f"}}
	sources := func(n int) []part {
		out := append([]part(nil), base...)
		for i := range n {
			out = append(out, source(fmt.Sprintf("r%d", i), ""))
		}
		return out
	}
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs", sources(MaxSources)...))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	assert.Len(t, *res.job(t).File.Revisions[0].Sources, MaxSources)

	srv.expectErrors(t, []errorCase{
		{"a part too many", formReq(http.MethodPost, "/models/m/jobs", sources(MaxFormParts)...), 422, "body"},
		{"a source too many", formReq(http.MethodPost, "/models/m/jobs", sources(MaxSources+1)...), 422, "body.sources"},
	})
	assert.Len(t, srv.Jobs(), 1)

	// 200,000 parts, streamed: the answer comes once the 129th is read.
	// (newServer's contract check reads whole bodies first: NewServer.)
	plain := NewServer()
	defer plain.Close()
	// The platform answers and closes while the client is still writing,
	// so the client may see its write reset before it reads the answer
	// (the transport's race, not the platform's): such a try must fail with
	// a reset, and the answer must be read within a few tries.
	var (
		resp  *http.Response
		body  []byte
		wrote int
	)
	for try := 1; resp == nil; try++ {
		require.LessOrEqual(t, try, 5, "the 422 was never read")
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		wrote = 0
		var wg sync.WaitGroup
		wg.Go(func() {
			defer pw.Close()
			for i := range 200_000 {
				w, err := mw.CreateFormField("sources")
				if err == nil {
					_, err = fmt.Fprintf(w, `{"revision_id": "r%d"}`, i)
				}
				if err != nil {
					return
				}
				wrote = i + 1
			}
			_ = mw.Close()
		})
		r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, plain.URL+BasePath+"/models/m/jobs", pr)
		require.NoError(t, err)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.Header.Set("Authorization", "Bearer "+plain.Token)
		got, err := http.DefaultClient.Do(r)
		if err == nil {
			resp = got
			body, _ = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		}
		_ = pr.CloseWithError(io.ErrClosedPipe)
		wg.Wait()
		if err != nil {
			require.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE), "try %d: %v", try, err)
		}
		assert.Less(t, wrote, 200_000, "the body was refused before its end")
	}
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(body), fmt.Sprintf("more than %d parts", MaxFormParts))
	assert.Empty(t, plain.Jobs())
}

// TestStoreLimits checks that a full platform answers 507 to a request
// that would add to it, and goes on answering reads.
func TestStoreLimits(t *testing.T) {
	srv := newServer(t, WithStoreLimits(2, 0))
	a := srv.addJob("m")
	srv.addJob("m")
	res := srv.send(formReq(http.MethodPost, "/models/m/jobs", file("p.json", "application/json", "{}"), part{name: "function", value: "f"}))
	assert.Equal(t, http.StatusInsufficientStorage, res.status)
	assert.Contains(t, res.detail(t), "holds 2 jobs, its limit")
	assert.Equal(t, http.StatusOK, srv.send(get("/jobs/"+a.ID)).status)
	assert.Len(t, srv.Jobs(), 2)

	srv = newServer(t, WithStoreLimits(0, 50_000))
	big := `"` + strings.Repeat("x", 60_000) + `"`
	res = srv.send(formReq(http.MethodPost, "/models/m/jobs", file("p.json", "application/json", big), part{name: "function", value: "f"}))
	require.Equal(t, http.StatusCreated, res.status, "the request that crosses the bound is kept")
	id := res.job(t).ID
	res = srv.send(jsonReq(http.MethodPatch, "/jobs/"+id+"/status?status_name=Canceled", map[string]string{"message": "m"}))
	assert.Equal(t, http.StatusInsufficientStorage, res.status, "%s", res.body)
	assert.Contains(t, res.detail(t), "its limit of 50000")
	assert.Equal(t, http.StatusOK, srv.send(get("/jobs?size=10")).status)
	_, held := srv.store.Size()
	assert.Less(t, held, int64(70_000))

	assert.Equal(t, fakestore.Limits{MaxJobs: DefaultMaxStoreJobs, MaxBytes: DefaultMaxStoreBytes}, defaultStoreLimits)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientGoneLogsNothing checks that an answer cut short by a client
// that left makes the server log nothing (no "superfluous
// response.WriteHeader").
func TestClientGoneLogsNothing(t *testing.T) {
	handled := make(chan struct{})
	p := New(withMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(handled)
			<-r.Context().Done() // answer only once the client has left
			next.ServeHTTP(w, r)
		})
	}))
	for range 100 {
		_, err := p.store.AddJob(DefaultUserID, fakestore.NewJob{ModelID: "m", Function: strings.Repeat("f", 2000),
			File: fakestore.FileInput{FileName: "p.json", Size: 2, Content: []byte("{}")}})
		require.NoError(t, err)
	}
	var logged syncBuffer
	srv := httptest.NewUnstartedServer(p.Handler())
	srv.Config.ErrorLog = log.New(&logged, "", 0)
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	_, err = io.WriteString(conn, "GET "+BasePath+"/jobs?size=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+DefaultToken+"\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	select {
	case <-handled:
	case <-time.After(30 * time.Second):
		t.Fatal("the request was not handled")
	}
	assert.Empty(t, logged.String())
}
