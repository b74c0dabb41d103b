package deploy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// root is the module's root, where the Dockerfile and the Makefile are.
const root = ".."

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// shellWords splits a command line into words: white space separates,
// double quotes group (no escapes, no single quotes: the build commands
// here need none).
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// buildCommand is a go build command line taken apart.
type buildCommand struct {
	env      []string // NAME=value before the command
	flags    []string // between "go build" and -o
	out      string   // -o
	packages []string // after -o's value, sorted
}

// parseBuild takes apart a go build command line whose -o comes after the
// other flags and before the packages.
func parseBuild(t *testing.T, line string) buildCommand {
	t.Helper()
	w := shellWords(t, line)
	var c buildCommand
	for len(w) > 0 && strings.Contains(w[0], "=") {
		c.env, w = append(c.env, w[0]), w[1:]
	}
	if len(w) < 2 || w[0] != "go" || w[1] != "build" {
		t.Fatalf("not a go build command: %q", line)
	}
	w = w[2:]
	i := slices.Index(w, "-o")
	if i < 0 || i+1 >= len(w) {
		t.Fatalf("no -o in %q", line)
	}
	c.flags, c.out, c.packages = w[:i], w[i+1], slices.Sorted(slices.Values(w[i+2:]))
	return c
}

// dockerfileBuild returns the go build command of the Dockerfile's build
// stage.
func dockerfileBuild(t *testing.T) buildCommand {
	t.Helper()
	for _, line := range strings.Split(readFile(t, "Dockerfile"), "\n") {
		if cmd, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(cmd, "go build") {
			return parseBuild(t, cmd)
		}
	}
	t.Fatal("the Dockerfile runs no go build")
	return buildCommand{}
}

// makefileBuild returns the Makefile's build recipe with its variables
// expanded, GO as go and the Makefile's $(X) written as the Dockerfile's $X.
func makefileBuild(t *testing.T) buildCommand {
	t.Helper()
	text := readFile(t, "Makefile")
	vars := map[string]string{}
	varRE := regexp.MustCompile(`^([A-Z_]+)\s*\??=\s*(.*)$`)
	var recipe string
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if m := varRE.FindStringSubmatch(line); m != nil {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
		if line == "build:" && i+1 < len(lines) {
			recipe = strings.TrimSpace(lines[i+1])
		}
	}
	if recipe == "" {
		t.Fatal("the Makefile has no build recipe")
	}
	vars["GO"] = "go"
	expand := regexp.MustCompile(`\$\(([A-Z_]+)\)`)
	for range 3 { // variables naming variables
		recipe = expand.ReplaceAllStringFunc(recipe, func(ref string) string {
			name := ref[2 : len(ref)-1]
			switch name {
			case "VERSION", "COMMIT": // build arguments in the Dockerfile
				return "$" + name
			}
			if v, ok := vars[name]; ok {
				return v
			}
			t.Fatalf("the Makefile's build uses %s, which it does not set", ref)
			return ""
		})
	}
	return parseBuild(t, recipe)
}

// commands lists ./cmd/NAME for every command of the module, as ./cmd/...
// builds them.
func commands(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, "./cmd/"+e.Name())
		}
	}
	return out
}

// TestBuildCommandsAgree: the image and `make build` build the same
// commands with the same environment and flags, the build identity of
// internal/version included.
func TestBuildCommandsAgree(t *testing.T) {
	d, m := dockerfileBuild(t), makefileBuild(t)
	if !slices.Equal(d.env, []string{"CGO_ENABLED=0"}) || !slices.Equal(m.env, d.env) {
		t.Errorf("environment: Dockerfile %q, Makefile %q; want CGO_ENABLED=0 in both", d.env, m.env)
	}
	if !slices.Equal(d.flags, m.flags) {
		t.Errorf("flags differ:\n Dockerfile %q\n Makefile   %q", d.flags, m.flags)
	}
	for _, want := range []string{"-trimpath", "-X wsus/internal/version.version=$VERSION", "-X wsus/internal/version.commit=$COMMIT", "-s -w"} {
		if !strings.Contains(strings.Join(d.flags, " "), want) {
			t.Errorf("the Dockerfile's build flags %q lack %q", d.flags, want)
		}
	}
	if want := commands(t); !slices.Equal(d.packages, want) || !slices.Equal(m.packages, []string{"./cmd/..."}) {
		t.Errorf("packages: Dockerfile %q (want %q), Makefile %q (want ./cmd/...)", d.packages, want, m.packages)
	}
}

