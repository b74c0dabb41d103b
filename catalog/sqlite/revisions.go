package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"wsus/catalog"
)

// importStmts are the statements ImportRevisions prepares once per batch.
type importStmts struct {
	find, insert, update, prereq, bundle, supersede, file, fragment, xml *sql.Stmt
	deletes                                                              []*sql.Stmt
}

// childTables hold the rows a revision owns; a changed revision has them
// deleted and written again.
var childTables = []string{"prerequisite", "bundle_member", "supersedence", "revision_file", "revision_fragment", "revision_xml"}

func prepareImport(ctx context.Context, tx *sql.Tx) (*importStmts, error) {
	st := &importStmts{}
	prep := func(dst **sql.Stmt, query string) error {
		s, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
		*dst = s
		return nil
	}
	const cols = "update_type = ?, category_type = ?, title = ?, description = ?, kb_article_id = ?, " +
		"publication_state = ?, creation_date = ?, has_files = ?, content_sha256 = ?, drivers = ?"
	steps := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&st.find, "SELECT id, content_sha256 FROM revision WHERE update_id = ? AND revision_number = ?"},
		{&st.insert, "INSERT INTO revision (update_type, category_type, title, description, kb_article_id, " +
			"publication_state, creation_date, has_files, content_sha256, drivers, update_id, revision_number, is_leaf, imported) " +
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"},
		{&st.update, "UPDATE revision SET " + cols + " WHERE id = ?"},
		{&st.prereq, "INSERT INTO prerequisite (revision_id, clause_no, position, is_category, update_id) VALUES (?, ?, ?, ?, ?)"},
		{&st.bundle, "INSERT INTO bundle_member (revision_id, position, update_id, revision_number) VALUES (?, ?, ?, ?)"},
		{&st.supersede, "INSERT INTO supersedence (revision_id, position, update_id) VALUES (?, ?, ?)"},
		{&st.file, "INSERT INTO revision_file (revision_id, position, sha1, sha256, file_name, size, modified) VALUES (?, ?, ?, ?, ?, ?, ?)"},
		{&st.fragment, "INSERT INTO revision_fragment (revision_id, kind, language, xml) VALUES (?, ?, ?, ?)"},
		{&st.xml, "INSERT INTO revision_xml (revision_id, xml) VALUES (?, ?)"},
	}
	for _, s := range steps {
		if err := prep(s.dst, s.query); err != nil {
			st.close()
			return nil, err
		}
	}
	for _, t := range childTables {
		var d *sql.Stmt
		if err := prep(&d, "DELETE FROM "+t+" WHERE revision_id = ?"); err != nil {
			st.close()
			return nil, err
		}
		st.deletes = append(st.deletes, d)
	}
	return st, nil
}

func (st *importStmts) close() {
	for _, s := range append([]*sql.Stmt{st.find, st.insert, st.update, st.prereq, st.bundle, st.supersede, st.file, st.fragment, st.xml}, st.deletes...) {
		if s != nil {
			s.Close()
		}
	}
}

