package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// importEntry is what one import does to one identity.
type importEntry struct {
	id     int32
	rev    *catalog.Revision // the content to write; nil when stored and untouched
	digest []byte
	isNew  bool // not in the catalog before this import
	dirty  bool // to be written (new, or stored with another digest)
}

// childTables hold the rows a revision owns; a changed revision has them
// deleted and written again.
var childTables = []string{"prerequisite", "bundle_member", "supersedence", "revision_file", "revision_fragment", "revision_xml"}

// ImportRevisions adds revisions keyed by Identity in one transaction. A new
// revision gets the next ID; an identical one is counted Unchanged; one whose
// content changed is rewritten under its existing ID (counted in neither).
// Within a batch an identity listed again counts as if imported after the
// earlier one. Every revision's ID is written back once the transaction
// committed. IsLeaf is recomputed for the whole catalog, and the change
// sequence bumped, when anything changed; the new and rewritten revisions
// then carry the bumped value as their Summary.Changed. The admin views'
// columns are written too: those read from the metadata (readRevisionProps)
// and the newest and bundled flags (recomputeListed). Imports of all
// processes take turns (Dialect.LockImport): IsLeaf needs the whole
// catalog.
func (s *Store) ImportRevisions(ctx context.Context, revs []*catalog.Revision) (catalog.ImportResult, error) {
	digests := make([][]byte, len(revs))
	for i, r := range revs {
		if err := r.Validate(); err != nil {
			return catalog.ImportResult{}, s.invalid(fmt.Sprintf("import revisions: revision %d", i), err)
		}
		digests[i] = catalog.ContentDigest(r, s.d.TimePrecision())
	}
	if len(revs) == 0 {
		return catalog.ImportResult{}, nil
	}
	var res catalog.ImportResult
	entries := make([]*importEntry, len(revs))
	err := s.write(ctx, "import revisions", func(t *tx) error {
		if err := s.d.LockImport(ctx, t.Tx); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		stored, err := findStored(ctx, t, revs)
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
		if err := assignIDs(ctx, t, written); err != nil {
			return err
		}
		if err := writeRevisions(ctx, t, written); err != nil {
			return err
		}
		if err := recomputeLeaves(ctx, t); err != nil {
			return err
		}
		if err := recomputeListed(ctx, t); err != nil {
			return err
		}
		seq, err := nextChangeSequence(ctx, t)
		if err != nil {
			return err
		}
		return markChanged(ctx, t, written, seq)
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
func findStored(ctx context.Context, t *tx, revs []*catalog.Revision) (map[catalog.Identity]*importEntry, error) {
	want := make(map[catalog.Identity]bool, len(revs))
	var updateIDs []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, r := range revs {
		want[r.Identity] = true
		if !seen[r.UpdateID] {
			seen[r.UpdateID] = true
			updateIDs = append(updateIDs, r.UpdateID)
		}
	}
	stored := map[catalog.Identity]*importEntry{}
	err := t.query(ctx, "SELECT id, update_id, revision_number, content_sha256 FROM revision WHERE update_id "+
		t.s.d.InList("$1", "uuid"), []any{jsonList(updateIDs)},
		func(rows Row) error {
			e := &importEntry{}
			var id catalog.Identity
			if err := rows.Scan(num(&e.id), uuidDest{&id.UpdateID}, num(&id.RevisionNumber), &e.digest); err != nil {
				return err
			}
			if want[id] {
				stored[id] = e
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("find stored revisions: %w", err)
	}
	return stored, nil
}

// assignIDs draws the IDs of the new entries, in ascending order, so IDs
// grow in import order.
func assignIDs(ctx context.Context, t *tx, written []*importEntry) error {
	n := 0
	for _, e := range written {
		if e.isNew {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	ids, err := t.s.d.NextIDs(ctx, t.Tx, "revision", n)
	if err != nil {
		return fmt.Errorf("draw revision IDs: %w", err)
	}
	if len(ids) != n {
		return fmt.Errorf("draw revision IDs: got %d, want %d", len(ids), n)
	}
	slices.Sort(ids)
	for _, e := range written {
		if !e.isNew {
			continue
		}
		if ids[0] <= 0 || ids[0] > math.MaxInt32 {
			return fmt.Errorf("revision ID %d outside the int32 range", ids[0])
		}
		e.id, ids = int32(ids[0]), ids[1:]
	}
	return nil
}

// revisionColumns are the revision columns every import writes, in the
// order of revisionValues.
var revisionColumns = []string{"update_type", "category_type", "title", "description", "kb_article_id",
	"publication_state", "creation_date", "has_files", "content_sha256", "drivers",
	"msrc_severity", "cves", "languages", "search_text", "properties_read"}

// updateRevision rewrites the revisionColumns of one revision:
// "UPDATE revision SET update_type = $1, ... WHERE id = $11".
var updateRevision = func() string {
	set := make([]string, len(revisionColumns))
	for i, c := range revisionColumns {
		set[i] = fmt.Sprintf("%s = $%d", c, i+1)
	}
	return fmt.Sprintf("UPDATE revision SET %s WHERE id = $%d", strings.Join(set, ", "), len(revisionColumns)+1)
}()

func (s *Store) revisionValues(r *catalog.Revision, digest []byte) ([]any, error) {
	drivers, err := encDrivers(r.Drivers)
	if err != nil {
		return nil, err
	}
	p := readRevisionProps(r.Title, r.KBArticleID, r.SourceXML)
	return []any{string(r.Type), r.CategoryType, r.Title, r.Description, r.KBArticleID,
		r.PublicationState, s.d.Time(r.CreationDate), len(r.Files) > 0, digest, drivers,
		p.severity, p.cves, p.languages, p.searchText, true}, nil
}

// childRows are the rows of the tables a revision owns (childTables), in
// that order.
type childRows struct {
	columns [][]string
	rows    [][][]any
}

func newChildRows() *childRows {
	return &childRows{columns: [][]string{
		{"revision_id", "clause_no", "position", "is_category", "update_id"},
		{"revision_id", "position", "update_id", "revision_number"},
		{"revision_id", "position", "update_id"},
		{"revision_id", "position", "sha1", "sha256", "file_name", "size", "modified"},
		{"revision_id", "kind", "language", "xml"},
		{"revision_id", "xml"},
	}, rows: make([][][]any, len(childTables))}
}

// add appends the rows revision id owns: graph edges, files, fragments and
// the source document.
func (c *childRows) add(s *Store, id int32, r *catalog.Revision) {
	put := func(table int, row ...any) { c.rows[table] = append(c.rows[table], row) }
	for n, clause := range r.Prerequisites {
		for p, u := range clause.UpdateIDs {
			put(0, id, n, p, clause.IsCategory, u)
		}
	}
	for p, b := range r.BundledUpdates {
		put(1, id, p, b.UpdateID, b.RevisionNumber)
	}
	for p, u := range r.SupersededUpdates {
		put(2, id, p, u)
	}
	for p, f := range r.Files {
		put(3, id, p, f.SHA1, nullBytes(f.SHA256), f.FileName, f.Size, s.d.Time(f.Modified))
	}
	// Core and Extended are stored when present; an empty one is absent.
	if r.CoreXML != "" {
		put(4, id, string(catalog.FragmentCore), "", r.CoreXML)
	}
	if r.ExtendedXML != "" {
		put(4, id, string(catalog.FragmentExtended), "", r.ExtendedXML)
	}
	for lang, xml := range r.Localized {
		put(4, id, string(catalog.FragmentLocalizedProperties), lang, xml)
	}
	for lang, xml := range r.Eulas {
		put(4, id, string(catalog.FragmentEula), lang, xml)
	}
	if r.SourceXML != "" {
		put(5, id, r.SourceXML)
	}
}

// writeRevisions writes the revision rows of the new entries, updates those
// of the changed ones, and replaces the rows all of them own.
func writeRevisions(ctx context.Context, t *tx, written []*importEntry) error {
	now, err := t.now(ctx)
	if err != nil {
		return err
	}
	s := t.s
	var newRows [][]any
	var changedIDs []int32
	children := newChildRows()
	for _, e := range written {
		r := e.rev
		vals, err := s.revisionValues(r, e.digest)
		if err != nil {
			return fmt.Errorf("revision %s/%d: %w", r.UpdateID, r.RevisionNumber, err)
		}
		if e.isNew {
			newRows = append(newRows, append([]any{e.id, r.UpdateID, r.RevisionNumber, true, s.d.Time(now)}, vals...))
		} else {
			changedIDs = append(changedIDs, e.id)
			if _, err := t.exec(ctx, updateRevision, append(vals, e.id)...); err != nil {
				return fmt.Errorf("revision %s/%d: update: %w", r.UpdateID, r.RevisionNumber, err)
			}
		}
		children.add(s, e.id, r)
	}
	if len(changedIDs) > 0 {
		for _, table := range childTables {
			if _, err := t.exec(ctx, "DELETE FROM "+table+" WHERE revision_id "+s.d.InList("$1", "integer"),
				jsonList(changedIDs)); err != nil {
				return fmt.Errorf("clear %s of changed revisions: %w", table, err)
			}
		}
	}
	cols := append([]string{"id", "update_id", "revision_number", "is_leaf", "imported"}, revisionColumns...)
	if err := bulkInsert(ctx, t, "revision", cols, newRows); err != nil {
		return err
	}
	for i, table := range childTables {
		if err := bulkInsert(ctx, t, table, children.columns[i], children.rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// markChanged sets changed_seq (catalog.Summary.Changed) of the written
// revisions to seq, the change sequence this import commits. It runs after
// nextChangeSequence and touches only rows the transaction wrote already,
// so it waits for no lock while holding the change sequence's.
func markChanged(ctx context.Context, t *tx, written []*importEntry, seq int64) error {
	ids := make([]int32, len(written))
	for i, e := range written {
		ids[i] = e.id
	}
	if _, err := t.exec(ctx, "UPDATE revision SET changed_seq = $1 WHERE id "+t.s.d.InList("$2", "integer"),
		seq, jsonList(ids)); err != nil {
		return fmt.Errorf("mark changed revisions: %w", err)
	}
	return nil
}

// recomputeLeaves sets is_leaf for the whole catalog: a revision is a leaf
// unless some revision names its UpdateID in a prerequisite. Bundle
// membership does not count. Only rows whose value flips are written.
func recomputeLeaves(ctx context.Context, t *tx) error {
	for _, q := range []string{
		"UPDATE revision SET is_leaf = FALSE WHERE is_leaf = TRUE AND EXISTS (SELECT 1 FROM prerequisite p WHERE p.update_id = revision.update_id)",
		"UPDATE revision SET is_leaf = TRUE WHERE is_leaf = FALSE AND NOT EXISTS (SELECT 1 FROM prerequisite p WHERE p.update_id = revision.update_id)",
	} {
		if _, err := t.exec(ctx, q); err != nil {
			return fmt.Errorf("recompute leaves: %w", err)
		}
	}
	return nil
}

// Summaries returns every revision, ordered by ID: one query per table in
// one snapshot, assembled in memory.
func (s *Store) Summaries(ctx context.Context) ([]catalog.Summary, error) {
	return readOne(ctx, s, "summaries", func(t *tx) ([]catalog.Summary, error) { return summaries(ctx, t) })
}

func summaries(ctx context.Context, t *tx) ([]catalog.Summary, error) {
	// Sized once: appending 50,000 summaries copies megabytes over and over.
	var n int
	if err := t.queryRow(ctx, "SELECT count(*) FROM revision").Scan(num(&n)); err != nil {
		return nil, fmt.Errorf("count revisions: %w", err)
	}
	out := make([]catalog.Summary, 0, n)
	index := make(map[int32]int, n)
	err := t.query(ctx, `SELECT id, update_id, revision_number, update_type, category_type, title,
		kb_article_id, publication_state, is_leaf, has_files, imported, changed_seq, drivers FROM revision ORDER BY id`, nil,
		func(rows Row) error {
			var sm catalog.Summary
			var typ string
			if err := rows.Scan(num(&sm.ID), uuidDest{&sm.UpdateID}, num(&sm.RevisionNumber), &typ, &sm.CategoryType, &sm.Title,
				&sm.KBArticleID, &sm.PublicationState, &sm.IsLeaf, &sm.HasFiles, timeDest{&sm.Imported},
				num(&sm.Changed), driversDest(&sm.Drivers)); err != nil {
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
	if err := readEdges(ctx, t, "", nil, owner); err != nil {
		return nil, err
	}
	return out, nil
}

// readEdges reads the prerequisites, bundle members and superseded updates
// of the revisions where selects (a condition on revision_id, "" for all),
// into the summaries owner returns.
func readEdges(ctx context.Context, t *tx, where string, args []any, owner func(int32) (*catalog.Summary, error)) error {
	if where != "" {
		where = " WHERE " + where
	}
	lastID, lastClause := int32(-1), -1
	err := t.query(ctx, "SELECT revision_id, clause_no, is_category, update_id FROM prerequisite"+where+
		" ORDER BY revision_id, clause_no, position", args, func(rows Row) error {
		var id int32
		var clause int
		var isCat bool
		var u uuid.UUID
		if err := rows.Scan(num(&id), num(&clause), &isCat, uuidDest{&u}); err != nil {
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
	})
	if err != nil {
		return fmt.Errorf("prerequisites: %w", err)
	}
	err = t.query(ctx, "SELECT revision_id, update_id, revision_number FROM bundle_member"+where+
		" ORDER BY revision_id, position", args, func(rows Row) error {
		var id int32
		var b catalog.Identity
		if err := rows.Scan(num(&id), uuidDest{&b.UpdateID}, num(&b.RevisionNumber)); err != nil {
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
		return fmt.Errorf("bundle members: %w", err)
	}
	err = t.query(ctx, "SELECT revision_id, update_id FROM supersedence"+where+" ORDER BY revision_id, position", args,
		func(rows Row) error {
			var id int32
			var u uuid.UUID
			if err := rows.Scan(num(&id), uuidDest{&u}); err != nil {
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
		return fmt.Errorf("supersedence: %w", err)
	}
	return nil
}

// Revision returns one whole revision by ID (an error wrapping
// catalog.ErrNotFound if absent); its IsLeaf is not part of
// catalog.Revision (see Summaries).
func (s *Store) Revision(ctx context.Context, id int32) (*catalog.Revision, error) {
	return readOne(ctx, s, fmt.Sprintf("revision %d", id), func(t *tx) (*catalog.Revision, error) {
		return revision(ctx, t, id)
	})
}

func revision(ctx context.Context, t *tx, id int32) (*catalog.Revision, error) {
	r := &catalog.Revision{ID: id}
	var typ string
	err := t.queryRow(ctx, `SELECT update_id, revision_number, update_type, category_type, title,
		description, kb_article_id, publication_state, creation_date, drivers FROM revision WHERE id = $1`, id).
		Scan(uuidDest{&r.UpdateID}, num(&r.RevisionNumber), &typ, &r.CategoryType, &r.Title, &r.Description, &r.KBArticleID,
			&r.PublicationState, timeDest{&r.CreationDate}, driversDest(&r.Drivers))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.Type = catalog.UpdateType(typ)
	sm := &catalog.Summary{}
	if err := readEdges(ctx, t, "revision_id = $1", []any{id}, func(int32) (*catalog.Summary, error) { return sm, nil }); err != nil {
		return nil, err
	}
	r.Prerequisites, r.BundledUpdates, r.SupersededUpdates = sm.Prerequisites, sm.BundledUpdates, sm.SupersededUpdates
	files, err := files(ctx, t, []int32{id})
	if err != nil {
		return nil, err
	}
	r.Files = files[id]
	err = t.query(ctx, "SELECT kind, language, xml FROM revision_fragment WHERE revision_id = $1", []any{id},
		func(rows Row) error {
			var kind, lang, xml string
			if err := rows.Scan(&kind, &lang, &xml); err != nil {
				return err
			}
			return r.SetFragment(catalog.FragmentType(kind), lang, xml)
		})
	if err != nil {
		return nil, fmt.Errorf("fragments: %w", err)
	}
	err = t.queryRow(ctx, "SELECT xml FROM revision_xml WHERE revision_id = $1", id).Scan(&r.SourceXML)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("source xml: %w", err)
	}
	return r, nil
}

// Fragments returns the stored fragments of type typ of the given revisions,
// ordered by revision ID then language (byte order). For
// LocalizedProperties and Eula only the listed languages, matched exactly,
// are returned. Unknown IDs and missing fragments are skipped.
func (s *Store) Fragments(ctx context.Context, ids []int32, typ catalog.FragmentType, languages []string) ([]catalog.Fragment, error) {
	q := "SELECT revision_id, language, xml FROM revision_fragment WHERE kind = $1 AND revision_id " + s.d.InList("$2", "integer")
	args := []any{string(typ), jsonList(ids)}
	switch typ {
	case catalog.FragmentCore, catalog.FragmentExtended:
	case catalog.FragmentLocalizedProperties, catalog.FragmentEula:
		// A language no fragment can have (not UTF-8, or holding a NUL,
		// which PostgreSQL refuses even in JSON) matches none.
		languages = slices.DeleteFunc(slices.Clone(languages), func(l string) bool { return catalog.CheckText("", l) != nil })
		if len(languages) == 0 {
			return nil, nil
		}
		q += " AND language " + s.d.InList("$3", "text")
		args = append(args, jsonList(languages))
	default:
		return nil, s.invalid("fragments", fmt.Errorf("unknown fragment type %q", typ))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := readOne(ctx, s, "fragments "+string(typ), func(t *tx) ([]catalog.Fragment, error) {
		var out []catalog.Fragment
		err := t.query(ctx, q, args, func(rows Row) error {
			f := catalog.Fragment{Type: typ}
			if err := rows.Scan(num(&f.RevisionID), &f.Language, &f.XML); err != nil {
				return err
			}
			out = append(out, f)
			return nil
		})
		return out, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b catalog.Fragment) int {
		return cmp.Or(cmp.Compare(a.RevisionID, b.RevisionID), cmp.Compare(a.Language, b.Language))
	})
	return out, nil
}

// Files returns the files of the given revisions, in document order, keyed
// by revision ID; revisions without files (or unknown) have no entry.
func (s *Store) Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error) {
	return readOne(ctx, s, "files", func(t *tx) (map[int32][]catalog.File, error) { return files(ctx, t, ids) })
}

func files(ctx context.Context, t *tx, ids []int32) (map[int32][]catalog.File, error) {
	out := map[int32][]catalog.File{}
	if len(ids) == 0 {
		return out, nil
	}
	err := t.query(ctx, `SELECT revision_id, sha1, sha256, file_name, size, modified FROM revision_file
		WHERE revision_id `+t.s.d.InList("$1", "integer")+` ORDER BY revision_id, position`,
		[]any{jsonList(ids)}, func(rows Row) error {
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
func scanFile(row interface{ Scan(...any) error }, id *int32) (catalog.File, error) {
	var f catalog.File
	if err := row.Scan(num(id), &f.SHA1, &f.SHA256, &f.FileName, num(&f.Size), timeDest{&f.Modified}); err != nil {
		return catalog.File{}, err
	}
	if len(f.SHA256) == 0 {
		f.SHA256 = nil
	}
	return f, nil
}

// FileBySHA1 returns the file with that 20-byte SHA-1 digest as the first
// revision (lowest ID) that lists it names it.
func (s *Store) FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error) {
	op := fmt.Sprintf("file by sha1 %x", sha1)
	if len(sha1) != 20 {
		return catalog.File{}, s.invalid(op, fmt.Errorf("digest has %d bytes, want 20", len(sha1)))
	}
	var id int32
	row, err := s.queryRow(ctx, `SELECT revision_id, sha1, sha256, file_name, size, modified
		FROM revision_file WHERE sha1 = $1 ORDER BY revision_id, position LIMIT 1`, sha1)
	if err != nil {
		return catalog.File{}, s.errorf("%s: %w", op, err)
	}
	f, err := scanFile(row, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.File{}, s.errorf("%s: %w", op, catalog.ErrNotFound)
	}
	if err != nil {
		return catalog.File{}, s.errorf("%s: %w", op, err)
	}
	return f, nil
}
