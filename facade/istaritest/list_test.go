package istaritest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/gen"
)

// seed creates jobs: for user "u" (DefaultToken) on m1 and m2, and one for
// another user; then sets some statuses and archives one.
func seedList(t *testing.T, srv *testServer) (m1 []gen.Job, m2 gen.Job, other gen.Job) {
	t.Helper()
	srv.AddUser("other-token", "other", false)
	for range 3 {
		m1 = append(m1, srv.addJob("m1"))
	}
	m2 = srv.addJob("m2")
	other = srv.addJobAs("other-token", "m1")
	res := srv.send(req{method: http.MethodPatch, path: "/jobs/" + m1[1].ID + "/status?status_name=Running"})
	require.Equal(t, 200, res.status)
	res = srv.send(req{method: http.MethodPatch, path: "/jobs/" + m2.ID + "/status?status_name=Running"})
	require.Equal(t, 200, res.status)
	// m1[0] ran, then completed: its current status is Completed.
	for _, s := range []string{"Running", "Completed"} {
		require.Equal(t, 200, srv.send(req{method: http.MethodPatch, path: "/jobs/" + m1[0].ID + "/status?status_name=" + s}).status)
	}
	require.Equal(t, 200, srv.send(req{method: http.MethodPatch, path: "/jobs/" + m1[2].ID + "/archive"}).status)
	return m1, m2, other
}

func TestListFilters(t *testing.T) {
	srv := newServer(t)
	m1, m2, other := seedList(t, srv)
	cases := []struct {
		name string
		req  req
		want []string
	}{
		{"default: the caller's active jobs", get("/jobs"), []string{m1[0].ID, m1[1].ID, m2.ID}},
		{"model", get("/jobs?model_id=m1"), []string{m1[0].ID, m1[1].ID}},
		{"unknown model", get("/jobs?model_id=nope"), nil},
		{"current status Running", get("/jobs?status_name=Running"), []string{m1[1].ID, m2.ID}},
		{"a past status does not match", get("/jobs?status_name=Pending"), nil},
		{"current status Completed", get("/jobs?status_name=Completed"), []string{m1[0].ID}},
		{"archived", get("/jobs?archive_status=archived"), []string{m1[2].ID}},
		{"all", get("/jobs?archive_status=all"), []string{m1[0].ID, m1[1].ID, m1[2].ID, m2.ID}},
		{"active", get("/jobs?archive_status=active"), []string{m1[0].ID, m1[1].ID, m2.ID}},
		{"all users as admin", get("/jobs?all_users=true&archive_status=all").as(srv.AdminToken), []string{m1[0].ID, m1[1].ID, m1[2].ID, m2.ID, other.ID}},
		{"all_users=false as admin: the admin's own", get("/jobs?all_users=false").as(srv.AdminToken), nil},
		{"other user", get("/jobs").as("other-token"), []string{other.ID}},
		{"all filters", get("/jobs?all_users=true&model_id=m1&status_name=Pending&archive_status=all").as(srv.AdminToken), []string{m1[2].ID, other.ID}},
		{"model jobs", get("/models/m1/jobs"), []string{m1[0].ID, m1[1].ID}},
		{"model jobs, all archive states", get("/models/m1/jobs?archive_status=all"), []string{m1[0].ID, m1[1].ID, m1[2].ID}},
		{"model jobs by status", get("/models/m1/jobs?status_name=Running"), []string{m1[1].ID}},
		{"model jobs of another user", get("/models/m1/jobs").as("other-token"), []string{other.ID}},
		{"model jobs, unknown model", get("/models/nope/jobs"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := srv.send(tc.req)
			require.Equal(t, http.StatusOK, res.status, "body %s", res.body)
			p := res.page(t)
			assert.Equal(t, len(tc.want), p.Total)
			if tc.want == nil {
				tc.want = []string{}
			}
			assert.Equal(t, tc.want, ids(p.Items))
			assert.NotNil(t, p.Items, "items is [] not null")
		})
	}
}