// ImportRevisions adds revisions keyed by Identity in one transaction. A new
// revision gets the next ID; an identical one is counted Unchanged; one whose
// content changed is rewritten under its existing ID (counted in neither).
// Every revision's ID is written back once the transaction committed. IsLeaf
// is recomputed for the whole catalog, and the change sequence bumped, when
// anything changed.
func (s *Store) ImportRevisions(ctx context.Context, revs []*catalog.Revision) (catalog.ImportResult, error) {
	digests := make([][]byte, len(revs))
	for i, r := range revs {
		if err := r.Validate(); err != nil {
			return catalog.ImportResult{}, errorf("sqlite: import revisions: revision %d: %w", i, err)
		}
		digests[i] = catalog.ContentDigest(r, time.Nanosecond)
	}
	if len(revs) == 0 {
		return catalog.ImportResult{}, nil
	}
	var res catalog.ImportResult
	ids := make([]int32, len(revs))
	err := s.write(ctx, "import revisions", func(tx *sql.Tx) error {
		st, err := prepareImport(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		now := encTime(nowUTC())
		changed := false
		for i, r := range revs {
			var id int64
			var old []byte
			err := st.find.QueryRowContext(ctx, r.UpdateID.String(), r.RevisionNumber).Scan(&id, &old)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				id, err = insertRevision(ctx, st, r, digests[i], now)
				if err != nil {
					return fmt.Errorf("revision %s/%d: %w", r.UpdateID, r.RevisionNumber, err)
				}
				res.Added++
			case err != nil:
				return fmt.Errorf("revision %s/%d: %w", r.UpdateID, r.RevisionNumber, err)
			case bytes.Equal(old, digests[i]):
				res.Unchanged++
				ids[i] = int32(id)
				continue
			default:
				if err := updateRevision(ctx, st, id, r, digests[i]); err != nil {
					return fmt.Errorf("revision %s/%d: %w", r.UpdateID, r.RevisionNumber, err)
				}
			}
			if err := insertChildren(ctx, st, id, r); err != nil {
				return fmt.Errorf("revision %s/%d: %w", r.UpdateID, r.RevisionNumber, err)
			}
			ids[i] = int32(id)
			changed = true
		}
		if !changed {
			return nil
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
		r.ID = ids[i]
	}
	return res, nil
}

// revisionArgs are the values of the revision columns insert and update set,
// in their order.
func revisionArgs(r *catalog.Revision, digest []byte) ([]any, error) {
	drivers, err := encDrivers(r.Drivers)
	if err != nil {
		return nil, err
	}
	return []any{string(r.Type), r.CategoryType, r.Title, r.Description, r.KBArticleID,
		r.PublicationState, encTime(r.CreationDate), boolInt(len(r.Files) > 0), digest, drivers}, nil
}

func insertRevision(ctx context.Context, st *importStmts, r *catalog.Revision, digest []byte, now any) (int64, error) {
	args, err := revisionArgs(r, digest)
	if err != nil {
		return 0, err
	}
	args = append(args, r.UpdateID.String(), r.RevisionNumber, now)
	res, err := st.insert.ExecContext(ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	if id <= 0 || id > math.MaxInt32 {
		return 0, fmt.Errorf("insert: revision ID %d outside the int32 range", id)
	}
	return id, nil
}

func updateRevision(ctx context.Context, st *importStmts, id int64, r *catalog.Revision, digest []byte) error {
	args, err := revisionArgs(r, digest)
	if err != nil {
		return err
	}
	if _, err := st.update.ExecContext(ctx, append(args, id)...); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	for i, d := range st.deletes {
		if _, err := d.ExecContext(ctx, id); err != nil {
			return fmt.Errorf("clear %s: %w", childTables[i], err)
		}
	}
	return nil
}

// insertChildren writes the rows revision id owns: graph edges, files,
// fragments and the source document.
func insertChildren(ctx context.Context, st *importStmts, id int64, r *catalog.Revision) error {
	for c, clause := range r.Prerequisites {
		for p, u := range clause.UpdateIDs {
			if _, err := st.prereq.ExecContext(ctx, id, c, p, boolInt(clause.IsCategory), u.String()); err != nil {
				return fmt.Errorf("prerequisite: %w", err)
			}
		}
	}
	for p, b := range r.BundledUpdates {
		if _, err := st.bundle.ExecContext(ctx, id, p, b.UpdateID.String(), b.RevisionNumber); err != nil {
			return fmt.Errorf("bundle member: %w", err)
		}
	}
	for p, u := range r.SupersededUpdates {
		if _, err := st.supersede.ExecContext(ctx, id, p, u.String()); err != nil {
			return fmt.Errorf("superseded update: %w", err)
		}
	}
	for p, f := range r.Files {
		var sha256 any
		if len(f.SHA256) > 0 {
			sha256 = f.SHA256
		}
		if _, err := st.file.ExecContext(ctx, id, p, f.SHA1, sha256, f.FileName, f.Size, encTime(f.Modified)); err != nil {
			return fmt.Errorf("file %s: %w", f.FileName, err)
		}
	}
	fragment := func(typ catalog.FragmentType, lang, xml string) error {
		if _, err := st.fragment.ExecContext(ctx, id, string(typ), lang, xml); err != nil {
			return fmt.Errorf("%s fragment %q: %w", typ, lang, err)
		}
		return nil
	}
	// Core and Extended are stored when present; an empty one is absent.
	if r.CoreXML != "" {
		if err := fragment(catalog.FragmentCore, "", r.CoreXML); err != nil {
			return err
		}
	}
	if r.ExtendedXML != "" {
		if err := fragment(catalog.FragmentExtended, "", r.ExtendedXML); err != nil {
			return err
		}
	}
	for lang, xml := range r.Localized {
		if err := fragment(catalog.FragmentLocalizedProperties, lang, xml); err != nil {
			return err
		}
	}
	for lang, xml := range r.Eulas {
		if err := fragment(catalog.FragmentEula, lang, xml); err != nil {
			return err
		}
	}
	if r.SourceXML != "" {
		if _, err := st.xml.ExecContext(ctx, id, r.SourceXML); err != nil {
			return fmt.Errorf("source xml: %w", err)
		}
	}
	return nil
}

// recomputeLeaves sets is_leaf for the whole catalog: a revision is a leaf
// unless some revision names its UpdateID in a prerequisite. Bundle
// membership does not count. Only rows whose value flips are written.
func recomputeLeaves(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		"UPDATE revision SET is_leaf = 0 WHERE is_leaf = 1 AND update_id IN (SELECT update_id FROM prerequisite)",
		"UPDATE revision SET is_leaf = 1 WHERE is_leaf = 0 AND update_id NOT IN (SELECT update_id FROM prerequisite)",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("recompute leaves: %w", err)
		}
	}
	return nil
}

// Summaries returns every revision, ordered by ID: one query per table in
// one snapshot, assembled in memory.
func (s *Store) Summaries(ctx context.Context) ([]catalog.Summary, error) {
	var out []catalog.Summary
	err := s.read(ctx, "summaries", func(tx *sql.Tx) error {
		var err error
		out, err = summaries(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func summaries(ctx context.Context, tx *sql.Tx) ([]catalog.Summary, error) {
	var out []catalog.Summary
	index := map[int32]int{}
	err := query(ctx, tx, `SELECT id, update_id, revision_number, update_type, category_type, title,
		kb_article_id, publication_state, is_leaf, has_files, imported, drivers FROM revision ORDER BY id`, nil,
		func(rows *sql.Rows) error {
			var sm catalog.Summary
			var uid, typ string
			var imported, drivers sql.NullString
			if err := rows.Scan(&sm.ID, &uid, &sm.RevisionNumber, &typ, &sm.CategoryType, &sm.Title,
				&sm.KBArticleID, &sm.PublicationState, &sm.IsLeaf, &sm.HasFiles, &imported, &drivers); err != nil {
				return err
			}
			var err error
			if sm.UpdateID, err = decUUID(uid); err != nil {
				return err
			}
			if sm.Imported, err = decTime(imported); err != nil {
				return err
			}
			if sm.Drivers, err = decDrivers(drivers); err != nil {
				return err
			}
			sm.Type = catalog.UpdateType(typ)
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
	err = query(ctx, tx, `SELECT revision_id, clause_no, is_category, update_id FROM prerequisite
		ORDER BY revision_id, clause_no, position`, nil, prereqScanner(owner))
	if err != nil {
		return nil, fmt.Errorf("prerequisites: %w", err)
	}
	err = query(ctx, tx, "SELECT revision_id, update_id, revision_number FROM bundle_member ORDER BY revision_id, position", nil,
		func(rows *sql.Rows) error {
			var id int32
			b, err := scanIdentity(rows, &id)
			if err != nil {
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
	err = query(ctx, tx, "SELECT revision_id, update_id FROM supersedence ORDER BY revision_id, position", nil,
		func(rows *sql.Rows) error {
			var id int32
			var uid string
			if err := rows.Scan(&id, &uid); err != nil {
				return err
			}
			u, err := decUUID(uid)
			if err != nil {
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
func prereqScanner(owner func(int32) (*catalog.Summary, error)) func(*sql.Rows) error {
	lastID, lastClause := int32(-1), -1
	return func(rows *sql.Rows) error {
		var id int32
		var clause int
		var isCat bool
		var uid string
		if err := rows.Scan(&id, &clause, &isCat, &uid); err != nil {
			return err
		}
		u, err := decUUID(uid)
		if err != nil {
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

// scanIdentity scans (revision_id, update_id, revision_number).
func scanIdentity(rows *sql.Rows, id *int32) (catalog.Identity, error) {
	var uid string
	var rn int32
	if err := rows.Scan(id, &uid, &rn); err != nil {
		return catalog.Identity{}, err
	}
	u, err := decUUID(uid)
	if err != nil {
		return catalog.Identity{}, err
	}
	return catalog.Identity{UpdateID: u, RevisionNumber: rn}, nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// query runs q and calls each for every row.
func query(ctx context.Context, db querier, q string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
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

// Revision returns one whole revision by ID; its IsLeaf is not part of
// catalog.Revision (see Summaries).
func (s *Store) Revision(ctx context.Context, id int32) (*catalog.Revision, error) {
	var r *catalog.Revision
	err := s.read(ctx, fmt.Sprintf("revision %d", id), func(tx *sql.Tx) error {
		var err error
		r, err = revision(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func revision(ctx context.Context, tx *sql.Tx, id int32) (*catalog.Revision, error) {
	r := &catalog.Revision{ID: id}
	var uid, typ string
	var created, drivers sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT update_id, revision_number, update_type, category_type, title,
		description, kb_article_id, publication_state, creation_date, drivers FROM revision WHERE id = ?`, id).
		Scan(&uid, &r.RevisionNumber, &typ, &r.CategoryType, &r.Title, &r.Description, &r.KBArticleID,
			&r.PublicationState, &created, &drivers)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if r.UpdateID, err = decUUID(uid); err != nil {
		return nil, err
	}
	if r.CreationDate, err = decTime(created); err != nil {
		return nil, err
	}
	if r.Drivers, err = decDrivers(drivers); err != nil {
		return nil, err
	}
	r.Type = catalog.UpdateType(typ)

	// The graph edges, read as for Summaries.
	sm := &catalog.Summary{}
	owner := func(int32) (*catalog.Summary, error) { return sm, nil }
	args := []any{id}
	err = query(ctx, tx, `SELECT revision_id, clause_no, is_category, update_id FROM prerequisite
		WHERE revision_id = ? ORDER BY clause_no, position`, args, prereqScanner(owner))
	if err != nil {
		return nil, fmt.Errorf("prerequisites: %w", err)
	}
	r.Prerequisites = sm.Prerequisites
	err = query(ctx, tx, "SELECT revision_id, update_id, revision_number FROM bundle_member WHERE revision_id = ? ORDER BY position",
		args, func(rows *sql.Rows) error {
			var rid int32
			b, err := scanIdentity(rows, &rid)
			r.BundledUpdates = append(r.BundledUpdates, b)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("bundle members: %w", err)
	}
	err = query(ctx, tx, "SELECT update_id FROM supersedence WHERE revision_id = ? ORDER BY position", args,
		func(rows *sql.Rows) error {
			var uid string
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			u, err := decUUID(uid)
			r.SupersededUpdates = append(r.SupersededUpdates, u)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("supersedence: %w", err)
	}
	files, err := files(ctx, tx, []int32{id})
	if err != nil {
		return nil, err
	}
	r.Files = files[id]
	err = query(ctx, tx, "SELECT kind, language, xml FROM revision_fragment WHERE revision_id = ?", args,
		func(rows *sql.Rows) error {
			var kind, lang, xml string
			if err := rows.Scan(&kind, &lang, &xml); err != nil {
				return err
			}
			return r.SetFragment(catalog.FragmentType(kind), lang, xml)
		})
	if err != nil {
		return nil, fmt.Errorf("fragments: %w", err)
	}
	err = tx.QueryRowContext(ctx, "SELECT xml FROM revision_xml WHERE revision_id = ?", id).Scan(&r.SourceXML)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("source xml: %w", err)
	}
	return r, nil
}

// Fragments returns the stored fragments of type typ of the given revisions,
// ordered by revision ID then language. For LocalizedProperties and Eula
// only the listed languages, matched exactly, are returned. Unknown IDs and
// missing fragments are skipped.
func (s *Store) Fragments(ctx context.Context, ids []int32, typ catalog.FragmentType, languages []string) ([]catalog.Fragment, error) {
	q := "SELECT revision_id, language, xml FROM revision_fragment WHERE kind = ? AND revision_id IN (SELECT value FROM json_each(?))"
	args := []any{string(typ), jsonInts(ids)}
	switch typ {
	case catalog.FragmentCore, catalog.FragmentExtended:
	case catalog.FragmentLocalizedProperties, catalog.FragmentEula:
		if len(languages) == 0 {
			return nil, nil
		}
		langs, err := json.Marshal(languages)
		if err != nil {
			return nil, errorf("sqlite: fragments: %w", err)
		}
		q += " AND language IN (SELECT value FROM json_each(?))"
		args = append(args, string(langs))
	default:
		return nil, errorf("sqlite: fragments: unknown fragment type %q", typ)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var out []catalog.Fragment
	err := query(ctx, s.r, q+" ORDER BY revision_id, language", args, func(rows *sql.Rows) error {
		f := catalog.Fragment{Type: typ}
		if err := rows.Scan(&f.RevisionID, &f.Language, &f.XML); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, errorf("sqlite: fragments %s: %w", typ, err)
	}
	return out, nil
}

// Files returns the files of the given revisions, in document order, keyed
// by revision ID; revisions without files (or unknown) have no entry.
func (s *Store) Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error) {
	out, err := files(ctx, s.r, ids)
	if err != nil {
		return nil, errorf("sqlite: files: %w", err)
	}
	return out, nil
}

func files(ctx context.Context, db querier, ids []int32) (map[int32][]catalog.File, error) {
	out := map[int32][]catalog.File{}
	if len(ids) == 0 {
		return out, nil
	}
	err := query(ctx, db, `SELECT revision_id, sha1, sha256, file_name, size, modified FROM revision_file
		WHERE revision_id IN (SELECT value FROM json_each(?)) ORDER BY revision_id, position`,
		[]any{jsonInts(ids)}, func(rows *sql.Rows) error {
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

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanFile scans (revision_id, sha1, sha256, file_name, size, modified).
func scanFile(row scanner, id *int32) (catalog.File, error) {
	var f catalog.File
	var modified sql.NullString
	if err := row.Scan(id, &f.SHA1, &f.SHA256, &f.FileName, &f.Size, &modified); err != nil {
		return catalog.File{}, err
	}
	if len(f.SHA256) == 0 {
		f.SHA256 = nil
	}
	var err error
	f.Modified, err = decTime(modified)
	return f, err
}

// FileBySHA1 returns the file with that 20-byte SHA-1 digest as the first
// revision (lowest ID) that lists it names it.
func (s *Store) FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error) {
	if len(sha1) != 20 {
		return catalog.File{}, errorf("sqlite: file by sha1 %x: digest has %d bytes, want 20", sha1, len(sha1))
	}
	var id int32
	f, err := scanFile(s.r.QueryRowContext(ctx, `SELECT revision_id, sha1, sha256, file_name, size, modified
		FROM revision_file WHERE sha1 = ? ORDER BY revision_id, position LIMIT 1`, sha1), &id)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.File{}, errorf("sqlite: file by sha1 %x: %w", sha1, catalog.ErrNotFound)
	}
	if err != nil {
		return catalog.File{}, errorf("sqlite: file by sha1 %x: %w", sha1, err)
	}
	return f, nil
}
