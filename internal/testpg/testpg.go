// Package testpg gives tests a real, throwaway PostgreSQL database.
//
// A test package opts in with a TestMain and asks for a database per test:
//
//	func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		url := testpg.URL(t) // a new, empty database, dropped when t ends
//		...
//	}
//
// Where the server comes from:
//
//   - WSUS_TEST_DATABASE_URL set (a postgres:// URL of a user allowed to
//     CREATE DATABASE): every URL call creates a database on that server.
//   - Otherwise the first URL call of the test binary starts a private
//     cluster: initdb into a temporary directory (on /dev/shm when there
//     is one), then the postgres server
//     on 127.0.0.1 and a free port, its unix socket in that directory, with
//     fsync off. When running as root the server runs as the "postgres" user
//     (initdb refuses root). Main stops it and removes the directory when the
//     tests end, failed or not; should the test binary die instead (a panic,
//     a timeout), the kernel stops the server with it (parent-death signal),
//     and the next test binary that starts a cluster removes the directory.
//
// When the PostgreSQL server programs (initdb, postgres) are not installed,
// URL skips the test with "PostgreSQL not installed: run make test (it
// installs it)", except under CI=true, where it fails it: CI must never
// pass by skipping.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the URL of an existing
// server to create the test databases on.
const EnvURL = "WSUS_TEST_DATABASE_URL"

// binGlob is where Debian and Ubuntu install the server programs, one
// directory per major version.
const binGlob = "/usr/lib/postgresql/*/bin"

// skipMessage is the skip reason when PostgreSQL is not installed.
const skipMessage = "PostgreSQL not installed: run make test (it installs it)"

// errNotInstalled is returned when the server programs cannot be found.
var errNotInstalled = errors.New("PostgreSQL server programs (initdb, postgres) not found in PATH nor in " + binGlob)

// Timeouts of the cluster's life.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
	sqlTimeout   = 30 * time.Second
)

// active is the server of the running test binary, set by Main for the
// duration of the tests. It is the package's only mutable state, and has to
// be: one cluster serves every test of the binary, and URL has only the
// testing.TB to go on.
var active atomic.Pointer[server]

// Main runs the tests of m and returns their exit code, stopping the
// cluster that URL may have started and removing its directory. A failure
// to stop it turns a passing run into a failing one.
func Main(m *testing.M) int {
	srv := &server{}
	active.Store(srv)
	defer active.Store(nil)
	code := m.Run()
	if err := srv.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testpg: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// URL creates a new, empty database for tb and returns its postgres:// URL;
// the database is dropped (connections still open to it closed) when tb and
// its subtests have finished. It needs Main to run the tests (see the
// package documentation).
func URL(tb testing.TB) string {
	tb.Helper()
	srv := active.Load()
	if srv == nil {
		tb.Fatal("testpg: URL needs testpg.Main: add func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) } to the package's tests")
	}
	admin, err := srv.adminURL()
	if errors.Is(err, errNotInstalled) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("testpg: %v; CI=true, so this fails instead of skipping: install PostgreSQL (scripts/ensure-postgres.sh) or set %s", err, EnvURL)
		}
		tb.Skip(skipMessage)
	}
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	name, err := newName()
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	// template0 and the C locale: every test database starts the same,
	// whatever the server's defaults and template1 hold.
	if err := execAdmin(admin, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' STRATEGY FILE_COPY"); err != nil {
		tb.Fatalf("testpg: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := execAdmin(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// newName returns a database name no other test, in this process or
// another one sharing the server, picks.
func newName() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("database name: %w", err)
	}
	return "testpg_" + hex.EncodeToString(b), nil
}

// withDatabase returns the URL admin with its database replaced by name.
func withDatabase(admin *url.URL, name string) string {
	u := *admin
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// execAdmin runs one statement on the server's maintenance connection.
func execAdmin(admin *url.URL, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), sqlTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// server is the PostgreSQL server of one test binary: found in EnvURL or
// started on first use.
type server struct {
	once    sync.Once
	admin   *url.URL
	err     error
	cluster *cluster // nil unless this binary started one
}

// adminURL returns the URL of the server's maintenance database, starting
// the cluster on the first call when EnvURL is not set.
func (s *server) adminURL() (*url.URL, error) {
	s.once.Do(func() {
		if env := os.Getenv(EnvURL); env != "" {
			s.admin, s.err = parseAdminURL(env)
			return
		}
		s.cluster, s.err = startCluster()
		if s.err == nil {
			s.admin = s.cluster.url()
		}
	})
	return s.admin, s.err
}

// stop stops the cluster, if one was started.
func (s *server) stop() error {
	var err error
	s.once.Do(func() {}) // no start after this
	if s.cluster != nil {
		err = s.cluster.stop()
	}
	return err
}

// parseAdminURL checks the URL of EnvURL.
func parseAdminURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", EnvURL)
	}
	return u, nil
}

