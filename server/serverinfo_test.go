package server

import (
	"strings"
	"testing"
	"time"

	"wsus/catalog/admin"
	"wsus/storage/s3store"
)

func TestValidateContent(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string // "" accepts
	}{
		{"empty", Config{}, ""},
		{"absolute URL", Config{ContentURL: "https://wsus.example.com:8531"}, ""},
		{"relative URL", Config{ContentURL: "not-a-url"}, `server: content URL "not-a-url": want an absolute http:// or https:// URL`},
		{"ftp URL", Config{ContentURL: "ftp://wsus.example.com/"}, `server: content URL "ftp://wsus.example.com/"`},
		{"negative page size", Config{SyncPageSize: -5}, "server: negative SyncPageSize (-5)"},
		{"region without bucket", Config{S3: s3store.Config{Region: "eu-west-1"}}, "server: S3 settings (endpoint, prefix, region or path style) given without a bucket"},
		{"bucket", Config{S3: s3store.Config{Bucket: "wsus", Region: "eu-west-1", PathStyle: true}}, ""},
	} {
		err := c.cfg.validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestServerFacts(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		cfg  Config
		want admin.ServerFacts
	}{
		{Config{}, admin.ServerFacts{CatalogEngine: "embedded", ContentStore: "filesystem", StartedAt: now}},
		{Config{DatabaseURL: "postgres://db/wsus", S3: s3store.Config{Bucket: "wsus"}}, admin.ServerFacts{CatalogEngine: "postgresql", ContentStore: "s3", StartedAt: now}},
	} {
		if got := serverFacts(c.cfg, now); got != c.want {
			t.Errorf("serverFacts(%+v) = %+v, want %+v", c.cfg, got, c.want)
		}
	}
}
