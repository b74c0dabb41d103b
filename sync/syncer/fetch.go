package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"wsus/catalog"
	"wsus/catalog/metadata"
	"wsus/internal/cab"
	"wsus/sync/upstream"
	"wsus/sync/wsusss"
)

// maxClosureRounds bounds how many times a phase fetches the bundle members
// its revisions name but its list did not: one round normally suffices
// (members of members are rare).
const maxClosureRounds = 4

// fetched is what one GetUpdateData answer brought: its revisions, parsed,
// and where their files come from.
type fetched struct {
	revs    []*catalog.Revision
	sources []catalog.FileSource
	err     error
}

// fetchAll stores every revision of ids not stored yet, then the bundle
// members they name that are neither stored nor listed. GetUpdateData calls
// run on Fetchers goroutines; one goroutine (this one) stores, in the order
// order.go decides.
func (r *runner) fetchAll(ctx context.Context, ids []wsusss.UpdateIdentity) error {
	for round := 0; len(ids) > 0; round++ {
		want := r.missing(ids)
		if len(want) == 0 {
			return nil
		}
		if round == maxClosureRounds {
			r.s.log.Warn("syncer: bundle members still missing after several rounds", "missing", len(want))
			return nil
		}
		r.update(func(run *catalog.SyncRun) { run.Total += len(want) })
		members, err := r.fetchList(ctx, want)
		if err != nil {
			return err
		}
		ids = members
	}
	return nil
}

