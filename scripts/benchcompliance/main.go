// Command benchcompliance measures the admin views of the catalog store
// (catalog.ComplianceStore) at the scale of issue 11: 50,000 updates and
// 100,000 computers with about 50 reported states each (5 million
// update_status rows), on the embedded SQLite store and on PostgreSQL.
//
// It imports a generated catalog through the store (so the metadata columns
// are written as on a real import), bulk-loads the computers, their group
// assignments and their states with SQL behind the store's back (COPY on
// PostgreSQL), runs RebuildCompliance and ANALYZE (VACUUM ANALYZE on
// PostgreSQL, as autovacuum would), then times each view
// (median and p95 of -reps calls after two warm-up calls), a 156-sized
// SetStatuses (the write path that keeps the counts), and, with -http, the
// REST endpoints GET /api/v1/compliance/summary and GET /api/v1/updates
// through a real loopback listener. Its table gives, per view, the median
// and p95 latency and n: the rows of the last answer (bytes for HTTP).
//
// It is run by scripts/bench-compliance.sh, never by make test:
//
//	go run ./scripts/benchcompliance -sqlite /tmp/c.db -postgres postgres://... [-updates 50000] [-computers 100000]
//
// With -seed-only it loads the catalog and times nothing: scripts/bench-console.sh
// seeds a data directory's catalog.db with it and serves it with wsusd.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/catalog/sqlstore"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// config is what the flags set.
type config struct {
	sqlitePath, postgresURL string
	updates, computers, per int
	reps                    int
	seed                    uint64
	http                    bool
	load                    bool
	// seedOnly loads the catalog and stops: no view is timed, and the
	// SQLite catalog is kept for a server to serve (scripts/bench-console.sh).
	seedOnly bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchcompliance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.sqlitePath, "sqlite", "", "path of a new SQLite catalog to create (empty: skip SQLite)")
	fs.StringVar(&c.postgresURL, "postgres", "", "URL of an empty PostgreSQL database (empty: skip PostgreSQL)")
	fs.IntVar(&c.updates, "updates", 50000, "updates in the catalog")
	fs.IntVar(&c.computers, "computers", 100000, "computers")
	fs.IntVar(&c.per, "per", 50, "reported states per computer")
	fs.IntVar(&c.reps, "reps", 30, "timed calls of each view")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated data")
	fs.BoolVar(&c.http, "http", true, "also time the REST endpoints through a loopback listener")
	fs.BoolVar(&c.load, "load", true, "load the data (false: time the views of a catalog loaded by an earlier run with the same sizes and seed)")
	fs.BoolVar(&c.seedOnly, "seed-only", false, "only load the data, time nothing: seeds the -sqlite catalog (e.g. DATA/catalog.db) for wsusd serve")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.updates < 100 || c.computers < 1 || c.per < 1 || c.per > c.updates/2 || c.reps < 1 {
		fmt.Fprintln(stderr, "benchcompliance: want -updates >= 100, -computers >= 1, 1 <= -per <= updates/2, -reps >= 1")
		return 2
	}
	if c.sqlitePath == "" && c.postgresURL == "" {
		fmt.Fprintln(stderr, "benchcompliance: nothing to do: give -sqlite, -postgres or both")
		return 2
	}
	if c.seedOnly && !c.load {
		fmt.Fprintln(stderr, "benchcompliance: -seed-only loads the data: it cannot go with -load=false")
		return 2
	}
	gen := newGenerator(c)
	if c.sqlitePath != "" {
		if err := bench(ctx, stdout, "sqlite", c, gen); err != nil {
			fmt.Fprintf(stderr, "benchcompliance: sqlite: %v\n", err)
			return 1
		}
	}
	if c.postgresURL != "" {
		if err := bench(ctx, stdout, "postgres", c, gen); err != nil {
			fmt.Fprintf(stderr, "benchcompliance: postgres: %v\n", err)
			return 1
		}
	}
	return 0
}

// generator makes the catalog and the computers, the same for every engine.
type generator struct {
	c               config
	products        []uuid.UUID
	classifications map[string]uuid.UUID
	updates         []uuid.UUID // index i: update i
	listed          []bool      // not a bundle member
	groups          []catalog.TargetGroup
	now             time.Time
}

// classNames are the classifications of the generated catalog (WSUS's
// names; the IDs are generated).
var classNames = []string{"Security Updates", "Critical Updates", "Updates", "Definition Updates", "Update Rollups", "Drivers"}

