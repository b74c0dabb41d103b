package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/catalog/sqlstore"
	"wsus/internal/settings"
	"wsus/soap/cookie"
	"wsus/storage/s3store"
	"wsus/sync/upstream"
)

// errChecksFailed is the error of `wsusd check` when a check failed: its
// lines said which; exit status 1.
var errChecksFailed = errors.New("check failed")

// checkTimeout bounds each check that reaches a store.
const checkTimeout = 15 * time.Second

// checkResult is one line of `wsusd check`.
type checkResult struct {
	name   string // "catalog store"
	detail string // what was found
	err    error  // nil: ok
}

// checkCmd runs `wsusd check`: the configuration serve would run with is
// parsed and validated as serve does (a bad setting exits 2, as there),
// then each store and file it names is reached without serving and
// without changing anything: the catalog is not migrated, no bucket or
// data directory is created. One line per check; exit 1 when one failed.
func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	s := serveSettings("wsusd check", &c)
	rest, err := parseSettings(s, args, stderr, "usage: wsusd check [serve's flags]\n\nChecks the configuration serve would run with and reaches its stores without serving or changing them.")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return flagError(fmt.Sprintf("check takes no arguments, got %q", rest))
	}
	if err := checkServe(s, &c); err != nil {
		return err
	}
	results := []checkResult{configResult(s, c)}
	var upstreamURL *string // the catalog's, once checkCatalog read it
	for _, chk := range []func(context.Context, common) checkResult{
		checkDataDir,
		func(ctx context.Context, c common) checkResult {
			r, schema := checkCatalog(ctx, c)
			if r.err == nil && schema.Found == schema.Want {
				upstreamURL = &schema.UpstreamURL
			}
			return r
		},
		checkContent, checkTLS, checkCookieKeys, checkAdminToken,
		func(context.Context, common) checkResult { return checkUpstream(upstreamURL) },
		checkUpstreamCA,
	} {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		results = append(results, chk(cctx, c))
		cancel()
	}
	failed := false
	for _, r := range results {
		if r.err != nil {
			failed = true
			// One line per check: drivers' multi-line errors joined.
			msg := strings.Join(strings.Fields(strings.ReplaceAll(r.err.Error(), "\n", " ")), " ")
			fmt.Fprintf(stdout, "FAIL %s: %s\n", r.name, msg)
		} else {
			fmt.Fprintf(stdout, "ok   %s: %s\n", r.name, r.detail)
		}
	}
	if failed {
		return errChecksFailed
	}
	return nil
}

// configResult says where the configuration came from.
func configResult(s *settings.Set, c common) checkResult {
	given := 0
	for _, st := range s.Settings() {
		if st.Given() {
			given++
		}
	}
	detail := fmt.Sprintf("valid, %d settings given", given)
	if c.configFile != "" {
		detail += ", config file " + c.configFile
	}
	return checkResult{name: "configuration", detail: detail}
}

// checkDataDir: the data directory is writable (a file is created and
// removed in it), or, when missing, the directory serve would create it in.
func checkDataDir(_ context.Context, c common) checkResult {
	r := checkResult{name: "data dir"}
	dir := c.cfg.DataDir
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(filepath.Clean(dir))
		for {
			if _, err := os.Stat(parent); err == nil || parent == filepath.Dir(parent) {
				break
			}
			parent = filepath.Dir(parent)
		}
		if err := probeWrite(parent); err != nil {
			r.err = fmt.Errorf("%s does not exist and cannot be created: %w", dir, err)
			return r
		}
		r.detail = dir + " does not exist yet (serve creates it; " + parent + " is writable)"
		return r
	case err != nil:
		r.err = err
		return r
	case !st.IsDir():
		r.err = fmt.Errorf("%s is not a directory", dir)
		return r
	}
	if err := probeWrite(dir); err != nil {
		r.err = err
		return r
	}
	r.detail = dir + " writable"
	return r
}