func TestListErrors(t *testing.T) {
	srv := newServer(t)
	srv.expectErrors(t, []errorCase{
		{"all_users without admin", get("/jobs?all_users=true"), 403, ""},
		{"no token", get("/jobs").as("-"), 401, ""},
		{"no token, bad params too", get("/jobs?page=0&sort=x").as("-"), 401, ""},
		{"unknown token", get("/models/m/jobs").as("x"), 401, ""},
		{"Basic auth", req{method: http.MethodGet, path: "/jobs", auth: "Basic " + DefaultToken}, 401, ""},
		{"Bearer without token", req{method: http.MethodGet, path: "/jobs", auth: "Bearer "}, 401, ""},
		{"lower-case bearer", req{method: http.MethodGet, path: "/jobs?page=0", auth: "bearer " + DefaultToken}, 422, "query.page"},
		{"page=0", get("/jobs?page=0"), 422, "query.page"},
		{"page=-1", get("/models/m/jobs?page=-1"), 422, "query.page"},
		{"page not a number", get("/jobs?page=x"), 422, "query.page"},
		{"huge page", get("/jobs?page=99999999999999999999999"), 422, "query.page"},
		{"size=101", get("/jobs?size=101"), 422, "query.size"},
		{"size=-1", get("/models/m/jobs?size=-1"), 422, "query.size"},
		{"status lower case", get("/jobs?status_name=running"), 422, "query.status_name"},
		{"archive_status capitalized", get("/jobs?archive_status=Active"), 422, "query.archive_status"},
		{"all_users not a boolean", get("/jobs?all_users=maybe"), 422, "query.all_users"},
		{"empty model_id", get("/jobs?model_id="), 422, "query.model_id"},
		{"unknown sort key", get("/jobs?sort=name"), 422, "query.sort"},
		{"unknown sort key, model jobs", get("/models/m/jobs?sort=-updated"), 422, "query.sort"},
		{"empty sort", get("/jobs?sort="), 422, "query.sort"},
	})
	res := srv.send(get("/jobs?sort=name"))
	assert.Contains(t, string(res.body), "sort")
}

func TestListSort(t *testing.T) {
	// A frozen clock: every job has the same created time, so order rests on
	// creation order alone.
	frozen := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, WithClock(func() time.Time { return frozen }))
	var want []string
	for range 5 {
		want = append(want, srv.addJob("m").ID)
	}
	for _, j := range srv.Jobs() {
		assert.Equal(t, frozen, j.Created)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", want},
		{"?sort=created", want},
		{"?sort=-created", reversed(want)},
		{"?sort=-created&size=2&page=2", reversed(want)[2:4]},
		{"?sort=created&size=2&page=3", want[4:]},
	}
	for _, tc := range cases {
		for _, base := range []string{"/jobs", "/models/m/jobs"} {
			t.Run(base+tc.query, func(t *testing.T) {
				res := srv.send(get(base + tc.query))
				require.Equal(t, 200, res.status, "body %s", res.body)
				assert.Equal(t, tc.want, ids(res.page(t).Items))
			})
		}
	}
}

func TestListSortByTime(t *testing.T) {
	// A clock that runs backwards: created order differs from creation order.
	var mu sync.Mutex
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		at = at.Add(-time.Minute)
		return at
	}))
	var made []string
	for range 3 {
		made = append(made, srv.addJob("m").ID)
	}
	assert.Equal(t, reversed(made), ids(srv.send(get("/jobs")).page(t).Items), "oldest created first")
	assert.Equal(t, made, ids(srv.send(get("/jobs?sort=-created")).page(t).Items))
}

func TestListPaging(t *testing.T) {
	// One platform per total, filled through the API.
	totals := []int{0, 1, 100, 101}
	servers := map[int]*testServer{}
	all := map[int][]string{}
	for _, total := range totals {
		srv := newServer(t)
		for range total {
			all[total] = append(all[total], srv.addJob("m").ID)
		}
		servers[total] = srv
	}
	type tc struct {
		size, page int
	}
	var cases []tc
	for _, size := range []int{0, 1, 100} {
		for _, page := range []int{1, 2, 100, 101, 102} {
			cases = append(cases, tc{size, page})
		}
	}
	for _, total := range totals {
		for _, c := range cases {
			t.Run(fmt.Sprintf("total=%d/size=%d/page=%d", total, c.size, c.page), func(t *testing.T) {
				srv := servers[total]
				res := srv.send(get(fmt.Sprintf("/jobs?size=%d&page=%d", c.size, c.page)))
				require.Equal(t, 200, res.status, "body %s", res.body)
				p := res.page(t)
				assert.Equal(t, total, p.Total)
				assert.Equal(t, c.size, p.Size)
				assert.Equal(t, c.page, p.Page)
				wantPages := 0
				if c.size > 0 {
					wantPages = (total + c.size - 1) / c.size
				}
				assert.Equal(t, wantPages, p.Pages)
				want := []string{}
				if c.size > 0 {
					start := (c.page - 1) * c.size
					if start < total {
						want = all[total][start:min(start+c.size, total)]
					}
				}
				assert.Equal(t, want, ids(p.Items))
			})
		}
	}
	// The defaults: page 1, size 10.
	p := servers[101].send(get("/jobs")).page(t)
	assert.Equal(t, 1, p.Page)
	assert.Equal(t, 10, p.Size)
	assert.Equal(t, 11, p.Pages)
	assert.Equal(t, all[101][:10], ids(p.Items))
	// The model list pages the same way.
	p = servers[101].send(get("/models/m/jobs?size=100&page=2")).page(t)
	assert.Equal(t, all[101][100:], ids(p.Items))
	assert.Equal(t, 2, p.Pages)
}
