package testpg

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// Private is a PostgreSQL server of one test's own, which the test may stop
// and start again (to see what an outage does) without disturbing the
// server every other test shares. Its data survives Stop.
type Private struct {
	tb    testing.TB
	bin   string
	cred  *syscall.Credential
	mu    sync.Mutex
	c     *cluster // nil while stopped
	admin string
	dir   string // of the cluster, kept while stopped
	port  int
}

// NewPrivate starts a private server for tb, stopped and removed when tb
// ends. Like URL it skips the test when PostgreSQL is not installed, and
// fails it instead under CI=true. It ignores EnvURL: a shared server cannot
// be stopped.
func NewPrivate(tb testing.TB) *Private {
	tb.Helper()
	c, err := startCluster()
	if errors.Is(err, errNotInstalled) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("testpg: %v; CI=true, so this fails instead of skipping: install PostgreSQL (scripts/ensure-postgres.sh)", err)
		}
		tb.Skip(skipMessage)
	}
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	bin, err := findBin(binGlob)
	if err != nil {
		c.stop()
		tb.Fatalf("testpg: %v", err)
	}
	cred, err := serverCredential()
	if err != nil {
		c.stop()
		tb.Fatalf("testpg: %v", err)
	}
	p := &Private{tb: tb, bin: bin, cred: cred, c: c, dir: c.dir, port: c.port}
	tb.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		var err error
		if p.c != nil {
			err = p.c.stop()
		} else {
			err = os.RemoveAll(p.dir)
		}
		if err != nil {
			tb.Errorf("testpg: %v", err)
		}
	})
	return p
}

// URL returns the URL of the server's postgres database, which stays the
// same across Stop and Start.
func (p *Private) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.admin == "" {
		p.admin = p.c.url().String()
	}
	return p.admin
}

// Stop shuts the server down (fast shutdown: open connections are closed).
func (p *Private) Stop() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c == nil {
		return
	}
	if err := p.c.shutdown(); err != nil {
		p.tb.Fatalf("testpg: %v", err)
	}
	p.admin = p.c.url().String()
	p.c = nil
}

// Start starts a stopped server again on the same port.
func (p *Private) Start() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c != nil {
		return
	}
	c, err := runServer(p.bin, p.dir, p.cred, p.port)
	if err != nil {
		p.tb.Fatalf("testpg: restart in %s: %v", filepath.Base(p.dir), err)
	}
	p.c = c
}
