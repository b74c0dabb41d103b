package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/clientsim"
	"wsus/internal/tests3"
	"wsus/server"
	"wsus/storage/s3store"
)

// demoPayloadPath is the content URL path of the demo update's payload
// (testdata/catalog/local).
const demoPayloadPath = "/Content/A7/F46A38A8D1D08313E910B122BE46FCF42CCEC2A7.bin"

// s3Config is the S3 store configuration of a new bucket on srv.
func s3Config(srv *tests3.Server) s3store.Config {
	return s3store.Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		Bucket: fmt.Sprintf("server-%d", rand.Uint64()), Prefix: "wsus",
	}
}

// TestClientsimScanFromS3: with the S3 store selected, the import puts the
// demo payload in the bucket (not under the data directory) and a
// simulated Windows client downloads it from there, 1 MiB range by range,
// and verifies its digests.
func TestClientsimScanFromS3(t *testing.T) {
	srv := tests3.Start(t)
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t", S3: s3Config(srv)}
	base, stores := startServer(t, cfg, "All Computers")
	if _, ok := stores.Blobs.(*s3store.Store); !ok {
		t.Fatalf("blob store is %T, want the S3 store", stores.Blobs)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir(), cfg.S3.Bucket, "wsus", "a7", "f46a38a8d1d08313e910b122be46fcf42ccec2a7")); err != nil {
		t.Errorf("the demo payload is not in the bucket: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(cfg.DataDir, "content")); len(entries) != 0 {
		t.Errorf("the data directory holds content: %v", entries)
	}
	sum, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: base})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if sum.UpdatesOffered != 1 || sum.FilesDownloaded != 1 || sum.BytesDownloaded != 3080000 || sum.BytesVerified != 3080000 {
		t.Errorf("summary %+v, want the demo update's 3080000-byte payload downloaded and verified", sum)
	}
}

// noFollow is a client that reports redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get sends one request without following redirects.
func get(t *testing.T, method, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestContentModes: the redirect modes and the Microsoft Update fallback,
// end to end through a configured server.
func TestContentModes(t *testing.T) {
	srv := tests3.Start(t)
	// One file the demo catalog does not store, whose real Microsoft
	// Update URL is in testdata/muurl (a real GetUpdateData response).
	const muPath = "/Content/CD/87F5BD0469585006AA5D3A77D1C662FD2895DDCD.exe"
	const muURL = "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"
	tests := []struct {
		name     string
		cfg      server.Config
		path     string
		status   int
		location string // exact, or a prefix when it ends in "*"
	}{
		{"S3, served", server.Config{S3: s3Config(srv)}, demoPayloadPath, 200, ""},
		{"S3, presigned", server.Config{S3: s3Config(srv), ContentRedirect: "presign"}, demoPayloadPath, 302, srv.Endpoint + "/*"},
		{"alternate download server", server.Config{ContentRedirect: "http://dl.example.com:81/"}, demoPayloadPath, 302, "http://dl.example.com:81" + demoPayloadPath},
		{"not stored, no fallback", server.Config{}, muPath, 404, ""},
		{"not stored, Microsoft Update", server.Config{ContentMUURLs: "../testdata/muurl"}, muPath, 302, muURL},
		{"stored, Microsoft Update mode", server.Config{ContentMUURLs: "../testdata/muurl"}, demoPayloadPath, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.DataDir, cfg.AdminToken = t.TempDir(), "t"
			base, _ := startServer(t, cfg, "")
			for _, method := range []string{"GET", "HEAD"} {
				resp := get(t, method, base+tt.path)
				loc := resp.Header.Get("Location")
				ok := loc == tt.location
				if p, wild := strings.CutSuffix(tt.location, "*"); wild {
					ok = strings.HasPrefix(loc, p)
				}
				if resp.StatusCode != tt.status || !ok {
					t.Errorf("%s: %d Location %q; want %d %q", method, resp.StatusCode, loc, tt.status, tt.location)
				}
			}
		})
	}
}