// built holds the binaries built once with the Dockerfile's command.
var built struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// testVersion and testCommit are the build identity the tests link in.
const (
	testVersion = "9.8.7-packaging-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

// buildImageBinaries runs the Dockerfile's go build command, with VERSION
// and COMMIT set and -o a temporary directory, and returns that directory.
func buildImageBinaries(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		c := dockerfileBuild(t)
		built.dir, built.err = os.MkdirTemp("", "wsus-packaging-*")
		if built.err != nil {
			return
		}
		args := []string{"build"}
		for _, f := range c.flags {
			f = strings.ReplaceAll(f, "$VERSION", testVersion)
			args = append(args, strings.ReplaceAll(f, "$COMMIT", testCommit))
		}
		args = append(append(args, "-o", built.dir+string(filepath.Separator)), c.packages...)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), c.env...)
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("the Dockerfile's go build: %v\n%s", built.err, built.out)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestImageBinariesStatic: the Dockerfile's build command gives one static
// ELF executable per command (no program interpreter, no shared library:
// what a distroless static or scratch image can run), carrying the version
// and commit given as build arguments.
func TestImageBinariesStatic(t *testing.T) {
	dir := buildImageBinaries(t)
	for _, pkg := range commands(t) {
		name := filepath.Base(pkg)
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s has a program interpreter (PT_INTERP): dynamically linked", name)
				}
				if p.Type == elf.PT_DYNAMIC {
					t.Errorf("%s has a dynamic section (PT_DYNAMIC)", name)
				}
			}
			if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
				t.Errorf("%s needs shared libraries %q (%v)", name, libs, err)
			}
			if f.Type != elf.ET_EXEC {
				t.Errorf("%s is ELF %v, want a static executable (ET_EXEC)", name, f.Type)
			}
			if f.Section(".symtab") != nil {
				t.Errorf("%s keeps its symbol table: -s not applied", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if name == "wsusd" && (!bytes.Contains(raw, []byte(testVersion)) || !bytes.Contains(raw, []byte(testCommit))) {
				t.Errorf("wsusd does not carry the version %s and commit %s given at build time", testVersion, testCommit)
			}
		})
	}
}

// instruction is one Dockerfile instruction.
type instruction struct{ op, args string }

