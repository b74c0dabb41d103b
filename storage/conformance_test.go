package storage_test

import (
	"testing"

	"wsus/storage"
	"wsus/storage/blobtest"
)

// TestFSConformance runs the BlobStore conformance suite on the filesystem
// store.
func TestFSConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) storage.BlobStore {
		s, err := storage.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
