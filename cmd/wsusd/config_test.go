package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/catalog/postgres"
	"wsus/internal/pki"
	"wsus/internal/settings"
	"wsus/internal/testpg"
	"wsus/internal/tests3"
	"wsus/server"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wsusd.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each bad setting, from any source, exits 2 with a message naming the
// flag, its twin (the file and key when it came from the file) and what is
// accepted, before anything is created: the data directory does not exist
// afterwards.
func TestSettingErrors(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	shortToken := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(shortToken, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		file string // config file body; FILE in wants is its path
		want string
	}{
		{"content-url not a URL", []string{"serve", "--content-url", "not-a-url"}, nil, "",
			`--content-url (WSUS_CONTENT_URL): invalid value "not-a-url" on the command line: want empty or an absolute http:// or https:// URL without query`},
		{"content-url ftp", nil, map[string]string{"WSUS_CONTENT_URL": "ftp://wsus/"}, "",
			`--content-url (WSUS_CONTENT_URL): invalid value "ftp://wsus/" in WSUS_CONTENT_URL: want empty or an absolute http`},
		{"sync-page-size 0", []string{"serve", "--sync-page-size", "0"}, nil, "",
			`--sync-page-size (WSUS_SYNC_PAGE_SIZE): invalid value "0" on the command line: want an integer from 1 to 10000`},
		{"sync-page-size -5", nil, map[string]string{"WSUS_SYNC_PAGE_SIZE": "-5"}, "",
			`--sync-page-size (WSUS_SYNC_PAGE_SIZE): invalid value "-5" in WSUS_SYNC_PAGE_SIZE: want an integer from 1 to 10000`},
		{"sync-page-size from the file", nil, nil, "sync-page-size = 20000\n",
			`--sync-page-size (WSUS_SYNC_PAGE_SIZE): invalid value "20000" in FILE, key "sync-page-size": want an integer from 1 to 10000`},
		{"one-character admin token", []string{"serve", "--admin-token", "x"}, nil, "",
			`--admin-token (WSUS_ADMIN_TOKEN): invalid value (1 characters, not shown) on the command line: want empty (the token in <data>/admin-token) or at least 16 characters without whitespace`},
		{"admin token with a space", nil, map[string]string{"WSUS_ADMIN_TOKEN": "0123456789 abcdef"}, "",
			`--admin-token (WSUS_ADMIN_TOKEN): invalid value (17 characters, not shown) in WSUS_ADMIN_TOKEN: want empty`},
		{"blank admin token in the file", nil, nil, "admin-token = \" \"\n",
			`--admin-token (WSUS_ADMIN_TOKEN): invalid value (1 characters, not shown) in FILE, key "admin-token": want empty`},
		{"short admin token file", []string{"serve", "--admin-token-file", shortToken}, nil, "",
			`--admin-token-file (WSUS_ADMIN_TOKEN_FILE): ` + shortToken + ` holds a token of 5 characters: want empty (the token in <data>/admin-token) or at least 16 characters`},
		{"listen without port", []string{"serve", "--listen", "localhost"}, nil, "",
			`--listen (WSUS_LISTEN): invalid value "localhost" on the command line: want host:port with a port from 0 to 65535`},
		{"admin-listen bad port", nil, map[string]string{"WSUS_ADMIN_LISTEN": "127.0.0.1:99999"}, "",
			`--admin-listen (WSUS_ADMIN_LISTEN): invalid value "127.0.0.1:99999" in WSUS_ADMIN_LISTEN: want empty or host:port`},
		{"tls-listen bad", nil, nil, "tls-listen = \"8531\"\n",
			`--tls-listen (WSUS_TLS_LISTEN): invalid value "8531"`},
		{"negative snapshot age", []string{"serve", "--snapshot-max-age", "-1s"}, nil, "",
			`--snapshot-max-age (WSUS_SNAPSHOT_MAX_AGE): invalid value "-1s" on the command line: want a duration such as 30s, 5m or 1h30m, not negative`},
		{"zero sync lease", []string{"sync", "--sync-lease", "0s"}, nil, "",
			`--sync-lease (WSUS_SYNC_LEASE): invalid value "0s" on the command line: want a duration such as 30s, 5m or 1h30m, positive`},
		{"bucket name", []string{"serve", "--s3-bucket", "My_Bucket"}, nil, "",
			`--s3-bucket (WSUS_S3_BUCKET): invalid value "My_Bucket" on the command line: want empty or an S3 bucket name: 3 to 63 lower-case letters`},
		{"bucket as IP", []string{"import", "--s3-bucket", "192.168.1.1", "x"}, nil, "",
			`--s3-bucket (WSUS_S3_BUCKET): invalid value "192.168.1.1" on the command line: want empty or an S3 bucket name`},
		{"endpoint not a URL", []string{"content", "gc", "--s3-bucket", "wsus", "--s3-endpoint", "minio:9000"}, nil, "",
			`--s3-endpoint (WSUS_S3_ENDPOINT): invalid value "minio:9000" on the command line: want empty or an absolute http:// or https:// URL`},
		{"region without bucket", []string{"serve", "--s3-region", "eu-west-1"}, nil, "",
			`--s3-region (WSUS_S3_REGION) is given without --s3-bucket (WSUS_S3_BUCKET): the S3 settings need a bucket`},
		{"prefix without bucket in the file", []string{"import", "x"}, nil, "s3-prefix = \"wsus/\"\n",
			`--s3-prefix (WSUS_S3_PREFIX) [FILE, key "s3-prefix"] is given without --s3-bucket (WSUS_S3_BUCKET)`},
		{"path style true without bucket", []string{"serve", "--s3-path-style", "true"}, nil, "",
			`--s3-path-style (WSUS_S3_PATH_STYLE) is given without --s3-bucket (WSUS_S3_BUCKET)`},
		{"presign without bucket", nil, map[string]string{"WSUS_CONTENT_REDIRECT": "presign"}, "",
			`--content-redirect (WSUS_CONTENT_REDIRECT) "presign" needs the S3 content store: give --s3-bucket (WSUS_S3_BUCKET)`},
		{"redirect not a URL", []string{"serve", "--content-redirect", "elsewhere"}, nil, "",
			`--content-redirect (WSUS_CONTENT_REDIRECT): invalid value "elsewhere" on the command line: want empty, "presign" or an absolute http(s) URL without query`},
		{"log level", nil, map[string]string{"WSUS_LOG_LEVEL": "loud"}, "",
			`--log-level (WSUS_LOG_LEVEL): invalid value "loud" in WSUS_LOG_LEVEL: want one of debug, info, warn, error`},
		{"log format", nil, nil, "log-format = \"xml\"\n",
			`--log-format (WSUS_LOG_FORMAT): invalid value "xml" in FILE, key "log-format": want one of text, json`},
		{"access log", []string{"serve", "--access-log", "some"}, nil, "",
			`--access-log (WSUS_ACCESS_LOG): invalid value "some" on the command line: want one of on, all, off`},
		{"previous cookie key", []string{"serve", "--cookie-key-previous", strings.Repeat("ab", 32) + ",abc"}, nil, "",
			`--cookie-key-previous (WSUS_COOKIE_KEY_PREVIOUS): invalid value (68 characters, not shown) on the command line: want empty or comma-separated keys of 64 hex digits`},
		{"previous keys and their file", []string{"serve", "--cookie-key-previous", strings.Repeat("ab", 32)}, map[string]string{"WSUS_COOKIE_KEY_PREVIOUS_FILE": keyFile}, "",
			`--cookie-key-previous (WSUS_COOKIE_KEY_PREVIOUS) and --cookie-key-previous-file (WSUS_COOKIE_KEY_PREVIOUS_FILE) are both given; give one`},
		{"cookie key", nil, map[string]string{"WSUS_COOKIE_KEY": "abcd"}, "",
			`--cookie-key (WSUS_COOKIE_KEY): invalid value (4 characters, not shown) in WSUS_COOKIE_KEY: want empty or 64 hex digits`},
		{"sync schedule", []string{"serve", "--sync-schedule", "often"}, nil, "",
			`--sync-schedule (WSUS_SYNC_SCHEDULE): invalid value "often" on the command line: want empty (the saved schedule), "off", "N"`},
		{"sync content", []string{"sync", "--content", "sometimes"}, nil, "",
			`--content (WSUS_SYNC_CONTENT): invalid value "sometimes" on the command line: want one of "" (empty), approved, on-demand, never`},
		{"verify parallel", nil, map[string]string{"WSUS_CONTENT_VERIFY_PARALLEL": "0"}, "",
			`--parallel (WSUS_CONTENT_VERIFY_PARALLEL): invalid value "0" in WSUS_CONTENT_VERIFY_PARALLEL: want an integer from 1 to 256`},
		{"database URL", []string{"import", "--database", "postgres://wsus@db:port/wsus", "x"}, nil, "",
			`--database (WSUS_DATABASE_URL): invalid value "postgres://wsus@db:port/wsus" on the command line: want empty or a PostgreSQL URL`},
		{"S3 prefix", nil, map[string]string{"WSUS_S3_BUCKET": "wsus", "WSUS_S3_PREFIX": "a/../b"}, "",
			`--s3-prefix (WSUS_S3_PREFIX): invalid value "a/../b" in WSUS_S3_PREFIX: want a prefix without "..", backslash or NUL`},
		{"missing TLS certificate", []string{"serve", "--tls-cert", "/does/not/exist.pem", "--tls-key", "/does/not/exist.key"}, nil, "",
			`--tls-cert (WSUS_TLS_CERT), --tls-key (WSUS_TLS_KEY): /does/not/exist.pem, /does/not/exist.key: open /does/not/exist.pem: no such file or directory`},
		{"bad cookie key file", []string{"serve", "--cookie-key-file", shortToken}, nil, "",
			`--cookie-key-file (WSUS_COOKIE_KEY_FILE): ` + shortToken + `: cookie: key must be 64 hex digits`},
		{"bad upstream CA file", nil, map[string]string{"WSUS_UPSTREAM_CA_FILE": shortToken}, "",
			`--upstream-ca-file (WSUS_UPSTREAM_CA_FILE): ` + shortToken + ` holds no PEM certificate`},
		{"unknown key", nil, nil, "listen = \"0.0.0.0:8530\"\nlisten-port = 8530\n",
			`config file FILE: unknown key "listen-port": no wsusd command has a --listen-port setting`},
		{"mistyped key", nil, nil, "sync-page-size = \"200\"\n",
			`config file FILE: key "sync-page-size" (--sync-page-size, WSUS_SYNC_PAGE_SIZE): a string value (200) where an integer belongs; want an integer from 1 to 10000`},
		{"mistyped duration", nil, nil, "rules-interval = 300\n",
			`config file FILE: key "rules-interval" (--rules-interval, WSUS_RULES_INTERVAL): an integer value (300) where a duration string ("5m") belongs`},
		{"mistyped boolean", nil, nil, "s3-path-style = \"yes\"\n",
			`config file FILE: key "s3-path-style" (--s3-path-style, WSUS_S3_PATH_STYLE): a string value (yes) where a boolean belongs; want true or false`},
		{"missing config file", []string{"serve", "--config", "/does/not/exist.toml"}, nil, "",
			`--config (WSUS_CONFIG): read config file: open /does/not/exist.toml`},
	}
	commandOf := map[string][]string{
		"verify parallel": {"content", "verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			t.Setenv("WSUS_DATA", data)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			args := c.args
			if args == nil {
				args = commandOf[c.name]
			}
			if args == nil {
				args = []string{"serve"}
			}
			want := c.want
			if c.file != "" {
				path := writeConfig(t, c.file)
				t.Setenv("WSUS_CONFIG", path)
				want = strings.ReplaceAll(want, "FILE", path)
			}
			code, out, errs := runWsusd(t, args...)
			if code != 2 || !strings.Contains(errs, want) {
				t.Errorf("exit %d, stdout %q, stderr %q;\nwant exit 2 and %q", code, out, errs, want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("the data directory was created (%v)", err)
			}
		})
	}
}