func TestBadContentConfiguration(t *testing.T) {
	tests := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"S3 endpoint without bucket", server.Config{S3: s3store.Config{Endpoint: "http://127.0.0.1:1"}}, "without a bucket"},
		{"presign on the filesystem store", server.Config{ContentRedirect: "presign"}, "needs the S3 content store"},
		{"redirect to a non-URL", server.Config{ContentRedirect: "dl.example.com"}, "want \"presign\" or an http(s) URL"},
		{"missing Microsoft Update URLs", server.Config{ContentMUURLs: "/nonexistent/urls"}, "Microsoft Update URLs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := tt.cfg
			cfg.DataDir, cfg.AdminToken = t.TempDir(), "t"
			stores, err := server.OpenStores(ctx, cfg)
			if err == nil {
				defer stores.Close()
				_, err = server.New(ctx, cfg, stores, slog.New(slog.DiscardHandler))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestFileLocationsPointToMicrosoftUpdate: in Microsoft Update mode, the
// FileLocation of a file this server does not store is its real Microsoft
// Update URL (from the GetUpdateData response in testdata/muurl), as WSUS
// answers when "clients download from Microsoft Update"; a stored file
// keeps this server's /Content/ URL.
func TestFileLocationsPointToMicrosoftUpdate(t *testing.T) {
	const muURL = "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"
	ctx := context.Background()
	base, stores := startServer(t, server.Config{DataDir: t.TempDir(), AdminToken: "t", ContentMUURLs: "../testdata/muurl"}, "All Computers")

	// A software update listing that file. Test data built here, not
	// Microsoft metadata: only the file's name, size and SHA-1 are real
	// (flow 000015 of the wsus-rs capture lists it as AM_Delta.exe).
	sha1, _ := base64.StdEncoding.DecodeString("h/W9BGlYUAaqXTp30cZi/SiV3c0=")
	rev := &catalog.Revision{
		Identity: catalog.Identity{UpdateID: uuid.MustParse("4d3c2b1a-0000-4000-8000-00000000a11d"), RevisionNumber: 100},
		Type:     catalog.TypeSoftware, Title: "test update listing a Microsoft file", PublicationState: "Published",
		Files:     []catalog.File{{SHA1: sha1, FileName: "AM_Delta.exe", Size: 11610576}},
		CoreXML:   `<UpdateIdentity UpdateID="4d3c2b1a-0000-4000-8000-00000000a11d" RevisionNumber="100" /><Properties UpdateType="Software" />`,
		SourceXML: "<upd:Update/>",
	}
	if _, err := stores.Catalog.ImportRevisions(ctx, []*catalog.Revision{rev}); err != nil {
		t.Fatal(err)
	}
	sums, err := stores.Catalog.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var demoID int32
	for _, s := range sums {
		if s.UpdateID.String() == demoUpdateID {
			demoID = s.ID
		}
	}

	lastChange := soapCall(t, base+"/ClientWebService/client.asmx", nsClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>").FindElement("GetConfigResult/LastChange").Text()
	auth := soapCall(t, base+"/SimpleAuthWebService/SimpleAuth.asmx", nsAuth, "GetAuthorizationCookie", "<clientId>5b7e8f3a-1111-4222-8333-944455556666</clientId><dnsName>mu-client</dnsName>").FindElement("GetAuthorizationCookieResult/CookieData").Text()
	res := soapCall(t, base+"/ClientWebService/client.asmx", nsClient, "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+auth+
		"</CookieData></AuthorizationCookie></authCookies><lastChange>"+lastChange+"</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>").FindElement("GetCookieResult")
	cookie := "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
	geui := soapCall(t, base+"/ClientWebService/client.asmx", nsClient, "GetExtendedUpdateInfo", cookie+
		fmt.Sprintf("<revisionIDs><int>%d</int><int>%d</int></revisionIDs>", rev.ID, demoID)+
		"<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType></infoTypes><locales><string>en</string></locales>")
	got := map[string]string{}
	for _, fl := range geui.FindElements("GetExtendedUpdateInfoResult/FileLocations/FileLocation") {
		got[fl.FindElement("FileDigest").Text()] = fl.FindElement("Url").Text()
	}
	want := map[string]string{
		"h/W9BGlYUAaqXTp30cZi/SiV3c0=": muURL,
		"9Go4qNHQgxPpELEivkb89CzOwqc=": base + demoPayloadPath,
	}
	if !maps.Equal(got, want) {
		t.Errorf("FileLocations %v, want %v", got, want)
	}
}
