package istaritest

import (
	"fmt"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

// AddProducts records products, a job's outputs, on the latest revision of
// the job's file, as the job's agent would: a client then finds them with
// [facade.Job.Products]. A product without a RevisionID gets a new one.
// Products no longer change once a job has ended, so AddProducts returns an
// error for a job that is Completed, Failed or Canceled (add them first, then
// move the job to Completed), as it does for an unknown job.
//
// A job added later whose sources name a product's revision gets the
// product's file id, resource type and resource id on that source, as the
// platform fills them in; a source naming a revision of a job's own file gets
// the resource type "Job" (istaritest's choice) and the job's id.
func (p *Platform) AddProducts(jobID string, products ...facade.Product) error {
	ws := make([]gen.Product, len(products))
	for i, pr := range products {
		ws[i] = gen.Product{
			FileID:                 optional(pr.FileID),
			RelationshipIdentifier: optional(pr.RelationshipIdentifier),
			ResourceID:             optional(pr.ResourceID),
			ResourceType:           optional(pr.ResourceType),
			RevisionID:             pr.RevisionID,
		}
	}
	if _, err := p.store.AddProducts(jobID, ws); err != nil {
		return fmt.Errorf("istaritest: AddProducts: %w", err)
	}
	return nil
}

// optional returns nil for "", and a pointer to s otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
