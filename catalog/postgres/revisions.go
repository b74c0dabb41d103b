package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wsus/catalog"
)

// validateRevision rejects what the schema cannot hold faithfully.
func validateRevision(r *catalog.Revision) error {
	if err := r.Validate(); err != nil {
		return err
	}
	for i, f := range r.Files {
		if err := catalog.CheckText(fmt.Sprintf("file %d name", i), f.FileName); err != nil {
			return err
		}
	}
	texts := []struct{ what, s string }{
		{"Type", string(r.Type)}, {"CategoryType", r.CategoryType}, {"Title", r.Title},
		{"Description", r.Description}, {"KBArticleID", r.KBArticleID}, {"PublicationState", r.PublicationState},
		{"CoreXML", r.CoreXML}, {"ExtendedXML", r.ExtendedXML}, {"SourceXML", r.SourceXML},
	}
	for _, m := range []struct {
		what string
		m    map[string]string
	}{{"LocalizedProperties", r.Localized}, {"Eula", r.Eulas}} {
		for lang, xml := range m.m {
			texts = append(texts, struct{ what, s string }{m.what + " language", lang},
				struct{ what, s string }{fmt.Sprintf("%s %q", m.what, lang), xml})
		}
	}
	for i, d := range r.Drivers {
		for _, s := range d.Texts() {
			texts = append(texts, struct{ what, s string }{fmt.Sprintf("driver %d (%q) text", i, d.HardwareID), s})
		}
	}
	for _, t := range texts {
		if err := catalog.CheckText(t.what, t.s); err != nil {
			return err
		}
	}
	return nil
}

// importEntry is what one import does to one identity.
type importEntry struct {
	id     int32
	rev    *catalog.Revision // the content to write; nil when stored and untouched
	digest []byte
	isNew  bool // not in the catalog before this import
	dirty  bool // to be written (new, or stored with another digest)
}

// ImportRevisions adds revisions keyed by Identity in one transaction. A new
// revision gets the next ID; an identical one is counted Unchanged; one whose
// content changed is rewritten under its existing ID (counted in neither).
// Within a batch an identity listed again counts as if imported after the
// earlier one. Every revision's ID is written back once the transaction
// committed. IsLeaf is recomputed for the whole catalog, and the change
// sequence bumped, when anything changed. Imports of all replicas take turns
// (a transaction-level advisory lock): IsLeaf needs the whole catalog.
func (s *Store) ImportRevisions(ctx context.Context, revs []*catalog.Revision) (catalog.ImportResult, error) {
	digests := make([][]byte, len(revs))
	for i, r := range revs {
		if err := validateRevision(r); err != nil {
			return catalog.ImportResult{}, errorf("postgres: import revisions: revision %d: %w", i, err)
		}
		digests[i] = catalog.ContentDigest(r, time.Microsecond)
	}
	if len(revs) == 0 {
		return catalog.ImportResult{}, nil
	}
	var res catalog.ImportResult
	entries := make([]*importEntry, len(revs))
	err := s.write(ctx, "import revisions", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockImport); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		stored, err := findStored(ctx, tx, revs)
		if err != nil {
			return err
		}
		res = catalog.ImportResult{}
		byIdentity := map[catalog.Identity]*importEntry{}
		var written []*importEntry // in first-seen order
		for i, r := range revs {
			e, seen := byIdentity[r.Identity]
			if !seen {
				var ok bool
				if e, ok = stored[r.Identity]; !ok {
					e = &importEntry{rev: r, digest: digests[i], isNew: true, dirty: true}
					byIdentity[r.Identity], entries[i] = e, e
					written = append(written, e)
					res.Added++
					continue
				}
				byIdentity[r.Identity] = e
			}
			entries[i] = e
			if bytes.Equal(e.digest, digests[i]) {
				res.Unchanged++
				continue
			}
			if !e.dirty {
				written = append(written, e)
			}
			e.rev, e.digest, e.dirty = r, digests[i], true
		}
		if len(written) == 0 {
			return nil
		}
		if err := assignIDs(ctx, tx, written); err != nil {
			return err
		}
		if err := writeRevisions(ctx, tx, written); err != nil {
			return err
		}
		if err := recomputeLeaves(ctx, tx); err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
	if err != nil {
		return catalog.ImportResult{}, err
	}
	for i, r := range revs {
		r.ID = entries[i].id
	}
	return res, nil
}

