// Package testcluster starts, for a test or benchmark, the scale-out
// topology the README describes, on loopback: a real PostgreSQL catalog
// (internal/testpg), a real S3 blob store (versitygw, internal/tests3),
// N `wsusd serve` replicas (the real binary) sharing the catalog, the
// bucket, the cookie key and the admin token, each on its own port, and
// HAProxy in front of them (haproxy.go says how it is configured and why).
//
// What callers may rely on: Start returns once every replica answers
// /readyz with 200 and HAProxy reports every server UP; URL is HAProxy's
// frontend; Kill is an outage (SIGKILL, nothing flushed) and Restart brings
// the replica back on the same port with the same settings; everything is
// stopped, by the PIDs it started, and its files removed when the test
// ends. The catalog starts empty: callers load one with Command("wsusd",
// "import", ...). Every replica runs with the defaults of `wsusd serve`
// (snapshot max age 1 s included) but for its address and data folder.
//
// Like testpg and tests3, Start skips the test when HAProxy is not
// installed, and fails it instead under CI=true (scripts/ensure-haproxy.sh
// installs Debian's package).
package testcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wsus/internal/testpg"
	"wsus/internal/tests3"
)

// Defaults of Config.
const (
	DefaultReplicas = 3
	// Bucket is the S3 bucket the replicas share (wsusd creates it).
	Bucket = "wsus"
)

// Timeouts of the cluster's life.
const (
	readyTimeout = 60 * time.Second // a replica's /readyz, HAProxy's servers UP
	stopTimeout  = 15 * time.Second // SIGTERM to exit, then SIGKILL
)

// Config configures a cluster. The zero value of every field but Bin is
// usable.
type Config struct {
	// Bin is the directory holding the wsusd binary built from ./cmd/wsusd
	// (and wsusctl and clientsim, for Command).
	Bin string
	// Replicas is the number of wsusd replicas (default DefaultReplicas).
	Replicas int
	// RequestLog makes HAProxy log every request it forwards (server,
	// status, method, path, SOAPAction, retries), read back with
	// Cluster.Requests. It costs CPU on the shared machine: benchmarks of
	// throughput leave it off and read Stats instead.
	RequestLog bool
	// GOMAXPROCS, when positive, is the GOMAXPROCS of every replica; zero
	// leaves Go's default (every core), with which N replicas on a machine
	// of fewer than 2N cores run more Go schedulers than it has cores.
	GOMAXPROCS int
}

// Cluster is a running cluster.
type Cluster struct {
	// URL is HAProxy's frontend, "http://127.0.0.1:<port>": what clients use.
	URL string
	// AdminToken is the admin API bearer token every replica accepts.
	AdminToken string
	// Replicas are the wsusd replicas, in HAProxy's order (servers r1, r2 ...).
	Replicas []*Replica

	tb      testing.TB
	cfg     Config
	dir     string
	env     []string // the replicas' shared WSUS_* and AWS_* settings
	haproxy *haproxy
}

// Replica is one `wsusd serve` process slot: it keeps its port and
// settings across Kill and Restart.
type Replica struct {
	// Name is HAProxy's name of the server ("r1" ...).
	Name string
	// URL is the replica's own listener, bypassing HAProxy.
	URL string

	addr string
	data string
	log  string // its stderr, appended across restarts

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
}

// Start starts a cluster for tb and stops it when tb ends.
func Start(tb testing.TB, cfg Config) *Cluster {
	tb.Helper()
	if cfg.Bin == "" {
		tb.Fatal("testcluster: Config.Bin is required")
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = DefaultReplicas
	}
	if cfg.Replicas < 0 {
		tb.Fatalf("testcluster: %d replicas", cfg.Replicas)
	}
	haproxyBin, err := HAProxyBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("testcluster: %v; CI=true, so this fails instead of skipping: run scripts/ensure-haproxy.sh", err)
		}
		tb.Skipf("testcluster: %v: run make test (or scripts/ensure-haproxy.sh)", err)
	}

	pg := testpg.NewPrivate(tb)
	s3 := tests3.Start(tb)
	c := &Cluster{tb: tb, cfg: cfg, dir: tb.TempDir(), AdminToken: "wsus_cluster_" + rand.Text()}
	key := make([]byte, 32)
	rand.Read(key)
	c.env = []string{
		"WSUS_DATABASE_URL=" + pg.URL(),
		"WSUS_S3_BUCKET=" + Bucket, "WSUS_S3_ENDPOINT=" + s3.Endpoint, "WSUS_S3_REGION=" + s3.Region, "WSUS_S3_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey,
		"WSUS_COOKIE_KEY=" + hex.EncodeToString(key), "WSUS_ADMIN_TOKEN=" + c.AdminToken,
	}

	for i := range cfg.Replicas {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("testcluster: %v", err)
		}
		r := &Replica{
			Name: "r" + strconv.Itoa(i+1),
			addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			data: filepath.Join(c.dir, fmt.Sprintf("replica-%d", i+1)),
			log:  filepath.Join(c.dir, fmt.Sprintf("replica-%d.log", i+1)),
		}
		r.URL = "http://" + r.addr
		c.Replicas = append(c.Replicas, r)
		tb.Cleanup(func() {
			if err := r.stop(syscall.SIGTERM); err != nil {
				tb.Errorf("testcluster: %s: %v\n%s", r.Name, err, c.tail(r))
			}
		})
	}
	// One at a time: the first migrates the catalog, the others find it done.
	for _, r := range c.Replicas {
		if err := c.run(r); err != nil {
			tb.Fatalf("testcluster: %v", err)
		}
	}

	h, err := startHAProxy(haproxyBin, c.dir, c.Replicas, cfg.RequestLog)
	if err != nil {
		tb.Fatalf("testcluster: %v", err)
	}
	c.haproxy = h
	tb.Cleanup(func() {
		if err := h.stop(); err != nil {
			tb.Errorf("testcluster: %v", err)
		}
	})
	c.URL = "http://" + h.addr
	for _, r := range c.Replicas {
		c.WaitState(r, "UP")
	}
	return c
}

