// Package tests3 gives tests a real S3-compatible server: versitygw (pinned
// to Version) with its posix backend, on 127.0.0.1 and a free port, its data
// in the test's temporary directory and random credentials.
//
//	func TestSomething(t *testing.T) {
//		srv := tests3.Start(t) // stopped when t ends
//		cfg := s3store.Config{Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
//			AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, Bucket: "b"}
//		...
//		srv.Stop(t)    // an outage: the server is killed, its data kept
//		srv.Restart(t) // back on the same port with the same data
//	}
//
// Every Start is a server of its own (it is ready in about 0.1 s), so tests
// never see each other's buckets or outages. The server dies with the test
// binary should that crash (parent-death signal).
//
// Where the program comes from: WSUS_VERSITYGW names a binary to use;
// otherwise it is looked up in the cache directory scripts/ensure-versitygw.sh
// builds it into (WSUS_TOOLS_DIR, default <user cache dir>/wsus/tools, then
// versitygw-<Version>/versitygw). When it is not there, Start skips the test
// with "versitygw not built: run make test (or scripts/ensure-versitygw.sh)",
// except under CI=true, where Start builds it (go install, about a minute)
// and fails the test if that fails: CI must never pass by skipping.
package tests3

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the versitygw release the tests run against; keep it in step
// with scripts/ensure-versitygw.sh.
const Version = "v1.8.0"

// Environment variables that locate the program.
const (
	// EnvBinary names a versitygw binary to use as is.
	EnvBinary = "WSUS_VERSITYGW"
	// EnvToolsDir is the cache directory of built tools.
	EnvToolsDir = "WSUS_TOOLS_DIR"
)

// Region is the region the server runs in.
const Region = "us-east-1"

// skipMessage is the skip reason when the program is not built.
const skipMessage = "versitygw not built: run make test (or scripts/ensure-versitygw.sh)"

const (
	startTimeout = 15 * time.Second
	stopTimeout  = 15 * time.Second
)

// Server is one running (or stopped) versitygw.
type Server struct {
	// Endpoint is the server's URL, "http://127.0.0.1:<port>".
	Endpoint string
	// AccessKey and SecretKey are the root credentials (random).
	AccessKey, SecretKey string
	// Region is the region to sign requests for.
	Region string

	bin  string
	dir  string // posix backend root: every subdirectory is a bucket
	log  string // server output
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
}

// Start starts a new server for tb and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := Binary()
	if errors.Is(err, errNotBuilt) {
		if os.Getenv("CI") != "true" {
			tb.Skip(skipMessage)
		}
		if bin, err = build(); err != nil {
			tb.Fatalf("tests3: CI=true, so this fails instead of skipping: %v", err)
		}
	}
	if err != nil {
		tb.Fatalf("tests3: %v", err)
	}
	work := tb.TempDir()
	s := &Server{
		AccessKey: "test" + rand.Text()[:12],
		SecretKey: rand.Text() + rand.Text(),
		Region:    Region,
		bin:       bin,
		dir:       filepath.Join(work, "root"),
		log:       filepath.Join(work, "versitygw.log"),
	}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		tb.Fatalf("tests3: %v", err)
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("tests3: %v", err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err = s.run()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			tb.Fatalf("tests3: %v", err)
		}
	}
	s.Endpoint = "http://" + s.addr
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Errorf("tests3: %v", err)
		}
	})
	return s
}

// Dir is the posix backend's root: bucket b's object k is the file
// Dir()/b/k. Tests may look, or damage objects on purpose.
func (s *Server) Dir() string { return s.dir }

// Stop kills the server (SIGKILL: an outage, not a shutdown; requests in
// flight break). Its data stays for Restart. Stopping a stopped server does
// nothing.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := s.stop(); err != nil {
		tb.Fatalf("tests3: %v", err)
	}
}

// Restart starts a stopped server again, on the same address with the same
// data and credentials.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	var err error
	deadline := time.Now().Add(startTimeout)
	for {
		// The port was ours a moment ago; another process may hold it
		// briefly (a connection of ours in the way, a port scan).
		if err = s.run(); !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("tests3: restart: %v", err)
	}
}

// errPortTaken is returned by run when the server could not listen.
var errPortTaken = errors.New("port taken")

// run starts the program on s.addr and waits until it accepts connections.
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("server already running")
	}
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	start, _ := logFile.Seek(0, 2)
	cmd := exec.Command(s.bin, "--port", s.addr, "--region", s.Region, "--keep-alive", "--quiet", "posix", s.dir)
	// Credentials in the environment, not on the command line (ps shows that).
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			out := s.logSince(start)
			if bytes.Contains(out, []byte("address already in use")) {
				return fmt.Errorf("%w: %s", errPortTaken, s.addr)
			}
			return fmt.Errorf("versitygw exited: %v\n%s", cmd.ProcessState, out)
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			c.Close()
			s.cmd, s.done = cmd, done
			return nil
		} else if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("versitygw did not listen on %s within %v: %w\n%s", s.addr, startTimeout, err, s.logSince(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logSince returns the server output written after offset.
func (s *Server) logSince(offset int64) []byte {
	b, _ := os.ReadFile(s.log)
	if offset > int64(len(b)) {
		return nil
	}
	return b[offset:]
}

// stop kills the running server, if any, and waits for it to exit.
func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop versitygw: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("stop versitygw: still running %v after SIGKILL", stopTimeout)
	}
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

// errNotBuilt is returned by Binary when the program is not in the cache.
var errNotBuilt = errors.New("versitygw " + Version + " not built")

// Binary returns the path of the versitygw program: EnvBinary, or the
// cached build. The error wraps errNotBuilt when there is none yet.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s=%s is not an executable file", EnvBinary, p)
		}
		return p, nil
	}
	p, err := cachedPath()
	if err != nil {
		return "", err
	}
	if !isExecutable(p) {
		return "", fmt.Errorf("%w: no %s", errNotBuilt, p)
	}
	return p, nil
}

// cachedPath is where scripts/ensure-versitygw.sh puts the program.
func cachedPath() (string, error) {
	dir := os.Getenv(EnvToolsDir)
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("locate versitygw: %w (set %s or %s)", err, EnvBinary, EnvToolsDir)
		}
		dir = filepath.Join(cache, "wsus", "tools")
	}
	return filepath.Join(dir, "versitygw-"+Version, "versitygw"), nil
}

// build installs the program into the cache as the script does: go install
// into a temporary directory beside it, then an atomic rename.
func build() (string, error) {
	p, err := cachedPath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build versitygw: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", fmt.Errorf("build versitygw: %w", err)
	}
	defer os.RemoveAll(tmp)
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		goTool = filepath.Join(root, "bin", "go")
	}
	cmd := exec.Command(goTool, "install", "github.com/versity/versitygw/cmd/versitygw@"+Version)
	cmd.Dir = tmp // outside any module
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build versitygw %s: %w\n%s", Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), p); err != nil {
		return "", fmt.Errorf("build versitygw: %w", err)
	}
	return p, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