// findStored returns the stored revisions among the identities of revs.
func findStored(ctx context.Context, tx pgx.Tx, revs []*catalog.Revision) (map[catalog.Identity]*importEntry, error) {
	uids := make([][16]byte, len(revs))
	nums := make([]int32, len(revs))
	for i, r := range revs {
		uids[i], nums[i] = r.UpdateID, r.RevisionNumber
	}
	stored := map[catalog.Identity]*importEntry{}
	err := queryEach(ctx, tx, `SELECT r.id, r.update_id, r.revision_number, r.content_sha256
		FROM revision r JOIN (SELECT DISTINCT u, n FROM unnest($1::uuid[], $2::integer[]) AS k (u, n)) k
		ON r.update_id = k.u AND r.revision_number = k.n`, []any{uids, nums},
		func(rows pgx.Rows) error {
			e := &importEntry{}
			var id catalog.Identity
			if err := rows.Scan(&e.id, (*[16]byte)(&id.UpdateID), &id.RevisionNumber, &e.digest); err != nil {
				return err
			}
			stored[id] = e
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("find stored revisions: %w", err)
	}
	return stored, nil
}

// assignIDs draws the IDs of the new entries from the revision ID sequence,
// in ascending order, so IDs grow in import order.
func assignIDs(ctx context.Context, tx pgx.Tx, written []*importEntry) error {
	n := 0
	for _, e := range written {
		if e.isNew {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	var ids []int32
	err := queryEach(ctx, tx, "SELECT nextval(pg_get_serial_sequence('revision', 'id'))::integer FROM generate_series(1, $1)",
		[]any{n}, func(rows pgx.Rows) error {
			var id int32
			err := rows.Scan(&id)
			ids = append(ids, id)
			return err
		})
	if err != nil {
		return fmt.Errorf("draw revision IDs: %w", err)
	}
	if len(ids) != n {
		return fmt.Errorf("draw revision IDs: got %d, want %d", len(ids), n)
	}
	slices.Sort(ids)
	for _, e := range written {
		if e.isNew {
			e.id, ids = ids[0], ids[1:]
		}
	}
	return nil
}

// childTables hold the rows a revision owns; a changed revision has them
// deleted and written again.
var childTables = []string{"prerequisite", "bundle_member", "supersedence", "revision_file", "revision_fragment", "revision_xml"}

// copyTable is the rows one COPY writes.
type copyTable struct {
	name    string
	columns []string
	rows    [][]any
}

// writeRevisions writes the revision rows of the new entries (COPY), updates
// those of the changed ones, replaces the child rows of all of them (COPY).
func writeRevisions(ctx context.Context, tx pgx.Tx, written []*importEntry) error {
	newRevs := copyTable{name: "revision", columns: []string{"id", "update_id", "revision_number", "update_type",
		"category_type", "title", "description", "kb_article_id", "publication_state", "creation_date",
		"is_leaf", "has_files", "content_sha256", "drivers"}}
	prereq := copyTable{name: "prerequisite", columns: []string{"revision_id", "clause_no", "position", "is_category", "update_id"}}
	bundle := copyTable{name: "bundle_member", columns: []string{"revision_id", "position", "update_id", "revision_number"}}
	supersede := copyTable{name: "supersedence", columns: []string{"revision_id", "position", "update_id"}}
	files := copyTable{name: "revision_file", columns: []string{"revision_id", "position", "sha1", "sha256", "file_name", "size", "modified"}}
	frags := copyTable{name: "revision_fragment", columns: []string{"revision_id", "kind", "language", "xml"}}
	xmls := copyTable{name: "revision_xml", columns: []string{"revision_id", "xml"}}
	var changedIDs []int32
	updates := &pgx.Batch{}
	for _, e := range written {
		r, id := e.rev, e.id
		drivers, err := encDrivers(r.Drivers)
		if err != nil {
			return fmt.Errorf("revision %s/%d: %w", r.UpdateID, r.RevisionNumber, err)
		}
		if e.isNew {
			newRevs.rows = append(newRevs.rows, []any{id, encUUID(r.UpdateID), r.RevisionNumber, string(r.Type),
				r.CategoryType, r.Title, r.Description, r.KBArticleID, r.PublicationState, encTime(r.CreationDate),
				true, len(r.Files) > 0, e.digest, drivers})
		} else {
			changedIDs = append(changedIDs, id)
			updates.Queue(`UPDATE revision SET update_type = $1, category_type = $2, title = $3, description = $4,
				kb_article_id = $5, publication_state = $6, creation_date = $7, has_files = $8, content_sha256 = $9,
				drivers = $10 WHERE id = $11`, string(r.Type), r.CategoryType, r.Title, r.Description, r.KBArticleID,
				r.PublicationState, encTime(r.CreationDate), len(r.Files) > 0, e.digest, drivers, id)
		}
		for c, clause := range r.Prerequisites {
			for p, u := range clause.UpdateIDs {
				prereq.rows = append(prereq.rows, []any{id, int32(c), int32(p), clause.IsCategory, encUUID(u)})
			}
		}
		for p, b := range r.BundledUpdates {
			bundle.rows = append(bundle.rows, []any{id, int32(p), encUUID(b.UpdateID), b.RevisionNumber})
		}
		for p, u := range r.SupersededUpdates {
			supersede.rows = append(supersede.rows, []any{id, int32(p), encUUID(u)})
		}
		for p, f := range r.Files {
			var sha256 any
			if len(f.SHA256) > 0 {
				sha256 = f.SHA256
			}
			files.rows = append(files.rows, []any{id, int32(p), f.SHA1, sha256, f.FileName, f.Size, encTime(f.Modified)})
		}
		// Core and Extended are stored when present; an empty one is absent.
		if r.CoreXML != "" {
			frags.rows = append(frags.rows, []any{id, string(catalog.FragmentCore), "", r.CoreXML})
		}
		if r.ExtendedXML != "" {
			frags.rows = append(frags.rows, []any{id, string(catalog.FragmentExtended), "", r.ExtendedXML})
		}
		for lang, xml := range r.Localized {
			frags.rows = append(frags.rows, []any{id, string(catalog.FragmentLocalizedProperties), lang, xml})
		}
		for lang, xml := range r.Eulas {
			frags.rows = append(frags.rows, []any{id, string(catalog.FragmentEula), lang, xml})
		}
		if r.SourceXML != "" {
			xmls.rows = append(xmls.rows, []any{id, r.SourceXML})
		}
	}
	if len(changedIDs) > 0 {
		for _, t := range childTables {
			updates.Queue("DELETE FROM "+t+" WHERE revision_id = ANY($1)", changedIDs)
		}
		if err := tx.SendBatch(ctx, updates).Close(); err != nil {
			return fmt.Errorf("rewrite changed revisions: %w", err)
		}
	}
	for _, t := range []copyTable{newRevs, prereq, bundle, supersede, files, frags, xmls} {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	return nil
}

// recomputeLeaves sets is_leaf for the whole catalog: a revision is a leaf
// unless some revision names its UpdateID in a prerequisite. Bundle
// membership does not count. Only rows whose value flips are written.
func recomputeLeaves(ctx context.Context, tx pgx.Tx) error {
	for _, q := range []string{
		"UPDATE revision r SET is_leaf = false WHERE is_leaf AND EXISTS (SELECT FROM prerequisite p WHERE p.update_id = r.update_id)",
		"UPDATE revision r SET is_leaf = true WHERE NOT is_leaf AND NOT EXISTS (SELECT FROM prerequisite p WHERE p.update_id = r.update_id)",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("recompute leaves: %w", err)
		}
	}
	return nil
}

// querier is what pgx.Tx, *pgx.Conn and *pgxpool.Pool offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryEach runs q and calls each for every row.
func queryEach(ctx context.Context, db querier, q string, args []any, each func(pgx.Rows) error) error {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Summaries returns every revision, ordered by ID: one query per table in
// one snapshot, assembled in memory.
func (s *Store) Summaries(ctx context.Context) ([]catalog.Summary, error) {
	var out []catalog.Summary
	err := s.read(ctx, "summaries", func(tx pgx.Tx) error {
		var err error
		out, err = summaries(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func summaries(ctx context.Context, tx pgx.Tx) ([]catalog.Summary, error) {
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM revision").Scan(&n); err != nil {
		return nil, fmt.Errorf("count revisions: %w", err)
	}
	out := make([]catalog.Summary, 0, n)
	index := make(map[int32]int, n)
	err := queryEach(ctx, tx, `SELECT id, update_id, revision_number, update_type, category_type, title,
		kb_article_id, publication_state, is_leaf, has_files, imported, drivers FROM revision ORDER BY id`, nil,
		func(rows pgx.Rows) error {
			var sm catalog.Summary
			var typ string
			var drivers []byte
			if err := rows.Scan(&sm.ID, (*[16]byte)(&sm.UpdateID), &sm.RevisionNumber, &typ, &sm.CategoryType,
				&sm.Title, &sm.KBArticleID, &sm.PublicationState, &sm.IsLeaf, &sm.HasFiles, &sm.Imported, &drivers); err != nil {
				return err
			}
			var err error
			if sm.Drivers, err = decDrivers(drivers); err != nil {
				return err
			}
			sm.Type = catalog.UpdateType(typ)
			sm.Imported = sm.Imported.UTC()
			index[sm.ID] = len(out)
			out = append(out, sm)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("revisions: %w", err)
	}
	// owner finds the summary a child row belongs to.
	owner := func(id int32) (*catalog.Summary, error) {
		i, ok := index[id]
		if !ok {
			return nil, fmt.Errorf("row of unknown revision %d", id)
		}
		return &out[i], nil
	}
	err = queryEach(ctx, tx, `SELECT revision_id, clause_no, is_category, update_id FROM prerequisite
		ORDER BY revision_id, clause_no, position`, nil, prereqScanner(owner))
	if err != nil {
		return nil, fmt.Errorf("prerequisites: %w", err)
	}
	err = queryEach(ctx, tx, "SELECT revision_id, update_id, revision_number FROM bundle_member ORDER BY revision_id, position", nil,
		func(rows pgx.Rows) error {
			var id int32
			var b catalog.Identity
			if err := rows.Scan(&id, (*[16]byte)(&b.UpdateID), &b.RevisionNumber); err != nil {
				return err
			}
			sm, err := owner(id)
			if err != nil {
				return err
			}
			sm.BundledUpdates = append(sm.BundledUpdates, b)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("bundle members: %w", err)
	}
	err = queryEach(ctx, tx, "SELECT revision_id, update_id FROM supersedence ORDER BY revision_id, position", nil,
		func(rows pgx.Rows) error {
			var id int32
			var u uuid.UUID
			if err := rows.Scan(&id, (*[16]byte)(&u)); err != nil {
				return err
			}
			sm, err := owner(id)
			if err != nil {
				return err
			}
			sm.SupersededUpdates = append(sm.SupersededUpdates, u)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("supersedence: %w", err)
	}
	return out, nil
}

// prereqScanner appends prerequisite rows (revision_id, clause_no,
// is_category, update_id), ordered by revision, clause and position, to the
// clauses of their owner.
func prereqScanner(owner func(int32) (*catalog.Summary, error)) func(pgx.Rows) error {
	lastID, lastClause := int32(-1), int32(-1)
	return func(rows pgx.Rows) error {
		var id, clause int32
		var isCat bool
		var u uuid.UUID
		if err := rows.Scan(&id, &clause, &isCat, (*[16]byte)(&u)); err != nil {
			return err
		}
		sm, err := owner(id)
		if err != nil {
			return err
		}
		if id != lastID || clause != lastClause {
			sm.Prerequisites = append(sm.Prerequisites, catalog.PrerequisiteClause{IsCategory: isCat})
			lastID, lastClause = id, clause
		}
		c := &sm.Prerequisites[len(sm.Prerequisites)-1]
		c.UpdateIDs = append(c.UpdateIDs, u)
		return nil
	}
}

// Revision returns one whole revision by ID (an error wrapping
// catalog.ErrNotFound if absent); its IsLeaf is not part of
// catalog.Revision (see Summaries).
func (s *Store) Revision(ctx context.Context, id int32) (*catalog.Revision, error) {
	var r *catalog.Revision
	err := s.read(ctx, fmt.Sprintf("revision %d", id), func(tx pgx.Tx) error {
		var err error
		r, err = revision(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func revision(ctx context.Context, tx pgx.Tx, id int32) (*catalog.Revision, error) {
	r := &catalog.Revision{ID: id}
	var typ string
	var created *time.Time
	var drivers []byte
	err := tx.QueryRow(ctx, `SELECT update_id, revision_number, update_type, category_type, title,
		description, kb_article_id, publication_state, creation_date, drivers FROM revision WHERE id = $1`, id).
		Scan((*[16]byte)(&r.UpdateID), &r.RevisionNumber, &typ, &r.CategoryType, &r.Title, &r.Description,
			&r.KBArticleID, &r.PublicationState, &created, &drivers)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, catalog.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if r.Drivers, err = decDrivers(drivers); err != nil {
		return nil, err
	}
	r.Type = catalog.UpdateType(typ)
	r.CreationDate = decTime(created)

	// The graph edges, read as for Summaries.
	sm := &catalog.Summary{}
	owner := func(int32) (*catalog.Summary, error) { return sm, nil }
	args := []any{id}
	err = queryEach(ctx, tx, `SELECT revision_id, clause_no, is_category, update_id FROM prerequisite
		WHERE revision_id = $1 ORDER BY clause_no, position`, args, prereqScanner(owner))
	if err != nil {
		return nil, fmt.Errorf("prerequisites: %w", err)
	}
	r.Prerequisites = sm.Prerequisites
	err = queryEach(ctx, tx, "SELECT update_id, revision_number FROM bundle_member WHERE revision_id = $1 ORDER BY position",
		args, func(rows pgx.Rows) error {
			var b catalog.Identity
			err := rows.Scan((*[16]byte)(&b.UpdateID), &b.RevisionNumber)
			r.BundledUpdates = append(r.BundledUpdates, b)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("bundle members: %w", err)
	}
	err = queryEach(ctx, tx, "SELECT update_id FROM supersedence WHERE revision_id = $1 ORDER BY position", args,
		func(rows pgx.Rows) error {
			var u uuid.UUID
			err := rows.Scan((*[16]byte)(&u))
			r.SupersededUpdates = append(r.SupersededUpdates, u)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("supersedence: %w", err)
	}
	fs, err := files(ctx, tx, []int32{id})
	if err != nil {
		return nil, err
	}
	r.Files = fs[id]
	err = queryEach(ctx, tx, "SELECT kind, language, xml FROM revision_fragment WHERE revision_id = $1", args,
		func(rows pgx.Rows) error {
			var kind, lang, xml string
			if err := rows.Scan(&kind, &lang, &xml); err != nil {
				return err
			}
			return r.SetFragment(catalog.FragmentType(kind), lang, xml)
		})
	if err != nil {
		return nil, fmt.Errorf("fragments: %w", err)
	}
	err = tx.QueryRow(ctx, "SELECT xml FROM revision_xml WHERE revision_id = $1", id).Scan(&r.SourceXML)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("source xml: %w", err)
	}
	return r, nil
}

// Fragments returns the stored fragments of type typ of the given revisions,
// ordered by revision ID then language (byte order). For LocalizedProperties
// and Eula only the listed languages, matched exactly, are returned. Unknown
// IDs and missing fragments are skipped.
func (s *Store) Fragments(ctx context.Context, ids []int32, typ catalog.FragmentType, languages []string) ([]catalog.Fragment, error) {
	q := "SELECT revision_id, language, xml FROM revision_fragment WHERE kind = $1 AND revision_id = ANY($2)"
	args := []any{string(typ), ids}
	switch typ {
	case catalog.FragmentCore, catalog.FragmentExtended:
	case catalog.FragmentLocalizedProperties, catalog.FragmentEula:
		if len(languages) == 0 {
			return nil, nil
		}
		q += " AND language = ANY($3)"
		args = append(args, languages)
	default:
		return nil, errorf("postgres: fragments: unknown fragment type %q", typ)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var out []catalog.Fragment
	err := queryEach(ctx, s.pool, q+` ORDER BY revision_id, language COLLATE "C"`, args, func(rows pgx.Rows) error {
		f := catalog.Fragment{Type: typ}
		if err := rows.Scan(&f.RevisionID, &f.Language, &f.XML); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, errorf("postgres: fragments %s: %w", typ, err)
	}
	return out, nil
}

// Files returns the files of the given revisions, in document order, keyed
// by revision ID; revisions without files (or unknown) have no entry.
func (s *Store) Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error) {
	out, err := files(ctx, s.pool, ids)
	if err != nil {
		return nil, errorf("postgres: files: %w", err)
	}
	return out, nil
}

func files(ctx context.Context, db querier, ids []int32) (map[int32][]catalog.File, error) {
	out := map[int32][]catalog.File{}
	if len(ids) == 0 {
		return out, nil
	}
	err := queryEach(ctx, db, `SELECT revision_id, sha1, sha256, file_name, size, modified FROM revision_file
		WHERE revision_id = ANY($1) ORDER BY revision_id, position`, []any{ids}, func(rows pgx.Rows) error {
		var id int32
		f, err := scanFile(rows, &id)
		if err != nil {
			return err
		}
		out[id] = append(out[id], f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	return out, nil
}

// scanFile scans (revision_id, sha1, sha256, file_name, size, modified).
func scanFile(row pgx.Row, id *int32) (catalog.File, error) {
	var f catalog.File
	var modified *time.Time
	if err := row.Scan(id, &f.SHA1, &f.SHA256, &f.FileName, &f.Size, &modified); err != nil {
		return catalog.File{}, err
	}
	if len(f.SHA256) == 0 {
		f.SHA256 = nil
	}
	f.Modified = decTime(modified)
	return f, nil
}

// FileBySHA1 returns the file with that 20-byte SHA-1 digest as the first
// revision (lowest ID) that lists it names it.
func (s *Store) FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error) {
	if len(sha1) != 20 {
		return catalog.File{}, errorf("postgres: file by sha1 %x: digest has %d bytes, want 20", sha1, len(sha1))
	}
	var id int32
	f, err := scanFile(s.pool.QueryRow(ctx, `SELECT revision_id, sha1, sha256, file_name, size, modified
		FROM revision_file WHERE sha1 = $1 ORDER BY revision_id, position LIMIT 1`, sha1), &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.File{}, errorf("postgres: file by sha1 %x: %w", sha1, catalog.ErrNotFound)
	}
	if err != nil {
		return catalog.File{}, errorf("postgres: file by sha1 %x: %w", sha1, err)
	}
	return f, nil
}
