package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"wsus/sync/upstream"
	"wsus/sync/wsusss"
)

// syncClient returns a sync client of the server at base that does not
// retry.
func syncClient(t *testing.T, base string) *upstream.Client {
	t.Helper()
	c, err := upstream.New(upstream.Config{URL: base, AccountName: "dss.test.invalid", MaxElapsed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUpstreamRole: `wsusd serve` answers MS-WSUSSS on the paths WSUS
// serves it under, in any letter case, and the sync client synchronizes
// the demo catalog from it.
func TestUpstreamRole(t *testing.T) {
	base, stores, _ := startDemo(t)
	ctx := t.Context()

	for _, path := range []string{"/ServerSyncWebService/ServerSyncWebService.asmx", "/serversyncwebservice/SERVERSYNCWEBSERVICE.ASMX"} {
		status, body := post(t, base+path, wsusss.GetAuthConfigRequest())
		if ac, err := wsusss.ParseGetAuthConfigResponse(body); status != http.StatusOK || err != nil || ac.AuthInfo[0].PlugInID != wsusss.DssTargeting {
			t.Errorf("%s: %d %v %s", path, status, err, body)
		}
	}

	c := syncClient(t, base)
	if err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := c.GetRevisionIDList(ctx, wsusss.Filter{GetConfig: true})
	if err != nil {
		t.Fatal(err)
	}
	sums, err := stores.Catalog.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	categories := 0
	for _, s := range sums {
		if s.Type == "Category" || s.Type == "Detectoid" {
			categories++
		}
	}
	if len(list.NewRevisions) != categories || categories == 0 {
		t.Fatalf("%d categories listed, %d stored", len(list.NewRevisions), categories)
	}
	data, err := c.GetUpdateData(ctx, list.NewRevisions)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range data.Updates {
		if !strings.HasPrefix(string(u.XML), "<upd:Update") {
			t.Errorf("%v: document starts %.40q", u.ID, u.XML)
		}
	}
}

// TestReplicasShareUpstreamCookies: a downstream server authenticated
// with one replica goes on with another (one PostgreSQL, one cookie key).
func TestReplicasShareUpstreamCookies(t *testing.T) {
	a, b, _ := replicaPair(t, strings.Repeat("6b", 32))
	_, body := post(t, a+"/DssAuthWebService/DssAuthWebService.asmx", wsusss.GetAuthorizationCookieRequest("dss.test.invalid", [16]byte{1}))
	auth, err := wsusss.ParseGetAuthorizationCookieResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	_, body = post(t, b+"/ServerSyncWebService/ServerSyncWebService.asmx", wsusss.GetCookieRequest(auth, nil, upstream.DefaultProtocolVersion))
	cookie, err := wsusss.ParseGetCookieResponse(body)
	if err != nil {
		t.Fatalf("replica B refuses replica A's authorization cookie: %v", err)
	}
	_, body = post(t, a+"/ServerSyncWebService/ServerSyncWebService.asmx", wsusss.GetRevisionIdListRequest(cookie, wsusss.Filter{GetConfig: true}))
	if l, err := wsusss.ParseGetRevisionIdListResponse(body); err != nil || len(l.NewRevisions) == 0 {
		t.Fatalf("replica A refuses replica B's cookie: %v", err)
	}
}

// post sends a wsusss request to url.
func post(t *testing.T, url string, req wsusss.Request) (int, []byte) {
	t.Helper()
	hr, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hr.Header.Set("SOAPAction", `"`+req.Action+`"`)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}
