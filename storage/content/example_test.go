package content_test

import (
	"context"
	"log/slog"
	"net/http"

	"wsus/storage"
	"wsus/storage/content"
	"wsus/sync/download"
)

// The wiring of fetch-through: one blob store, served by the handler and
// filled by the Downloader; the catalog lookup says which files exist
// upstream and where.
func ExampleOnDemand() {
	blobs, err := storage.NewFS("data/content")
	if err != nil {
		panic(err)
	}
	dl, err := download.New(blobs, download.Config{}) // defaults: see download.Config
	if err != nil {
		panic(err)
	}
	lookup := func(ctx context.Context, sha1 []byte) (download.File, bool, error) {
		// The catalog's file with that digest: SHA-256, size, and its URLs
		// (MUUrl, the upstream's /Content/ URL), or false when not listed.
		return download.File{}, false, nil
	}
	h := content.NewHandlerWith(blobs, content.Options{
		Logger:   slog.Default(),
		OnDemand: &content.OnDemand{Resolve: lookup, Fetcher: dl},
	})
	http.Handle("/Content/", h)
}