// parseServe parses serve's settings as `wsusd serve args` would.
func parseServe(t *testing.T, args ...string) (*settings.Set, common) {
	t.Helper()
	var c common
	s := serveSettings("wsusd serve", &c)
	if _, err := parseSettings(s, args, io.Discard, "usage"); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// Flag > environment > config file > default, for settings of every type.
func TestSettingPrecedence(t *testing.T) {
	file := writeConfig(t, `listen = "0.0.0.0:8530"
s3-path-style = true
s3-bucket = "from-file"
sync-page-size = 150
rules-interval = "7m"
content-url = "http://file.example:8530"
# read by sync, ignored by serve
upstream = "https://sws.update.microsoft.com"
product = ["Windows 11", "Windows Server 2025"]
`)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want server.Config
	}{
		{"defaults", nil, nil, server.Config{Listen: server.DefaultListen, SyncPageSize: 200, RulesInterval: server.DefaultRulesInterval}},
		{"file", map[string]string{"WSUS_CONFIG": file}, nil,
			server.Config{Listen: "0.0.0.0:8530", SyncPageSize: 150, RulesInterval: 7 * time.Minute, ContentURL: "http://file.example:8530"}},
		{"environment over file", map[string]string{"WSUS_CONFIG": file, "WSUS_LISTEN": "127.0.0.1:9000", "WSUS_SYNC_PAGE_SIZE": "30", "WSUS_S3_PATH_STYLE": "false"}, nil,
			server.Config{Listen: "127.0.0.1:9000", SyncPageSize: 30, RulesInterval: 7 * time.Minute, ContentURL: "http://file.example:8530"}},
		{"flag over environment", map[string]string{"WSUS_CONFIG": file, "WSUS_LISTEN": "127.0.0.1:9000", "WSUS_RULES_INTERVAL": "1m"},
			[]string{"--listen", "127.0.0.1:9001", "--rules-interval", "0s", "--content-url", "https://flag.example"},
			server.Config{Listen: "127.0.0.1:9001", SyncPageSize: 150, RulesInterval: 0, ContentURL: "https://flag.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, got := parseServe(t, c.args...)
			g := got.cfg
			if g.Listen != c.want.Listen || g.SyncPageSize != c.want.SyncPageSize || g.RulesInterval != c.want.RulesInterval || g.ContentURL != c.want.ContentURL {
				t.Errorf("listen %q page %d rules %v content %q; want %q %d %v %q", g.Listen, g.SyncPageSize, g.RulesInterval, g.ContentURL,
					c.want.Listen, c.want.SyncPageSize, c.want.RulesInterval, c.want.ContentURL)
			}
		})
	}
	// Empty values are no values: a variable set empty to clear it
	// conflicts with nothing.
	t.Setenv("WSUS_CONFIG", "")
	t.Setenv("WSUS_ADMIN_TOKEN", "")
	t.Setenv("WSUS_S3_REGION", "")
	tokenFile := writeConfig(t, "0123456789abcdef\n")
	ss, sc := parseServe(t, "--admin-token-file", tokenFile)
	if err := checkServe(ss, &sc); err != nil {
		t.Errorf("empty WSUS_ADMIN_TOKEN and WSUS_S3_REGION with --admin-token-file: %v", err)
	}
	// sync reads the keys serve ignored.
	t.Setenv("WSUS_CONFIG", file)
	var c common
	var o syncOptions
	s := syncSettings(&c, &o)
	if _, err := parseSettings(s, nil, io.Discard, "usage"); err != nil {
		t.Fatal(err)
	}
	if o.upstreamURL != "https://sws.update.microsoft.com" || strings.Join(o.products, ";") != "Windows 11;Windows Server 2025" || !o.productsSet || c.cfg.S3.Bucket != "from-file" || !c.cfg.S3.PathStyle {
		t.Errorf("sync from the file: upstream %q products %q (%t) bucket %q path style %t", o.upstreamURL, o.products, o.productsSet, c.cfg.S3.Bucket, c.cfg.S3.PathStyle)
	}
}

