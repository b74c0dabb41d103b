// Package pki makes the private certificate authority and server
// certificate of `wsusd tls init`, for labs and small sites that have no
// PKI: the CA certificate is deployed to Windows clients (Group Policy:
// Trusted Root Certification Authorities), the server certificate and key
// go to `wsusd serve --tls-cert --tls-key`.
//
// A folder initialized once keeps its CA: running Init again issues a new
// server certificate under the same CA (for new host names, or to renew),
// so clients need the CA deployed once.
package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names Init writes in its folder.
const (
	CACert     = "ca.crt"
	CAKey      = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
)

// Validity of what Init issues.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 825 * 24 * time.Hour
)

// keyBits is the RSA key size: RSA rather than ECDSA, as every Windows
// version and TLS stack that may talk to a WSUS accepts it.
const keyBits = 2048

// Result names the files Init wrote.
type Result struct {
	CACert, CAKey, ServerCert, ServerKey string
	// NewCA is true when the CA was made now (else the folder's was used).
	NewCA bool
	// NotAfter is when the server certificate expires.
	NotAfter time.Time
}

// Init makes (or reuses) the CA in dir and issues a server certificate for
// hosts (DNS names or IP addresses; at least one) valid from now. Keys are
// written readable by their owner only.
func Init(dir string, hosts []string, now time.Time) (Result, error) {
	if len(hosts) == 0 {
		return Result{}, errors.New("pki: no host name: the certificate must name the host clients use in the intranet update service URL")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Result{}, fmt.Errorf("pki: %w", err)
	}
	res := Result{CACert: filepath.Join(dir, CACert), CAKey: filepath.Join(dir, CAKey),
		ServerCert: filepath.Join(dir, ServerCert), ServerKey: filepath.Join(dir, ServerKey)}
	ca, caKey, err := loadCA(res.CACert, res.CAKey)
	if errors.Is(err, os.ErrNotExist) {
		ca, caKey, err = newCA(now)
		if err == nil {
			res.NewCA = true
			err = writePair(res.CACert, res.CAKey, ca.Raw, caKey)
		}
	}
	if err != nil {
		return Result{}, err
	}
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return Result{}, fmt.Errorf("pki: server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"wsus"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return Result{}, fmt.Errorf("pki: server certificate: %w", err)
	}
	if err := writePair(res.ServerCert, res.ServerKey, der, key); err != nil {
		return Result{}, err
	}
	res.NotAfter = tmpl.NotAfter
	return res, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

func newCA(now time.Time) (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "wsus private CA", Organization: []string{"wsus"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func loadCA(certFile, keyFile string) (*x509.Certificate, *rsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s exists but its key does not: %w", certFile, err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("pki: %s or %s is not PEM", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", certFile, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", keyFile, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, nil, fmt.Errorf("pki: %s is not the RSA CA this command makes", certFile)
	}
	return cert, rk, nil
}

// writePair writes a certificate (PEM, world-readable: it is public) and
// its key (PKCS #8 PEM, owner only), each through a temporary file renamed
// into place.
func writePair(certFile, keyFile string, der []byte, key *rsa.PrivateKey) error {
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return err
	}
	return writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(name string, data []byte, mode os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}