// Command returns the command running the named binary of Config.Bin with
// args in the cluster's environment: the settings every replica shares
// (WSUS_DATABASE_URL, the WSUS_S3_* bucket and AWS_* credentials,
// WSUS_COOKIE_KEY, WSUS_ADMIN_TOKEN), WSUS_SERVER set to the frontend, and
// no other WSUS_* or AWS_* variable of the caller's.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.cfg.Bin, name), args...)
	cmd.Env = append(hermeticEnv(), c.env...)
	cmd.Env = append(cmd.Env, "WSUS_SERVER="+c.URL)
	return cmd
}

// hermeticEnv is the caller's environment without WSUS_* and AWS_*
// settings, which must not leak into the cluster.
func hermeticEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WSUS_") && !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// PID returns the process id of the running replica, 0 when it is not running.
func (r *Replica) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// HAProxyPID returns HAProxy's process id.
func (c *Cluster) HAProxyPID() int { return c.haproxy.cmd.Process.Pid }

// Kill kills replica r with SIGKILL, as a crashed host would lose it, and
// waits for the process to be gone. HAProxy notices by itself (its health
// checks and the failed connections).
func (c *Cluster) Kill(r *Replica) {
	c.tb.Helper()
	if err := r.stop(syscall.SIGKILL); err != nil {
		c.tb.Fatalf("testcluster: kill %s: %v", r.Name, err)
	}
}

// Restart starts a killed replica again on its port, with its settings,
// and waits for its /readyz.
func (c *Cluster) Restart(r *Replica) {
	c.tb.Helper()
	if err := c.run(r); err != nil {
		c.tb.Fatalf("testcluster: restart: %v", err)
	}
}

// WaitState polls HAProxy's view of r until its status starts with state
// ("UP", "DOWN"), bounded by 60 s, and returns that server's counters.
func (c *Cluster) WaitState(r *Replica, state string) ServerStats {
	c.tb.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		st, err := c.Stats()
		if err != nil {
			c.tb.Fatalf("testcluster: %v", err)
		}
		if s, ok := st[r.Name]; ok && strings.HasPrefix(s.Status, state) {
			return s
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("testcluster: HAProxy does not see %s %s within %v: %+v\n%s", r.Name, state, readyTimeout, st[r.Name], c.tail(r))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stats returns HAProxy's counters of each replica, by server name.
func (c *Cluster) Stats() (map[string]ServerStats, error) { return c.haproxy.stats() }

// Requests returns the requests HAProxy logged so far (Config.RequestLog).
func (c *Cluster) Requests() []Request { return c.haproxy.requests() }

// Unparsed returns HAProxy's output lines that are not request log lines
// (Config.RequestLog): alerts, or a format this package misreads.
func (c *Cluster) Unparsed() []string { return c.haproxy.unparsed() }

// Log returns what replica r wrote on stderr so far, across restarts.
func (c *Cluster) Log(r *Replica) string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// tail is the end of r's log, for failure messages; it takes no lock.
func (c *Cluster) tail(r *Replica) string {
	s := c.Log(r)
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// run starts `wsusd serve` for r and waits until its /readyz answers 200.
func (c *Cluster) run(r *Replica) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return fmt.Errorf("%s already running", r.Name)
	}
	logFile, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(c.cfg.Bin, "wsusd"), "serve", "--listen", r.addr, "--data", r.data, "--shutdown-timeout", "2s")
	cmd.Env = append(hermeticEnv(), c.env...)
	if c.cfg.GOMAXPROCS > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(c.cfg.GOMAXPROCS))
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The replica dies with this process should the test binary crash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited: %v\n%s", r.Name, cmd.ProcessState, c.tail(r))
		default:
		}
		resp, err := client.Get(r.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.cmd, r.done = cmd, done
				return nil
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s not ready within %v (last: %v)\n%s", r.Name, readyTimeout, err, c.tail(r))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig to the running replica, if any, and waits for it to exit,
// killing it after stopTimeout. A SIGTERM'd replica must exit cleanly.
func (r *Replica) stop(sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	cmd, done := r.cmd, r.done
	r.cmd, r.done = nil, nil
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	select {
	case <-done:
	case <-time.After(stopTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("still running %v after %v", stopTimeout, sig)
	}
	if sig == syscall.SIGTERM && !cmd.ProcessState.Success() {
		return fmt.Errorf("exit after SIGTERM: %v", cmd.ProcessState)
	}
	return nil
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
