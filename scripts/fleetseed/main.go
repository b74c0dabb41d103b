// Command fleetseed gives a catalog store the state a fleet of computers
// leaves in it after their previous scans, so that a fleet run
// (`clientsim load --arrival`, see clientsim/load) measures a server that
// already knows them, in seconds rather than the hours their first contacts
// would take through the protocol (RegisterComputer runs at about 500/s on
// the embedded store, a first status report of 700 updates at a few per
// second).
//
// It copies the rows the server itself wrote for the fleet's reference
// agent, which `clientsim load --arrival --prepare-only` runs (first scan,
// RegisterComputer, ReportEventBatch): its computer row to every computer
// of the fleet that is not there yet (ID and DNS name derived as the fleet
// run derives them, clientsim/load.ComputerID and ComputerName), and its
// update statuses to the computers that scan in the run (the state their
// previous status report left; the others' would only fill the table).
// Then it rebuilds the compliance counts through the store
// (RebuildCompliance, made for loaders that write behind its back), unless
// told not to. The
// copies are the server's own rows with two columns changed: a real
// returning computer's are the same but for its hardware and OS strings.
//
// It is run by scripts/bench-fleet.sh, never by make test:
//
//	go run ./scripts/fleetseed -sqlite DATA/catalog.db | -postgres URL \
//	    -seed 1 -fleet N [-registered K] -duration 3m -window 2h
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/catalog/sqlstore"
	"wsus/clientsim/load"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// batchRows is how many computers one statement seeds; statusComputers
// how many computers' statuses (each a few hundred rows).
const (
	bigColumn       = 4096
	batchRows       = 500
	statusComputers = 100
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleetseed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sqlitePath := fs.String("sqlite", "", "path of the embedded catalog (<data>/catalog.db)")
	pgURL := fs.String("postgres", "", "URL of the PostgreSQL catalog")
	var cfg load.FleetConfig
	fs.Uint64Var(&cfg.Seed, "seed", 1, "the fleet run's --seed")
	fs.IntVar(&cfg.Computers, "fleet", 0, "the fleet run's --fleet")
	registered := fs.Int("registered", 0, "computers 0 to this-1 are there already (an earlier seeding)")
	fs.DurationVar(&cfg.Duration, "duration", load.DefaultFleetDuration, "the fleet run's --duration")
	fs.DurationVar(&cfg.Interval, "interval", load.DefaultDetectionInterval, "the fleet run's --interval")
	fs.BoolVar(&cfg.PatchTuesday, "patch-tuesday", true, "the fleet run's --patch-tuesday")
	fs.DurationVar(&cfg.Window, "window", load.DefaultPatchWindow, "the fleet run's --window")
	rebuild := fs.Bool("rebuild", true, "rebuild the compliance counts after (RebuildCompliance: minutes at a million computers); false leaves each copy with the reference's counts, which a fleet run's scans and reports never read")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*sqlitePath == "") == (*pgURL == "") || cfg.Computers <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: fleetseed -sqlite PATH | -postgres URL -fleet N [-seed S] [-registered K] [-duration D] [-window W | -patch-tuesday=false -interval I]")
		return 2
	}
	if err := seed(ctx, *sqlitePath, *pgURL, cfg, *registered, *rebuild, stdout); err != nil {
		fmt.Fprintf(stderr, "fleetseed: %v\n", err)
		return 1
	}
	return 0
}

