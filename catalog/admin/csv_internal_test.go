package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"wsus/catalog"
)

// streamCSV walks the store's pages: an export larger than a page comes
// whole, bounded by ?limit, from ?offset on, with the total in
// X-Total-Count; a failure on the first page is a JSON error, and on a
// later one aborts the answer.
func TestStreamCSVPages(t *testing.T) {
	const rows = 2*catalog.MaxPageSize + 345
	tests := []struct {
		name      string
		start     catalog.Page
		limited   bool
		wantFirst int // the first row's number, -1 for none
		wantRows  int
		wantCalls int
	}{
		{"every row", catalog.Page{Limit: 100}, false, 0, rows, 3},
		{"from an offset", catalog.Page{Limit: 100, Offset: 500}, false, 500, rows - 500, 2},
		{"a limit", catalog.Page{Limit: 7, Offset: 990}, true, 990, 7, 1},
		{"past the end", catalog.Page{Limit: 100, Offset: rows + 5}, false, -1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &handler{log: slog.New(slog.DiscardHandler)}
			calls := 0
			fetch := func(_ context.Context, p catalog.Page) ([][]string, int, error) {
				calls++
				if p.Limit < 1 || p.Limit > catalog.MaxPageSize {
					t.Errorf("page limit %d", p.Limit)
				}
				var out [][]string
				for i := p.Offset; i < min(p.Offset+p.Limit, rows); i++ {
					out = append(out, []string{strconv.Itoa(i), "row, \"quoted\""})
				}
				return out, rows, nil
			}
			w := httptest.NewRecorder()
			h.streamCSV(w, httptest.NewRequest(http.MethodGet, "/x", nil), "x", []string{"n", "text"}, tt.start, tt.limited, "Fetch", fetch)
			records, err := csv.NewReader(w.Body).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != tt.wantRows+1 || records[0][0] != "n" || calls != tt.wantCalls {
				t.Fatalf("%d records, %d calls; want %d rows and a header, %d calls", len(records), calls, tt.wantRows, tt.wantCalls)
			}
			for i, rec := range records[1:] {
				if rec[0] != strconv.Itoa(tt.wantFirst+i) || rec[1] != `row, "quoted"` {
					t.Fatalf("row %d = %q", i, rec)
				}
			}
			if got := w.Header().Get("X-Total-Count"); got != strconv.Itoa(rows) {
				t.Errorf("X-Total-Count = %q", got)
			}
		})
	}

	t.Run("first page fails", func(t *testing.T) {
		h := &handler{log: slog.New(slog.DiscardHandler)}
		w := httptest.NewRecorder()
		h.streamCSV(w, httptest.NewRequest(http.MethodGet, "/x", nil), "x", []string{"n"}, catalog.Page{Limit: 10}, false, "Fetch",
			func(context.Context, catalog.Page) ([][]string, int, error) { return nil, 0, catalog.ErrUnavailable })
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("answer %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	})
	t.Run("later page fails", func(t *testing.T) {
		h := &handler{log: slog.New(slog.DiscardHandler)}
		defer func() {
			if r := recover(); r != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", r)
			}
		}()
		calls := 0
		h.streamCSV(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil), "x", []string{"n"}, catalog.Page{Limit: 10}, false, "Fetch",
			func(_ context.Context, p catalog.Page) ([][]string, int, error) {
				if calls++; calls > 1 {
					return nil, 0, errors.New("gone")
				}
				return make([][]string, p.Limit), 5000, nil
			})
		t.Error("a failed later page did not abort")
	})
}

func TestInertCell(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "alpha.contoso.test": "alpha.contoso.test", "=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"+1": "'+1", "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"2026-04-10T08:00:00Z": "2026-04-10T08:00:00Z", `{"a":1}`: `{"a":1}`, "0x80240022": "0x80240022",
	} {
		if got := inertCell(in); got != want {
			t.Errorf("inertCell(%q) = %q, want %q", in, got, want)
		}
	}
}