func newGenerator(c config) *generator {
	ns := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "wsus benchcompliance %d", c.seed))
	id := func(f string, a ...any) uuid.UUID { return uuid.NewSHA1(ns, fmt.Appendf(nil, f, a...)) }
	g := &generator{c: c, classifications: map[string]uuid.UUID{}, now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	for i := range 20 {
		g.products = append(g.products, id("product %d", i))
	}
	for _, n := range classNames {
		g.classifications[n] = id("classification %s", n)
	}
	for i := range c.updates {
		g.updates = append(g.updates, id("update %d", i))
		g.listed = append(g.listed, i%20 != 19) // every 20th is the member of the bundle before it
	}
	for i := range 20 {
		parent := catalog.AllComputersGroupID
		if i >= 10 {
			parent = id("group %d", i-10) // rings 10-19 below 0-9
		}
		g.groups = append(g.groups, catalog.TargetGroup{ID: id("group %d", i), Name: fmt.Sprintf("Ring %02d", i), ParentID: parent})
	}
	return g
}

// revisions returns the catalog: categories, then the updates.
func (g *generator) revisions() []*catalog.Revision {
	var out []*catalog.Revision
	cat := func(id uuid.UUID, kind, title string) {
		out = append(out, &catalog.Revision{Identity: catalog.Identity{UpdateID: id, RevisionNumber: 1}, Type: catalog.TypeCategory,
			CategoryType: kind, Title: title, PublicationState: "Published", CreationDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	for i, p := range g.products {
		cat(p, "Product", fmt.Sprintf("Product %02d", i))
	}
	for _, n := range classNames {
		cat(g.classifications[n], "UpdateClassification", n)
	}
	severities := []string{"Critical", "Important", "Important", "Moderate", "Low"}
	for i, u := range g.updates {
		r := rand.New(rand.NewPCG(g.c.seed, uint64(i)))
		product := g.products[i%len(g.products)]
		class := classNames[r.IntN(len(classNames)-1)]
		typ := catalog.TypeSoftware
		if i%25 == 7 {
			typ, class = catalog.TypeDriver, "Drivers"
		}
		kb := fmt.Sprint(5000000 + i)
		created := g.now.Add(-time.Duration(r.IntN(3*365*24)) * time.Hour)
		title := fmt.Sprintf("%s Cumulative Update for Product %02d (KB%s)", created.Format("2006-01"), i%len(g.products), kb)
		props := `<upd:Properties UpdateType="` + string(typ) + `"`
		severity := ""
		if class == "Security Updates" {
			severity = severities[r.IntN(len(severities))]
			props += ` MsrcSeverity="` + severity + `"`
		}
		props += "><upd:KBArticleID>" + kb + "</upd:KBArticleID>"
		if severity != "" {
			for j := range 1 + r.IntN(3) {
				props += fmt.Sprintf("<upd:CveID>CVE-%d-%05d</upd:CveID>", 2024+j, (i*7+j)%100000)
			}
		}
		props += "</upd:Properties>"
		rev := &catalog.Revision{
			Identity: catalog.Identity{UpdateID: u, RevisionNumber: 200}, Type: typ, Title: title, Description: title + ".",
			KBArticleID: kb, PublicationState: "Published", CreationDate: created,
			Prerequisites: []catalog.PrerequisiteClause{{IsCategory: true, UpdateIDs: []uuid.UUID{product}},
				{IsCategory: true, UpdateIDs: []uuid.UUID{g.classifications[class]}}},
			SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="` +
				u.String() + `" RevisionNumber="200" />` + props + `</upd:Update>`,
		}
		if i+1 < len(g.updates) && !g.listed[i+1] {
			rev.BundledUpdates = []catalog.Identity{{UpdateID: g.updates[i+1], RevisionNumber: 200}}
		}
		if i >= 1000 && r.IntN(10) < 3 {
			rev.SupersededUpdates = []uuid.UUID{g.updates[i-1000]}
		}
		out = append(out, rev)
	}
	return out
}

// computer is one generated computer.
type computer struct {
	id, dns    string
	requested  any // JSON text or nil
	group      uuid.UUID
	lastStatus time.Time // zero: never reported
	statuses   []catalog.UpdateStatus
}

// errorCodes are the HRESULTs of the generated failures.
var errorCodes = []int32{-2145124329, -2147024891, -2145116147}

// computer returns computer i.
func (g *generator) computer(i int) computer {
	r := rand.New(rand.NewPCG(g.c.seed^0x9e3779b97f4a7c15, uint64(i)))
	c := computer{id: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "computer %d %d", g.c.seed, i)).String(),
		dns: fmt.Sprintf("pc-%06d.corp.example", i)}
	switch n := r.IntN(100); {
	case n < 80:
		c.group = g.groups[r.IntN(len(g.groups))].ID
	case n < 85:
		c.requested = fmt.Sprintf(`["Ring %02d"]`, r.IntN(len(g.groups)))
	}
	if r.IntN(100) >= 5 {
		c.lastStatus = g.now.Add(-time.Duration(r.IntN(14*24*3600)) * time.Second)
	}
	// Popular updates are reported by many computers (Zipf).
	z := rand.NewZipf(r, 1.1, 1, uint64(len(g.updates)-1))
	seen := map[int]bool{}
	for len(c.statuses) < g.c.per && c.lastStatus != (time.Time{}) {
		u := int(z.Uint64())
		if seen[u] {
			continue
		}
		seen[u] = true
		st := catalog.UpdateStatus{UpdateID: g.updates[u], ChangedAt: c.lastStatus}
		switch n := r.IntN(100); {
		case n < 55:
			st.State = catalog.StateNotApplicable
		case n < 80:
			st.State = catalog.StateInstalled
		case n < 90:
			st.State = catalog.StateNotInstalled
		case n < 94:
			st.State = catalog.StateDownloaded
		case n < 97:
			st.State = catalog.StateInstalledPendingReboot
		default:
			st.State, st.ErrorCode = catalog.StateFailed, errorCodes[r.IntN(len(errorCodes))]
		}
		c.statuses = append(c.statuses, st)
	}
	return c
}

// bench loads one engine and times the views on it.
func bench(ctx context.Context, out io.Writer, engine string, c config, g *generator) error {
	fmt.Fprintf(out, "== %s: %d updates, %d computers, %d states each\n", engine, c.updates, c.computers, c.per)
	var s *sqlstore.Store
	var err error
	if engine == "sqlite" {
		s, err = sqlite.Open(ctx, c.sqlitePath)
	} else {
		s, err = postgres.Open(ctx, c.postgresURL)
	}
	if err != nil {
		return err
	}
	defer s.Close()

	if c.load {
		if err := load(ctx, out, engine, s, c, g); err != nil {
			return err
		}
	}
	if c.seedOnly {
		return nil
	}
	return timeViews(ctx, out, s, c, g)
}

// load imports the catalog through the store and bulk-loads the computers
// and their states, then rebuilds the counts.
func load(ctx context.Context, out io.Writer, engine string, s *sqlstore.Store, c config, g *generator) error {
	start := time.Now()
	revs := g.revisions()
	for len(revs) > 0 {
		n := min(5000, len(revs))
		if _, err := s.ImportRevisions(ctx, revs[:n]); err != nil {
			return err
		}
		revs = revs[n:]
	}
	fmt.Fprintf(out, "import %d revisions through the store: %s\n", c.updates+len(g.products)+len(classNames), since(start))
	for _, grp := range g.groups {
		if err := s.CreateTargetGroup(ctx, grp); err != nil {
			return err
		}
	}
	start = time.Now()
	var err error
	if engine == "sqlite" {
		err = loadSQLite(ctx, c.sqlitePath, g)
	} else {
		err = loadPostgres(ctx, c.postgresURL, g)
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	fmt.Fprintf(out, "bulk load of computers and states: %s\n", since(start))
	start = time.Now()
	if err := s.RebuildCompliance(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "RebuildCompliance: %s\n", since(start))
	return nil
}

// timeViews times the views of a loaded catalog.
func timeViews(ctx context.Context, out io.Writer, s *sqlstore.Store, c config, g *generator) error {

	security := g.classifications["Security Updates"]
	popular, middling := g.updates[0], g.updates[200] // Zipf ranks 1 and 201
	since7d := g.now.Add(-7 * 24 * time.Hour)
	someGroup := g.groups[3].ID
	var fifty []uuid.UUID
	for i := 0; len(fifty) < 50; i++ {
		if g.listed[i] {
			fifty = append(fifty, g.updates[i])
		}
	}
	type view struct {
		name string
		fn   func() (int, error)
	}
	views := []view{
		{"ComplianceSummary", func() (int, error) { _, err := s.ComplianceSummary(ctx, since7d); return 1, err }},
		{"ListUpdates class=Security sort=needed desc limit 50", func() (int, error) {
			v, _, err := s.ListUpdates(ctx, catalog.UpdateQuery{Classifications: []uuid.UUID{security}, Sort: catalog.SortByNeeded,
				Desc: true, Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"ListUpdates default (released) limit 50", func() (int, error) {
			v, _, err := s.ListUpdates(ctx, catalog.UpdateQuery{Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{`ListUpdates text "KB50012" limit 50`, func() (int, error) {
			v, _, err := s.ListUpdates(ctx, catalog.UpdateQuery{Text: "KB50012", Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{`ListUpdates text "cve-2025-0" limit 50`, func() (int, error) {
			v, _, err := s.ListUpdates(ctx, catalog.UpdateQuery{Text: "cve-2025-0", Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"ListStatuses most reported update limit 50", func() (int, error) {
			v, _, err := s.ListStatuses(ctx, catalog.StatusQuery{UpdateID: popular, Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"ListStatuses 201st update limit 50", func() (int, error) {
			v, _, err := s.ListStatuses(ctx, catalog.StatusQuery{UpdateID: middling, Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"ListStatuses 201st update needed, in a group", func() (int, error) {
			v, _, err := s.ListStatuses(ctx, catalog.StatusQuery{UpdateID: middling, Group: someGroup,
				Compliances: []catalog.Compliance{catalog.ComplianceNeeded, catalog.ComplianceFailed}, Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"ListComputers needing limit 50", func() (int, error) {
			v, _, err := s.ListComputers(ctx, catalog.ComputerQuery{Needing: true, Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"ListComputers needing sort=needed desc limit 50", func() (int, error) {
			v, _, err := s.ListComputers(ctx, catalog.ComputerQuery{Needing: true, Sort: catalog.SortByNeededMost, Desc: true,
				Page: catalog.Page{Limit: 50}})
			return len(v), err
		}},
		{"GroupCompliance", func() (int, error) { v, err := s.GroupCompliance(ctx, since7d); return len(v), err }},
		{"GroupCounts one group, 50 updates", func() (int, error) {
			v, err := s.GroupCounts(ctx, someGroup, fifty)
			return len(v), err
		}},
	}
	// The write path: a status report (156) replacing 50 states of one
	// computer, alternating between two sets so that every call changes
	// states and counts.
	c0 := g.computer(1)
	for c0.lastStatus.IsZero() {
		c0 = g.computer(2)
	}
	alt := make([]catalog.UpdateStatus, len(c0.statuses))
	for i, st := range c0.statuses {
		st.State = catalog.StateInstalled
		alt[i] = st
	}
	n := 0
	views = append(views, view{"SetStatuses replace 50 (156 report)", func() (int, error) {
		n++
		sts := c0.statuses
		if n%2 == 1 {
			sts = alt
		}
		return len(sts), s.SetStatuses(ctx, c0.id, sts, true, time.Time{})
	}})
	if c.http {
		h, closeHTTP, err := serveAdmin(ctx, s)
		if err != nil {
			return err
		}
		defer closeHTTP()
		views = append(views,
			view{"HTTP GET /api/v1/compliance/summary", func() (int, error) { return h.get(ctx, "/api/v1/compliance/summary") }},
			view{"HTTP GET /api/v1/updates?classification=..&sort=needed&order=desc&limit=50", func() (int, error) {
				return h.get(ctx, "/api/v1/updates?classification="+security.String()+"&sort=needed&order=desc&limit=50")
			}},
			view{"HTTP GET /api/v1/updates?q=KB50012&limit=50", func() (int, error) {
				return h.get(ctx, "/api/v1/updates?q=KB50012&limit=50")
			}},
		)
	}
	fmt.Fprintf(out, "%-74s %10s %10s %6s\n", "view", "median", "p95", "n")
	for _, v := range views {
		var times []time.Duration
		rows := 0
		for i := range c.reps + 2 {
			t0 := time.Now()
			n, err := v.fn()
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			rows = n
			if i >= 2 {
				times = append(times, d)
			}
		}
		slices.Sort(times)
		fmt.Fprintf(out, "%-74s %10s %10s %6d\n", v.name, round(times[len(times)/2]), round(times[(len(times)*95+99)/100-1]), rows)
	}
	return nil
}

func since(t time.Time) string { return round(time.Since(t)).String() }

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// loadSQLite writes the computers, assignments and states into the SQLite
// catalog at path, in one transaction.
func loadSQLite(ctx context.Context, path string, g *generator) error {
	// Foreign keys off: the batches of the three tables flush apart.
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000&_foreign_keys=0&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins := func(table string, cols []string) *batcher {
		return &batcher{ctx: ctx, exec: tx.ExecContext, table: table, cols: cols}
	}
	tm := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(sqlstore.TimeLayout)
	}
	computers := ins("computer", []string{"id", "dns_name", "requested_groups", "registered", "os_major", "os_minor", "os_build",
		"os_description", "os_locale", "architecture", "manufacturer", "model", "client_version", "first_seen", "last_sync",
		"last_report", "last_status_time"})
	groups := ins("computer_group", []string{"client_id", "group_id"})
	statuses := ins("update_status", []string{"client_id", "update_id", "state", "error_code", "changed_at"})
	first := tm(g.now.Add(-90 * 24 * time.Hour))
	for i := range g.c.computers {
		c := g.computer(i)
		if err := computers.add(c.id, c.dns, c.requested, 1, 10, 0, 26100, "Windows 11 Enterprise", "en-US", "AMD64",
			"Contoso", "Model 7", "10.0.26100.1", first, tm(c.lastStatus), tm(c.lastStatus), tm(c.lastStatus)); err != nil {
			return err
		}
		if c.group != uuid.Nil {
			if err := groups.add(c.id, c.group.String()); err != nil {
				return err
			}
		}
		for _, st := range c.statuses {
			if err := statuses.add(c.id, st.UpdateID.String(), int(st.State), st.ErrorCode, tm(st.ChangedAt)); err != nil {
				return err
			}
		}
	}
	for _, b := range []*batcher{computers, groups, statuses} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "ANALYZE")
	return err
}

// batcher inserts rows with multi-row INSERT statements.
type batcher struct {
	ctx   context.Context
	exec  func(ctx context.Context, q string, args ...any) (sql.Result, error)
	table string
	cols  []string
	args  []any
	n     int
}

func (b *batcher) add(vals ...any) error {
	b.args = append(b.args, vals...)
	b.n++
	if len(b.args)+len(b.cols) > 30000 {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if b.n == 0 {
		return nil
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(b.cols)), ", ") + ")"
	q := "INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", b.n), ", ")
	_, err := b.exec(b.ctx, q, b.args...)
	b.args, b.n = b.args[:0], 0
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	return nil
}

// loadPostgres COPYs the computers, assignments and states into the
// PostgreSQL catalog at url.
func loadPostgres(ctx context.Context, url string, g *generator) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tm := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	first := g.now.Add(-90 * 24 * time.Hour)
	var groupRows, statusRows [][]any
	var computerRows [][]any
	flush := func(table string, cols []string, rows *[][]any) error {
		if len(*rows) == 0 {
			return nil
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(*rows))
		*rows = (*rows)[:0]
		return err
	}
	compCols := []string{"id", "dns_name", "requested_groups", "registered", "os_major", "os_minor", "os_build",
		"os_description", "os_locale", "architecture", "manufacturer", "model", "client_version", "first_seen", "last_sync",
		"last_report", "last_status_time"}
	statusCols := []string{"client_id", "update_id", "state", "error_code", "changed_at"}
	for i := range g.c.computers {
		c := g.computer(i)
		computerRows = append(computerRows, []any{c.id, c.dns, c.requested, true, 10, 0, 26100, "Windows 11 Enterprise", "en-US",
			"AMD64", "Contoso", "Model 7", "10.0.26100.1", first, tm(c.lastStatus), tm(c.lastStatus), tm(c.lastStatus)})
		if c.group != uuid.Nil {
			groupRows = append(groupRows, []any{c.id, c.group})
		}
		for _, st := range c.statuses {
			statusRows = append(statusRows, []any{c.id, st.UpdateID, int32(st.State), st.ErrorCode, st.ChangedAt})
		}
		if len(computerRows) >= 10000 {
			// Computers first: the states reference them.
			if err := errors.Join(flush("computer", compCols, &computerRows), flush("computer_group", []string{"client_id", "group_id"}, &groupRows),
				flush("update_status", statusCols, &statusRows)); err != nil {
				return err
			}
		}
	}
	if err := errors.Join(flush("computer", compCols, &computerRows), flush("computer_group", []string{"client_id", "group_id"}, &groupRows),
		flush("update_status", statusCols, &statusRows)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// What autovacuum leaves a settled database: statistics, and the
	// visibility map that lets the covering indexes answer alone.
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	return err
}

// adminClient calls the admin API through a loopback listener.
type adminClient struct {
	base, token string
	client      *http.Client
}

// serveAdmin serves the admin API over s on a loopback listener.
func serveAdmin(ctx context.Context, s *sqlstore.Store) (*adminClient, func(), error) {
	const token = "benchcompliance-admin-token"
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: admin.New(s, token, slog.New(slog.DiscardHandler)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	c := &adminClient{base: "http://" + ln.Addr().String(), token: token, client: &http.Client{Timeout: time.Minute}}
	return c, func() { srv.Close() }, nil
}

// get fetches path and returns the size of the answer; any status but 200
// is an error.
func (c *adminClient) get(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	return len(b), nil
}
