package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsus/clientsim"
	"wsus/internal/pki"
	"wsus/server"
	"wsus/sync/importer"
)

// httpsServer is a server with a plain and an HTTPS listener.
type httpsServer struct {
	plain, secure string // base URLs
	caFile        string
	tlsDir        string
	roots         *x509.CertPool
}

// startHTTPS serves the demo catalog (its update approved) on a plain and
// an HTTPS loopback listener, with a certificate from pki.Init.
func startHTTPS(t *testing.T) *httpsServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	certs, err := pki.Init(filepath.Join(dir, "tls"), []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{DataDir: filepath.Join(dir, "data"), AdminToken: "test-token",
		Listen: plain.Addr().String(), TLSListen: secure.Addr().String(), TLSCert: certs.ServerCert, TLSKey: certs.ServerKey}
	stores, err := server.OpenStores(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "testdata", "catalog")
	for _, sub := range []struct{ dir, group string }{{"microsoft", ""}, {"local", "All Computers"}} {
		if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, sub.dir)}, importer.Options{ApproveGroup: sub.group}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(ctx, cfg, stores, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListeners(ctx, server.Listeners{Client: plain, TLS: secure}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		stores.Close()
	})
	caPEM, err := os.ReadFile(certs.CACert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return &httpsServer{plain: "http://" + plain.Addr().String(), secure: "https://" + secure.Addr().String(),
		caFile: certs.CACert, tlsDir: filepath.Join(dir, "tls"), roots: roots}
}

// TestHTTPSListener runs a whole scan against the HTTPS listener: the web
// services answer over TLS, FileLocations send the client to the plain
// listener for content (as a WSUS with SSL does), and downloads verify.
func TestHTTPSListener(t *testing.T) {
	s := startHTTPS(t)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.roots}}}
	sum, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: s.secure, HTTPClient: hc})
	if err != nil {
		t.Fatalf("scan over HTTPS: %v", err)
	}
	if sum.UpdatesOffered != 1 || sum.FilesDownloaded != 1 || sum.BytesVerified != 3080000 {
		t.Errorf("over HTTPS: %d offered, %d files, %d bytes verified; want the demo update and its file", sum.UpdatesOffered, sum.FilesDownloaded, sum.BytesVerified)
	}

	// curl, an independent TLS client, against both listeners.
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed")
	}
	for _, tc := range []struct{ name, url string }{{"https", s.secure}, {"http", s.plain}} {
		out, err := exec.Command("curl", "-sS", "--cacert", s.caFile, "-H", "Content-Type: text/xml; charset=utf-8",
			"-H", `SOAPAction: "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig"`,
			"--data-binary", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetConfig xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><protocolVersion>1.20</protocolVersion></GetConfig></s:Body></s:Envelope>`,
			tc.url+"/ClientWebService/client.asmx").CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("<GetConfigResult>")) {
			t.Errorf("curl %s: %v\n%.500s", tc.name, err, out)
		}
	}
	// TLS below 1.2 is refused.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.secure, "https://"), &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
}

// TestTLSCertificateReload renews the certificate files while serving: the
// next handshake gets the new certificate, without a restart.
func TestTLSCertificateReload(t *testing.T) {
	s := startHTTPS(t)
	serial := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.secure, "https://"), &tls.Config{RootCAs: s.roots, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	if _, err := pki.Init(s.tlsDir, []string{"localhost", "127.0.0.1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for serial() == before {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 10 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClientsimCommandOverHTTPS runs the clientsim command with --ca-file
// against the HTTPS listener.
func TestClientsimCommandOverHTTPS(t *testing.T) {
	s := startHTTPS(t)
	cmd := exec.Command("go", "run", "../cmd/clientsim", "scan", "--server", s.secure, "--ca-file", s.caFile)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "bytes verified:   3080000") {
		t.Errorf("clientsim scan over HTTPS: %v\n%s", err, out)
	}
}