// missing returns the identities of ids not stored, each once.
func (r *runner) missing(ids []wsusss.UpdateIdentity) []wsusss.UpdateIdentity {
	seen := map[wsusss.UpdateIdentity]bool{}
	var out []wsusss.UpdateIdentity
	for _, id := range ids {
		if seen[id] || r.have[catalog.Identity{UpdateID: id.UpdateID, RevisionNumber: id.RevisionNumber}] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// appendMissingMembers appends to out the bundle members of revs that are
// not stored yet. A member stored later in the same list is dropped by
// missing in the next round.
func (r *runner) appendMissingMembers(out []wsusss.UpdateIdentity, revs []*catalog.Revision) []wsusss.UpdateIdentity {
	for _, rev := range revs {
		for _, m := range rev.BundledUpdates {
			if !r.have[m] {
				out = append(out, wsusss.UpdateIdentity{UpdateID: m.UpdateID, RevisionNumber: m.RevisionNumber})
			}
		}
	}
	return out
}

// fetchList fetches want in batches and stores them; it returns the bundle
// members the stored revisions name that were not stored when they were.
// Stored revisions are dropped at once: a phase's documents do not fit in
// memory (the 50,000 updates of scripts/bench-sync.sh parse to about
// 600 MB, and kept until the end of the phase the sync process passed
// 1.1 GiB RSS).
func (r *runner) fetchList(ctx context.Context, want []wsusss.UpdateIdentity) ([]wsusss.UpdateIdentity, error) {
	per := r.state.Config.MaxUpdatesPerRequest
	if per <= 0 {
		per = 100 // [I] every upstream seen says 100 (MS-WSUSSS.md 2.1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []wsusss.UpdateIdentity)
	results := make(chan fetched, r.s.cfg.Fetchers)
	var wg sync.WaitGroup
	for range r.s.cfg.Fetchers {
		wg.Go(func() {
			for b := range batches {
				f := r.fetchBatch(ctx, b)
				select {
				case results <- f:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		defer close(batches)
		for start := 0; start < len(want); start += per {
			select {
			case batches <- want[start:min(start+per, len(want))]:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	o := newOrder(want, r.s.cfg.MaxPending)
	var members []wsusss.UpdateIdentity
	var err error
	for f := range results {
		if err != nil {
			continue // drain
		}
		if f.err != nil {
			err = f.err
			cancel()
			continue
		}
		if len(f.sources) > 0 {
			if err = r.store.SetFileSources(ctx, f.sources); err != nil {
				err = fmt.Errorf("store file sources: %w", err)
				cancel()
				continue
			}
		}
		o.add(f.revs)
		for {
			ready := o.ready(r.s.cfg.ImportBatch, false)
			if len(ready) == 0 {
				break
			}
			if err = r.importRevisions(ctx, ready); err != nil {
				cancel()
				break
			}
			members = r.appendMissingMembers(members, ready)
		}
	}
	if err != nil {
		return nil, err
	}
	for {
		ready := o.ready(r.s.cfg.ImportBatch, true)
		if len(ready) == 0 {
			break
		}
		if err := r.importRevisions(ctx, ready); err != nil {
			return nil, err
		}
		members = r.appendMissingMembers(members, ready)
	}
	return members, nil
}

// importRevisions stores revs in one transaction and counts them.
func (r *runner) importRevisions(ctx context.Context, revs []*catalog.Revision) error {
	if _, err := r.store.ImportRevisions(ctx, revs); err != nil {
		return fmt.Errorf("store %d revisions: %w", len(revs), err)
	}
	var added, revised int
	for _, rev := range revs {
		if !r.touched[rev.UpdateID] {
			_, had := r.latest[rev.UpdateID]
			if rev.Type == catalog.TypeSoftware || rev.Type == catalog.TypeDriver {
				if had {
					revised++
				} else {
					added++
				}
			}
			r.touched[rev.UpdateID] = true
		}
		r.have[rev.Identity] = true
		r.note(rev.UpdateID, rev.RevisionNumber, rev.Type, rev.PublicationState)
		if rev.Type == catalog.TypeCategory {
			r.cats = append(r.cats, catalog.Summary{ID: rev.ID, Identity: rev.Identity, Type: rev.Type,
				CategoryType: rev.CategoryType, Title: rev.Title, Prerequisites: rev.Prerequisites})
		}
	}
	r.update(func(run *catalog.SyncRun) {
		run.Done += len(revs)
		run.New += added
		run.Revised += revised
	})
	return nil
}

// fetchBatch asks for the metadata of ids, splitting the batch when the
// answer would be too large, and parses every document. The answer must
// hold exactly the revisions asked for.
func (r *runner) fetchBatch(ctx context.Context, ids []wsusss.UpdateIdentity) fetched {
	data, err := r.up.GetUpdateData(ctx, ids)
	if err != nil {
		if len(ids) > 1 && (errors.Is(err, cab.ErrTooLarge) || errors.Is(err, upstream.ErrTooLarge)) {
			half := len(ids) / 2
			a := r.fetchBatch(ctx, ids[:half])
			if a.err != nil {
				return a
			}
			b := r.fetchBatch(ctx, ids[half:])
			if b.err != nil {
				return b
			}
			return fetched{revs: append(a.revs, b.revs...), sources: append(a.sources, b.sources...)}
		}
		return fetched{err: err}
	}
	byID := make(map[wsusss.UpdateIdentity][]byte, len(data.Updates))
	for _, u := range data.Updates {
		byID[u.ID] = u.XML
	}
	out := fetched{revs: make([]*catalog.Revision, 0, len(ids))}
	var secured []wsusss.UpdateIdentity
	for _, id := range ids {
		doc, ok := byID[id]
		if !ok {
			return fetched{err: fmt.Errorf("GetUpdateData: the answer lacks %s revision %d", id.UpdateID, id.RevisionNumber)}
		}
		rev, err := metadata.Parse(doc)
		if err != nil {
			return fetched{err: fmt.Errorf("GetUpdateData: %s revision %d: %w", id.UpdateID, id.RevisionNumber, err)}
		}
		if rev.UpdateID != id.UpdateID || rev.RevisionNumber != id.RevisionNumber {
			return fetched{err: fmt.Errorf("GetUpdateData: asked for %s revision %d, got the document of %s revision %d",
				id.UpdateID, id.RevisionNumber, rev.UpdateID, rev.RevisionNumber)}
		}
		if needsDecryption(doc) {
			secured = append(secured, id)
		}
		out.revs = append(out.revs, rev)
	}
	for _, u := range data.FileURLs {
		if u.MUURL != "" && len(u.Digest) == 20 {
			out.sources = append(out.sources, catalog.FileSource{SHA1: u.Digest, MUURL: u.MUURL})
		}
	}
	keys, err := r.decryptionKeys(ctx, secured)
	if err != nil {
		return fetched{err: err}
	}
	out.sources = append(out.sources, keys...)
	return out
}

// needsDecryption reports whether an update document asks for
// GetUpdateDecryptionData: Properties/SecuredFragment is FileDecryption
// ([MS-WSUSSS] 3.2.4.2; MS-WSUSSS.md section 3.1 step 10). [I] No document
// carrying SecuredFragment is among the samples; the element is matched by
// local name, whatever its prefix.
func needsDecryption(doc []byte) bool {
	i := bytes.Index(doc, []byte("SecuredFragment"))
	if i < 0 {
		return false
	}
	return bytes.Contains(doc[i:], []byte("FileDecryption"))
}

// decryptionKeys asks for the file keys of ids, in batches the upstream
// accepts.
func (r *runner) decryptionKeys(ctx context.Context, ids []wsusss.UpdateIdentity) ([]catalog.FileSource, error) {
	per := r.state.Config.MaxDecryptionPerRequest
	if per <= 0 {
		per = 100 // [I] a real WSUS says 100, Microsoft Update 500
	}
	var out []catalog.FileSource
	for start := 0; start < len(ids); start += per {
		data, err := r.up.GetUpdateDecryptionData(ctx, ids[start:min(start+per, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, d := range data {
			for _, f := range d.Files {
				if len(f.Digest) == 20 && f.Key != nil {
					out = append(out, catalog.FileSource{SHA1: f.Digest, DecryptionKey: f.Key})
				}
			}
		}
	}
	return out, nil
}
