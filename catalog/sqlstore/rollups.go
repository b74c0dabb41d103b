package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/metadata"
)

// This file keeps what the admin views (compliance.go) read without
// computing it per request: the compliance counts per update
// (update_compliance) and per computer (the computer's *_count columns),
// kept in the transaction that changes a state, and the revision columns
// read from the metadata (msrc_severity, cves, languages, search_text) and
// from the catalog's graph (is_newest, is_bundled), written on import.
// Schema version 0104_compliance created them; RebuildCompliance and
// backfillProperties (run after the migrations) fill them for catalogs
// from before it.

// deltas are the changes of compliance counts one transaction makes: per
// update, and for one computer.
type deltas struct {
	updates  map[uuid.UUID]*catalog.ComplianceCounts
	computer catalog.ComplianceCounts
}

func newDeltas() *deltas { return &deltas{updates: map[uuid.UUID]*catalog.ComplianceCounts{}} }

// add counts n pairs (n is 1 or -1) of update u in state s.
func (d *deltas) add(u uuid.UUID, s catalog.InstallState, n int) {
	if s.Compliance() == catalog.ComplianceNoStatus {
		return // counted nowhere: NoStatus is derived
	}
	c := d.updates[u]
	if c == nil {
		c = &catalog.ComplianceCounts{}
		d.updates[u] = c
	}
	c.Add(s, n)
	d.computer.Add(s, n)
}

// zeroCounts reports whether c changes no count.
func zeroCounts(c catalog.ComplianceCounts) bool {
	return c == catalog.ComplianceCounts{}
}

