package serversync

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
	"wsus/storage"
	"wsus/sync/wsusss"
)

// fixture is a harness over the embedded store holding the generated
// catalog and the real Defender leaf (its file's MUUrl known), one approval
// and one declined update.
type fixture struct {
	*harness
	revs   []*catalog.Revision
	leaf   *catalog.Revision
	bundle *catalog.Revision
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	ctx := t.Context()
	st := engines[0].open(t)
	revs := parseDocs(t, append(generatedDocs(t, 400, 7), readFile(t, realLeaf)))
	if _, err := st.ImportRevisions(ctx, revs); err != nil {
		t.Fatal(err)
	}
	f := &fixture{revs: revs, leaf: revs[len(revs)-1]}
	for _, r := range revs {
		if len(r.BundledUpdates) > 0 {
			f.bundle = r
			break
		}
	}
	if err := st.SetFileSources(ctx, []catalog.FileSource{{SHA1: f.leaf.Files[0].SHA1, MUURL: realLeafMUURL}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetApproval(ctx, catalog.Approval{UpdateID: f.bundle.UpdateID, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeclined(ctx, f.leaf.UpdateID, true); err != nil {
		t.Fatal(err)
	}
	f.harness = newHarness(t, st, cfg)
	return f
}

// cut returns the element name of an XML text, from its start tag to its
// end tag.
func cut(t *testing.T, doc []byte, name string) []byte {
	t.Helper()
	i := bytes.Index(doc, []byte("<"+name))
	j := bytes.Index(doc, []byte("</"+name+">"))
	if i < 0 || j < i {
		t.Fatalf("no %s in %.500s", name, doc)
	}
	return doc[i : j+len(name)+3]
}

// TestAnswersFollowRealWSUS compares the element structure (names,
// namespaces, order) of each answer with the real WSUS answer to the same
// call, or the spec's example where no real one was recorded.
func TestAnswersFollowRealWSUS(t *testing.T) {
	f := newFixture(t, Config{})
	ck := f.cookie()
	leafID := wsusss.UpdateIdentity{UpdateID: f.leaf.UpdateID, RevisionNumber: f.leaf.RevisionNumber}
	bundleID := wsusss.UpdateIdentity{UpdateID: f.bundle.UpdateID, RevisionNumber: f.bundle.RevisionNumber}
	_, listBody := f.call(wsusss.GetRevisionIdListRequest(ck, wsusss.Filter{}))
	list, err := wsusss.ParseGetRevisionIdListResponse(listBody)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		req    wsusss.Request
		sample string
		// element is the element compared (the whole envelope when empty).
		element string
		rename  map[string]string
		absent  []string
		status  int
	}{
		{name: "GetAuthConfig", req: wsusss.GetAuthConfigRequest(), sample: "wsusss-GetAuthConfigResponse.xml"},
		{name: "GetCookie", req: wsusss.GetCookieRequest(f.authCookie(), nil, "1.20"), sample: "wsusss-GetCookieResponse.xml"},
		{name: "GetConfigData", req: wsusss.GetConfigDataRequest(ck, ""), sample: "wsusss-GetConfigDataResponse-wsus-upstream.xml"},
		{name: "GetRevisionIdList", req: wsusss.GetRevisionIdListRequest(ck, wsusss.Filter{GetConfig: true}),
			sample: "wsusss-GetRevisionIdListResponse-getconfig-categories.xml"},
		// This server sends documents plain (XmlUpdateBlob), Windows
		// compresses those over 5,120 bytes.
		{name: "GetUpdateData leaf with a file URL", req: wsusss.GetUpdateDataRequest(ck, []wsusss.UpdateIdentity{leafID}),
			sample: "wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml", rename: map[string]string{"XmlUpdateBlob": "XmlUpdateBlobCompressed"}},
		{name: "GetUpdateData bundle", req: wsusss.GetUpdateDataRequest(ck, []wsusss.UpdateIdentity{bundleID}),
			sample: "wsusss-GetUpdateDataResponse-bundle-compressed-3-blocks.xml", rename: map[string]string{"XmlUpdateBlob": "XmlUpdateBlobCompressed"}},
		{name: "fault: malformed anchor", req: wsusss.GetRevisionIdListRequest(ck, wsusss.Filter{Anchor: "garbage"}),
			sample: "wsusss-Fault-InvalidParameters-GetRevisionIdList.xml", status: 500},
		{name: "GetDeployments", req: wsusss.GetDeploymentsRequest(ck, "", list.Anchor),
			sample: "mswsusss-spec-example-GetDeployments.xml", element: "GetDeploymentsResponse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.call(tc.req)
			if want := max(tc.status, 200); status != want {
				t.Fatalf("status %d, want %d: %s", status, want, body)
			}
			want := sample(t, tc.sample)
			if tc.element != "" {
				body, want = cut(t, body, tc.element), cut(t, want, tc.element)
			}
			sameShape(t, body, want, tc.rename, tc.absent...)
			if tc.status == 500 {
				// As the real one: the URL the request was posted to.
				actor := string(cut(t, body, "faultactor"))
				if !strings.HasSuffix(actor, "/ServerSyncWebService/ServerSyncWebService.asmx</faultactor>") || !strings.Contains(actor, "http://") {
					t.Errorf("%s, want the service's URL", actor)
				}
			}
		})
	}
}

// authCookie returns a fresh authorization cookie.
func (h *harness) authCookie() wsusss.AuthorizationCookie {
	h.t.Helper()
	_, body := h.call(wsusss.GetAuthorizationCookieRequest("dss.test.invalid", uuid.New()))
	auth, err := wsusss.ParseGetAuthorizationCookieResponse(body)
	if err != nil {
		h.t.Fatal(err)
	}
	return auth
}

// TestFaults checks the ErrorCode (and Message) of every refusal.
func TestFaults(t *testing.T) {
	f := newFixture(t, Config{})
	leafID := wsusss.UpdateIdentity{UpdateID: f.leaf.UpdateID, RevisionNumber: f.leaf.RevisionNumber}
	tooMany := make([]wsusss.UpdateIdentity, MaxUpdatesPerRequest+1)
	for i := range tooMany {
		tooMany[i] = leafID
	}
	auth := f.authCookie()

	// A cookie of another key, one of another installation, one expired.
	otherKey := newHarness(t, f.store, Config{CookieKey: bytes.Repeat([]byte{9}, 32)}).cookie()
	other := newHarness(t, otherInstallation{f.store}, Config{}).cookie()
	stale := f.cookie()
	f.clock.Advance(CookieLifetime + time.Second)
	fresh := f.cookie()

	stored := f.leaf.Files[0].SHA1
	f.blobs[storage.KeyForSHA1(stored)] = true
	missing := bytes.Repeat([]byte{0xab}, 20)
	digests := func(ds ...[]byte) string {
		var b strings.Builder
		b.WriteString("<fileDigestList>")
		for _, d := range ds {
			b.WriteString("<base64Binary>" + base64.StdEncoding.EncodeToString(d) + "</base64Binary>")
		}
		b.WriteString("</fileDigestList>")
		return b.String()
	}

	for _, tc := range []struct {
		name    string
		req     wsusss.Request
		code    soap.ErrorCode
		message string
	}{
		{"account name not an FQDN", wsusss.GetAuthorizationCookieRequest("not a name", uuid.New()), soap.InvalidParameters, "machineName"},
		{"account GUID missing", wsusss.Request{Action: wsusss.NSDssAuth + "/GetAuthorizationCookie", Body: []byte(strings.Replace(
			string(wsusss.GetAuthorizationCookieRequest("dss.example", uuid.New()).Body), "<accountGuid>", "<accountGuid>x", 1))},
			soap.InvalidParameters, "accountGuid"},
		{"authorization cookie unreadable", wsusss.GetCookieRequest(wsusss.AuthorizationCookie{PlugInID: "DssTargeting", CookieData: []byte("junk")}, nil, "1.20"),
			soap.InvalidAuthorizationCookie, ""},
		{"protocol version malformed", wsusss.GetCookieRequest(auth, nil, "one"), soap.InvalidParameters, "protocolVersion"},
		{"protocol version 2", wsusss.GetCookieRequest(auth, nil, "2.0"), wsusss.IncompatibleProtocolVersion, ""},
		{"no cookie", envelope("GetConfigData", wsusss.Cookie{}, ""), soap.InvalidCookie, ""},
		{"cookie of another key", wsusss.GetConfigDataRequest(otherKey, ""), soap.InvalidCookie, ""},
		{"cookie of another installation", wsusss.GetConfigDataRequest(other, ""), soap.ServerChanged, ""},
		{"expired cookie", wsusss.GetConfigDataRequest(stale, ""), soap.InvalidCookie, ""},
		{"expired cookie, GetUpdateData", wsusss.GetUpdateDataRequest(stale, []wsusss.UpdateIdentity{leafID}), soap.InvalidCookie, ""},
		{"malformed config anchor", wsusss.GetConfigDataRequest(fresh, "yesterday"), soap.InvalidParameters, "configAnchor"},
		{"malformed anchor", wsusss.GetRevisionIdListRequest(fresh, wsusss.Filter{Anchor: "garbage"}), soap.InvalidParameters, "filter"},
		{"Microsoft Update's anchor", wsusss.GetRevisionIdListRequest(fresh, wsusss.Filter{Anchor: "2026-10-05 17:27:44.393"}), soap.InvalidParameters, "filter"},
		{"no filter", envelope("GetRevisionIdList", fresh, ""), soap.InvalidParameters, "filter"},
		{"anchor of another installation", wsusss.GetRevisionIdListRequest(fresh, wsusss.Filter{Anchor: "99999999,2026-10-04 16:33:26.671"}), soap.ServerChanged, ""},
		{"config anchor of another installation", wsusss.GetConfigDataRequest(fresh, "99999999,2026-10-04 16:33:26.671"), soap.ServerChanged, ""},
		{"deployment anchor of another installation", wsusss.GetDeploymentsRequest(fresh, "99999999,2026-10-04 16:33:26.671", ""), soap.ServerChanged, ""},
		{"101 identities", wsusss.GetUpdateDataRequest(fresh, tooMany), soap.InvalidParameters, "updateIds"},
		{"no identity", wsusss.GetUpdateDataRequest(fresh, nil), soap.InvalidParameters, "updateIds"},
		{"unknown identity", wsusss.GetUpdateDataRequest(fresh, []wsusss.UpdateIdentity{leafID, {UpdateID: uuid.New(), RevisionNumber: 1}}),
			soap.InternalServerError, ""},
		{"unknown revision", wsusss.GetUpdateDataRequest(fresh, []wsusss.UpdateIdentity{{UpdateID: leafID.UpdateID, RevisionNumber: 1}}),
			soap.InternalServerError, ""},
		{"decryption data, unknown identity", wsusss.GetUpdateDecryptionDataRequest(fresh, []wsusss.UpdateIdentity{{UpdateID: uuid.New(), RevisionNumber: 1}}),
			soap.InternalServerError, ""},
		{"deployments, malformed sync anchor", wsusss.GetDeploymentsRequest(fresh, "", "garbage"), soap.InvalidParameters, "syncAnchor"},
		{"download, a file not stored", envelope("DownloadFiles", fresh, digests(stored, missing)),
			wsusss.FileDigestsMissing, base64.StdEncoding.EncodeToString(missing)},
		{"download, no digest", envelope("DownloadFiles", fresh, digests()), soap.InvalidParameters, "fileDigestList"},
		{"download, not a SHA-1", envelope("DownloadFiles", fresh, digests([]byte("short"))), soap.InvalidParameters, "fileDigestList"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.call(tc.req)
			got := fault(t, tc.name, status, body)
			if got.Code != tc.code || got.Message != tc.message {
				t.Errorf("fault %s %q, want %s %q", got.Code, got.Message, tc.code, tc.message)
			}
			if got.Method != `"`+tc.req.Action+`"` && tc.name != "no cookie" {
				t.Errorf("Method %s, want the quoted SOAPAction", got.Method)
			}
		})
	}

	t.Run("download, every file stored", func(t *testing.T) {
		status, body := f.call(envelope("DownloadFiles", fresh, digests(stored)))
		if status != http.StatusOK || !bytes.Contains(body, []byte(`<DownloadFilesResponse xmlns="`+wsusss.NSServerSync+`"/>`)) {
			t.Errorf("%d %s", status, body)
		}
	})
}

// otherInstallation is the same catalog under another server ID.
type otherInstallation struct{ Store }

func (o otherInstallation) ServerInfo(ctx context.Context) (catalog.ServerInfo, error) {
	info, err := o.Store.ServerInfo(ctx)
	info.ID = uuid.New()
	return info, err
}

// TestAnswerBudget checks that GetUpdateData answers share a bounded
// budget: one that does not fit gets ServerBusy, which a DSS retries.
func TestAnswerBudget(t *testing.T) {
	f := newFixture(t, Config{MaxAnswerBytes: 1 << 10})
	ck := f.cookie()
	status, body := f.call(wsusss.GetUpdateDataRequest(ck, []wsusss.UpdateIdentity{{UpdateID: f.leaf.UpdateID, RevisionNumber: f.leaf.RevisionNumber}}))
	if got := fault(t, "GetUpdateData", status, body); got.Code != soap.ServerBusy {
		t.Errorf("fault %s, want ServerBusy", got.Code)
	}
	status, body = f.call(wsusss.GetRevisionIdListRequest(ck, wsusss.Filter{GetConfig: true}))
	if got := fault(t, "GetRevisionIdList", status, body); got.Code != soap.ServerBusy {
		t.Errorf("fault %s, want ServerBusy", got.Code)
	}
	if f.svc.answers.used != 0 {
		t.Errorf("%d bytes still reserved", f.svc.answers.used)
	}
	// Small answers do not count.
	if status, body := f.call(wsusss.GetConfigDataRequest(ck, "")); status != http.StatusOK {
		t.Errorf("GetConfigData: %d %s", status, body)
	}
}

// TestUpdateDataCap: an answer past MaxUpdateDataBytes is refused with
// InvalidParameters "updateIds" (fewer identities at once fit), and one
// document alone still fits under the cap.
func TestUpdateDataCap(t *testing.T) {
	f := newFixture(t, Config{})
	ck := f.cookie()
	leaf := wsusss.UpdateIdentity{UpdateID: f.leaf.UpdateID, RevisionNumber: f.leaf.RevisionNumber}
	f.svc.maxUpdateData = 2 * int64(len(f.leaf.SourceXML))
	status, body := f.call(wsusss.GetUpdateDataRequest(ck, []wsusss.UpdateIdentity{leaf, leaf}))
	if got := fault(t, "GetUpdateData", status, body); got.Code != soap.InvalidParameters || got.Message != "updateIds" {
		t.Errorf("fault %s %q, want InvalidParameters updateIds", got.Code, got.Message)
	}
	if status, body := f.call(wsusss.GetUpdateDataRequest(ck, []wsusss.UpdateIdentity{leaf})); status != http.StatusOK {
		t.Errorf("one document: %d %.300s", status, body)
	}
}

// TestConfigLanguages: LanguageUpdateList enables the languages of the
// sync settings, or "all" alone when they list none.
func TestConfigLanguages(t *testing.T) {
	store := newMemStore(parseDocs(t, generatedDocs(t, 20, 1)))
	for _, tc := range []struct {
		languages []string
		want      string
	}{
		{nil, "all"},
		{[]string{"EN", " de", "pt-br"}, "de en pt-br"},
	} {
		store.settings.Languages = tc.languages
		h := newHarness(t, store, Config{})
		cfg, err := h.client().GetConfigData(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		var on []string
		for _, l := range cfg.Languages {
			if l.Enabled {
				on = append(on, l.Short)
			}
		}
		slices.Sort(on)
		if got := strings.Join(on, " "); got != tc.want || len(cfg.Languages) != len(languages) {
			t.Errorf("%q: enabled %q of %d, want %q of %d", tc.languages, got, len(cfg.Languages), tc.want, len(languages))
		}
	}
}
