package facade

import (
	"context"
	"iter"
	"sync"
)

// iteratorPageSize is the page size the iterators ask for when the caller
// sets none: the platform's maximum, for the fewest round trips.
const iteratorPageSize = 100

// AllJobs returns an iterator over every job that p matches, page after
// page, starting at p.Page (or the first). Pages are fetched lazily: by
// default the next four pages are fetched while the caller reads the
// current one (see [WithPrefetch]), items are yielded in order, and
// breaking out of the loop cancels any fetch in flight. An error, such as
// a [*ValidationError] for p, is yielded once, and then the iteration
// stops.
//
//	for job, err := range c.AllJobs(ctx, facade.ListJobsParams{StatusName: facade.JobStatusRunning}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(job.ID)
//	}
func (c *Client) AllJobs(ctx context.Context, p ListJobsParams, opts ...CallOption) iter.Seq2[*Job, error] {
	if p.Size == 0 && !p.CountOnly {
		p.Size = iteratorPageSize
	}
	return c.all(ctx, p.Page, func(ctx context.Context, page int) (*JobPage, error) {
		q := p
		q.Page = page
		return c.ListJobs(ctx, q, opts...)
	})
}

// AllModelJobs returns an iterator over every job of a model that p
// matches. It behaves as [Client.AllJobs].
func (c *Client) AllModelJobs(ctx context.Context, modelID string, p ListModelJobsParams, opts ...CallOption) iter.Seq2[*Job, error] {
	if p.Size == 0 && !p.CountOnly {
		p.Size = iteratorPageSize
	}
	return c.all(ctx, p.Page, func(ctx context.Context, page int) (*JobPage, error) {
		q := p
		q.Page = page
		return c.ListModelJobs(ctx, modelID, q, opts...)
	})
}

// all is the iterator over the pages fetch returns, from page first on.
// The methods fetch checks their input, so a bad one ends the iteration on
// its first page with a ValidationError.
func (c *Client) all(ctx context.Context, first int, fetch pageFetcher) iter.Seq2[*Job, error] {
	return func(yield func(*Job, error) bool) { c.iterate(ctx, first, fetch, yield) }
}

type pageFetcher func(ctx context.Context, page int) (*JobPage, error)

// pageResult is a page being fetched in the background.
type pageResult struct {
	done chan struct{}
	page *JobPage
	err  error
}

// iterate yields the items of page first and of every later page. After the
// first page, which tells how many pages there are, it keeps up to
// c.prefetch later pages in flight, and yields them in order.
func (c *Client) iterate(ctx context.Context, first int, fetch pageFetcher, yield func(*Job, error) bool) {
	if first == 0 { // not set; a negative page fails the first fetch
		first = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait() // no fetch outlives the loop
	}()

	start := func(n int) *pageResult {
		r := &pageResult{done: make(chan struct{})}
		wg.Go(func() {
			defer close(r.done)
			r.page, r.err = fetch(ctx, n)
		})
		return r
	}

	page, err := fetch(ctx, first)
	var (
		next     = first + 1
		inFlight []*pageResult
	)
	for {
		if err != nil {
			yield(nil, err)
			return
		}
		last := !page.HasNextPage() || len(page.Items) == 0
		// Keep the window full while the caller reads this page.
		for !last && len(inFlight) < c.prefetch && next <= page.Pages {
			inFlight = append(inFlight, start(next))
			next++
		}
		for _, j := range page.Items {
			if !yield(j, nil) {
				return
			}
		}
		if last {
			return
		}
		if len(inFlight) == 0 {
			page, err = fetch(ctx, next)
			next++
			continue
		}
		r := inFlight[0]
		inFlight = inFlight[1:]
		select {
		case <-r.done:
		case <-ctx.Done():
			yield(nil, ctx.Err())
			return
		}
		page, err = r.page, r.err
	}
}