// cluster is a PostgreSQL cluster in a temporary directory, its server a
// child process of the test binary.
type cluster struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the server exited
}

func (c *cluster) url() *url.URL {
	return &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
}

// findBin returns the directory holding initdb and postgres: the one of
// initdb in PATH, else the newest of the directories matching pattern.
func findBin(pattern string) (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	matches, _ := filepath.Glob(pattern)
	// Newest major version first: compare the version directory as a number.
	version := func(bin string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
		return v
	}
	sort.SliceStable(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	dirs = append(dirs, matches...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNotInstalled
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// serverCredential returns the user the server programs run as: nil (this
// process's) unless running as root, which initdb refuses; then "postgres".
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the server must run as the postgres user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres: unexpected uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startCluster creates a cluster in a new temporary directory and starts
// its server, trying another port if the one picked was taken meanwhile.
func startCluster() (*cluster, error) {
	bin, err := findBin(binGlob)
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	base := baseDir()
	removeStale(base)
	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	fail := func(err error) (*cluster, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start cluster in %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fail(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		c, err := runServer(bin, dir, cred, port)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			return fail(err)
		}
	}
}

// baseDir is where clusters go: /dev/shm when it is there, since a cluster
// on tmpfs creates databases ten times faster than one on disk (measured: 20
// ms instead of 200 ms, even with fsync off), else the temporary directory.
func baseDir() string {
	const rwx = 7 // access(2): R_OK | W_OK | X_OK
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && syscall.Access("/dev/shm", rwx) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

// A cluster lives in a directory named dirPrefix + random, holding the PID
// of the test binary that owns it in ownerFile.
const (
	dirPrefix = "testpg-"
	ownerFile = "owner.pid"
)

// removeStale removes the cluster directories of test binaries that died
// without removing theirs (a panic, a timeout; the kernel stopped their
// servers with them). A directory whose owner is unknown is left alone.
func removeStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		os.RemoveAll(dir)
	}
}

// errPortTaken is returned by runServer when the server could not bind.
var errPortTaken = errors.New("port taken")

// runServer starts the server of the cluster in dir on port and waits
// until it accepts connections.
func runServer(bin, dir string, cred *syscall.Credential, port int) (*cluster, error) {
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(port),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// SIGQUIT is PostgreSQL's immediate shutdown: if the test binary dies
	// without stopping the server, the server does not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &cluster{dir: dir, port: port, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-c.done:
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "could not bind") || strings.Contains(string(log), "already in use") {
				return nil, fmt.Errorf("%w: %d", errPortTaken, port)
			}
			return nil, fmt.Errorf("postgres exited: %v\n%s", cmd.ProcessState, log)
		default:
		}
		if err := ping(c.url()); err == nil {
			return c, nil
		} else if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("postgres did not accept connections within %v: %w", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping connects to u once.
func ping(u *url.URL) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// freePort returns a TCP port of 127.0.0.1 nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop shuts the server down and removes the cluster's directory.
func (c *cluster) stop() error {
	err := c.shutdown()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove cluster: %w", rmErr))
	}
	return err
}

// shutdown stops the server (fast shutdown: connections are closed),
// killing it if it does not stop in time; the cluster's files stay.
func (c *cluster) shutdown() error {
	var err error
	if sigErr := c.cmd.Process.Signal(syscall.SIGINT); sigErr != nil && !errors.Is(sigErr, os.ErrProcessDone) {
		err = fmt.Errorf("stop postgres: %w", sigErr)
	}
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		c.cmd.Process.Kill()
		<-c.done
		err = errors.Join(err, fmt.Errorf("stop postgres: not stopped after %v, killed", stopTimeout))
	}
	return err
}