// The config file's data directory is the one import writes to, unless
// WSUS_DATA or --data says otherwise.
func TestConfigFileDataDir(t *testing.T) {
	fromFile, fromEnv := t.TempDir(), t.TempDir()
	t.Setenv("WSUS_CONFIG", writeConfig(t, "data = \""+fromFile+"\"\nlog-level = \"warn\"\n"))
	if code, _, errs := runWsusd(t, "import", "../../testdata/catalog/microsoft"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	t.Setenv("WSUS_DATA", fromEnv)
	if code, _, errs := runWsusd(t, "import", "../../testdata/catalog/microsoft"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, dir := range []string{fromFile, fromEnv} {
		if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
			t.Errorf("no catalog in %s: %v", dir, err)
		}
	}
}

// Every boolean setting of every command takes "--flag true" and
// "--flag false" as well as --flag and --flag=false.
func TestBooleanForms(t *testing.T) {
	n := 0
	for _, set := range allSettings() {
		for _, st := range set.Settings() {
			if st.Want != "true or false" {
				continue
			}
			n++
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"--" + st.Name, "true"}, "true"},
				{[]string{"--" + st.Name, "false"}, "false"},
				{[]string{"--" + st.Name}, "true"},
				{[]string{"--" + st.Name + "=false"}, "false"},
			} {
				fresh := freshSet(set.Command)
				rest, err := parseSettings(fresh, c.args, io.Discard, "usage")
				if got := fresh.Lookup(st.Name).Value(); err != nil || len(rest) != 0 || got != c.want {
					t.Errorf("%s %q: value %s, rest %q, err %v; want %s", set.Command, c.args, got, rest, err, c.want)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d boolean settings found", n)
	}
}

// "--dry-run true" and "--dry-run false" reach the command (run level):
// gc says what it would delete, or deleted.
func TestBooleanValueReachesTheCommand(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"content", "gc", "--dry-run", "true", "--min-age", "0s"}, "would delete 0 (0 bytes)"},
		{[]string{"content", "gc", "--dry-run", "false", "--min-age", "0s"}, "deleted 0 (0 bytes)"},
		{[]string{"content", "gc", "--dry-run", "--min-age", "0s"}, "would delete 0 (0 bytes)"},
	} {
		code, out, errs := runWsusd(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) || (c.want == "deleted 0 (0 bytes)" && strings.Contains(out, "would")) {
			t.Errorf("%q: exit %d, %q %q; want %q", c.args, code, out, errs, c.want)
		}
	}
}

