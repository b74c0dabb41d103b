// Package testserver runs whole wsus servers in tests: the stores opened
// as `wsusd serve` opens them, served on a real loopback listener until the
// test ends. Tests of synchronization use it for the upstream (a generated
// catalog with payloads) and the downstream alike.
package testserver

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"wsus/clientsim/catalogen"
	"wsus/server"
	"wsus/sync/importer"
)

// Open opens the stores of a fresh server under a temporary data
// directory, closed when the test ends; databaseURL, when set, names its
// PostgreSQL catalog.
func Open(t testing.TB, databaseURL string) (server.Config, server.Stores) {
	t.Helper()
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "test-token", DatabaseURL: databaseURL}
	stores, err := server.OpenStores(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stores.Close() })
	return cfg, stores
}

// Serve runs a server over stores on a loopback listener until the test
// ends, and returns its base URL.
func Serve(t testing.TB, cfg server.Config, stores server.Stores) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, stores, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListeners(ctx, server.Listeners{Client: ln}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// Upstream serves a catalog generated with opts (payloads included when
// opts asks), its top-level updates approved for All Computers, on the
// embedded store. It returns the server's URL, its stores and what the
// generator wrote.
func Upstream(t testing.TB, opts catalogen.Options) (string, server.Stores, catalogen.Stats) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	st, err := catalogen.Write(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, stores := Open(t, "")
	if _, err := importer.Import(context.Background(), stores.Catalog, stores.Blobs, []string{dir},
		importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	return Serve(t, cfg, stores), stores, st
}
