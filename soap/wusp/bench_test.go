package wusp_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"wsus/soap"
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
	body := wrap(soap.NSClient, "SyncUpdates", ck+"<parameters><ExpressQuery>false</ExpressQuery>"+
		ints("InstalledNonLeafUpdateIDs", installed)+ints("OtherCachedUpdateIDs", other)+
		"<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>false</NeedTwoGroupOutOfScopeUpdates></parameters>")
	if status, el := e.post(clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body); status != 200 || len(newUpdates(e.t, el)) != 0 {
		b.Fatalf("delta request is not a delta: HTTP %d %v", status, el.Tag)
	}
	benchCall(b, e, clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
}