// applyDeltas adds the per-update deltas of d to update_compliance, in
// UpdateID order (so that concurrent PostgreSQL transactions lock its rows
// in one order and cannot deadlock on them), then the per-computer deltas
// to the computers' columns. The computers' rows are locked by the
// transaction already (touchComputer, or deleted).
func applyDeltas(ctx context.Context, t *tx, d *deltas, computers map[string]catalog.ComplianceCounts) error {
	ids := make([]uuid.UUID, 0, len(d.updates))
	for u, c := range d.updates {
		if !zeroCounts(*c) {
			ids = append(ids, u)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	rows := make([][]any, len(ids))
	for i, u := range ids {
		c := d.updates[u]
		rows[i] = []any{u, c.Installed, c.Needed, c.Failed, c.NotApplicable}
	}
	err := insertRows(ctx, t, "update_compliance", []string{"update_id", "installed", "needed", "failed", "not_applicable"}, rows,
		` ON CONFLICT (update_id) DO UPDATE SET installed = update_compliance.installed + excluded.installed,
		needed = update_compliance.needed + excluded.needed, failed = update_compliance.failed + excluded.failed,
		not_applicable = update_compliance.not_applicable + excluded.not_applicable`, nil)
	if err != nil {
		return fmt.Errorf("update counts: %w", err)
	}
	for id, c := range computers {
		if zeroCounts(c) {
			continue
		}
		if _, err := t.exec(ctx, `UPDATE computer SET installed_count = installed_count + $1, needed_count = needed_count + $2,
			failed_count = failed_count + $3, not_applicable_count = not_applicable_count + $4 WHERE id = $5`,
			c.Installed, c.Needed, c.Failed, c.NotApplicable, id); err != nil {
			return fmt.Errorf("counts of computer %q: %w", id, err)
		}
	}
	return nil
}

// rebuildStatements recompute every compliance count from update_status
// (the same statements as the end of migration 0104_compliance).
var rebuildStatements = []string{
	"DELETE FROM update_compliance",
	`INSERT INTO update_compliance (update_id, installed, needed, failed, not_applicable)
	SELECT update_id,
		sum(CASE WHEN state = 4 THEN 1 ELSE 0 END),
		sum(CASE WHEN state IN (2, 3, 6) THEN 1 ELSE 0 END),
		sum(CASE WHEN state = 5 THEN 1 ELSE 0 END),
		sum(CASE WHEN state = 1 THEN 1 ELSE 0 END)
	FROM update_status WHERE state BETWEEN 1 AND 6 GROUP BY update_id`,
	`UPDATE computer SET installed_count = 0, needed_count = 0, failed_count = 0, not_applicable_count = 0
	WHERE installed_count <> 0 OR needed_count <> 0 OR failed_count <> 0 OR not_applicable_count <> 0`,
	`UPDATE computer SET installed_count = s.installed, needed_count = s.needed, failed_count = s.failed,
		not_applicable_count = s.not_applicable
	FROM (SELECT client_id,
			sum(CASE WHEN state = 4 THEN 1 ELSE 0 END) AS installed,
			sum(CASE WHEN state IN (2, 3, 6) THEN 1 ELSE 0 END) AS needed,
			sum(CASE WHEN state = 5 THEN 1 ELSE 0 END) AS failed,
			sum(CASE WHEN state = 1 THEN 1 ELSE 0 END) AS not_applicable
		FROM update_status GROUP BY client_id) AS s
	WHERE s.client_id = computer.id`,
}

// RebuildCompliance recomputes, in one write transaction, every compliance
// count the store keeps (per update and per computer) from the stored
// states, and the revisions' is_newest and is_bundled flags from the
// catalog. The store keeps them up to date itself; this is for repair, and
// for loaders that write update_status behind the store's back (the
// compliance benchmark). Where transactions run beside each other
// (PostgreSQL) it first locks the computer table against row changes: a
// report, which changes its computer's row first, waits for the rebuild to
// commit, so no report falls between the counts it reads and those it
// writes.
func (s *Store) RebuildCompliance(ctx context.Context) error {
	return s.write(ctx, "rebuild compliance", func(t *tx) error {
		if s.d.Name() == "postgres" {
			if _, err := t.exec(ctx, "LOCK TABLE computer IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		for _, q := range rebuildStatements {
			if _, err := t.exec(ctx, q); err != nil {
				return err
			}
		}
		return recomputeListed(ctx, t)
	})
}

// recomputeListed sets is_newest (the highest revision number of its
// update) and is_bundled (some revision lists the update as a bundle
// member) for the whole catalog, writing only the rows whose value flips,
// as recomputeLeaves does.
func recomputeListed(ctx context.Context, t *tx) error {
	newest := "(revision_number = (SELECT max(r2.revision_number) FROM revision r2 WHERE r2.update_id = revision.update_id))"
	bundled := "EXISTS (SELECT 1 FROM bundle_member b WHERE b.update_id = revision.update_id)"
	for _, q := range []string{
		"UPDATE revision SET is_newest = FALSE WHERE is_newest = TRUE AND NOT " + newest,
		"UPDATE revision SET is_newest = TRUE WHERE is_newest = FALSE AND " + newest,
		"UPDATE revision SET is_bundled = FALSE WHERE is_bundled = TRUE AND NOT " + bundled,
		"UPDATE revision SET is_bundled = TRUE WHERE is_bundled = FALSE AND " + bundled,
	} {
		if _, err := t.exec(ctx, q); err != nil {
			return fmt.Errorf("recompute listed revisions: %w", err)
		}
	}
	return nil
}

// revisionProps are the revision columns read from the metadata.
type revisionProps struct {
	severity   string
	cves       any // encStrings
	languages  any // encStrings
	searchText string
}

// readRevisionProps reads the Properties of a revision's source document
// (metadata.ReadProperties) and derives the search text from them, the
// title and the KB article. A document the reader refuses (or none) has no
// properties: the import validated the revision already, and the admin
// views then show it without severity, CVEs or languages.
func readRevisionProps(title, kb, sourceXML string) revisionProps {
	var p metadata.Properties
	if sourceXML != "" {
		if got, err := metadata.ReadProperties(sourceXML); err == nil {
			p = got
		}
	}
	return revisionProps{severity: p.MsrcSeverity, cves: encStrings(p.CVEs), languages: encStrings(p.Languages),
		searchText: searchText(title, kb, p.CVEs)}
}

// searchText is what ListUpdates' text search matches a substring of: the
// title, "kb" and the KB article, and the CVE IDs, lower-cased, one per
// line (a search holds no line break, so it matches within one).
func searchText(title, kb string, cves []string) string {
	parts := []string{title}
	if kb != "" {
		parts = append(parts, "kb"+kb)
	}
	parts = append(parts, cves...)
	return strings.ToLower(strings.Join(parts, "\n"))
}

// backfillBatch is how many revisions backfillProperties reads and writes
// in one transaction.
const backfillBatch = 500

// backfillProperties reads the metadata columns (readRevisionProps) of the
// revisions imported before schema version 0104_compliance, from their
// stored documents, in batches of backfillBatch revisions, each its own
// transaction: an interrupted backfill goes on where it stopped when the
// store is opened again (properties_read marks the revisions done).
func backfillProperties(ctx context.Context, s *Store, conn *sql.Conn) error {
	for {
		n := 0
		err := s.inTx(ctx, conn, func(t *tx) error {
			type rev struct {
				id        int32
				title, kb string
				xml       sql.NullString
			}
			var revs []rev
			err := t.query(ctx, `SELECT r.id, r.title, r.kb_article_id, x.xml FROM revision r
				LEFT JOIN revision_xml x ON x.revision_id = r.id
				WHERE r.properties_read = FALSE ORDER BY r.id LIMIT $1`, []any{backfillBatch}, func(row Row) error {
				var r rev
				if err := row.Scan(num(&r.id), &r.title, &r.kb, &r.xml); err != nil {
					return err
				}
				revs = append(revs, r)
				return nil
			})
			if err != nil {
				return err
			}
			for _, r := range revs {
				p := readRevisionProps(r.title, r.kb, r.xml.String)
				if _, err := t.exec(ctx, `UPDATE revision SET msrc_severity = $1, cves = $2, languages = $3, search_text = $4,
					properties_read = TRUE WHERE id = $5`, p.severity, p.cves, p.languages, p.searchText, r.id); err != nil {
					return fmt.Errorf("revision %d: %w", r.id, err)
				}
			}
			n = len(revs)
			return nil
		})
		if err != nil {
			return fmt.Errorf("revision properties: %w", err)
		}
		if n < backfillBatch {
			return nil
		}
	}
}
