package wusp_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"wsus/catalog/scan"
	"wsus/clientsim/catalogen"
	"wsus/soap"
	"wsus/soap/wusp"
	"wsus/storage"
	"wsus/sync/importer"
)

// benchCall posts body to path over the env's keep-alive client b.N times
// and fails on anything but 200.
func benchCall(b *testing.B, e *env, path, action, body string) {
	b.Helper()
	client := e.srv.Client()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", action)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
}

func wrap(ns, op, inner string) string {
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><` + op + ` xmlns="` + ns + `">` + inner + `</` + op + `></s:Body></s:Envelope>`
}

// BenchmarkGetConfig: the first call of every scan.
func BenchmarkGetConfig(b *testing.B) {
	e := newEnv(b, envOptions{})
	benchCall(b, e, clientPath, `"`+soap.NSClient+`/GetConfig"`, wrap(soap.NSClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>"))
}

// BenchmarkGetCookie: exchanging an authorization cookie for a session cookie.
func BenchmarkGetCookie(b *testing.B) {
	e := newEnv(b, envOptions{})
	_, el := e.call("/SimpleAuthWebService/SimpleAuth.asmx", soap.NSSimpleAuth, "GetAuthorizationCookie", "<clientId>bench-client</clientId><dnsName>bench</dnsName>")
	auth := el.FindElement("GetAuthorizationCookieResult/CookieData").Text()
	body := wrap(soap.NSClient, "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+auth+
		"</CookieData></AuthorizationCookie></authCookies><oldCookie><Expiration>2026-10-04T15:03:36Z</Expiration></oldCookie><lastChange>"+
		soap.FormatDateTime(e.info.ConfigChanged)+"</lastChange><currentTime>2026-10-04T15:03:36Z</currentTime><protocolVersion>2.90</protocolVersion>")
	benchCall(b, e, clientPath, `"`+soap.NSClient+`/GetCookie"`, body)
}

// BenchmarkSyncUpdatesDelta: a repeat scan with nothing new, the request a
// client sends on every detection cycle once it holds the whole catalog.
func BenchmarkSyncUpdatesDelta(b *testing.B) {
	e := newEnv(b, envOptions{})
	_, ck := e.login("")
	installed := []int32{e.ids[idMicrosoft], e.ids[idWindows]}
	other := []int32{e.ids[idOOBEZDP], e.ids[idDemo]}
	request := func(ck string) string {
		return wrap(soap.NSClient, "SyncUpdates", ck+"<parameters><ExpressQuery>false</ExpressQuery>"+
			ints("InstalledNonLeafUpdateIDs", installed)+ints("OtherCachedUpdateIDs", other)+
			"<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>false</NeedTwoGroupOutOfScopeUpdates></parameters>")
	}
	// The client sends the cookie of its last round, as a real one does:
	// the first round moves the sync anchor, the next ones change nothing.
	status, el := e.post(clientPath, `"`+soap.NSClient+`/SyncUpdates"`, request(ck))
	if status != 200 {
		b.Fatalf("first round: HTTP %d %v", status, el.Tag)
	}
	body := request(newCookie(b, el))
	if status, el := e.post(clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body); status != 200 || len(newUpdates(e.t, el)) != 0 ||
		el.FindElement("SyncUpdatesResult/ChangedUpdates") != nil {
		b.Fatalf("delta request is not a delta: HTTP %d %v", status, el.Tag)
	}
	benchCall(b, e, clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
}

// BenchmarkSyncUpdatesFirstPage: the first full page (scan.DefaultPageSize
// updates with their Core fragments, about 200 KB) of a client's first scan
// of a generated 6,000-update catalog approved for All Computers.
func BenchmarkSyncUpdatesFirstPage(b *testing.B) { benchmarkGenerated(b, false) }

// BenchmarkSyncUpdatesDeltaLarge: a delta round of a client that caches
// every update of a generated 6,000-update catalog (about 4,000 revision
// IDs in the request): what a steady-state scan costs on a real-sized
// catalog.
func BenchmarkSyncUpdatesDeltaLarge(b *testing.B) { benchmarkGenerated(b, true) }

// benchmarkGenerated scans a generated 6,000-update catalog as a client
// does and times the round that answers the first full page or, with
// delta, the round after the client caches everything.
func benchmarkGenerated(b *testing.B, delta bool) {
	e := newEnv(b, envOptions{})
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := catalogen.Write(ctx, filepath.Join(dir, "catalog"), catalogen.Options{Updates: 6000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	blobs, err := storage.NewFS(filepath.Join(dir, "content"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := importer.Import(ctx, e.store, blobs, []string{filepath.Join(dir, "catalog")}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		b.Fatal(err)
	}
	_, ck := e.login("")
	// Scan as a client does until a round answers a full page: each round
	// sends the cookie of the last answer, the non-leaf updates delivered so
	// far as installed (up to the cap) and the others as cached.
	var installed, other []int32
	for round := 0; ; round++ {
		body := wrap(soap.NSClient, "SyncUpdates", ck+"<parameters><ExpressQuery>false</ExpressQuery>"+
			ints("InstalledNonLeafUpdateIDs", installed)+ints("OtherCachedUpdateIDs", other)+
			"<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>false</NeedTwoGroupOutOfScopeUpdates></parameters>")
		status, el := e.post(clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
		if status != 200 {
			b.Fatalf("round %d: HTTP %d %s", round, status, faultCode(el))
		}
		got := newUpdates(b, el)
		if !delta && len(got) == scan.DefaultPageSize {
			benchCall(b, e, clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
			return
		}
		if delta && len(got) == 0 && round > 0 {
			// The cookie of this answer: the next ones change nothing.
			body = strings.Replace(body, ck, newCookie(b, el), 1)
			benchCall(b, e, clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
			return
		}
		if len(got) == 0 || round == 100 {
			b.Fatalf("round %d delivered %d updates: no full page", round, len(got))
		}
		nc := el.FindElement("SyncUpdatesResult/NewCookie")
		ck = "<cookie><Expiration>" + nc.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" +
			nc.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
		for _, u := range got {
			if !u.isLeaf && len(installed) < wusp.MaxInstalledNonLeaf {
				installed = append(installed, u.id)
			} else {
				other = append(other, u.id)
			}
		}
	}
}
