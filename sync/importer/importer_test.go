package importer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"wsus/catalog/sqlite"
	"wsus/clientsim/catalogen"
	"wsus/storage"
	"wsus/sync/importer"
)

const demoSHA1Key = "a7/f46a38a8d1d08313e910b122be46fcf42ccec2a7"

func open(t *testing.T) (*sqlite.Store, *storage.FS) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := storage.NewFS(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	return store, blobs
}

func TestImportStoresVerifiedPayloads(t *testing.T) {
	store, blobs := open(t)
	ctx := context.Background()
	res, err := importer.Import(ctx, store, blobs, []string{"../../testdata/catalog"}, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// README.md files are passed over; every update and the payload load.
	if res.Added != 6 || res.Payloads != 1 || res.Skipped != 0 {
		t.Fatalf("result %+v, want 6 revisions and 1 payload", res)
	}
	info, err := blobs.Stat(ctx, demoSHA1Key)
	if err != nil || info.Size != 3080000 {
		t.Fatalf("payload not stored under its content key: %+v %v", info, err)
	}
}

func TestImportRejectsPayloadWithWrongSHA256(t *testing.T) {
	store, blobs := open(t)
	ctx := context.Background()
	dir := t.TempDir()
	xml, err := os.ReadFile("../../testdata/catalog/local/update-software-local-demo-7f3c1e52-r100.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Same SHA-1, a different SHA-256 in the metadata: the payload must not
	// become visible.
	wrong := regexp.MustCompile(`(<upd:AdditionalDigest Algorithm="SHA256">)[^<]+`).ReplaceAll(xml, []byte("${1}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
	payload, err := os.ReadFile("../../testdata/catalog/local/wsus-demo-payload.bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "update.xml"), wrong, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "payload.bin"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = importer.Import(ctx, store, blobs, []string{dir}, importer.Options{})
	if !errors.Is(err, storage.ErrDigestMismatch) {
		t.Fatalf("err %v, want a digest mismatch", err)
	}
	if _, err := blobs.Stat(ctx, demoSHA1Key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("mismatched payload is visible: %v", err)
	}
}

func TestImportSkipsUnknownFilesAndForeignXML(t *testing.T) {
	store, blobs := open(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.xml"), []byte("<notes/>"), 0o644)
	os.WriteFile(filepath.Join(dir, "random.bin"), []byte("not in any catalog"), 0o644)
	res, err := importer.Import(context.Background(), store, blobs, []string{dir}, importer.Options{})
	if err != nil || res.Skipped != 2 || res.Added != 0 {
		t.Fatalf("result %+v err %v, want both files skipped", res, err)
	}
	if _, err := importer.Import(context.Background(), store, blobs, []string{filepath.Join(dir, "notes.xml")}, importer.Options{}); err == nil {
		t.Error("a non-update XML named directly was accepted")
	}
}

// TestImportInBatches imports a generated catalog larger than one batch:
// revisions referring to others in earlier batches, approvals counted per
// update (not per revision), and an idempotent second import.
func TestImportInBatches(t *testing.T) {
	store, blobs := open(t)
	ctx := context.Background()
	dir := t.TempDir()
	stats, err := catalogen.Write(ctx, dir, catalogen.Options{Updates: 2*importer.BatchSize + 200, Seed: 7, Revisions: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, store, blobs, []string{dir}, importer.Options{ApproveGroup: "All Computers"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != stats.Documents {
		t.Fatalf("added %d revisions, the catalog has %d documents", res.Added, stats.Documents)
	}
	approvals, err := store.Approvals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Approved == 0 || res.Approved != len(approvals) || res.Approved != stats.Bundles+stats.Standalone {
		t.Errorf("approved %d, store holds %d approvals, catalog has %d top-level updates", res.Approved, len(approvals), stats.Bundles+stats.Standalone)
	}
	again, err := importer.Import(ctx, store, blobs, []string{dir}, importer.Options{ApproveGroup: "All Computers"})
	if err != nil || again.Added != 0 || again.Unchanged != stats.Documents || again.Approved != 0 {
		t.Errorf("second import %+v err %v, want everything unchanged and nothing approved", again, err)
	}
}
