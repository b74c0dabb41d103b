// Package upstream is the transport and session of a sync client: it posts
// the MS-WSUSSS messages that package wsusss builds to an upstream (Microsoft
// Update, a Windows WSUS, another wsus server) and returns what wsusss parses
// from the answers. It writes nothing to the catalog and holds no sync
// algorithm.
//
// What callers may rely on:
//   - Every request is a POST with Content-Type "text/xml; charset=utf-8"
//     and the SOAPAction header in double quotes ([MS-WSUSSS] 2.1;
//     ../shared/protocol/MS-WSUSSS.md section 7 step 2).
//   - An answer is read up to wsusss.MaxResponseBytes; a bigger one fails
//     (ErrTooLarge) and is not retried.
//   - A SOAP fault, whatever the HTTP status it comes with (a real WSUS
//     answers 500), is returned as a *wsusss.Fault (errors.As). A non-200
//     status without a fault is a *StatusError.
//   - Transient failures are retried with exponential backoff for at most
//     Config.MaxElapsed, and never past the caller's ctx: connection errors,
//     per-attempt timeouts, HTTP 502, 503 and 504, and the faults ServerBusy
//     and InternalServerError (MS-WSUSSS.md 2.4: "retry later"). Everything
//     else (malformed answers, other faults, other statuses) is returned at
//     once.
//   - The access cookie is obtained by Authenticate (GetAuthConfig, then
//     GetAuthorizationCookie on the DssAuth URL GetAuthConfig names, then
//     GetCookie; [MS-WSUSSS] 3.1.4.1-3), renewed RenewMargin before it
//     expires, and, when a call faults InvalidCookie or CookieExpired, the
//     client authenticates again once and repeats that call once
//     (MS-WSUSSS.md 2.4). Other faults, ServerChanged included (the caller
//     resets its anchors), are the caller's.
//
// A Client is safe for concurrent use.
package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"wsus/sync/wsusss"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one HTTP attempt. [I] A GetRevisionIdList of a
	// whole catalog (tens of MB, MS-WSUSSS.md 1) must fit in it.
	DefaultTimeout = 5 * time.Minute
	// DefaultMaxElapsed bounds the retries of one call.
	DefaultMaxElapsed = 2 * time.Minute
	// DefaultProtocolVersion is the protocolVersion sent in GetCookie: what
	// Windows Server 2025 reports (wsusss.GetCookieRequest).
	DefaultProtocolVersion = "1.20"
	// RenewMargin is how long before its expiration the access cookie is
	// renewed. [I] A real WSUS issues 240-minute cookies.
	RenewMargin = 5 * time.Minute
)

// ErrTooLarge is wrapped by the error of an answer longer than the body
// limit (wsusss.MaxResponseBytes).
var ErrTooLarge = errors.New("response too large")

// Config configures a Client. Only URL is required.
type Config struct {
	// URL is the upstream's root: https://sws.update.microsoft.com,
	// http://wsus:8530. Scheme http or https, with a host.
	URL string
	// CAFile is an optional PEM file of certificates trusted beside the
	// system roots. Ignored when HTTPClient is set.
	CAFile string
	// HTTPClient, when set, is used as is (tests); zero means a client with
	// the system roots plus CAFile and the standard proxy variables
	// (http.ProxyFromEnvironment).
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxElapsed bounds the retries of one call; zero means
	// DefaultMaxElapsed.
	MaxElapsed time.Duration
	// AccountName is the DSS name sent in GetAuthorizationCookie; zero
	// means os.Hostname.
	AccountName string
	// AccountGUID is the DSS identity sent in GetAuthorizationCookie; zero
	// means a random one per Client. Callers that synchronize repeatedly
	// should store one and pass it.
	AccountGUID uuid.UUID
	// ProtocolVersion is sent in GetCookie; zero means
	// DefaultProtocolVersion.
	ProtocolVersion string
	// Logger receives retries and authentications; zero means
	// slog.Default().
	Logger *slog.Logger
}

// Client talks to one upstream.
type Client struct {
	base        *url.URL
	hc          *http.Client
	timeout     time.Duration
	maxElapsed  time.Duration
	accountName string
	accountGUID uuid.UUID
	protocol    string
	log         *slog.Logger

	// Test seams: the body limit, the backoff's first and largest
	// interval, the clock.
	maxBody         int64
	initialInterval time.Duration
	maxInterval     time.Duration
	now             func() time.Time

	mu     sync.Mutex // held while authenticating, so one goroutine does it
	cookie *wsusss.Cookie
}

// New validates cfg and returns a Client. It does no I/O but reading
// CAFile.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("upstream: URL is not set")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream: URL %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("upstream: URL %q: scheme %q is not http or https", cfg.URL, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("upstream: URL %q: no host", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("upstream: URL %q: must not carry user info, query or fragment", cfg.URL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	c := &Client{
		base:            u,
		hc:              cfg.HTTPClient,
		timeout:         cfg.Timeout,
		maxElapsed:      cfg.MaxElapsed,
		accountName:     cfg.AccountName,
		accountGUID:     cfg.AccountGUID,
		protocol:        cfg.ProtocolVersion,
		log:             cfg.Logger,
		maxBody:         wsusss.MaxResponseBytes,
		initialInterval: time.Second,
		maxInterval:     30 * time.Second,
		now:             time.Now,
	}
	if c.timeout < 0 || c.maxElapsed < 0 {
		return nil, errors.New("upstream: Timeout and MaxElapsed must not be negative")
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxElapsed == 0 {
		c.maxElapsed = DefaultMaxElapsed
	}
	if c.accountName == "" {
		if c.accountName, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("upstream: AccountName is not set and the host name is unknown: %w", err)
		}
	}
	if c.accountGUID == uuid.Nil {
		c.accountGUID = uuid.New()
	}
	if c.protocol == "" {
		c.protocol = DefaultProtocolVersion
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.hc == nil {
		roots, err := rootPool(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		c.hc = &http.Client{Transport: tr}
	}
	return c, nil
}

// rootPool returns the system roots plus the certificates of caFile.
func rootPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("upstream: CAFile: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("upstream: CAFile %s: no PEM certificate", caFile)
	}
	return pool, nil
}

// resolve returns the absolute URL of ref (a service path) against the
// upstream's root.
func (c *Client) resolve(ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("service URL %q: %w", ref, err)
	}
	u := c.base.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("service URL %q: not an http(s) URL", ref)
	}
	return u.String(), nil
}
