package admin

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// FuzzUpdateQuery: any query of GET /api/v1/updates is refused with a
// reason naming a parameter, or gives a store query within the contract's
// bounds.
func FuzzUpdateQuery(f *testing.F) {
	for _, q := range []string{
		"", "q=KB5031356&type=Software,Driver&severity=none&sort=needed&order=asc&limit=1000&offset=7",
		"product=Windows+11&classification=all&group=Pilot&approved=1&released_after=2026-01-01",
		"limit=0", "limit=1001", "offset=-1", "tipe=x", "kb=KB", "min_needed=-3", "format=csv", "q=%00", "limit=1&limit=2",
	} {
		f.Add(q)
	}
	windows := uuid.MustParse("33333333-3333-4333-8333-333333333333")
	cats := catalog.IndexCategories([]catalog.Summary{{
		Identity: catalog.Identity{UpdateID: windows, RevisionNumber: 1}, Type: catalog.TypeCategory,
		CategoryType: catalog.CategoryProduct, Title: "Windows 11",
	}})
	groups := []catalog.TargetGroup{{ID: catalog.AllComputersGroupID, Name: "All Computers"}, {ID: uuid.New(), Name: "Pilot"}}
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return // not a query a server decodes
		}
		p := readQuery(values, updateParams, "type", "product", "classification", "severity")
		var q catalog.UpdateQuery
		var e *requestError
		if p.err == nil {
			q, e = parseUpdateQuery(p, cats, groups)
			p.csv(httptest.NewRequest("GET", "/", nil))
			if e == nil {
				e = p.err
			}
		} else {
			e = p.err
		}
		if e != nil {
			named := false
			for _, name := range append(updateParams, "query parameter") {
				named = named || strings.Contains(e.reason, name)
			}
			if e.status != 400 || e.code == "" || !named {
				t.Fatalf("%q refused with %d %s %q", raw, e.status, e.code, e.reason)
			}
			return
		}
		if q.Page.Limit < 1 || q.Page.Limit > catalog.MaxPageSize || q.Page.Offset < 0 || !q.Sort.Valid() ||
			q.MinNeeded < 0 || q.MinFailed < 0 || len([]rune(q.Text)) > maxTextParam {
			t.Fatalf("%q gave a query out of bounds: %+v", raw, q)
		}
		for _, id := range append(q.Products, q.Classifications...) {
			if _, ok := cats.Category(id); !ok {
				t.Fatalf("%q selects category %s, which is not indexed", raw, id)
			}
		}
	})
}