// probeWrite creates and removes a file in dir.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".wsusd-check-*")
	if err != nil {
		return fmt.Errorf("not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// checkCatalog reads the catalog's schema version (and with it current,
// the saved upstream) without migrating it.
func checkCatalog(ctx context.Context, c common) (checkResult, sqlstore.Schema) {
	r := checkResult{name: "catalog store"}
	var schema sqlstore.Schema
	var err error
	if c.cfg.DatabaseURL != "" {
		r.detail = "postgresql"
		schema, err = postgres.Inspect(ctx, c.cfg.DatabaseURL)
	} else {
		path := filepath.Join(c.cfg.DataDir, "catalog.db")
		r.detail = "embedded " + path
		schema, err = sqlite.Inspect(ctx, path)
		if errors.Is(err, fs.ErrNotExist) {
			r.detail += fmt.Sprintf(", not created yet (serve creates it at schema %04d)", schema.Want)
			return r, schema
		}
	}
	if err != nil {
		r.err = fmt.Errorf("%s: %w", r.detail, err)
		return r, schema
	}
	switch {
	case schema.Found == schema.Want:
		r.detail += fmt.Sprintf(", schema %04d (current)", schema.Found)
	case schema.Found == 0:
		r.detail += fmt.Sprintf(", empty (serve creates schema %04d)", schema.Want)
	case schema.Found < schema.Want:
		r.detail += fmt.Sprintf(", schema %04d (older: serve migrates it to %04d)", schema.Found, schema.Want)
	default:
		r.err = fmt.Errorf("%s: schema %04d is newer than this binary's %04d: run a newer wsusd", r.detail, schema.Found, schema.Want)
	}
	return r, schema
}

// checkContent reaches the content store: the S3 bucket (one HeadBucket,
// nothing created) or the filesystem folder.
func checkContent(ctx context.Context, c common) checkResult {
	r := checkResult{name: "content store"}
	if s3 := c.cfg.S3; s3.Bucket != "" {
		where := "s3://" + s3.Bucket + "/" + s3.Prefix
		if s3.Endpoint != "" {
			where += " at " + s3.Endpoint
		}
		if err := s3store.Check(ctx, s3); err != nil {
			r.err = fmt.Errorf("s3 %s: %w", where, err)
			return r
		}
		r.detail = "s3 " + where + " reachable"
		return r
	}
	dir := filepath.Join(c.cfg.DataDir, "content")
	switch _, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		r.detail = "filesystem " + dir + ", not created yet (serve creates it)"
	case err != nil:
		r.err = fmt.Errorf("filesystem %s: %w", dir, err)
	default:
		if err := probeWrite(dir); err != nil {
			r.err = fmt.Errorf("filesystem %s: %w", dir, err)
			return r
		}
		r.detail = "filesystem " + dir + " writable"
	}
	return r
}

// checkTLS loads the HTTPS certificate and key and checks the validity
// period of the certificate.
func checkTLS(_ context.Context, c common) checkResult {
	r := checkResult{name: "tls"}
	if c.cfg.TLSCert == "" {
		r.detail = "no HTTPS listener configured"
		return r
	}
	leaf, err := loadTLS(c.cfg.TLSCert, c.cfg.TLSKey)
	if err != nil {
		r.err = err
		return r
	}
	now := time.Now()
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		r.err = fmt.Errorf("%s: valid from %s to %s, not now", c.cfg.TLSCert, leaf.NotBefore.UTC().Format(time.DateOnly), leaf.NotAfter.UTC().Format(time.DateOnly))
		return r
	}
	r.detail = fmt.Sprintf("%s (%s) valid until %s", c.cfg.TLSCert, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
	return r
}

// loadTLS loads a certificate and its key and parses the leaf.
func loadTLS(certFile, keyFile string) (*x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return leaf, nil
}

// checkCookieKeys parses the cookie key and the previous keys wherever
// they come from; the data directory's key may not exist yet.
func checkCookieKeys(_ context.Context, c common) checkResult {
	r := checkResult{name: "cookie key"}
	cfg := c.cfg
	switch {
	case cfg.CookieKey != "":
		r.detail = "given"
	case cfg.CookieKeyFile != "":
		if err := parseKeyFile(cfg.CookieKeyFile); err != nil {
			r.err = err
			return r
		}
		r.detail = cfg.CookieKeyFile
	default:
		path := filepath.Join(cfg.DataDir, "cookie.key")
		switch err := parseKeyFile(path); {
		case errors.Is(err, fs.ErrNotExist):
			r.detail = path + " not created yet (serve creates it; replicas must share one key: give --cookie-key or --cookie-key-file)"
		case err != nil:
			r.err = err
			return r
		default:
			r.detail = path
		}
	}
	previous := 0
	switch {
	case cfg.CookieKeyPrevious != "":
		keys, _ := parseKeyList(cfg.CookieKeyPrevious, ",") // checked by the settings
		previous = len(keys)
	case cfg.CookieKeyPreviousFile != "":
		n, err := previousKeyFile(cfg.CookieKeyPreviousFile)
		if err != nil {
			r.err = err
			return r
		}
		previous = n
	}
	if previous > 0 {
		r.detail += fmt.Sprintf(", %d previous keys", previous)
	}
	return r
}

// previousKeyFile reads and parses a file of previous cookie keys, one a
// line, and returns how many it holds.
func previousKeyFile(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("previous keys: %w", err)
	}
	keys, err := parseKeyList(string(raw), "\n")
	if err != nil {
		return 0, fmt.Errorf("previous keys in %s: %w", path, err)
	}
	return len(keys), nil
}

