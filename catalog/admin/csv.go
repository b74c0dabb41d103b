package admin

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file exports the reports as CSV (RFC 4180, UTF-8, a header row):
// asked for with ?format=csv or an Accept header naming text/csv. An export
// walks the store's pages (catalog.MaxPageSize rows at a time) from
// ?offset on and streams each page as it comes: with ?limit it answers at
// most limit rows, without it every row the query selects up to MaxCSVRows.
// The answer's X-Total-Count header says how many rows the query selects in
// all, so a client can tell an export that MaxCSVRows cut short.
//
// Cells hold text computers and upstreams chose (DNS names, titles): a cell
// that starts with "=", "+", "-", "@", a tab or a carriage return gets a
// leading "'", so that a spreadsheet shows it as text instead of running it
// as a formula (OWASP's CSV injection advice). Nothing this API writes
// starts so otherwise: counts are not negative, times start with a digit.
//
// The status is decided on the first page: a store failure then is the
// usual JSON error. A failure on a later page aborts the answer
// (http.ErrAbortHandler) so that the client sees a broken transfer, never
// a short file that looks whole.

// MaxCSVRows bounds the rows of one CSV export.
const MaxCSVRows = 100_000

// csvPage fetches one page of an export as CSV records and how many rows
// the query selects in all.
type csvPage func(ctx context.Context, page catalog.Page) (records [][]string, total int, err error)

