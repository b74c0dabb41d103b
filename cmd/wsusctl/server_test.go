package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wsus/catalog/admin"
	"wsus/internal/version"
)

// wsusctl server prints GET /api/v1/server as a table, and --json as the
// server answered it.
func TestServerCommand(t *testing.T) {
	s := newServer(t)
	s.srv.Close()
	s.srv = httptest.NewServer(admin.NewWith(s.store, admin.Options{Token: token, Logger: slog.New(slog.DiscardHandler),
		Server: admin.ServerFacts{CatalogEngine: admin.CatalogEmbedded, ContentStore: admin.ContentFilesystem,
			StartedAt: time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)}}))
	t.Cleanup(s.srv.Close)
	id, err := s.store.ServerInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := version.Get()
	commit := b.Commit
	if commit == "" {
		commit = "-"
	}
	if b.Modified {
		commit += " (modified)"
	}
	want := lines(
		"Version:    "+b.Version,
		"Commit:     "+commit,
		"Go:         "+b.GoVersion,
		"Server ID:  "+id.ID.String(),
		"Catalog:    embedded",
		"Content:    filesystem",
		"Started:    2026-12-06T15:00:00Z",
	)
	code, out, errs := s.wsusctl(t, "server")
	if code != 0 || out != want {
		t.Errorf("wsusctl server: exit %d %s\n%s\nwant\n%s", code, errs, out, want)
	}
	code, out, _ = s.wsusctl(t, "server", "--json")
	var got admin.ServerInfo
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.ServerID != id.ID.String() || got.Catalog != "embedded" || got.GoVersion != b.GoVersion {
		t.Errorf("wsusctl server --json: exit %d %q (%v)", code, out, err)
	}
	if strings.TrimSpace(out) != strings.TrimSpace(s.rawGET(t, "/api/v1/server")) {
		t.Errorf("--json is not the server's answer: %s", out)
	}
	if code, _, errs := s.wsusctl(t, "server", "extra"); code != 2 || !strings.Contains(errs, "server takes no arguments") {
		t.Errorf("wsusctl server extra: exit %d %q", code, errs)
	}
}
