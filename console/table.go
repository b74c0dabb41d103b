package console

import (
	"net/url"
	"slices"
	"strconv"
)

// listQuery is the query of a list page: the filters, sort and paging it
// was asked for, which its links (sort headers, pages, filters) keep.
// Every list pages and sorts on the server: the page passes these
// parameters to the API, which names them the same (limit, offset, sort,
// order).
type listQuery struct {
	// Path is the page's path ("/console/updates").
	Path string
	// Values are the page's parameters.
	Values url.Values
}

// newListQuery keeps the parameters of q that are in known.
func newListQuery(path string, q url.Values, known ...string) listQuery {
	l := listQuery{Path: path, Values: url.Values{}}
	for _, k := range known {
		for _, v := range q[k] {
			if v != "" {
				l.Values.Add(k, v)
			}
		}
	}
	return l
}

// namingOrder sets order=desc when l sorts by one of descending, the sorts
// the API lists most (newest) first when asked for no order, and names
// none: the sorted column's header then says, and toggles, the API's own
// order. It returns l.
func (l listQuery) namingOrder(descending ...string) listQuery {
	if s := l.Get("sort"); l.Get("order") == "" && slices.Contains(descending, s) {
		l.Values.Set("order", "desc")
	}
	return l
}

// Get is a parameter's value.
func (l listQuery) Get(key string) string { return l.Values.Get(key) }

// Has tells whether key has value among its values (a checkbox filter).
func (l listQuery) Has(key, value string) bool {
	for _, v := range l.Values[key] {
		if v == value {
			return true
		}
	}
	return false
}

// With is the page's URL with the parameters given as key, value pairs
// replaced (an empty value removes one). Any change but the offset's
// starts again at the first page.
func (l listQuery) With(kv ...string) string {
	v := url.Values{}
	for k, vs := range l.Values {
		v[k] = append([]string(nil), vs...)
	}
	paging := false
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "offset" {
			paging = true
		}
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	if !paging {
		v.Del("offset")
	}
	if len(v) == 0 {
		return l.Path
	}
	return l.Path + "?" + v.Encode()
}

// column is one sortable column header ({{template "th" (col .Page.Q "title" "Title")}}).
type column struct {
	Label string
	// Href sorts by the column, in the other order when it is already
	// the sort.
	Href string
	// Sort is "ascending", "descending" or "none" (aria-sort).
	Sort string
}

// col is the header of the column sorting by key. The API's default order
// of a sort is its own; the console toggles between asc and desc.
func col(l listQuery, key, label string) column {
	c := column{Label: label, Sort: "none"}
	if l.Get("sort") == key {
		if l.Get("order") == "desc" {
			c.Sort = "descending"
			c.Href = l.With("sort", key, "order", "asc")
		} else {
			c.Sort = "ascending"
			c.Href = l.With("sort", key, "order", "desc")
		}
		return c
	}
	c.Href = l.With("sort", key, "order", "")
	return c
}

// pager is the paging of a list the API answered: Total rows, Limit a
// page from Offset.
type pager struct {
	Q                    listQuery
	Total, Limit, Offset int
}

// From and To number the rows shown, from 1; From is 0 when none is.
func (p pager) From() int {
	if p.Total == 0 {
		return 0
	}
	return p.Offset + 1
}

// To is the number of the last row shown.
func (p pager) To() int { return min(p.Offset+p.Limit, p.Total) }

// Prev is the URL of the page before, "" on the first.
func (p pager) Prev() string {
	if p.Offset <= 0 {
		return ""
	}
	return p.Q.With("offset", strconv.Itoa(max(p.Offset-p.Limit, 0)))
}

// Next is the URL of the page after, "" on the last.
func (p pager) Next() string {
	if p.Limit <= 0 || p.Offset+p.Limit >= p.Total {
		return ""
	}
	return p.Q.With("offset", strconv.Itoa(p.Offset+p.Limit))
}