// streamCSV answers an export of header and the pages fetch answers,
// starting at start; limited says the request gave ?limit=n (n then bounds
// the rows instead of MaxCSVRows). op names the store call in logs.
func (h *handler) streamCSV(w http.ResponseWriter, r *http.Request, name string, header []string, start catalog.Page, limited bool, op string, fetch csvPage) {
	want := MaxCSVRows
	if limited {
		want = min(start.Limit, MaxCSVRows)
	}
	page := catalog.Page{Limit: min(want, catalog.MaxPageSize), Offset: start.Offset}
	records, total, err := fetch(r.Context(), page)
	if err != nil {
		h.storeFailed(w, r, op, err)
		return
	}
	cw := startCSV(w, name, header, total)
	sent := 0
	for {
		if len(records) > want-sent {
			records = records[:want-sent]
		}
		if err := cw.WriteAll(records); err != nil {
			return // the client went away
		}
		sent += len(records)
		page.Offset += len(records)
		if len(records) == 0 || sent >= want || page.Offset >= total {
			return
		}
		page.Limit = min(want-sent, catalog.MaxPageSize)
		if records, _, err = fetch(r.Context(), page); err != nil {
			h.log.ErrorContext(r.Context(), "admin: store failure during a CSV export; answer aborted",
				"op", op, "path", r.URL.Path, "rows_sent", sent, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// csvWriter writes CSV records with every cell made inert (see
// inertCell).
type csvWriter struct{ w *csv.Writer }

func (c csvWriter) Write(record []string) error {
	for i, cell := range record {
		record[i] = inertCell(cell)
	}
	return c.w.Write(record)
}

func (c csvWriter) WriteAll(records [][]string) error {
	for _, rec := range records {
		if err := c.Write(rec); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

func (c csvWriter) Flush() { c.w.Flush() }

// inertCell returns cell, with a leading "'" when a spreadsheet would read
// it as a formula.
func inertCell(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// startCSV writes the headers of a CSV answer (total < 0 leaves
// X-Total-Count out) and its header row.
func startCSV(w http.ResponseWriter, name string, header []string, total int) csvWriter {
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	if total >= 0 {
		hd.Set("X-Total-Count", strconv.Itoa(total))
	}
	w.WriteHeader(http.StatusOK)
	cw := csvWriter{csv.NewWriter(w)}
	_ = cw.Write(header) // an error shows again at the first flush
	return cw
}

// csvTime formats an optional time for CSV: RFC 3339 UTC, "" when zero.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// csvOptTime is csvTime of a *time.Time.
func csvOptTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return csvTime(*t)
}

// countCells are the cells of Counts, in countHeader's order.
func countCells(c Counts) []string {
	return []string{strconv.Itoa(c.Installed), strconv.Itoa(c.Needed), strconv.Itoa(c.Failed),
		strconv.Itoa(c.NotApplicable), strconv.Itoa(c.NoStatus)}
}

var countHeader = []string{"installed", "needed", "failed", "not_applicable", "no_status"}

// categoryTitles joins the titles of categories with "; ".
func categoryTitles(refs []CategoryRef) string {
	titles := make([]string, 0, len(refs))
	for _, c := range refs {
		t := c.Title
		if t == "" {
			t = c.ID.String()
		}
		titles = append(titles, t)
	}
	return strings.Join(titles, "; ")
}

// updateCSVHeader is the header row of the update list's CSV.
var updateCSVHeader = append([]string{"update_id", "title", "kb_article_id", "type", "products", "classifications",
	"msrc_severity", "cves", "released", "declined", "superseded", "approved_groups"}, countHeader...)

// updatesCSV answers the update list as CSV.
func (h *handler) updatesCSV(w http.ResponseWriter, r *http.Request, cs catalog.ComplianceStore, q catalog.UpdateQuery,
	limited bool, idx *catalogIndex, names map[uuid.UUID]string) {
	h.streamCSV(w, r, "updates", updateCSVHeader, q.Page, limited, "ListUpdates",
		func(ctx context.Context, page catalog.Page) ([][]string, int, error) {
			q.Page = page
			list, total, err := cs.ListUpdates(ctx, q)
			records := make([][]string, 0, len(list))
			for _, v := range list {
				u := wireUpdate(v, idx, names)
				var groups []string
				for _, a := range u.Approvals {
					groups = append(groups, a.Group+":"+string(a.Action))
				}
				records = append(records, append([]string{u.UpdateID.String(), u.Title, u.KBArticleID, string(u.Type),
					categoryTitles(u.Products), categoryTitles(u.Classifications), u.MsrcSeverity, strings.Join(u.CVEs, "; "),
					csvOptTime(u.Released), strconv.FormatBool(u.Declined), strconv.FormatBool(u.Superseded),
					strings.Join(groups, "; ")}, countCells(u.Computers)...))
			}
			return records, total, err
		})
}

// statusCSVHeader is the header row of the state lists' CSV.
var statusCSVHeader = []string{"client_id", "dns_name", "update_id", "title", "kb_article_id", "state", "compliance",
	"error_code", "changed_at", "last_status"}

// statusesCSV answers a state list as CSV.
func (h *handler) statusesCSV(w http.ResponseWriter, r *http.Request, cs catalog.ComplianceStore, q catalog.StatusQuery, limited bool) {
	name := "computer-updates"
	if q.UpdateID != uuid.Nil {
		name = "update-computers"
	}
	h.streamCSV(w, r, name, statusCSVHeader, q.Page, limited, "ListStatuses",
		func(ctx context.Context, page catalog.Page) ([][]string, int, error) {
			q.Page = page
			list, total, err := cs.ListStatuses(ctx, q)
			records := make([][]string, 0, len(list))
			for _, s := range list {
				row := wireStatus(s)
				records = append(records, []string{row.ClientID, row.DNSName, row.UpdateID.String(), row.Title, row.KBArticleID,
					row.State, string(row.Compliance), row.ErrorCode, csvOptTime(row.ChangedAt), csvOptTime(row.LastStatus)})
			}
			return records, total, err
		})
}

// computerCSVHeader is the header row of the computer lists' CSV.
var computerCSVHeader = append([]string{"id", "dns_name", "os_description", "os_version", "groups", "last_sync",
	"last_report", "last_status"}, countHeader[:4]...)

// computersCSV answers a computer list as CSV.
func (h *handler) computersCSV(w http.ResponseWriter, r *http.Request, cs catalog.ComplianceStore, q catalog.ComputerQuery,
	limited bool, names map[uuid.UUID]string) {
	h.streamCSV(w, r, "computers", computerCSVHeader, q.Page, limited, "ListComputers",
		func(ctx context.Context, page catalog.Page) ([][]string, int, error) {
			q.Page = page
			list, total, err := cs.ListComputers(ctx, q)
			records := make([][]string, 0, len(list))
			for _, c := range list {
				wc := wireComputer(c.Computer, names)
				groups := make([]string, 0, len(wc.Groups))
				for _, g := range wc.Groups {
					groups = append(groups, g.Name)
				}
				records = append(records, append([]string{wc.ID, wc.DNSName, wc.OSDescription, wc.OSVersion,
					strings.Join(groups, "; "), csvOptTime(wc.LastSync), csvOptTime(wc.LastReport), csvOptTime(wc.LastStatus)},
					countCells(wireCounts(c.Updates))[:4]...))
			}
			return records, total, err
		})
}

// writeGroupsCSV answers the group rollups as CSV (one row per group).
func writeGroupsCSV(w http.ResponseWriter, groups []GroupComplianceRow) {
	cw := startCSV(w, "group-compliance", append([]string{"group_id", "name", "computers", "needing_updates",
		"with_failures", "up_to_date", "not_reported"}, countHeader[:4]...), len(groups))
	for _, g := range groups {
		_ = cw.Write(append([]string{g.ID.String(), g.Name, strconv.Itoa(g.Computers), strconv.Itoa(g.NeedingUpdates),
			strconv.Itoa(g.WithFailures), strconv.Itoa(g.UpToDate), strconv.Itoa(g.NotReported)},
			countCells(g.Updates)[:4]...))
	}
	cw.Flush()
}

// auditCSVHeader is the header row of the audit log's CSV.
var auditCSVHeader = []string{"id", "at", "actor", "action", "target", "before", "after", "remote_addr"}

// auditCSV answers the audit log as CSV, newest (highest ID) first: the
// entries f selects, walked catalog.MaxAuditLimit at a time by moving
// BeforeID to the last entry of each batch; with ?limit=n at most n, else
// at most MaxCSVRows.
func (h *handler) auditCSV(w http.ResponseWriter, r *http.Request, f catalog.AuditFilter, limited bool) {
	want := MaxCSVRows
	if limited {
		want = f.Limit
	}
	f.Limit = catalog.MaxAuditLimit
	entries, err := h.store.Audit(r.Context(), f)
	if err != nil {
		h.storeFailed(w, r, "Audit", err)
		return
	}
	cw := startCSV(w, "audit", auditCSVHeader, -1)
	for sent := 0; ; {
		for _, e := range entries {
			if sent >= want {
				break
			}
			sent++
			if err := cw.Write([]string{strconv.FormatInt(e.ID, 10), csvTime(e.At), e.Actor, e.Action, e.Target,
				string(nullJSON(e.Before)), string(nullJSON(e.After)), e.RemoteAddr}); err != nil {
				return
			}
		}
		if sent >= want || len(entries) < f.Limit {
			break
		}
		// The next batch: the entries older (lower ID) than this one's last.
		f.BeforeID = entries[len(entries)-1].ID
		if entries, err = h.store.Audit(r.Context(), f); err != nil {
			h.log.ErrorContext(r.Context(), "admin: store failure during a CSV export; answer aborted",
				"op", "Audit", "path", r.URL.Path, "rows_sent", sent, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	cw.Flush()
}

// auditFormat reads the format of GET /api/v1/audit (?format=json|csv or
// Accept: text/csv); the other parameters are parseAuditFilter's.
func auditFormat(r *http.Request, q url.Values) (bool, *requestError) {
	p := readQuery(url.Values{"format": q["format"]}, formatParams)
	asCSV := p.csv(r)
	return asCSV, p.err
}
