package syncer

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/storage"
	"wsus/sync/download"
)

// ContentPath returns where a WSUS-like upstream at base serves a file
// (storage.ContentPath under base).
func ContentPath(base string, f catalog.File) string {
	return strings.TrimSuffix(base, "/") + storage.ContentPath(f.SHA1, f.FileName)
}

// content stores the payload files of approved updates (ContentApproved),
// once the metadata is stored. The other modes store nothing here: on
// demand, the content handler fetches a file when a client first asks; with
// never, clients go to the Microsoft Update URL.
func (r *runner) content(ctx context.Context) error {
	if r.s.cfg.Content == nil || r.settings.ContentOrDefault() != catalog.ContentApproved {
		return nil
	}
	r.update(func(run *catalog.SyncRun) { run.Phase, run.Done, run.Total = "content", 0, 0 })
	files, err := r.approvedFiles(ctx)
	if err != nil {
		return fmt.Errorf("content: %w", err)
	}
	sha1s := make([][]byte, len(files))
	for i, f := range files {
		sha1s[i] = f.SHA1
	}
	sources, err := r.store.FileSources(ctx, sha1s)
	if err != nil {
		return fmt.Errorf("content: file sources: %w", err)
	}
	jobs := make([]ContentFile, 0, len(files))
	for _, f := range files {
		job := ContentFile{File: f}
		if !r.state.Config.CatalogOnlySync {
			job.URLs = append(job.URLs, r.s.cfg.ContentURL(r.settings.UpstreamURL, f))
		}
		if src, ok := sources[[20]byte(f.SHA1)]; ok && src.MUURL != "" {
			job.URLs = append(job.URLs, src.MUURL)
		}
		if len(job.URLs) == 0 {
			r.s.log.Warn("syncer: no source is known for a file of an approved update", "file", f.FileName, "sha1", hex.EncodeToString(f.SHA1))
			continue
		}
		jobs = append(jobs, job)
	}
	err = r.s.cfg.Content.Fetch(ctx, jobs, func(p ContentProgress) {
		r.update(func(run *catalog.SyncRun) {
			run.Files, run.FilesTotal, run.Bytes, run.BytesTotal = p.Files, p.FilesTotal, p.Bytes, p.BytesTotal
			run.Done, run.Total = p.Files, p.FilesTotal
		})
	})
	if err != nil {
		return fmt.Errorf("content: %w", err)
	}
	return nil
}

// approvedFiles returns the files of the updates approved for install (not
// declined): of the newest revision of each, and of the revisions it
// bundles, each file once.
func (r *runner) approvedFiles(ctx context.Context) ([]catalog.File, error) {
	approvals, err := r.store.Approvals(ctx)
	if err != nil {
		return nil, err
	}
	states, err := r.store.UpdateStates(ctx)
	if err != nil {
		return nil, err
	}
	declined := map[uuid.UUID]bool{}
	for _, st := range states {
		declined[st.UpdateID] = st.Declined
	}
	sums, err := r.store.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	byIdentity := make(map[catalog.Identity]*catalog.Summary, len(sums))
	newest := map[uuid.UUID]*catalog.Summary{}
	for i := range sums {
		sm := &sums[i]
		byIdentity[sm.Identity] = sm
		if n := newest[sm.UpdateID]; n == nil || n.RevisionNumber < sm.RevisionNumber {
			newest[sm.UpdateID] = sm
		}
	}
	var ids []int32
	seen := map[int32]bool{}
	var visit func(sm *catalog.Summary)
	visit = func(sm *catalog.Summary) {
		if sm == nil || seen[sm.ID] {
			return
		}
		seen[sm.ID] = true
		if sm.HasFiles {
			ids = append(ids, sm.ID)
		}
		for _, m := range sm.BundledUpdates {
			visit(byIdentity[m])
		}
	}
	for _, a := range approvals {
		if declined[a.UpdateID] || (a.Action != catalog.ActionInstall && a.Action != catalog.ActionOptionalInstall) {
			continue
		}
		visit(newest[a.UpdateID])
	}
	files, err := r.store.Files(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []catalog.File
	have := map[[20]byte]bool{}
	for _, id := range ids {
		for _, f := range files[id] {
			if len(f.SHA1) == 20 && !have[[20]byte(f.SHA1)] {
				have[[20]byte(f.SHA1)] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// Downloads is the Content that fetches files with a download.Downloader
// into a blob store: in parallel, resumed after broken connections,
// verified before they become visible.
type Downloads struct {
	Store download.Store
	// Config is the downloader's configuration; its Progress is set per
	// Fetch.
	Config download.Config
}

// Fetch stores files, reporting progress; the error names every file that
// failed.
func (d Downloads) Fetch(ctx context.Context, files []ContentFile, progress func(ContentProgress)) error {
	cfg := d.Config
	cfg.Progress = func(p download.Progress) {
		progress(ContentProgress{Files: p.FilesDone - p.FilesFailed, FilesTotal: p.FilesTotal, Bytes: p.BytesDone, BytesTotal: p.BytesTotal})
	}
	dl, err := download.New(d.Store, cfg)
	if err != nil {
		return err
	}
	jobs := make([]download.File, len(files))
	for i, f := range files {
		jobs[i] = download.File{SHA1: f.SHA1, SHA256: f.SHA256, Size: f.Size, URLs: f.URLs}
	}
	_, err = dl.Download(ctx, jobs)
	return err
}
