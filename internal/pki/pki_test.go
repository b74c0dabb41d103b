package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"
)

func TestInitIssuesUnderOneCA(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first, err := Init(dir, []string{"wsus.example.com", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !first.NewCA {
		t.Error("first Init reused a CA")
	}
	second, err := Init(dir, []string{"wsus2.example.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if second.NewCA {
		t.Error("second Init made a new CA; clients would need it deployed again")
	}
	caPEM, err := os.ReadFile(first.CACert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA certificate is not PEM")
	}
	pair, err := tls.LoadX509KeyPair(second.ServerCert, second.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		ok   bool
	}{{"wsus2.example.com", true}, {"wsus.example.com", false}} {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tc.ok {
			t.Errorf("verify for %s: %v, want ok %t", tc.host, err, tc.ok)
		}
	}
	for _, f := range []string{second.ServerKey, second.CAKey} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if _, err := Init(dir, nil, now); err == nil {
		t.Error("Init without host names succeeded")
	}
}
