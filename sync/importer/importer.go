// Package importer loads Microsoft update metadata documents (upd:Update
// XML) from files and folders into the catalog, and the payload files found
// beside them into the blob store, verified against the metadata's digests.
// It is what `wsusd import` runs.
package importer

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/metadata"
	"wsus/storage"
)

// Store is the part of the catalog store the importer writes to.
type Store interface {
	ImportRevisions(ctx context.Context, revs []*catalog.Revision) (catalog.ImportResult, error)
	FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error)
	TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error)
	Approvals(ctx context.Context) ([]catalog.Approval, error)
	SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error)
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
}

// BlobPutter stores verified payloads.
type BlobPutter interface {
	Stat(ctx context.Context, key string) (storage.ObjectInfo, error)
	Put(ctx context.Context, key string, r io.Reader, want storage.Digests) (storage.ObjectInfo, error)
}

// Options tune an import.
type Options struct {
	// ApproveGroup, when set, approves every imported software update that
	// no imported bundle names for Install in the target group of that name,
	// but only an update nobody has decided about yet: one never approved,
	// unapproved, declined or un-declined (see approve). An import run at
	// every start (make run) so never undoes what an admin did.
	ApproveGroup string
	Logger       *slog.Logger
}

// Result counts what an import did.
type Result struct {
	catalog.ImportResult
	// Payloads counts payload files stored; PayloadsPresent those already there.
	Payloads        int
	PayloadsPresent int
	// Skipped counts files that are neither update metadata nor a payload
	// the catalog lists.
	Skipped  int
	Approved int
}

// BatchSize is how many parsed documents Import holds before it stores
// them: an import of any size needs memory for one batch only.
const BatchSize = 500

// Import loads every path: a file, or a folder walked recursively. Files
// ending in .xml must be upd:Update documents when named directly; inside a
// folder, XML that is not an update is skipped with a warning. Every other
// file is a payload candidate: stored if its SHA-1 is one the catalog lists.
// Revisions are stored in batches of BatchSize; payloads after all metadata.
func Import(ctx context.Context, store Store, blobs BlobPutter, paths []string, opts Options) (Result, error) {
	run := &importRun{store: store, logger: opts.Logger, software: map[uuid.UUID]bool{}, bundled: map[uuid.UUID]bool{}}
	if run.logger == nil {
		run.logger = slog.New(slog.DiscardHandler)
	}
	var payloads []string
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return run.res, fmt.Errorf("import: %w", err)
		}
		if !info.IsDir() {
			if !isXML(root) {
				payloads = append(payloads, root)
			} else if err := run.addFile(ctx, root, false); err != nil {
				return run.res, err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil || d.IsDir():
				return err
			case isXML(p):
				return run.addFile(ctx, p, true)
			case !strings.EqualFold(d.Name(), "README.md"):
				payloads = append(payloads, p)
			}
			return nil
		})
		if err != nil {
			return run.res, fmt.Errorf("import: walk %s: %w", root, err)
		}
	}
	if err := run.flush(ctx); err != nil {
		return run.res, err
	}
	res := &run.res
	for _, p := range payloads {
		stored, err := importPayload(ctx, store, blobs, p)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			run.logger.Warn("skipping file the catalog does not list", "file", p)
			res.Skipped++
		case err != nil:
			return *res, err
		case stored:
			res.Payloads++
		default:
			res.PayloadsPresent++
		}
	}
	if opts.ApproveGroup != "" {
		var top []uuid.UUID
		for id := range run.software {
			if !run.bundled[id] {
				top = append(top, id)
			}
		}
		slices.SortFunc(top, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		n, err := approve(ctx, store, top, opts.ApproveGroup)
		res.Approved = n
		if err != nil {
			return *res, err
		}
	}
	return *res, nil
}

// importRun is the state of one Import: the batch being parsed, and of
// every revision seen only what --approve needs.
type importRun struct {
	store  Store
	logger *slog.Logger
	res    Result
	batch  []*catalog.Revision
	// software holds the software updates imported; bundled those any
	// imported bundle names.
	software, bundled map[uuid.UUID]bool
}

