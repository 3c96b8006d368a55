package facade

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"sync"
)

// iteratorPageSize is the page size the iterators ask for when the caller
// sets none: the platform's maximum, for the fewest round trips.
const iteratorPageSize = 100

// AllJobs returns an iterator over every job that p matches, page after
// page from p.Page, fetching the next pages ahead while the caller reads
// (see [WithPrefetch]); breaking out of the loop cancels any fetch in
// flight. An error is yielded once, and then the iteration stops.
//
// The walk cannot loop, whatever the server answers: the first page fixes
// how many pages are read, and a page that contradicts it ends the walk
// with a [*DecodeError]. Paging is by offset, so a list that changes during
// the walk may shift: a job pushed onto a later page is yielded once, but
// one pulled back onto a page already read is missed (docs/lists-and-waiting.md).
// [WithResponseInfo] describes the page the last item came from.
//
//	for job, err := range c.AllJobs(ctx, facade.ListJobsParams{Status: facade.JobStatusRunning}) {
//		// ...
//	}
func (c *Client) AllJobs(ctx context.Context, p ListJobsParams, opts ...CallOption) iter.Seq2[*Job, error] {
	if p.Size == 0 && !p.CountOnly {
		p.Size = iteratorPageSize
	}
	cc, err := manyOptions("AllJobs", opts)
	return c.all(ctx, "AllJobs", OpListJobs, p.Page, p.Size, cc, err, func(ctx context.Context, page int, o CallOption) (*JobPage, error) {
		q := p
		q.Page = page
		return c.ListJobs(ctx, q, o)
	})
}

// AllModelJobs returns an iterator over every job of a model that p
// matches. It behaves as [Client.AllJobs].
func (c *Client) AllModelJobs(ctx context.Context, modelID string, p ListModelJobsParams, opts ...CallOption) iter.Seq2[*Job, error] {
	if p.Size == 0 && !p.CountOnly {
		p.Size = iteratorPageSize
	}
	cc, err := manyOptions("AllModelJobs", opts)
	return c.all(ctx, "AllModelJobs", OpListModelJobs, p.Page, p.Size, cc, err, func(ctx context.Context, page int, o CallOption) (*JobPage, error) {
		q := p
		q.Page = page
		return c.ListModelJobs(ctx, modelID, q, o)
	})
}

// all is the iterator over the pages fetch returns, from page first on,
// each fetched with the call's options cc and a ResponseInfo of its own.
// optErr, the options' error, is yielded at once. The methods fetch checks
// their input, so a bad one ends the iteration on its first page with a
// ValidationError. name is the iterator's name, op the operation of its
// pages.
func (c *Client) all(ctx context.Context, name, op Operation, first, size int, cc callConfig, optErr error,
	fetch func(ctx context.Context, page int, o CallOption) (*JobPage, error)) iter.Seq2[*Job, error] {
	if optErr != nil {
		return func(yield func(*Job, error) bool) { yield(nil, optErr) }
	}
	if first == 0 { // not set; a negative page fails the first fetch
		first = 1
	}
	checked := func(ctx context.Context, page int, info *ResponseInfo) (*JobPage, error) {
		p, err := fetch(ctx, page, cc.with(info))
		if err != nil {
			return nil, err
		}
		if err := checkPage(op, p, page, size); err != nil {
			return nil, err
		}
		return p, nil
	}
	return func(yield func(*Job, error) bool) {
		if c.tr.obs == nil {
			c.iterate(ctx, first, checked, cc.info, yield)
			return
		}
		ctx, end := c.tr.obs.group(ctx, name)
		var failed error
		defer func() { end(failed) }()
		c.iterate(ctx, first, checked, cc.info, func(j *Job, err error) bool {
			if err != nil {
				failed = err
			}
			return yield(j, err)
		})
	}
}

