package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, a handshake checks whether the
// certificate files changed.
const certCheckInterval = time.Second

// certReloader serves the certificate of a PEM certificate file and key
// file, reloading them when either changes: a renewed certificate is used
// from the next handshake on, without a restart. A pair that does not load
// (a renewal half written) keeps the previous one, with a warning.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu               sync.Mutex
	cert             *tls.Certificate
	certMod, keyMod  time.Time
	checked          time.Time
	lastFailedReload time.Time
}

// newCertReloader loads the pair once; an error names the file at fault.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	certMod, keyMod, err := c.modTimes()
	if err != nil {
		return nil, err
	}
	if err := c.load(certMod, keyMod); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) modTimes() (certMod, keyMod time.Time, err error) {
	ci, err := os.Stat(c.certFile)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("server: TLS certificate: %w", err)
	}
	ki, err := os.Stat(c.keyFile)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("server: TLS key: %w", err)
	}
	return ci.ModTime(), ki.ModTime(), nil
}

func (c *certReloader) load(certMod, keyMod time.Time) error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.certMod, c.keyMod = &pair, certMod, keyMod
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) < certCheckInterval {
		return c.cert, nil
	}
	c.checked = now
	certMod, keyMod, err := c.modTimes()
	if err == nil && certMod.Equal(c.certMod) && keyMod.Equal(c.keyMod) {
		return c.cert, nil
	}
	if err == nil {
		err = c.load(certMod, keyMod)
	}
	if err != nil {
		if now.Sub(c.lastFailedReload) > time.Minute {
			c.lastFailedReload = now
			c.log.Warn("TLS certificate not reloaded; serving the previous one", "err", err)
		}
		return c.cert, nil
	}
	c.log.Info("TLS certificate reloaded", "cert", c.certFile)
	return c.cert, nil
}

// tlsConfig is the TLS configuration of the HTTPS listener: TLS 1.2 at
// least (what Microsoft requires of WSUS and what current Windows clients
// use), HTTP/1.1 as IIS serves WSUS.
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// ParseTrustedProxies reads a comma-separated list of IP addresses and
// CIDR prefixes (--trusted-proxies).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// clientFacing says how a client reached the server: over TLS or not, at
// which host. Behind a TLS-terminating proxy it reads X-Forwarded-Proto and
// X-Forwarded-Host, but only from a trusted proxy's address; anyone else
// could claim anything.
func clientFacing(r *http.Request, trusted []netip.Prefix) (tlsUsed bool, host string) {
	tlsUsed, host = r.TLS != nil, r.Host
	if len(trusted) == 0 || !fromTrusted(r.RemoteAddr, trusted) {
		return tlsUsed, host
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		tlsUsed = strings.EqualFold(strings.TrimSpace(strings.Split(p, ",")[0]), "https")
	}
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return tlsUsed, host
}

func fromTrusted(remote string, trusted []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// contentBaseFunc returns how FileLocation URLs start for a request: the
// configured content URL when set; else, for a client that came over HTTPS
// (directly or through a trusted proxy), plain HTTP on the same host name
// and the plain listener's port, as a WSUS with SSL serves content (MS-WUSP
// 2.1: the web services on the SSL port, content on the plain one; content
// is signed and hashed); else the scheme and host the client used.
func contentBaseFunc(contentURL, plainListen string, trusted []netip.Prefix) func(*http.Request) string {
	if contentURL != "" {
		base := strings.TrimRight(contentURL, "/")
		return func(*http.Request) string { return base }
	}
	_, plainPort, err := net.SplitHostPort(plainListen)
	if err != nil {
		plainPort = ""
	}
	return func(r *http.Request) string {
		tlsUsed, host := clientFacing(r, trusted)
		if !tlsUsed {
			return "http://" + host
		}
		if plainPort == "" || plainPort == "0" {
			return "https://" + host
		}
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		return "http://" + net.JoinHostPort(strings.Trim(name, "[]"), plainPort)
	}
}

// errNoTLSCert is the error of an HTTPS listener without certificate.
var errNoTLSCert = errors.New("server: an HTTPS listener needs a certificate and key (Config.TLSCert, Config.TLSKey)")
