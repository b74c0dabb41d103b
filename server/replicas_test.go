package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"wsus/clientsim"
	"wsus/internal/testpg"
	"wsus/server"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// TestClientsimScanOnPostgres: the whole native sequence against a server
// whose catalog is PostgreSQL behaves as on the embedded store.
func TestClientsimScanOnPostgres(t *testing.T) {
	base, _ := startServer(t, server.Config{DataDir: t.TempDir(), DatabaseURL: testpg.URL(t), AdminToken: "t"}, "All Computers")
	sum, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: base})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if sum.UpdatesOffered != 1 || sum.BytesVerified != 3080000 || sum.SoftwareRounds != 3 {
		t.Errorf("summary %+v, want the demo update offered and verified over 3 rounds", sum)
	}
}

// soapCall posts one ClientWebService/SimpleAuth request and returns the
// operation's response element; a fault fails the test.
func soapCall(t *testing.T, url, ns, op, inner string) *etree.Element {
	t.Helper()
	body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><` + op + ` xmlns="` + ns + `">` + inner + `</` + op + `></s:Body></s:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+ns+"/"+op+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	el := doc.FindElement("/Envelope/Body/*")
	if resp.StatusCode != 200 || el == nil || el.Tag != op+"Response" {
		t.Fatalf("%s: HTTP %d\n%s", op, resp.StatusCode, data)
	}
	return el
}

const (
	nsClient = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"
	nsAuth   = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService"
)

// replicaPair starts two servers over one new PostgreSQL database with the
// cookie key key (admin tokens "token-a" and "token-b") and returns their
// URLs and the revision ID of every update by UpdateID.
func replicaPair(t *testing.T, key string) (a, b string, ids map[string]int32) {
	t.Helper()
	url := testpg.URL(t)
	a, storesA := startServer(t, server.Config{DataDir: t.TempDir(), DatabaseURL: url, CookieKey: key, AdminToken: "token-a"}, "")
	b, _ = startServer(t, server.Config{DataDir: t.TempDir(), DatabaseURL: url, CookieKey: key, AdminToken: "token-b"}, "")
	sums, err := storesA.Catalog.Summaries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]int32{}
	for _, s := range sums {
		ids[s.UpdateID.String()] = s.ID
	}
	return a, b, ids
}

// TestTwoReplicasShareOnePostgres: two server processes over one PostgreSQL
// with one cookie key behave as one server. A cookie minted by node A works
// on node B, and an approval made through node A's admin API changes node
// B's very next SyncUpdates.
func TestTwoReplicasShareOnePostgres(t *testing.T) {
	a, b, ids := replicaPair(t, strings.Repeat("5a", 32))
	microsoft, windows, demo := ids["56309036-4c77-4dd9-951a-99ee9c246a94"], ids["6964aab4-c5b5-43bd-a17d-ffb4346a8e1d"], ids[demoUpdateID]

	// Authorize on A, register and scan on B.
	lastChange := soapCall(t, a+"/ClientWebService/client.asmx", nsClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>").FindElement("GetConfigResult/LastChange").Text()
	auth := soapCall(t, a+"/SimpleAuthWebService/SimpleAuth.asmx", nsAuth, "GetAuthorizationCookie", "<clientId>0b7e8f3a-1111-4222-8333-944455556666</clientId><dnsName>replica-client</dnsName>").FindElement("GetAuthorizationCookieResult/CookieData").Text()
	res := soapCall(t, a+"/ClientWebService/client.asmx", nsClient, "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+auth+
		"</CookieData></AuthorizationCookie></authCookies><lastChange>"+lastChange+"</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>").FindElement("GetCookieResult")
	cookie := "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
	soapCall(t, b+"/ClientWebService/client.asmx", nsClient, "RegisterComputer", cookie+"<computerInfo><DnsName>replica-client</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber></computerInfo>")

	sync := func(node string, other []int32) *etree.Element {
		t.Helper()
		params := fmt.Sprintf("<parameters><ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs><int>%d</int><int>%d</int></InstalledNonLeafUpdateIDs>", microsoft, windows)
		if len(other) > 0 {
			params += "<OtherCachedUpdateIDs>"
			for _, id := range other {
				params += fmt.Sprintf("<int>%d</int>", id)
			}
			params += "</OtherCachedUpdateIDs>"
		}
		el := soapCall(t, node+"/ClientWebService/client.asmx", nsClient, "SyncUpdates", cookie+params+"<SkipSoftwareSync>false</SkipSoftwareSync></parameters>")
		nc := el.FindElement("SyncUpdatesResult/NewCookie")
		cookie = "<cookie><Expiration>" + nc.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + nc.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
		return el
	}
	action := func(el *etree.Element, list string) string {
		for _, ui := range el.FindElements("SyncUpdatesResult/" + list + "/UpdateInfo") {
			if ui.FindElement("ID").Text() == fmt.Sprint(demo) {
				return ui.FindElement("Deployment/Action").Text()
			}
		}
		return ""
	}

	if got := action(sync(b, nil), "NewUpdates"); got != "PreDeploymentCheck" {
		t.Fatalf("before the approval node B offers the demo update as %q, want PreDeploymentCheck", got)
	}
	// The client now caches it; nothing changes on a repeat scan.
	if el := sync(b, []int32{demo, ids["dd78b8a1-0b20-45c1-add6-4da72e9364cf"]}); el.FindElement("SyncUpdatesResult/ChangedUpdates") != nil || el.FindElement("SyncUpdatesResult/NewUpdates") != nil {
		t.Fatal("a repeat scan with nothing changed reported updates")
	}

	// Approve through node A's admin API.
	req, _ := http.NewRequest(http.MethodPost, a+"/api/v1/approvals", strings.NewReader(`{"update_id":"`+demoUpdateID+`","group":"All Computers","action":"Install"}`))
	req.Header.Set("Authorization", "Bearer token-a")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("approve on node A: HTTP %d", resp.StatusCode)
	}

	// Node B's very next SyncUpdates reports the changed deployment.
	if got := action(sync(b, []int32{demo, ids["dd78b8a1-0b20-45c1-add6-4da72e9364cf"]}), "ChangedUpdates"); got != "Install" {
		t.Fatalf("after the approval on node A, node B reports the demo update as %q in ChangedUpdates, want Install", got)
	}
	// And a client without it in its cache gets it as Install.
	if got := action(sync(b, nil), "NewUpdates"); got != "Install" {
		t.Fatalf("node B offers %q to an uncached client, want Install", got)
	}
}