// seed copies the reference computer's rows as the package doc says.
func seed(ctx context.Context, sqlitePath, pgURL string, cfg load.FleetConfig, registered int, rebuild bool, out io.Writer) error {
	var (
		store *sqlstore.Store
		db    *sql.DB
		err   error
	)
	if sqlitePath != "" {
		if store, err = sqlite.Open(ctx, sqlitePath); err == nil {
			db, err = sql.Open("sqlite", sqlitePath+"?_busy_timeout=30000&_txlock=immediate")
		}
	} else {
		if store, err = postgres.Open(ctx, pgURL); err == nil {
			db, err = sql.Open("pgx", pgURL)
		}
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer store.Close()
	defer db.Close()
	db.SetMaxOpenConns(1)
	ph := func(i int) string { return "?" }
	if pgURL != "" {
		ph = func(i int) string { return fmt.Sprintf("$%d", i) }
	}

	ref := load.ReferenceID(cfg.Seed)
	computerCols, err := columns(ctx, db, "computer")
	if err != nil {
		return err
	}
	statusCols, err := columns(ctx, db, "update_status")
	if err != nil {
		return err
	}
	var statuses int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM update_status WHERE client_id = "+ph(1), ref).Scan(&statuses); err != nil {
		return fmt.Errorf("count the reference's statuses: %w", err)
	}
	var known int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM computer WHERE id = "+ph(1), ref).Scan(&known); err != nil || known != 1 {
		return fmt.Errorf("the reference computer %s is not in the store (run clientsim load --arrival --prepare-only first): %v", ref, err)
	}

	// The reference's row, read once, inserted with the ID and DNS name
	// replaced, batchRows rows to a statement.
	refRow, err := row(ctx, db, "SELECT "+strings.Join(computerCols, ", ")+" FROM computer WHERE id = "+ph(1), len(computerCols), ref)
	if err != nil {
		return fmt.Errorf("read the reference computer: %w", err)
	}
	// Columns of more than bigColumn bytes (the hardware the driver pass
	// recorded: tens of kilobytes) are copied only to the computers that
	// scan in the run; the others' stay empty, as they would be until the
	// computer's first driver pass.
	arrivals, err := cfg.Arrivals()
	if err != nil {
		return err
	}
	arriving := make(map[int]bool, len(arrivals))
	for _, a := range arrivals {
		arriving[a.Computer] = true
	}
	big := make([]bool, len(computerCols))
	for j, v := range refRow {
		if n := valueSize(v); n > bigColumn {
			big[j] = true
			fmt.Fprintf(out, "fleetseed: column %s of the reference is %d bytes: copied to the computers of the run only\n", computerCols[j], n)
		}
	}
	insComputers := func(rows int) string {
		vals := make([]string, rows)
		n := 0
		for i := range vals {
			marks := make([]string, len(computerCols))
			for j := range marks {
				n++
				marks[j] = ph(n)
			}
			vals[i] = "(" + strings.Join(marks, ", ") + ")"
		}
		return fmt.Sprintf("INSERT INTO computer (%s) VALUES %s ON CONFLICT DO NOTHING", strings.Join(computerCols, ", "), strings.Join(vals, ", "))
	}
	statusSel := make([]string, len(statusCols))
	for i, c := range statusCols {
		statusSel[i] = "s." + c
		if c == "client_id" {
			statusSel[i] = "v.id"
		}
	}
	insStatuses := func(rows int) string {
		vals := make([]string, rows)
		for i := range vals {
			vals[i] = "(" + ph(i+1) + ")"
		}
		return fmt.Sprintf("WITH v(id) AS (VALUES %s) INSERT INTO update_status (%s) SELECT %s FROM v, update_status s WHERE s.client_id = %s ON CONFLICT DO NOTHING",
			strings.Join(vals, ", "), strings.Join(statusCols, ", "), strings.Join(statusSel, ", "), ph(rows+1))
	}

	start := time.Now()
	from := min(registered, cfg.Computers)
	for lo := from; lo < cfg.Computers; lo += batchRows {
		hi := min(lo+batchRows, cfg.Computers)
		args := make([]any, 0, (hi-lo)*len(computerCols))
		for i := lo; i < hi; i++ {
			for j, c := range computerCols {
				switch c {
				case "id":
					args = append(args, load.ComputerID(cfg.Seed, i))
				case "dns_name":
					args = append(args, load.ComputerName(i))
				default:
					if big[j] && !arriving[i] {
						args = append(args, nil)
					} else {
						args = append(args, refRow[j])
					}
				}
			}
		}
		if _, err := db.ExecContext(ctx, insComputers(hi-lo), args...); err != nil {
			return fmt.Errorf("computers %d to %d: %w", lo, hi-1, err)
		}
	}
	if from < cfg.Computers {
		fmt.Fprintf(out, "fleetseed: computers %d to %d copied from the reference %s in %s\n", from, cfg.Computers-1, ref, time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(out, "fleetseed: computers 0 to %d there already\n", cfg.Computers-1)
	}

	start = time.Now()
	for lo := 0; lo < len(arrivals); lo += statusComputers {
		hi := min(lo+statusComputers, len(arrivals))
		args := make([]any, 0, hi-lo+1)
		for _, a := range arrivals[lo:hi] {
			args = append(args, load.ComputerID(cfg.Seed, a.Computer))
		}
		if _, err := db.ExecContext(ctx, insStatuses(hi-lo), append(args, ref)...); err != nil {
			return fmt.Errorf("statuses of arrivals %d to %d: %w", lo, hi-1, err)
		}
	}
	fmt.Fprintf(out, "fleetseed: the reference's %d update statuses copied to the %d computers of the run in %s\n", statuses, len(arrivals), time.Since(start).Round(time.Millisecond))

	if !rebuild {
		fmt.Fprintln(out, "fleetseed: compliance counts not rebuilt: every copy keeps the reference's")
		return nil
	}
	start = time.Now()
	if err := store.RebuildCompliance(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "fleetseed: RebuildCompliance in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// columns returns the column names of table.
func columns(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, errors.New("columns of " + table + ": none")
	}
	return cols, nil
}

// row reads the one row query returns, n columns, as driver values.
func row(ctx context.Context, db *sql.DB, query string, n int, args ...any) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := db.QueryRowContext(ctx, query, args...).Scan(ptrs...); err != nil {
		return nil, err
	}
	return vals, nil
}

// valueSize is the length of a text or bytes driver value, 0 for others.
func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v)
	}
	return 0
}
