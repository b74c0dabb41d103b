package serversync

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/metadata"
	"wsus/sync/wsusss"
)

// The Defender product and the Definition Updates classification, which
// the generated catalog uses with their real UpdateIDs.
var (
	defender    = uuid.MustParse("8c3fcc84-7410-4a95-8b89-a166a0190486")
	definitions = uuid.MustParse("e0789628-ce08-4437-be74-2495b842f43b")
	windows11   = uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160")
)

// ids returns the identities as a sorted list of strings.
func ids(list []wsusss.UpdateIdentity) []string {
	out := make([]string, 0, len(list))
	for _, id := range list {
		out = append(out, id.UpdateID.String()+"/"+strconv.Itoa(int(id.RevisionNumber)))
	}
	slices.Sort(out)
	return out
}

func identityOf(id catalog.Identity) wsusss.UpdateIdentity {
	return wsusss.UpdateIdentity{UpdateID: id.UpdateID, RevisionNumber: id.RevisionNumber}
}

// TestEndToEnd has the sync client (sync/upstream) synchronize from this
// server over loopback HTTP, on each catalog store: authenticate, read the
// configuration, list the categories, list one product and classification
// with anchors and Delta, fetch every listed document and compare it with
// the stored revision, read file URLs and decryption keys, and read the
// deployments of replica mode.
func TestEndToEnd(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := t.Context()
			st := e.open(t)
			revs := parseDocs(t, append(generatedDocs(t, 400, 7), readFile(t, realLeaf)))
			if _, err := st.ImportRevisions(ctx, revs); err != nil {
				t.Fatal(err)
			}
			leaf := revs[len(revs)-1]
			if err := st.SetFileSources(ctx, []catalog.FileSource{{SHA1: leaf.Files[0].SHA1, MUURL: realLeafMUURL, DecryptionKey: []byte("leaf key")}}); err != nil {
				t.Fatal(err)
			}
			if err := st.SetSyncSettings(ctx, catalog.SyncSettings{Languages: []string{"en"}}); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, st, Config{})
			c := h.client()
			if err := c.Authenticate(ctx); err != nil {
				t.Fatal(err)
			}

			// Configuration: the values of a WSUS upstream, languages as set.
			cfg, err := c.GetConfigData(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.CatalogOnlySync || !cfg.LazySync || cfg.MaxNumberOfUpdatesPerRequest != 100 || cfg.ProtocolVersion != "1.20" ||
				cfg.MaxUpdatesPerRequestInGetUpdateDecryptionData != 100 || len(cfg.Languages) != len(languages) {
				t.Errorf("config %+v", cfg)
			}
			for _, l := range cfg.Languages {
				if l.Enabled != (l.Short == "en") {
					t.Errorf("language %+v: enabled %v", l, l.Enabled)
				}
			}
			if again, err := c.GetConfigData(ctx, cfg.NewConfigAnchor); err != nil || len(again.Languages) != 0 {
				t.Errorf("with the anchor: %v languages, %v; want none (unchanged)", len(again.Languages), err)
			}

			// Categories: every category and detectoid revision.
			sums, err := st.Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var wantCats []wsusss.UpdateIdentity
			for _, sm := range sums {
				if sm.Type == catalog.TypeCategory || sm.Type == catalog.TypeDetectoid {
					wantCats = append(wantCats, identityOf(sm.Identity))
				}
			}
			cats, err := c.GetRevisionIDList(ctx, wsusss.Filter{GetConfig: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(cats.NewRevisions), ids(wantCats)) {
				t.Errorf("categories: got %v\nwant %v", ids(cats.NewRevisions), ids(wantCats))
			}
			if again, err := c.GetRevisionIDList(ctx, wsusss.Filter{GetConfig: true, Anchor: cats.Anchor}); err != nil || len(again.NewRevisions) != 0 {
				t.Errorf("categories since the anchor: %v, %v; want none", again, err)
			}

			// One product and one classification.
			filter := wsusss.Filter{Categories: []wsusss.IDAndDelta{{ID: defender}}, Classifications: []wsusss.IDAndDelta{{ID: definitions}}}
			l1, err := c.GetRevisionIDList(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			checkList(t, sums, l1.NewRevisions)

			// Every listed document, in batches of MaxNumberOfUpdatesPerRequest.
			byIdentity := map[catalog.Identity]catalog.Summary{}
			for _, sm := range sums {
				byIdentity[sm.Identity] = sm
			}
			for from := 0; from < len(l1.NewRevisions); from += 100 {
				batch := l1.NewRevisions[from:min(from+100, len(l1.NewRevisions))]
				data, err := c.GetUpdateData(ctx, batch)
				if err != nil {
					t.Fatal(err)
				}
				if len(data.Updates) != len(batch) {
					t.Fatalf("GetUpdateData: %d updates for %d ids", len(data.Updates), len(batch))
				}
				for k, u := range data.Updates {
					if u.ID != batch[k] {
						t.Errorf("update %d is %v, asked %v", k, u.ID, batch[k])
					}
					stored, err := st.Revision(ctx, byIdentity[catalog.Identity{UpdateID: u.ID.UpdateID, RevisionNumber: u.ID.RevisionNumber}].ID)
					if err != nil {
						t.Fatal(err)
					}
					sameRevision(t, u, stored)
				}
			}

			// The real leaf: its file's MUUrl and decryption key.
			data, err := c.GetUpdateData(ctx, []wsusss.UpdateIdentity{identityOf(leaf.Identity)})
			if err != nil {
				t.Fatal(err)
			}
			if len(data.FileURLs) != 1 || !bytes.Equal(data.FileURLs[0].Digest, leaf.Files[0].SHA1) || data.FileURLs[0].MUURL != realLeafMUURL {
				t.Errorf("file URLs %+v", data.FileURLs)
			}
			keys, err := c.GetUpdateDecryptionData(ctx, []wsusss.UpdateIdentity{identityOf(leaf.Identity)})
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0].UpdateID != identityOf(leaf.Identity) || len(keys[0].Files) != 1 || string(keys[0].Files[0].Key) != "leaf key" {
				t.Errorf("decryption data %+v", keys)
			}

			// A new revision of a listed bundle: Delta=true lists it (and
			// its closure), Delta=false everything again.
			var bundle *catalog.Revision
			for _, id := range l1.NewRevisions {
				sm := byIdentity[catalog.Identity{UpdateID: id.UpdateID, RevisionNumber: id.RevisionNumber}]
				if len(sm.BundledUpdates) > 0 {
					if bundle, err = st.Revision(ctx, sm.ID); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			if bundle == nil {
				t.Fatal("no bundle listed")
			}
			revised := reviseDoc(t, bundle)
			if _, err := st.ImportRevisions(ctx, []*catalog.Revision{revised}); err != nil {
				t.Fatal(err)
			}
			delta := filter
			delta.Anchor = l1.Anchor
			delta.Categories = []wsusss.IDAndDelta{{ID: defender, Delta: true}}
			delta.Classifications = []wsusss.IDAndDelta{{ID: definitions, Delta: true}}
			l2, err := c.GetRevisionIDList(ctx, delta)
			if err != nil {
				t.Fatal(err)
			}
			want := []wsusss.UpdateIdentity{identityOf(revised.Identity)}
			for _, m := range revised.BundledUpdates {
				want = append(want, identityOf(m))
			}
			if !slices.Equal(ids(l2.NewRevisions), ids(want)) {
				t.Errorf("Delta=true since the anchor: got %v\nwant %v (the new revision and its members)", ids(l2.NewRevisions), ids(want))
			}
			if l2.Anchor == l1.Anchor {
				t.Errorf("anchor did not move: %s", l2.Anchor)
			}
			full := delta
			full.Categories = []wsusss.IDAndDelta{{ID: defender, Delta: false}}
			l3, err := c.GetRevisionIDList(ctx, full)
			if err != nil {
				t.Fatal(err)
			}
			if want := ids(append(slices.Clone(l1.NewRevisions), identityOf(revised.Identity))); !slices.Equal(ids(l3.NewRevisions), want) {
				t.Errorf("Delta=false since the anchor: got %d, want %d (everything)", len(l3.NewRevisions), len(want))
			}
			none := delta
			none.Anchor = l2.Anchor
			if l4, err := c.GetRevisionIDList(ctx, none); err != nil || len(l4.NewRevisions) != 0 {
				t.Errorf("Delta=true, nothing changed: %v, %v", l4, err)
			}

			// Replica mode: deployments, declines, groups.
			optional := revs[len(revs)-2].UpdateID
			for _, a := range []catalog.Approval{
				{UpdateID: bundle.UpdateID, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall, By: "admin"},
				{UpdateID: optional, GroupID: catalog.UnassignedComputersGroupID, Action: catalog.ActionOptionalInstall},
			} {
				if _, err := st.SetApproval(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.SetDeclined(ctx, leaf.UpdateID, true); err != nil {
				t.Fatal(err)
			}
			deps, err := c.GetDeployments(ctx, "", l2.Anchor)
			if err != nil {
				t.Fatal(err)
			}
			checkDeployments(t, deps, bundle.UpdateID, revised.RevisionNumber, optional, leaf.UpdateID)
			if again, err := c.GetDeployments(ctx, deps.Anchor, l2.Anchor); err != nil || len(again.Deployments) != 2 {
				t.Errorf("with the deployment anchor: %v, %v; want the full list again", again, err)
			}
		})
	}
}

// checkList checks a filtered list of the generated catalog: not empty,
// software only, Defender definitions and their closure only, closed
// under bundle membership.
func checkList(t *testing.T, sums []catalog.Summary, list []wsusss.UpdateIdentity) {
	t.Helper()
	if len(list) == 0 {
		t.Fatal("filtered list is empty")
	}
	by := map[catalog.Identity]catalog.Summary{}
	for _, sm := range sums {
		by[sm.Identity] = sm
	}
	in := map[catalog.Identity]bool{}
	for _, id := range list {
		in[catalog.Identity{UpdateID: id.UpdateID, RevisionNumber: id.RevisionNumber}] = true
	}
	tops := 0
	for id := range in {
		sm, ok := by[id]
		if !ok || sm.Type != catalog.TypeSoftware {
			t.Errorf("%v: not a stored software revision", id)
			continue
		}
		for _, c := range sm.Prerequisites {
			if c.IsCategory && slices.Contains(c.UpdateIDs, windows11) {
				t.Errorf("%v: a Windows 11 update", id)
			}
			if c.IsCategory && slices.Contains(c.UpdateIDs, defender) {
				tops++
			}
		}
		for _, m := range sm.BundledUpdates {
			if _, stored := by[m]; stored && !in[m] {
				t.Errorf("%v bundles %v, not listed", id, m)
			}
		}
	}
	if tops == 0 {
		t.Error("no top-level Defender update listed")
	}
}

// sameRevision checks that a fetched document is the stored revision.
func sameRevision(t *testing.T, u wsusss.Update, stored *catalog.Revision) {
	t.Helper()
	got, err := metadata.Parse(u.XML)
	if err != nil {
		t.Fatalf("%v: %v", u.ID, err)
	}
	if got.Identity != stored.Identity || got.CoreXML != stored.CoreXML || got.ExtendedXML != stored.ExtendedXML ||
		!slices.EqualFunc(got.Files, stored.Files, func(a, b catalog.File) bool { return bytes.Equal(a.SHA1, b.SHA1) && a.FileName == b.FileName }) {
		t.Errorf("%v: the document parses to another revision", u.ID)
	}
	if len(u.FileDigests) != len(stored.Files) {
		t.Errorf("%v: %d digests, %d files", u.ID, len(u.FileDigests), len(stored.Files))
	}
	for i := range min(len(u.FileDigests), len(stored.Files)) {
		if !bytes.Equal(u.FileDigests[i], stored.Files[i].SHA1) {
			t.Errorf("%v: digest %d differs", u.ID, i)
		}
	}
}

var revisionAttr = regexp.MustCompile(`(<upd:UpdateIdentity UpdateID="[^"]+" RevisionNumber=")(\d+)(")`)

// reviseDoc returns a new revision (number + 1000) of rev's document.
func reviseDoc(t *testing.T, rev *catalog.Revision) *catalog.Revision {
	t.Helper()
	loc := revisionAttr.FindStringSubmatchIndex(rev.SourceXML)
	if loc == nil {
		t.Fatalf("no UpdateIdentity in %.300s", rev.SourceXML)
	}
	doc := rev.SourceXML[:loc[4]] + strconv.Itoa(int(rev.RevisionNumber)+1000) + rev.SourceXML[loc[5]:]
	out, err := metadata.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if out.RevisionNumber != rev.RevisionNumber+1000 || out.UpdateID != rev.UpdateID {
		t.Fatalf("revised %v", out.Identity)
	}
	return out
}

// checkDeployments checks a GetDeployments answer: both built-in groups,
// one deployment per approval (OptionalInstall as Install not assigned),
// the declined update hidden.
func checkDeployments(t *testing.T, d *wsusss.Deployments, install uuid.UUID, installRev int32, optional, declined uuid.UUID) {
	t.Helper()
	if _, err := parseAnchor(d.Anchor); err != nil {
		t.Error(err)
	}
	builtins := 0
	for _, g := range d.Groups {
		if g.IsBuiltin {
			builtins++
			if g.ID != catalog.AllComputersGroupID && g.ID != catalog.UnassignedComputersGroupID {
				t.Errorf("group %+v is not built in", g)
			}
		}
	}
	if builtins != 2 {
		t.Errorf("%d built-in groups, want All Computers and Unassigned Computers", builtins)
	}
	if len(d.Deployments) != 2 {
		t.Fatalf("deployments %+v, want 2", d.Deployments)
	}
	for _, dep := range d.Deployments {
		if !dep.Deadline.Equal(wsusss.NoDeadline) || dep.DownloadPriority != 1 || dep.ID == uuid.Nil || dep.Action != wsusss.ActionInstall {
			t.Errorf("deployment %+v", dep)
		}
		switch dep.Update.UpdateID {
		case install:
			if dep.Update.RevisionNumber != installRev || !dep.IsAssigned || dep.AdminName != "admin" || dep.GroupID != catalog.AllComputersGroupID {
				t.Errorf("install deployment %+v", dep)
			}
		case optional:
			if dep.IsAssigned || dep.AdminName != "WUS Server" || dep.GroupID != catalog.UnassignedComputersGroupID {
				t.Errorf("optional install deployment %+v", dep)
			}
		default:
			t.Errorf("deployment of %v", dep.Update)
		}
	}
	if !slices.Equal(d.HiddenUpdates, []uuid.UUID{declined}) || len(d.DeadDeployments) != 0 || len(d.AcceptedEulas) != 0 {
		t.Errorf("hidden %v, dead %v, EULAs %v; want %v, none, none", d.HiddenUpdates, d.DeadDeployments, d.AcceptedEulas, declined)
	}
}
