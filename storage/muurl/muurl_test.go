package muurl

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sampleDir = "../../testdata/muurl"
	// The real MUUrl in the sample, for the file whose SHA-1 is in its name.
	sampleSHA1 = "87f5bd0469585006aa5d3a77d1c662fd2895ddcd"
	sampleURL  = "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"
)

func TestLoadRealGetUpdateDataResponse(t *testing.T) {
	ix, err := Load(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 1 {
		t.Fatalf("%d URLs, want the sample's one", ix.Len())
	}
	sum, _ := hex.DecodeString(sampleSHA1)
	if got, err := ix.URL(t.Context(), sum); got != sampleURL || err != nil {
		t.Errorf("URL = %q, %v; want %q", got, err, sampleURL)
	}
	if got, _ := ix.URL(t.Context(), make([]byte, 20)); got != "" {
		t.Errorf("unknown digest: %q", got)
	}
	if got, _ := ix.URL(t.Context(), []byte("short")); got != "" {
		t.Errorf("malformed digest: %q", got)
	}
}

func TestAdd(t *testing.T) {
	doc := func(entries string) string {
		return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUpdateDataResponse xmlns="http://www.microsoft.com/SoftwareDistribution"><GetUpdateDataResult><fileUrls>` +
			entries + `</fileUrls></GetUpdateDataResult></GetUpdateDataResponse></s:Body></s:Envelope>`
	}
	const digest = "h/W9BGlYUAaqXTp30cZi/SiV3c0="
	tests := []struct {
		name string
		doc  string
		n    int
		err  string
	}{
		{"one URL", doc(`<ServerSyncUrlData><FileDigest>` + digest + `</FileDigest><MUUrl>https://dl.example/x.cab</MUUrl><UssUrl /></ServerSyncUrlData>`), 1, ""},
		{"no MUUrl: not on Microsoft Update", doc(`<ServerSyncUrlData><FileDigest>` + digest + `</FileDigest><UssUrl /></ServerSyncUrlData>`), 0, ""},
		{"empty fileUrls", doc(``), 0, ""},
		{"other namespace ignored", `<x><ServerSyncUrlData><FileDigest>bad</FileDigest><MUUrl>x</MUUrl></ServerSyncUrlData></x>`, 0, ""},
		{"digest not base64", doc(`<ServerSyncUrlData><FileDigest>%%%</FileDigest><MUUrl>http://a/b</MUUrl></ServerSyncUrlData>`), 0, "not a base64 SHA-1"},
		{"digest of 19 bytes", doc(`<ServerSyncUrlData><FileDigest>AAAAAAAAAAAAAAAAAAAAAAAAAA==</FileDigest><MUUrl>http://a/b</MUUrl></ServerSyncUrlData>`), 0, "not a base64 SHA-1"},
		{"relative URL", doc(`<ServerSyncUrlData><FileDigest>` + digest + `</FileDigest><MUUrl>/c/x.cab</MUUrl></ServerSyncUrlData>`), 0, "not an absolute http(s) URL"},
		{"file URL", doc(`<ServerSyncUrlData><FileDigest>` + digest + `</FileDigest><MUUrl>file:///etc/passwd</MUUrl></ServerSyncUrlData>`), 0, "not an absolute http(s) URL"},
		{"not XML", `<a><b></a>`, 0, "muurl:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := New().Add(strings.NewReader(tt.doc))
			if n != tt.n || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("Add = %d, %v; want %d, error containing %q", n, err, tt.n, tt.err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.xml"), []byte("<a>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "bad.xml") {
		t.Errorf("Load of a folder with broken XML: %v, want an error naming the file", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing path succeeded")
	}
}
