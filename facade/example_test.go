package facade_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// Examples run against the in-memory platform; against the real one, use
// facade.NewClientFromEnv() or facade.NewClient(url, facade.WithToken(tok)).

func ExampleNewClient() {
	srv := istaritest.NewServer()
	defer srv.Close()

	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token), facade.WithTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	// The client appends the prefix of the job routes to the registry's URL.
	fmt.Println(strings.TrimPrefix(c.BaseURL(), srv.URL))
	// Output: /api/v2
}

func ExampleClient_AddJob() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()

	// Parameters from a file, sent byte for byte...
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	params := filepath.Join(dir, "extract.json")
	_ = os.WriteFile(params, []byte(`{"format": "step"}`), 0o600)
	job, err := c.AddJob(ctx, facade.AddJobParams{
		ModelID:         "model-1",
		Function:        "@istari:extract",
		ParametersFile:  params,
		ToolName:        "ansys",
		ToolVersion:     "2024",
		OperatingSystem: facade.OSUbuntu2404,
		Description:     "extract the geometry",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status(), job.Function.Name, job.Function.ToolName)

	// ...or from any value encoding/json can marshal.
	job, err = c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]any{"format": "iges"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.File.Revisions[0].Name + "." + job.File.Revisions[0].Extension)

	// Bad input fails before anything is sent.
	_, err = c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", OperatingSystem: "Windows 12"})
	fmt.Println(errors.Is(err, facade.ErrInvalidInput))
	// Output:
	// Pending @istari:extract ansys
	// parameters.json
	// true
}

func ExampleClient_ListJobs() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()
	for range 3 {
		_, _ = c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"})
	}

	page, err := c.ListJobs(ctx, facade.ListJobsParams{ModelID: "model-1", Status: facade.JobStatusPending, Size: 2, Sort: "-created"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d of %d jobs, page %d of %d, more: %v\n", len(page.Items), page.Total, page.Page, page.Pages, page.HasNextPage())
	// Output: 2 of 3 jobs, page 1 of 2, more: true
}

func ExampleClient_AllJobs() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()
	for range 250 {
		_, _ = c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"})
	}

	n := 0
	for job, err := range c.AllJobs(ctx, facade.ListJobsParams{ModelID: "model-1"}) {
		if err != nil {
			log.Fatal(err)
		}
		_ = job.ID
		n++
	}
	fmt.Println(n, "jobs")
	// Output: 250 jobs
}

func ExampleClient_WaitForJob() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()
	added, _ := c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"})

	// An agent works on the job meanwhile.
	done := make(chan struct{})
	go func(id string) {
		defer close(done)
		for _, s := range []facade.JobStatusName{facade.JobStatusClaimed, facade.JobStatusRunning, facade.JobStatusCompleted} {
			time.Sleep(20 * time.Millisecond)
			_, _ = c.UpdateJobStatus(ctx, id, facade.UpdateJobStatusParams{Status: s, AgentID: "agent-1"})
		}
	}(added.ID)

	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	job, err := c.WaitForJob(waitCtx, added.ID, facade.WaitOptions{MinInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond})
	<-done
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status(), job.Status().IsTerminal())
	// Output: Completed true
}

func ExampleAPIError() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()

	_, err := c.GetJob(context.Background(), "no-such-job")
	var apiErr *facade.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, errors.Is(err, facade.ErrNotFound))
	}
	// Output: 404 true
}

func ExampleClient_Raw() {
	srv := istaritest.NewServer()
	defer srv.Close()
	c, _ := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	defer c.CloseIdleConnections()
	ctx := context.Background()
	job, _ := c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"})

	// The generated client shares the base URL, auth and retries.
	resp, err := c.Raw().GetJobWithResponse(ctx, job.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode(), resp.JSON200.ID == job.ID)
	// Output: 200 true
}