// addFile parses one XML file into the batch; inFolder skips documents
// that are not update metadata instead of failing.
func (r *importRun) addFile(ctx context.Context, p string, inFolder bool) error {
	rev, err := parseFile(p)
	if inFolder && errors.Is(err, metadata.ErrNotUpdate) {
		r.logger.Warn("skipping XML that is not update metadata", "file", p)
		r.res.Skipped++
		return nil
	}
	if err != nil {
		return err
	}
	if rev.Type == catalog.TypeSoftware {
		r.software[rev.UpdateID] = true
	}
	for _, m := range rev.BundledUpdates {
		r.bundled[m.UpdateID] = true
	}
	r.batch = append(r.batch, rev)
	if len(r.batch) >= BatchSize {
		return r.flush(ctx)
	}
	return nil
}

// flush stores the batch.
func (r *importRun) flush(ctx context.Context) error {
	if len(r.batch) == 0 {
		return nil
	}
	ir, err := r.store.ImportRevisions(ctx, r.batch)
	if err != nil {
		return fmt.Errorf("import: store revisions: %w", err)
	}
	r.res.Added += ir.Added
	r.res.Unchanged += ir.Unchanged
	r.batch = r.batch[:0]
	return nil
}

func isXML(p string) bool { return strings.EqualFold(filepath.Ext(p), ".xml") }

func parseFile(p string) (*catalog.Revision, error) {
	doc, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	rev, err := metadata.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", p, err)
	}
	return rev, nil
}

// importPayload stores one payload file under its content key when the
// catalog lists its SHA-1; the blob store re-verifies SHA-1 and SHA-256
// while streaming. It reports whether it stored anything.
func importPayload(ctx context.Context, store Store, blobs BlobPutter, p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("import: hash %s: %w", p, err)
	}
	digest := h.Sum(nil)
	meta, err := store.FileBySHA1(ctx, digest)
	if err != nil {
		return false, fmt.Errorf("import: look up %s: %w", p, err)
	}
	key := storage.KeyForSHA1(digest)
	if info, err := blobs.Stat(ctx, key); err == nil && info.Size == meta.Size {
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("import: %w", err)
	}
	if _, err := blobs.Put(ctx, key, f, storage.Digests{SHA1: meta.SHA1, SHA256: meta.SHA256}); err != nil {
		return false, fmt.Errorf("import: store payload %s: %w", p, err)
	}
	return true, nil
}

// approve approves the given updates for Install in the named group,
// leaving alone every update somebody has decided about.
//
// "Somebody decided" is read off the store, which keeps no other trace of
// who did what: an update with an approval in the group (an admin's, maybe
// changed to OptionalInstall or given a deadline, or this importer's own
// from an earlier run) is left as it is; so is an update with an
// UpdateState, which the store creates on the first approval, removal,
// decline or un-decline of the update in any group and never deletes. That
// covers an admin who removed the importer's approval (no approval row is
// left, only the state) and a declined update. It also leaves alone an
// update an admin approved for another group only: the importer approves
// only what nobody has touched, never more.
func approve(ctx context.Context, store Store, updates []uuid.UUID, groupName string) (int, error) {
	groups, err := store.TargetGroups(ctx)
	if err != nil {
		return 0, fmt.Errorf("import: target groups: %w", err)
	}
	var group *catalog.TargetGroup
	for i := range groups {
		if strings.EqualFold(groups[i].Name, groupName) {
			group = &groups[i]
		}
	}
	if group == nil {
		return 0, fmt.Errorf("import: approve: no target group named %q", groupName)
	}
	existing, err := store.Approvals(ctx)
	if err != nil {
		return 0, fmt.Errorf("import: approvals: %w", err)
	}
	states, err := store.UpdateStates(ctx)
	if err != nil {
		return 0, fmt.Errorf("import: update states: %w", err)
	}
	decided := make(map[uuid.UUID]bool, len(states)+len(existing))
	for _, st := range states {
		decided[st.UpdateID] = true
	}
	for _, a := range existing {
		if a.GroupID == group.ID {
			decided[a.UpdateID] = true
		}
	}
	n := 0
	for _, id := range updates {
		if decided[id] {
			continue
		}
		if _, err := store.SetApproval(ctx, catalog.Approval{UpdateID: id, GroupID: group.ID, Action: catalog.ActionInstall, By: "wsusd import"}); err != nil {
			return n, fmt.Errorf("import: approve %s: %w", id, err)
		}
		n++
	}
	return n, nil
}
