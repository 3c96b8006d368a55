package istaritest_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
	"github.com/istari-go/sdk/gen"
)

// client returns a generated client for the platform at url (without its
// BasePath), authenticated with token.
func client(url, token string) *gen.ClientWithResponses {
	url += istaritest.BasePath
	c, err := gen.NewClientWithResponses(url, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		panic(err)
	}
	return c
}

// jobForm builds the multipart body of addJob.
func jobForm(function, params string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="params.json"`)
	h.Set("Content-Type", "application/json")
	fw, _ := w.CreatePart(h)
	_, _ = fw.Write([]byte(params))
	_ = w.WriteField("function", function)
	_ = w.Close()
	return w.FormDataContentType(), &buf
}

func ExampleNewServer() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()

	job, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]any{"k": 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.UpdateJobStatus(ctx, job.ID, facade.UpdateJobStatusParams{Status: facade.JobStatusRunning}); err != nil {
		fmt.Println(err)
		return
	}

	// What the platform now holds, and what it received.
	stored, _ := srv.Job(job.ID)
	history := stored.StatusHistory
	fmt.Println("function:", stored.Function.Name)
	fmt.Println("statuses:", history[0].Name, "->", history[len(history)-1].Name)
	fmt.Println("created by:", stored.CreatedByID)
	fmt.Println("parameters:", string(srv.Uploads(job.ID)[0].Content))
	fmt.Println("AddJob requests:", srv.Requests().ByOperation[istaritest.OpAddJob])
	// Output:
	// function: @istari:extract
	// statuses: Pending -> Running
	// created by: istaritest-user
	// parameters: {"k":1}
	// AddJob requests: 1
}

func ExamplePlatform_FailOperation() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c := client(srv.URL, srv.Token)

	// The next GetJob answers 429 with Retry-After; the one after is served.
	srv.FailOperation(istaritest.OpGetJob, 1, http.StatusTooManyRequests, 2*time.Second)
	for range 2 {
		res, err := c.GetJobWithResponse(context.Background(), "no-such-job")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.StatusCode(), res.HTTPResponse.Header.Get("Retry-After"))
	}
	// Output:
	// 429 2
	// 404
}

func ExampleWithFunctions() {
	srv := istaritest.NewServer(istaritest.WithFunctions(istaritest.Function{
		Name: "@istari:extract", ToolName: "ansys", ToolVersions: []string{"2024"},
		OperatingSystems: []facade.OS{facade.OSUbuntu2404},
	}))
	defer srv.Close()
	c := client(srv.URL, srv.Token)

	ctype, body := jobForm("@istari:convert", `{}`)
	res, err := c.AddJobWithBodyWithResponse(context.Background(), "model-1", ctype, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.StatusCode(), res.JSON404.Detail)
	// Output:
	// 404 No function found matching name '@istari:convert', tool '', version '', operating system ''
}

func ExamplePlatform_Handler() {
	// Mount the platform in a server of your own, under a prefix.
	p := istaritest.New(istaritest.WithUser("secret", "alice", true))
	mux := http.NewServeMux()
	mux.Handle("/istari/", http.StripPrefix("/istari", p.Handler()))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	c := client(hs.URL+"/istari", "secret")
	res, err := c.ListJobsWithResponse(context.Background(), &gen.ListJobsParams{AllUsers: new(true)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.StatusCode(), res.JSON200.Total)
	// Output:
	// 200 0
}