// freshSet returns a new declaration of command's settings.
func freshSet(command string) *settings.Set {
	for _, s := range allSettings() {
		if s.Command == command {
			return s
		}
	}
	panic(command)
}

func TestVersionCommand(t *testing.T) {
	code, out, errs := runWsusd(t, "version")
	re := regexp.MustCompile(`^wsusd dev \(commit [^,]+, ` + regexp.QuoteMeta(runtime.Version()) + `\)\n$`)
	if code != 0 || !re.MatchString(out) {
		t.Errorf("version: exit %d, %q %q; want a line matching %s", code, out, errs, re)
	}
	code, out, errs = runWsusd(t, "version", "--json")
	var info struct {
		Version   string `json:"version"`
		Commit    *string
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal([]byte(out), &info); code != 0 || err != nil || info.Version != "dev" || info.GoVersion != runtime.Version() || info.Commit == nil {
		t.Errorf("version --json: exit %d, %q %q (%v); want version dev, go_version %s and a commit", code, out, errs, err, runtime.Version())
	}
	if code, _, errs := runWsusd(t, "version", "extra"); code != 2 || !strings.Contains(errs, "version takes no arguments") {
		t.Errorf("version extra: exit %d %q", code, errs)
	}
}

// wsusd check reaches the stores without changing them: one line per
// check, exit 0 when all pass and 1 otherwise.
func TestCheckCommand(t *testing.T) {
	srv := tests3.Start(t)
	pg := testpg.URL(t)
	type step struct {
		name  string
		env   map[string]string
		args  []string
		code  int
		lines []string // regexps each matching one line of stdout
		// before, when set, prepares the stores.
		before func(t *testing.T)
	}
	fresh := t.TempDir()
	s3Data := t.TempDir()
	certFile, keyFile := expiredPair(t)
	tlsPair, err := pki.Init(filepath.Join(t.TempDir(), "tls"), []string{"wsus.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	awsEnv := map[string]string{
		"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey,
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"),
	}
	s3Args := []string{"--s3-endpoint", srv.Endpoint, "--s3-region", srv.Region, "--s3-path-style", "true", "--s3-prefix", "content"}
	steps := []step{
		{name: "embedded, not created yet", env: map[string]string{"WSUS_DATA": filepath.Join(fresh, "data")}, code: 0, lines: []string{
			`^ok   configuration: valid, 1 settings given$`,
			`^ok   data dir: \S+/data does not exist yet \(serve creates it; \S+ is writable\)$`,
			`^ok   catalog store: embedded \S+/catalog.db, not created yet \(serve creates it at schema 0106\)$`,
			`^ok   content store: filesystem \S+/content, not created yet \(serve creates it\)$`,
			`^ok   tls: no HTTPS listener configured$`,
			`^ok   cookie key: \S+/cookie.key not created yet`,
			`^ok   admin token: \S+/admin-token not created yet \(serve creates it\)$`,
			`^ok   upstream: not read: the catalog is not reachable or not at the current schema$`,
			`^ok   upstream CA file: none \(the system roots\)$`,
		}},
		{name: "postgresql, empty", env: map[string]string{"WSUS_DATA": fresh, "WSUS_DATABASE_URL": pg}, code: 0, lines: []string{
			`^ok   catalog store: postgresql, empty \(serve creates schema 0106\)$`,
		}},
		{name: "import migrates it", env: map[string]string{"WSUS_DATA": fresh, "WSUS_DATABASE_URL": pg}, args: []string{"import", "../../testdata/catalog/microsoft"}, code: 0},
		{name: "postgresql, current", env: map[string]string{"WSUS_DATA": fresh, "WSUS_DATABASE_URL": pg}, code: 0, lines: []string{
			`^ok   catalog store: postgresql, schema 0106 \(current\)$`,
			`^ok   data dir: \S+ writable$`,
			`^ok   upstream: none saved \(wsusctl sync settings --upstream URL\)$`,
		}},
		{name: "an upstream saved", env: map[string]string{"WSUS_DATA": fresh, "WSUS_DATABASE_URL": pg}, code: 0, before: func(t *testing.T) {
			store, err := postgres.Open(context.Background(), pg)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if err := store.SetSyncSettings(context.Background(), catalog.SyncSettings{UpstreamURL: "https://sws.update.microsoft.com"}); err != nil {
				t.Fatal(err)
			}
		}, lines: []string{
			`^ok   upstream: https://sws.update.microsoft.com \(saved in the catalog; not contacted\)$`,
		}},
		{name: "unreachable PostgreSQL", env: map[string]string{"WSUS_DATA": fresh, "WSUS_DATABASE_URL": "postgres://wsus@127.0.0.1:1/wsus?connect_timeout=2"}, code: 1, lines: []string{
			`^FAIL catalog store: postgresql: postgres: inspect 127.0.0.1:1/wsus: .*(refused|connect).*$`,

			`^ok   data dir: `,
		}},
		{name: "missing bucket", env: merge(awsEnv, map[string]string{"WSUS_DATA": s3Data}), args: append([]string{"check", "--s3-bucket", "wsusd-check-missing"}, s3Args...), code: 1, lines: []string{
			`^FAIL content store: s3 s3://wsusd-check-missing/content at http://\S+: storage: s3: bucket wsusd-check-missing does not exist \(serve would try to create it\)`,
		}},
		{name: "import creates the bucket", env: merge(awsEnv, map[string]string{"WSUS_DATA": s3Data}), args: append(append([]string{"import", "--s3-bucket", "wsusd-check"}, s3Args...), "../../testdata/catalog/local"), code: 0},
		{name: "bucket reachable", env: merge(awsEnv, map[string]string{"WSUS_DATA": s3Data}), args: append([]string{"check", "--s3-bucket", "wsusd-check"}, s3Args...), code: 0, lines: []string{
			`^ok   content store: s3 s3://wsusd-check/content at http://\S+ reachable$`,
			`^ok   catalog store: embedded \S+/catalog.db, schema 0106 \(current\)$`,
			`^ok   configuration: valid, 6 settings given$`,
		}},
		{name: "S3 unreachable", env: merge(awsEnv, map[string]string{"WSUS_DATA": s3Data}), args: []string{"check", "--s3-bucket", "wsusd-check", "--s3-endpoint", "http://127.0.0.1:1", "--s3-path-style"}, code: 1, lines: []string{
			`^FAIL content store: s3 s3://wsusd-check/ at http://127.0.0.1:1: .*refused`,
		}},
		{name: "valid certificate and previous keys", env: map[string]string{"WSUS_DATA": s3Data}, args: []string{"check", "--tls-listen", "127.0.0.1:0",
			"--tls-cert", tlsPair.ServerCert, "--tls-key", tlsPair.ServerKey, "--cookie-key", strings.Repeat("ab", 32),
			"--cookie-key-previous", strings.Repeat("cd", 32) + "," + strings.Repeat("ef", 32)}, code: 0, lines: []string{
			`^ok   tls: \S+ \(wsus.example\) valid until \d{4}-\d\d-\d\d$`,
			`^ok   cookie key: given, 2 previous keys$`,
		}},
		{name: "expired certificate and bad key file", env: map[string]string{"WSUS_DATA": s3Data}, args: []string{"check", "--tls-cert", certFile, "--tls-key", keyFile, "--cookie-key-file", "config_test.go"}, code: 1, lines: []string{
			`^FAIL tls: \S+/expired.pem: valid from 2020-01-01 to 2021-01-01, not now$`,
			`^FAIL cookie key: config_test.go: cookie: key must be 64 hex digits$`,
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for k, v := range s.env {
				t.Setenv(k, v)
			}
			if s.before != nil {
				s.before(t)
			}
			args := s.args
			if args == nil {
				args = []string{"check"}
			}
			code, out, errs := runWsusd(t, args...)
			if code != s.code {
				t.Errorf("exit %d, want %d\n%s%s", code, s.code, out, errs)
			}
			if args[0] == "check" {
				for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					if !strings.HasPrefix(l, "ok   ") && !strings.HasPrefix(l, "FAIL ") {
						t.Errorf("line %q is not a check's line (ok or FAIL)", l)
					}
				}
			}
			for _, l := range s.lines {
				if !regexp.MustCompile(`(?m)` + l).MatchString(out) {
					t.Errorf("no line matches %s:\n%s", l, out)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(fresh, "data")); !os.IsNotExist(err) {
		t.Errorf("check created the data directory (%v)", err)
	}
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// expiredPair writes a self-signed certificate that expired in 2021 and
// its key.
func expiredPair(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wsus.example"},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "expired.pem"), filepath.Join(dir, "expired.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// -h lists every setting of the command with its twin, default and
// accepted values, and exits 0.
func TestHelpListsSettings(t *testing.T) {
	code, out, errs := runWsusd(t, "serve", "-h")
	for _, want := range []string{
		"usage: wsusd serve [flags]\n",
		"  --config  [WSUS_CONFIG]\n      TOML file of settings",
		"  --sync-page-size  [WSUS_SYNC_PAGE_SIZE]\n      most updates",
		"(default \"200\")\n      accepts an integer from 1 to 10000\n",
		"  --access-log  [WSUS_ACCESS_LOG]\n",
		"(default \"on\")\n      accepts one of on, all, off\n",
		"  --s3-path-style  [WSUS_S3_PATH_STYLE]\n      address the bucket as <endpoint>/<bucket> (most S3-compatible servers need it) (default \"false\")\n",
	} {
		if code != 0 || !strings.Contains(out+errs, want) {
			t.Errorf("serve -h (exit %d) lacks %q:\n%s%s", code, want, out, errs)
		}
	}
}

// BenchmarkParseServe parses serve's settings from flags, the environment
// and the config file example holding every key.
func BenchmarkParseServe(b *testing.B) {
	raw, err := os.ReadFile("../../deploy/wsusd.toml")
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "wsusd.toml")
	active := regexp.MustCompile(`(?m)^# ([a-z0-9-]+ = .*)$`).ReplaceAll(raw, []byte("$1"))
	if err := os.WriteFile(file, active, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("WSUS_LISTEN", "127.0.0.1:8530")
	for b.Loop() {
		var c common
		s := serveSettings("wsusd serve", &c)
		if _, err := parseSettings(s, []string{"--config", file, "--sync-page-size", "100", "--s3-path-style", "false"}, io.Discard, "usage"); err != nil {
			b.Fatal(err)
		}
	}
}