// adminCall sends one admin API request with a JSON body and returns the
// HTTP status.
func adminCall(t *testing.T, base, token, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAssignmentThroughOneReplicaReachesAnother: server-side targeting
// across replicas. The scan engine reads a computer's assigned groups from
// its snapshot, not from the store per request, so an assignment made
// through node A's admin API must renew node B's snapshot (by the change
// sequence) before B's next SyncUpdates of that computer.
func TestAssignmentThroughOneReplicaReachesAnother(t *testing.T) {
	a, b, ids := replicaPair(t, strings.Repeat("6b", 32))
	microsoft, windows, demo := ids["56309036-4c77-4dd9-951a-99ee9c246a94"], ids["6964aab4-c5b5-43bd-a17d-ffb4346a8e1d"], ids[demoUpdateID]

	// The demo update is approved for Pilot only, through node A.
	if got := adminCall(t, a, "token-a", http.MethodPost, "/api/v1/groups", `{"name":"Pilot"}`); got != http.StatusCreated {
		t.Fatalf("create Pilot on node A: HTTP %d", got)
	}
	if got := adminCall(t, a, "token-a", http.MethodPost, "/api/v1/approvals", `{"update_id":"`+demoUpdateID+`","group":"Pilot","action":"Install"}`); got != http.StatusCreated {
		t.Fatalf("approve for Pilot on node A: HTTP %d", got)
	}

	// Authorize and register on B.
	const clientID = "3c2d1e0f-7777-4888-9999-aaaabbbbcccc"
	lastChange := soapCall(t, b+"/ClientWebService/client.asmx", nsClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>").FindElement("GetConfigResult/LastChange").Text()
	auth := soapCall(t, b+"/SimpleAuthWebService/SimpleAuth.asmx", nsAuth, "GetAuthorizationCookie", "<clientId>"+clientID+"</clientId><dnsName>assigned-client</dnsName>").FindElement("GetAuthorizationCookieResult/CookieData").Text()
	res := soapCall(t, b+"/ClientWebService/client.asmx", nsClient, "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+auth+
		"</CookieData></AuthorizationCookie></authCookies><lastChange>"+lastChange+"</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>").FindElement("GetCookieResult")
	cookie := "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
	soapCall(t, b+"/ClientWebService/client.asmx", nsClient, "RegisterComputer", cookie+"<computerInfo><DnsName>assigned-client</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber></computerInfo>")

	// demoOnB is how node B offers the demo update to the client, which
	// caches nothing but the two categories it installed.
	demoOnB := func() string {
		t.Helper()
		params := fmt.Sprintf("<parameters><ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs><int>%d</int><int>%d</int></InstalledNonLeafUpdateIDs><SkipSoftwareSync>false</SkipSoftwareSync></parameters>", microsoft, windows)
		el := soapCall(t, b+"/ClientWebService/client.asmx", nsClient, "SyncUpdates", cookie+params)
		for _, ui := range el.FindElements("SyncUpdatesResult/NewUpdates/UpdateInfo") {
			if ui.FindElement("ID").Text() == fmt.Sprint(demo) {
				return ui.FindElement("Deployment/Action").Text()
			}
		}
		return ""
	}
	steps := []struct {
		name   string
		groups string // the PUT body sent to node A; "" sends none
		want   string
	}{
		{"in no group", "", "PreDeploymentCheck"},
		{"assigned to Pilot through node A", `{"groups":["Pilot"]}`, "Install"},
		{"still in Pilot", "", "Install"},
		{"removed from every group through node A", `{"groups":[]}`, "PreDeploymentCheck"},
	}
	for _, st := range steps {
		if st.groups != "" {
			if got := adminCall(t, a, "token-a", http.MethodPut, "/api/v1/computers/"+clientID+"/groups", st.groups); got != http.StatusOK {
				t.Fatalf("%s: HTTP %d", st.name, got)
			}
		}
		if got := demoOnB(); got != st.want {
			t.Errorf("%s: node B offers the demo update as %q, want %q", st.name, got, st.want)
		}
	}
}
