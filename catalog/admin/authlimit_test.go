package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/internal/syncbuf"
)

// fakeClock is a manual clock for the limiter.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// limitedFixture is the fixture's populated store behind a second handler
// built with opts (and a manual clock), with its own log.
func limitedFixture(t *testing.T, opts admin.Options) (*fixture, *fakeClock, *syncbuf.Buffer) {
	t.Helper()
	f := newFixture(t)
	clk := &fakeClock{now: t0}
	logs := &syncbuf.Buffer{}
	opts.Token = testToken
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	opts.Now = clk.Now
	srv := httptest.NewServer(admin.NewWith(f.store, opts))
	t.Cleanup(srv.Close)
	f.srv = srv
	return f, clk, logs
}

var badToken = map[string]string{"Authorization": "Bearer wrong-token"}

func TestFailedAuthenticationsBlockTheSource(t *testing.T) {
	f, clk, logs := limitedFixture(t, admin.Options{FailureLimit: 3, FailureWindow: time.Minute, BlockFor: 5 * time.Minute})
	// A missing token counts as well.
	wantError(t, f.do(http.MethodGet, "/api/v1/groups", "", map[string]string{"Authorization": ""}), http.StatusUnauthorized, "unauthorized", "missing bearer token")
	clk.advance(10 * time.Second)
	for range 2 {
		wantError(t, f.do(http.MethodGet, "/api/v1/groups", "", badToken), http.StatusUnauthorized, "unauthorized", "invalid bearer token")
	}
	// Blocked now: even the right token gets 429, so that blocking tells
	// a guesser nothing.
	r := f.do(http.MethodGet, "/api/v1/groups", "", nil)
	wantError(t, r, http.StatusTooManyRequests, "too_many_failures", "retry in 300 seconds")
	if got := r.header.Get("Retry-After"); got != "300" {
		t.Errorf("Retry-After %q, want 300", got)
	}
	clk.advance(4 * time.Minute)
	r = f.do(http.MethodGet, "/api/v1/groups", "", badToken)
	wantError(t, r, http.StatusTooManyRequests, "too_many_failures", "retry in 60 seconds")
	if got := r.header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	clk.advance(time.Minute)
	f.get("/api/v1/groups") // the block is over

	// One line for the first failure, one for the block; none for the
	// refused requests.
	log := logs.String()
	if n := strings.Count(log, "admin: authentication failed"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "source blocked"); n != 1 {
		t.Errorf("%d block lines, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "source=127.0.0.1 ") || !strings.Contains(log, `reason="missing bearer token"`) {
		t.Errorf("failure not logged at WARN with its source and reason:\n%s", log)
	}
}

// Failures are counted per window of FailureWindow from the first, and a
// successful authentication forgets them.
func TestFailureWindowAndSuccessReset(t *testing.T) {
	f, clk, logs := limitedFixture(t, admin.Options{FailureLimit: 3, FailureWindow: time.Minute})
	fail := func() {
		t.Helper()
		wantError(t, f.do(http.MethodGet, "/api/v1/groups", "", badToken), http.StatusUnauthorized, "unauthorized", "invalid bearer token")
	}
	fail()
	fail()
	clk.advance(time.Minute) // a new window
	fail()
	fail()
	f.get("/api/v1/groups") // success forgets the two
	fail()
	fail()
	f.get("/api/v1/groups")
	if n := strings.Count(logs.String(), "admin: authentication failed"); n != 3 {
		t.Errorf("%d failure lines, want one per window (3):\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "blocked") {
		t.Errorf("a source was blocked:\n%s", logs)
	}
}

// The source is the connection's address: X-Forwarded-For changes nothing.
func TestForwardedForIsNotTrusted(t *testing.T) {
	f, _, logs := limitedFixture(t, admin.Options{FailureLimit: 5})
	for i := range 5 {
		h := map[string]string{"Authorization": "Bearer nope", "X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)}
		wantError(t, f.do(http.MethodGet, "/api/v1/groups", "", h), http.StatusUnauthorized, "unauthorized", "invalid bearer token")
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/groups", "", nil), http.StatusTooManyRequests, "too_many_failures", "too many failed authentications")
	if strings.Contains(logs.String(), "198.51.100.") {
		t.Errorf("the log names a forwarded address:\n%s", logs)
	}
}

// A flood of bad tokens gives two log lines, with the default limits.
func TestAuthenticationFloodLogsTwoLines(t *testing.T) {
	f, _, logs := limitedFixture(t, admin.Options{})
	codes := map[int]int{}
	for range 200 {
		codes[f.do(http.MethodPost, "/api/v1/groups", `{"name":"x"}`, badToken).status]++
	}
	if codes[http.StatusUnauthorized] != admin.DefaultFailureLimit || codes[http.StatusTooManyRequests] != 200-admin.DefaultFailureLimit {
		t.Errorf("statuses %v, want %d × 401 then 429", codes, admin.DefaultFailureLimit)
	}
	if n := strings.Count(strings.TrimSpace(logs.String()), "\n") + 1; n != 2 {
		t.Errorf("%d log lines, want 2:\n%s", n, logs)
	}
}

// unavailableStore is the real store whose Computers fails as a store that
// cannot reach its database does.
type unavailableStore struct {
	catalog.Store
	err error
}

func (s unavailableStore) Computers(context.Context) ([]catalog.Computer, error) {
	return nil, s.err
}

// A catalog store that is unavailable answers 503 with Retry-After, any
// other failure 500.
func TestStoreUnavailableIs503(t *testing.T) {
	f := newFixture(t)
	logs := &syncbuf.Buffer{}
	for _, c := range []struct {
		err    error
		status int
		code   string
		reason string
	}{
		{fmt.Errorf("postgres: computers: %w: %w", catalog.ErrUnavailable, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")),
			http.StatusServiceUnavailable, "store_unavailable", "catalog store unavailable"},
		{errors.New("postgres: computers: column \"x\" does not exist"), http.StatusInternalServerError, "store_error", "the catalog store failed"},
	} {
		srv := httptest.NewServer(admin.NewWith(unavailableStore{f.store, c.err}, admin.Options{Token: testToken, Logger: slog.New(slog.NewTextHandler(logs, nil))}))
		f.srv = srv
		// A computer named by host name is looked up among all of them.
		r := f.do(http.MethodGet, "/api/v1/computers/alpha", "", nil)
		srv.Close()
		wantError(t, r, c.status, c.code, c.reason)
		if got, want := r.header.Get("Retry-After"), map[bool]string{true: "5"}[c.status == http.StatusServiceUnavailable]; got != want {
			t.Errorf("status %d: Retry-After %q, want %q", c.status, got, want)
		}
	}
	if !strings.Contains(logs.String(), `level=WARN msg="admin: catalog store unavailable" op=Computers`) || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the outage is not logged as a warning with its cause:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="admin: store failure" op=Computers`) {
		t.Errorf("the failure is not logged as an error:\n%s", logs)
	}
}
