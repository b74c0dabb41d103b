package serversync

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
	"wsus/sync/wsusss"
)

// memStore is an in-memory Store over parsed revisions, for the fuzz
// target (a database per input would be too slow).
type memStore struct {
	info     catalog.ServerInfo
	sums     []catalog.Summary
	revs     map[int32]*catalog.Revision
	sources  map[[20]byte]catalog.FileSource
	settings catalog.SyncSettings
}

var _ Store = (*memStore)(nil)

func newMemStore(revs []*catalog.Revision) *memStore {
	m := &memStore{info: catalog.ServerInfo{ID: uuid.New(), ConfigChanged: time.Unix(1e9, 0).UTC()},
		revs: map[int32]*catalog.Revision{}, sources: map[[20]byte]catalog.FileSource{}}
	for i, r := range revs {
		r.ID = int32(i + 1)
		m.revs[r.ID] = r
		m.sums = append(m.sums, catalog.Summary{ID: r.ID, Identity: r.Identity, Type: r.Type, CategoryType: r.CategoryType,
			PublicationState: r.PublicationState, Prerequisites: r.Prerequisites, BundledUpdates: r.BundledUpdates,
			HasFiles: len(r.Files) > 0, Changed: 1})
	}
	return m
}

func (m *memStore) ServerInfo(context.Context) (catalog.ServerInfo, error) { return m.info, nil }
func (m *memStore) ChangeSequence(context.Context) (int64, error)          { return 1, nil }
func (m *memStore) Summaries(context.Context) ([]catalog.Summary, error)   { return m.sums, nil }
func (m *memStore) Revision(_ context.Context, id int32) (*catalog.Revision, error) {
	if r, ok := m.revs[id]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("revision %d: %w", id, catalog.ErrNotFound)
}
func (m *memStore) Files(_ context.Context, ids []int32) (map[int32][]catalog.File, error) {
	out := map[int32][]catalog.File{}
	for _, id := range ids {
		if r, ok := m.revs[id]; ok {
			out[id] = r.Files
		}
	}
	return out, nil
}
func (m *memStore) TargetGroups(context.Context) ([]catalog.TargetGroup, error) {
	return []catalog.TargetGroup{{ID: catalog.AllComputersGroupID, Name: "All Computers"}}, nil
}
func (m *memStore) Approvals(context.Context) ([]catalog.Approval, error) {
	return []catalog.Approval{{ID: 1, UpdateID: m.sums[len(m.sums)-1].UpdateID, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall}}, nil
}
func (m *memStore) UpdateStates(context.Context) ([]catalog.UpdateState, error) { return nil, nil }
func (m *memStore) FileSources(_ context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error) {
	out := map[[20]byte]catalog.FileSource{}
	for _, d := range sha1s {
		if s, ok := m.sources[[20]byte(d)]; ok {
			out[[20]byte(d)] = s
		}
	}
	return out, nil
}
func (m *memStore) SyncSettings(context.Context) (catalog.SyncSettings, error) {
	return m.settings, nil
}