// checkPage refuses a page that would mislead a walk: one other than the
// page asked for, one with more items than its size, and one whose Pages
// is not ceil(Total/Size).
func checkPage(op Operation, p *JobPage, asked, size int) error {
	bad := func(field, format string, args ...any) error {
		return &DecodeError{Operation: op, StatusCode: http.StatusOK, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case p.Page != asked:
		return bad("page", "page %d answered for page %d", p.Page, asked)
	case p.Total < 0 || p.Size < 0 || p.Pages < 0:
		return bad("total", "negative paging: total %d, size %d, pages %d", p.Total, p.Size, p.Pages)
	case len(p.Items) > p.Size || len(p.Items) > size:
		return bad("items", "%d items on a page of size %d (asked for %d)", len(p.Items), p.Size, size)
	case p.Size > 0 && p.Pages != (p.Total+p.Size-1)/p.Size:
		return bad("pages", "pages %d is not ceil(total %d / size %d)", p.Pages, p.Total, p.Size)
	case len(p.Items) == 0 && p.Total > (asked-1)*p.Size:
		// Read as "no more jobs", this page would hide the ones its own
		// total counts.
		return bad("items", "page %d holds no items, but its total of %d says it should", asked, p.Total)
	}
	return nil
}

// pageFetcher fetches one page, filling info with its answer.
type pageFetcher func(ctx context.Context, page int, info *ResponseInfo) (*JobPage, error)

// pageResult is a page being fetched in the background.
type pageResult struct {
	done chan struct{}
	page *JobPage
	err  error
	info ResponseInfo
}

// iterate yields the items of page first and of every later page up to
// the last one the first page announces. After the first page it keeps up
// to c.prefetch later pages in flight, and yields them in order. Before it
// yields from a page, it copies the page's ResponseInfo to info (when not
// nil), on the caller's goroutine.
func (c *Client) iterate(ctx context.Context, first int, fetch pageFetcher, info *ResponseInfo, yield func(*Job, error) bool) {
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
			r.page, r.err = fetch(ctx, n, &r.info)
		})
		return r
	}
	var pageInfo ResponseInfo // the answer of the page being read
	report := func() {
		if info != nil {
			*info = pageInfo
		}
	}

	page, err := fetch(ctx, first, &pageInfo)
	report()
	if err != nil {
		yield(nil, err)
		return
	}
	// The first page fixes the last page; decodePage has checked that
	// Pages is ceil(Total/Size) and that each page is the one asked for.
	lastPage := page.Pages
	var (
		next     = first + 1
		inFlight []*pageResult
		seen     = newRecentIDs(max(c.prefetch, 1) + 2)
		// budget bounds the requests of the walk, whatever happens to the
		// arithmetic below: the pages from first to lastPage, plus one.
		budget = max(lastPage-first, 0) + 1
	)
	for {
		if err != nil {
			yield(nil, err)
			return
		}
		last := page.Page >= lastPage || len(page.Items) == 0
		// Keep the window full while the caller reads this page.
		for !last && len(inFlight) < c.prefetch && next <= lastPage && budget > 0 {
			inFlight = append(inFlight, start(next))
			next++
			budget--
		}
		seen.startPage(len(page.Items))
		for _, j := range page.Items {
			if !seen.add(j.ID) {
				continue // shifted onto this page by a job added meanwhile
			}
			if !yield(j, nil) {
				return
			}
		}
		if last {
			return
		}
		if len(inFlight) == 0 {
			if next > lastPage || budget == 0 {
				return
			}
			budget--
			pageInfo = ResponseInfo{}
			page, err = fetch(ctx, next, &pageInfo)
			report()
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
		page, err, pageInfo = r.page, r.err, r.info
		report()
	}
}

// recentIDs remembers the ids of the last few pages a walk has read, so
// that a job shifted onto a later page is yielded once, in memory bounded
// by those pages rather than by the length of the list.
type recentIDs struct {
	pages []map[string]struct{} // oldest first; the last is the current page
	keep  int
}

func newRecentIDs(keep int) *recentIDs { return &recentIDs{keep: keep} }

// startPage begins the set of a new page, forgetting the oldest beyond keep.
func (r *recentIDs) startPage(n int) {
	if len(r.pages) == r.keep {
		r.pages = append(r.pages[:0], r.pages[1:]...)
	}
	r.pages = append(r.pages, make(map[string]struct{}, n))
}

// add records id on the current page and reports whether it is new to
// the pages remembered.
func (r *recentIDs) add(id string) bool {
	for _, p := range r.pages {
		if _, ok := p[id]; ok {
			return false
		}
	}
	r.pages[len(r.pages)-1][id] = struct{}{}
	return true
}
