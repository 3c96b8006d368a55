package facade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// The recipes of docs/recipes.md. Each Go block of the page is the body of
// one of these examples from its first line after the setup on
// (TestREADMEGoBlocksAreTested keeps them equal), and runs against the
// in-memory platform, where recipeAgent stands for the platform's agents.

// recipePlatform starts the in-memory platform with an agent that runs its
// jobs, and a client for it. stop ends them all.
func recipePlatform() (c *facade.Client, stop func()) {
	srv := istaritest.NewServer()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	if err != nil {
		log.Fatal(err)
	}
	stopAgent := recipeAgent(srv)
	return c, func() {
		stopAgent()
		c.CloseIdleConnections()
		srv.Close()
	}
}

// recipeAgent stands for the platform's agents: until stop is called, a
// facade agent (Client.RunAgent) claims srv's jobs one at a time and runs
// them. A job whose parameters ask for a mesh finer than 1 mm fails; any
// other completes with one product, named after its function ("geometry"
// for @istari:extract, "mesh" for @istari:mesh), whose revision is rev-N
// for the agent's Nth job.
func recipeAgent(srv *istaritest.Server) (stop func()) {
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	n := 0 // jobs run; the handlers run one at a time
	go func() {
		done <- c.RunAgent(ctx, facade.AgentOptions{
			AgentID: "agent-1", MinInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond,
		}, func(ctx context.Context, run *facade.JobRun) error {
			n++
			f, err := run.OpenFile(ctx)
			if err != nil {
				return err
			}
			defer f.Close()
			var params struct {
				MeshMM *float64 `json:"mesh_mm"`
			}
			if err := json.NewDecoder(f).Decode(&params); err != nil {
				return err
			}
			if params.MeshMM != nil && *params.MeshMM < 1 {
				return errors.New("mesh finer than 1 mm: out of memory")
			}
			name := strings.TrimPrefix(run.Job.Function.Name, "@istari:")
			if name == "extract" {
				name = "geometry"
			}
			// What the agent uploads becomes the job's products.
			return srv.AddProducts(run.Job.ID, facade.Product{
				RevisionID: fmt.Sprintf("rev-%d", n), FileID: fmt.Sprintf("file-%d", n),
				ResourceType: "Artifact", ResourceID: fmt.Sprintf("artifact-%d", n), RelationshipIdentifier: name,
			})
		})
	}()
	return func() {
		cancel()
		if err := <-done; err != nil {
			log.Fatal(err)
		}
		c.CloseIdleConnections()
	}
}

// The linear extract: run a job, fail unless it completed, read its
// products.
func ExampleClient_RunJob() {
	c, stop := recipePlatform()
	defer stop()
	ctx := context.Background()

	job, err := c.RunJob(ctx, facade.AddJobParams{
		ModelID:    "model-1",
		Function:   "@istari:extract",
		Parameters: map[string]any{"format": "step"},
	}, facade.WaitOptions{})
	if err != nil {
		log.Fatal(err) // Failed or Canceled: a *facade.JobFailedError with the last status message
	}
	for _, p := range job.Products() {
		fmt.Println(p.RelationshipIdentifier, p.RevisionID)
	}
	// Output: geometry rev-1
}

// Chaining: one job's product is the next job's source.
func ExampleProduct_AsSource() {
	c, stop := recipePlatform()
	defer stop()
	ctx := context.Background()

	extracted, err := c.RunJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract"}, facade.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	products := extracted.Products()
	if len(products) == 0 {
		log.Fatalf("job %s completed without products", extracted.ID)
	}
	meshed, err := c.RunJob(ctx, facade.AddJobParams{
		ModelID:    "model-1",
		Function:   "@istari:mesh",
		Parameters: map[string]any{"mesh_mm": 2},
		Sources:    []facade.NewSource{products[0].AsSource("load_geometry_file")},
	}, facade.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	src := meshed.File.Revisions[0].Sources[0] // as the platform recorded it
	fmt.Println(src.RelationshipIdentifier, src.RevisionID, src.ResourceType, src.ResourceID)
	fmt.Println(meshed.Products()[0].RelationshipIdentifier, meshed.Products()[0].RevisionID)
	// Output:
	// load_geometry_file rev-1 Artifact artifact-1
	// mesh rev-2
}

// A sweep: many jobs submitted together, waited for together, and each
// checked with Job.Err.
func ExampleJob_Err() {
	c, stop := recipePlatform()
	defer stop()
	ctx := context.Background()

	meshes := []float64{0.5, 1, 2, 4}
	params := make([]facade.AddJobParams, len(meshes))
	for i, mm := range meshes {
		params[i] = facade.AddJobParams{ModelID: "model-1", Function: "@istari:mesh", Parameters: map[string]any{"mesh_mm": mm}}
	}
	var ids []string
	for i, r := range c.AddJobs(ctx, params, facade.BatchOptions{}) { // in input order
		if r.Err != nil {
			log.Fatalf("mesh %v mm: %v", meshes[i], r.Err)
		}
		ids = append(ids, r.Job.ID)
	}
	jobs, err := c.WaitForJobs(ctx, ids, facade.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for i, job := range jobs { // in the order of ids
		var failed *facade.JobFailedError
		if errors.As(job.Err(), &failed) {
			fmt.Printf("%v mm: %s: %s\n", meshes[i], failed.Status, failed.Message)
			continue
		}
		fmt.Printf("%v mm: %s, %d product\n", meshes[i], job.Status(), len(job.Products()))
	}
	// Output:
	// 0.5 mm: Failed: mesh finer than 1 mm: out of memory
	// 1 mm: Completed, 1 product
	// 2 mm: Completed, 1 product
	// 4 mm: Completed, 1 product
}