// FuzzServerSyncRequests posts arbitrary bodies under each operation's
// SOAPAction (and under none) to both services. Invariants: the status is
// 200 with the operation's response element, or 500 with a SOAP fault
// carrying a WSUS ErrorCode; every byte reserved (request admission, answer
// budget) is given back.
func FuzzServerSyncRequests(f *testing.F) {
	revs := parseDocs(f, append(generatedDocs(f, 60, 3), readFile(f, realLeaf)))
	store := newMemStore(revs)
	leaf := revs[len(revs)-1]
	store.sources[[20]byte(leaf.Files[0].SHA1)] = catalog.FileSource{SHA1: leaf.Files[0].SHA1, MUURL: realLeafMUURL, DecryptionKey: []byte{1}}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	adm := soap.NewAdmission(4, 64<<20, time.Second)
	svc, err := New(f.Context(), Config{Store: store, Blobs: memBlobs{}, CookieKey: testKey, Admission: adm,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	serverSync, dssAuth := svc.ServerSync(), svc.DssAuth()

	// Seeds: every operation with a valid cookie, and the recorded requests.
	rec := httptest.NewRecorder()
	serverSync.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(wsusss.GetAuthConfigRequest().Body)))
	authReq := wsusss.GetAuthorizationCookieRequest("dss.example", uuid.New())
	rec = httptest.NewRecorder()
	dssAuth.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(authReq.Body)))
	auth, err := wsusss.ParseGetAuthorizationCookieResponse(rec.Body.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	cookieReq := wsusss.GetCookieRequest(auth, nil, "1.20")
	rec = httptest.NewRecorder()
	serverSync.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(cookieReq.Body)))
	ck, err := wsusss.ParseGetCookieResponse(rec.Body.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	ids := []wsusss.UpdateIdentity{{UpdateID: leaf.UpdateID, RevisionNumber: leaf.RevisionNumber}, {UpdateID: revs[5].UpdateID, RevisionNumber: revs[5].RevisionNumber}}
	anchor := anchor{seq: 1, at: now}.String()
	for _, r := range []wsusss.Request{
		wsusss.GetAuthConfigRequest(), authReq, cookieReq,
		wsusss.GetConfigDataRequest(ck, ""), wsusss.GetConfigDataRequest(ck, anchor),
		wsusss.GetRevisionIdListRequest(ck, wsusss.Filter{GetConfig: true}),
		wsusss.GetRevisionIdListRequest(ck, wsusss.Filter{Anchor: anchor, Categories: []wsusss.IDAndDelta{{ID: defender}}, Classifications: []wsusss.IDAndDelta{{ID: definitions, Delta: true}}}),
		wsusss.GetUpdateDataRequest(ck, ids), wsusss.GetUpdateDecryptionDataRequest(ck, ids),
		wsusss.GetDeploymentsRequest(ck, anchor, anchor),
		envelope("DownloadFiles", ck, "<fileDigestList><base64Binary>h/W9BGlYUAaqXTp30cZi/SiV3c0=</base64Binary></fileDigestList>"),
	} {
		f.Add(r.Action, r.Body)
	}
	for _, name := range []string{"wsusss-GetAuthorizationCookieRequest.xml", "wsusss-GetRevisionIdListRequest-filtered.xml", "wsusss-GetRevisionIdListRequest-incremental-delta.xml"} {
		body := sample(f, name)
		f.Add("", body)
	}

	known := map[soap.ErrorCode]bool{soap.InvalidCookie: true, soap.InvalidParameters: true, soap.InternalServerError: true,
		soap.ServerChanged: true, soap.ServerBusy: true, soap.InvalidAuthorizationCookie: true,
		wsusss.IncompatibleProtocolVersion: true, wsusss.FileDigestsMissing: true}
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		h, ns := serverSync, wsusss.NSServerSync
		if strings.HasPrefix(action, wsusss.NSDssAuth) {
			h, ns = dssAuth, wsusss.NSDssAuth
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if action != "" {
			req.Header.Set("SOAPAction", `"`+action+`"`)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if adm.Reserved() != 0 || svc.answers.used != 0 {
			t.Fatalf("reserved after the answer: admission %d, answers %d", adm.Reserved(), svc.answers.used)
		}
		out := rec.Body.Bytes()
		_, perr := wsusss.ParseGetAuthConfigResponse(out)
		switch rec.Code {
		case http.StatusInternalServerError:
			fa, ok := perr.(*wsusss.Fault)
			if !ok || !known[fa.Code] {
				t.Fatalf("500 without a known fault: %v\n%s", perr, out)
			}
		case http.StatusOK:
			doc, err := soap.ReadDocument(out)
			if err != nil {
				t.Fatal(err)
			}
			el := doc.FindElement("/Envelope/Body/*")
			if el == nil || !strings.HasSuffix(el.Tag, "Response") || el.SelectAttrValue("xmlns", "") != ns {
				t.Fatalf("200 without a response element: %s", out)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzParseAnchor: whatever parses formats back to itself.
func FuzzParseAnchor(f *testing.F) {
	for _, s := range []string{"9438,2026-10-04 16:33:26.670", "0,0001-01-01 00:00:00.000", "garbage", "1,2026-10-04 16:33:26.6700"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAnchor(s)
		if err != nil {
			return
		}
		if b, err := parseAnchor(a.String()); err != nil || b != a {
			t.Fatalf("%q → %v → %q → %v, %v", s, a, a.String(), b, err)
		}
	})
}