// dockerStages reads the Dockerfile's instructions by stage (a FROM starts
// one); comments and blank lines are dropped, continuation lines joined.
func dockerStages(t *testing.T) [][]instruction {
	t.Helper()
	var stages [][]instruction
	var pending string
	for _, line := range strings.Split(readFile(t, "Dockerfile"), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		line, pending = pending+line, ""
		op, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(op), strings.TrimSpace(args)}
		if in.op == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			if in.op != "ARG" {
				t.Fatalf("%s before the first FROM", in.op)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// TestDockerfileFinalStage: two stages, a Go builder and a static non-root
// final image holding the three binaries, exposing WSUS's ports, with the
// data directory a volume owned by the image's user and `wsusd serve` on
// every interface as the default command; no HEALTHCHECK (no shell in
// distroless: orchestrators probe /readyz).
func TestDockerfileFinalStage(t *testing.T) {
	stages := dockerStages(t)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a builder and a final one", len(stages))
	}
	if got := stages[0][0].args; got != "golang:1.26 AS build" {
		t.Errorf("builder FROM %q, want golang:1.26 AS build", got)
	}
	final := map[string][]string{}
	for _, in := range stages[1] {
		final[in.op] = append(final[in.op], in.args)
	}
	want := map[string][]string{
		"FROM":       {"gcr.io/distroless/static-debian12:nonroot"},
		"USER":       {"65532:65532"},
		"EXPOSE":     {"8530 8531"},
		"VOLUME":     {"/var/lib/wsus"},
		"ENTRYPOINT": {`["/usr/local/bin/wsusd"]`},
		"CMD":        {`["serve", "--listen", "0.0.0.0:8530", "--data", "/var/lib/wsus"]`},
		"COPY": {"--from=build /out/wsusd /out/wsusctl /out/clientsim /usr/local/bin/",
			"--from=build --chown=65532:65532 /out/data /var/lib/wsus"},
	}
	for op, args := range want {
		if !slices.Equal(final[op], args) {
			t.Errorf("final stage %s %q, want %q", op, final[op], args)
		}
	}
	for op := range final {
		if _, ok := want[op]; !ok {
			t.Errorf("final stage has %s %q, which this test does not expect", op, final[op])
		}
	}
	user, group, _ := strings.Cut(final["USER"][0], ":")
	if user == "0" || user == "root" || group == "0" || group == "root" {
		t.Errorf("the final stage runs as %s", final["USER"][0])
	}
	// The default command's flags are serve's.
	help, _ := exec.Command(filepath.Join(buildImageBinaries(t), "wsusd"), "serve", "--help").CombinedOutput()
	for _, flag := range []string{"listen", "data"} {
		if !regexp.MustCompile(`(?m)^\s+--?` + flag + `\b`).Match(help) {
			t.Errorf("wsusd serve has no --%s flag:\n%s", flag, help)
		}
	}
}

// declaredSettings returns the WSUS_* variable names quoted in wsusd's
// source: the settings it declares.
func declaredSettings(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "cmd", "wsusd", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	re := regexp.MustCompile(`"(WSUS_[A-Z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	return names
}

// settingsNamed returns the WSUS_* names set in text, outside comments.
func settingsNamed(text string) []string {
	var out []string
	re := regexp.MustCompile(`\b(WSUS_[A-Z0-9_]+)\b`)
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// unit reads a systemd unit file: section → key → values in order.
func unit(t *testing.T, text string) map[string]map[string][]string {
	t.Helper()
	sections := map[string]map[string][]string{}
	var cur map[string][]string
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = map[string][]string{}
			sections[line[1:len(line)-1]] = cur
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || cur == nil {
				t.Fatalf("unit line %d: %q is neither a section nor a key=value", n, line)
			}
			cur[strings.TrimSpace(k)] = append(cur[strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return sections
}

// TestSystemdUnit: the unit runs `wsusd serve` as an unprivileged dynamic
// user with its state directory, restarts on failure, takes secrets as
// credentials and carries every hardening setting; the settings it and the
// example settings file name are wsusd's; and systemd-analyze verify
// accepts it (with ExecStart pointing at a real wsusd).
func TestSystemdUnit(t *testing.T) {
	text := readFile(t, "deploy/systemd/wsusd.service")
	u := unit(t, text)
	svc := u["Service"]
	want := map[string]string{
		"ExecStart":               "/usr/local/bin/wsusd serve",
		"EnvironmentFile":         "-/etc/wsus/wsusd.env",
		"Restart":                 "on-failure",
		"DynamicUser":             "yes",
		"StateDirectory":          "wsus",
		"UMask":                   "0077",
		"LimitNOFILE":             "65536",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectControlGroups":    "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"RestrictNamespaces":      "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallFilter":        "@system-service",
		"SystemCallArchitectures": "native",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want %q", k, got, v)
		}
	}
	creds := strings.Join(svc["LoadCredential"], " ")
	env := strings.Join(svc["Environment"], " ")
	for _, c := range []struct{ cred, env string }{{"cookie-key", "WSUS_COOKIE_KEY_FILE=%d/cookie-key"}, {"admin-token", "WSUS_ADMIN_TOKEN_FILE=%d/admin-token"}} {
		if !strings.Contains(creds, c.cred+":/etc/wsus/") || !strings.Contains(env, c.env) {
			t.Errorf("the %s is not a credential handed over as %s: LoadCredential %q, Environment %q", c.cred, c.env, creds, env)
		}
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("[Install] WantedBy %q", got)
	}
	declared := declaredSettings(t)
	for _, f := range []string{"deploy/systemd/wsusd.service", "deploy/systemd/wsusd.env"} {
		for _, name := range settingsNamed(readFile(t, f)) {
			if !declared[name] {
				t.Errorf("%s sets %s, which wsusd does not declare", f, name)
			}
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing (Debian package systemd)")
		}
		t.Skip("systemd-analyze is missing (Debian package systemd): the unit was not verified")
	}
	dir := t.TempDir()
	wsusd := filepath.Join(buildImageBinaries(t), "wsusd")
	if err := os.WriteFile(filepath.Join(dir, "wsusd.service"), []byte(strings.ReplaceAll(text, "/usr/local/bin/wsusd", wsusd)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", filepath.Join(dir, "wsusd.service")).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestKubernetesManifest: a Deployment of three replicas with the probes,
// security context, resources and shared secrets the README describes, and
// a Service on 8530. No YAML library is a dependency of the module: the
// checks read the text (indentation by spaces only, the documents by
// their separator, the settings by name).
func TestKubernetesManifest(t *testing.T) {
	text := readFile(t, "deploy/kubernetes/wsusd.yaml")
	if strings.Contains(text, "\t") {
		t.Error("a tab in the YAML: indentation must be spaces")
	}
	docs := regexp.MustCompile(`(?m)^---$`).Split(text, -1)
	kinds := map[string]string{}
	for _, d := range docs {
		if m := regexp.MustCompile(`(?m)^kind: (\w+)$`).FindStringSubmatch(d); m != nil {
			kinds[m[1]] = d
		}
	}
	if len(docs) != 2 || kinds["Deployment"] == "" || kinds["Service"] == "" {
		t.Fatalf("want two documents, a Deployment and a Service; got kinds %v of %d", slices.Sorted(func(yield func(string) bool) {
			for k := range kinds {
				if !yield(k) {
					return
				}
			}
		}), len(docs))
	}
	dep, svc := kinds["Deployment"], kinds["Service"]
	for _, want := range []string{
		"replicas: 3",
		"readinessProbe:\n            httpGet: {path: /readyz, port: http}",
		"livenessProbe:\n            httpGet: {path: /healthz, port: http}",
		"runAsNonRoot: true",
		"readOnlyRootFilesystem: true",
		"allowPrivilegeEscalation: false",
		"drop: [ALL]",
		"containerPort: 8530",
		"resources:\n            requests:",
		"secretKeyRef: {name: wsusd-secrets, key: database-url}",
		"value: /etc/wsus/secrets/cookie-key",
		"value: /etc/wsus/secrets/admin-token",
		"secretName: wsusd-secrets",
		"mountPath: /var/lib/wsus",
		"- --listen=0.0.0.0:8530",
		"- --data=/var/lib/wsus",
	} {
		if !strings.Contains(dep, want) {
			t.Errorf("the Deployment lacks %q", want)
		}
	}
	for _, want := range []string{"port: 8530", "app.kubernetes.io/name: wsusd"} {
		if !strings.Contains(svc, want) {
			t.Errorf("the Service lacks %q", want)
		}
	}
	declared := declaredSettings(t)
	named := settingsNamed(dep)
	for _, want := range []string{"WSUS_DATABASE_URL", "WSUS_S3_BUCKET", "WSUS_COOKIE_KEY_FILE", "WSUS_ADMIN_TOKEN_FILE", "WSUS_CONTENT_URL"} {
		if !slices.Contains(named, want) {
			t.Errorf("the Deployment does not set %s, which every replica must share", want)
		}
	}
	for _, name := range named {
		if !declared[name] {
			t.Errorf("the Deployment sets %s, which wsusd does not declare", name)
		}
	}
}