// parseKeyFile reads and parses one cookie key file.
func parseKeyFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := cookie.ParseKey(string(raw)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkAdminToken says where the admin token comes from; checkServe has
// read and checked a token file already.
func checkAdminToken(_ context.Context, c common) checkResult {
	r := checkResult{name: "admin token"}
	switch {
	case c.cfg.AdminToken != "":
		r.detail = fmt.Sprintf("given (%d characters)", len(c.cfg.AdminToken))
	case c.cfg.AdminTokenFile != "":
		r.detail = c.cfg.AdminTokenFile + " readable"
	default:
		path := filepath.Join(c.cfg.DataDir, "admin-token")
		raw, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.detail = path + " not created yet (serve creates it)"
		case err != nil:
			r.err = err
		case strings.TrimSpace(string(raw)) == "":
			r.err = fmt.Errorf("%s is empty", path)
		default:
			r.detail = path + " readable"
		}
	}
	return r
}

// checkUpstream checks the upstream URL saved in the catalog (serve's
// synchronizations use it; wsusctl sync settings sets it): nil when the
// catalog could not be read at the current schema.
func checkUpstream(saved *string) checkResult {
	r := checkResult{name: "upstream"}
	switch {
	case saved == nil:
		r.detail = "not read: the catalog is not reachable or not at the current schema"
	case *saved == "":
		r.detail = "none saved (wsusctl sync settings --upstream URL)"
	default:
		if _, err := upstream.New(upstream.Config{URL: *saved, AccountName: "check"}); err != nil {
			r.err = fmt.Errorf("saved %q: %w", *saved, err)
			return r
		}
		r.detail = *saved + " (saved in the catalog; not contacted)"
	}
	return r
}

// checkUpstreamCA parses the upstream CA file.
func checkUpstreamCA(_ context.Context, c common) checkResult {
	r := checkResult{name: "upstream CA file"}
	path := c.cfg.UpstreamCAFile
	if path == "" {
		r.detail = "none (the system roots)"
		return r
	}
	n, err := loadCA(path)
	if err != nil {
		r.err = err
		return r
	}
	r.detail = fmt.Sprintf("%s: %d certificates", path, n)
	return r
}

// loadCA parses a PEM file of certificates and returns how many it holds.
func loadCA(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		var b *pem.Block
		b, raw = pem.Decode(raw)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return n, nil
}
