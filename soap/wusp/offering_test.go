package wusp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
)

// WSUS's offering rules as SyncUpdates and GetExtendedUpdateInfo write
// them (issue 10): superseded updates offered and answered, IsAssigned by
// action, the elements a client's protocol version predates left out.

// A synthetic superseding chain beside the demo catalog: Cumulative 3
// supersedes Cumulative 2; each bundles a part; Tool is a lone update. None
// has prerequisites, so a first round delivers them all. Spare stays
// unapproved.
var (
	idCumulative2 = uuid.MustParse("c0000000-0000-4000-8000-000000000002")
	idCumulative3 = uuid.MustParse("c0000000-0000-4000-8000-000000000003")
	idOldPart     = uuid.MustParse("c0000000-0000-4000-8000-0000000000a2")
	idNewPart     = uuid.MustParse("c0000000-0000-4000-8000-0000000000a3")
	idTool        = uuid.MustParse("c0000000-0000-4000-8000-0000000000f0")
	idSpare       = uuid.MustParse("c0000000-0000-4000-8000-0000000000f1")
)

// oldPartSHA1 is the digest of the old part's one file.
var oldPartSHA1 = []byte("old-part-file-sha1-0")

// importSuperseding imports the chain and returns each update's summary.
func (e *env) importSuperseding() map[uuid.UUID]catalog.Summary {
	e.t.Helper()
	ctx := context.Background()
	rev := func(id uuid.UUID, title string) *catalog.Revision {
		return &catalog.Revision{
			Identity: catalog.Identity{UpdateID: id, RevisionNumber: 200}, Type: catalog.TypeSoftware, Title: title,
			PublicationState: "Published",
			CoreXML:          fmt.Sprintf(`<UpdateIdentity UpdateID="%s" RevisionNumber="200" /><Properties UpdateType="Software" />`, id),
			ExtendedXML:      `<ExtendedProperties DefaultPropertiesLanguage="en" />`,
			Localized:        map[string]string{"en": "<LocalizedProperties><Language>en</Language><Title>" + title + "</Title></LocalizedProperties>"},
			SourceXML:        "<upd:Update/>",
		}
	}
	oldPart, newPart := rev(idOldPart, "Old part"), rev(idNewPart, "New part")
	oldPart.Files = []catalog.File{{SHA1: oldPartSHA1, SHA256: make([]byte, 32), FileName: "old.cab", Size: 10}}
	c2, c3, tool, spare := rev(idCumulative2, "Cumulative 2"), rev(idCumulative3, "Cumulative 3"), rev(idTool, "Tool"), rev(idSpare, "Spare")
	c2.BundledUpdates = []catalog.Identity{oldPart.Identity}
	c3.BundledUpdates = []catalog.Identity{newPart.Identity}
	c3.SupersededUpdates = []uuid.UUID{idCumulative2}
	c3.CoreXML += `<Relationships><SupersededUpdates><UpdateIdentity UpdateID="` + idCumulative2.String() + `" /></SupersededUpdates></Relationships>`
	if _, err := e.store.ImportRevisions(ctx, []*catalog.Revision{oldPart, newPart, c2, c3, tool, spare}); err != nil {
		e.t.Fatal(err)
	}
	sums, err := e.store.Summaries(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[uuid.UUID]catalog.Summary{}
	for _, s := range sums {
		e.ids[s.UpdateID] = s.ID
		out[s.UpdateID] = s
	}
	return out
}

func (e *env) approveAll(id uuid.UUID, action catalog.ApprovalAction) catalog.Approval {
	e.t.Helper()
	a, err := e.store.SetApproval(context.Background(), catalog.Approval{UpdateID: id, GroupID: catalog.AllComputersGroupID, Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// infoXML is the exact UpdateInfo the server writes for a revision of the
// chain to a 2.90 client: deployment ID, action, IsAssigned and date as
// given.
func infoXML(s catalog.Summary, deployment int32, action string, assigned bool, changed time.Time) string {
	core := fmt.Sprintf(`<UpdateIdentity UpdateID="%s" RevisionNumber="200" /><Properties UpdateType="Software" />`, s.UpdateID)
	if s.UpdateID == idCumulative3 {
		core += `<Relationships><SupersededUpdates><UpdateIdentity UpdateID="` + idCumulative2.String() + `" /></SupersededUpdates></Relationships>`
	}
	return fmt.Sprintf("<UpdateInfo><ID>%d</ID><Deployment><ID>%d</ID><Action>%s</Action><IsAssigned>%v</IsAssigned><LastChangeTime>%s</LastChangeTime>"+
		"<AutoSelect>0</AutoSelect><AutoDownload>0</AutoDownload><SupersedenceBehavior>0</SupersedenceBehavior></Deployment><IsLeaf>true</IsLeaf><Xml>%s</Xml></UpdateInfo>",
		s.ID, deployment, action, assigned, changed.UTC().Format("2006-01-02"), escapeText(core))
}

// implicitID is the deployment ID of an implicit deployment (scan).
func implicitID(s catalog.Summary) int32 { return 1<<30 + s.ID }

// syncBody is a software SyncUpdates body caching nothing.
func syncBody(cookieXML string) string {
	return wrap(soap.NSClient, "SyncUpdates", cookieXML+"<parameters><ExpressQuery>false</ExpressQuery>"+
		"<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>false</NeedTwoGroupOutOfScopeUpdates></parameters>")
}

// TestSupersededUpdatesOffered: Cumulative 3, approved for install,
// supersedes the unapproved Cumulative 2. SyncUpdates still offers
// Cumulative 2, as PreDeploymentCheck, and its member as Bundle (the engine
// dropped them before); GetExtendedUpdateInfo answers them with their
// fragments and files instead of listing them out of scope. Declined, an
// update is neither offered nor answered, and leaves a client's cache.
func TestSupersededUpdatesOffered(t *testing.T) {
	cases := []struct {
		name    string
		decline bool
	}{
		{"superseded, not declined", false},
		{"superseded and declined", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			sums := e.importSuperseding()
			a3 := e.approveAll(idCumulative3, catalog.ActionInstall)
			if c.decline {
				if err := e.store.SetDeclined(context.Background(), idCumulative2, true); err != nil {
					t.Fatal(err)
				}
			}
			clientID, _ := e.login("")
			ck := e.sealedCookie(clientID, "2.90")
			status, body := e.postRaw(syncBody(ck))
			if status != 200 {
				t.Fatalf("HTTP %d:\n%s", status, body)
			}
			c2, old, c3, part := sums[idCumulative2], sums[idOldPart], sums[idCumulative3], sums[idNewPart]
			offered := []string{
				infoXML(c3, a3.ID, "Install", true, a3.ChangedAt),
				infoXML(part, implicitID(part), "Bundle", true, part.Imported),
			}
			superseded := []string{
				infoXML(c2, implicitID(c2), "PreDeploymentCheck", true, c2.Imported),
				infoXML(old, implicitID(old), "Bundle", true, old.Imported),
			}
			if !c.decline {
				offered = append(offered, superseded...)
			}
			for _, want := range offered {
				if !strings.Contains(body, want) {
					t.Errorf("answer lacks\n%s\nin\n%s", want, body)
				}
			}
			if c.decline {
				for _, id := range []int32{c2.ID, old.ID} {
					if strings.Contains(body, fmt.Sprintf("<UpdateInfo><ID>%d</ID>", id)) {
						t.Errorf("declined revision %d offered:\n%s", id, body)
					}
				}
			}

			// GetExtendedUpdateInfo for the superseded update and its member.
			status, el := e.call(clientPath, soap.NSClient, "GetExtendedUpdateInfo", ck+ints("revisionIDs", []int32{c2.ID, old.ID})+
				"<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes><locales><string>en-US</string></locales>")
			if status != 200 {
				t.Fatalf("GetExtendedUpdateInfo: HTTP %d %s", status, faultCode(el))
			}
			var children, updates, oos, digests []string
			res := el.FindElement("GetExtendedUpdateInfoResult")
			for _, ch := range res.ChildElements() {
				children = append(children, ch.Tag)
			}
			for _, u := range res.FindElements("Updates/Update") {
				updates = append(updates, u.FindElement("ID").Text()+" "+u.FindElement("Xml").Text())
			}
			for _, i := range res.FindElements("OutOfScopeRevisionIDs/int") {
				oos = append(oos, i.Text())
			}
			for _, d := range res.FindElements("FileLocations/FileLocation/FileDigest") {
				digests = append(digests, d.Text())
			}
			if c.decline {
				if want := []string{"OutOfScopeRevisionIDs"}; !slices.Equal(children, want) || !slices.Equal(oos, []string{itoa(c2.ID), itoa(old.ID)}) {
					t.Errorf("declined: children %v, OutOfScopeRevisionIDs %v; want only %d and %d out of scope", children, oos, c2.ID, old.ID)
				}
			} else {
				wantUpdates := []string{
					itoa(c2.ID) + ` <ExtendedProperties DefaultPropertiesLanguage="en" />`,
					itoa(old.ID) + ` <ExtendedProperties DefaultPropertiesLanguage="en" />`,
					itoa(c2.ID) + " <LocalizedProperties><Language>en</Language><Title>Cumulative 2</Title></LocalizedProperties>",
					itoa(old.ID) + " <LocalizedProperties><Language>en</Language><Title>Old part</Title></LocalizedProperties>",
				}
				if want := []string{"Updates", "FileLocations"}; !slices.Equal(children, want) {
					t.Errorf("children %v, want %v (nothing out of scope)", children, want)
				}
				if !slices.Equal(updates, wantUpdates) {
					t.Errorf("Updates\n got %q\nwant %q", updates, wantUpdates)
				}
				if want := []string{base64.StdEncoding.EncodeToString(oldPartSHA1)}; !slices.Equal(digests, want) {
					t.Errorf("FileLocations digests %v, want %v", digests, want)
				}
			}

			// A client caching them: the declined ones leave its cache.
			status, el = e.syncUpdates(ck, nil, []int32{c2.ID, old.ID, c3.ID, part.ID})
			if status != 200 {
				t.Fatalf("HTTP %d %s", status, faultCode(el))
			}
			oos = nil
			for _, i := range el.FindElements("SyncUpdatesResult/OutOfScopeRevisionIDs/int") {
				oos = append(oos, i.Text())
			}
			var want []string
			if c.decline {
				want = []string{itoa(min(c2.ID, old.ID)), itoa(max(c2.ID, old.ID))}
			}
			if !slices.Equal(oos, want) {
				t.Errorf("cached: OutOfScopeRevisionIDs %v, want %v", oos, want)
			}
		})
	}
}

// TestIsAssignedPerAction: IsAssigned is true ("install automatically")
// for every action but OptionalInstall, false ("offered to the user, not
// installed automatically", [MS-WUSP] 2.2.2.2.4). A client older than
// protocol 2.0 gets OptionalInstall as PreDeploymentCheck, assigned as the
// other detection-only deployments.
func TestIsAssignedPerAction(t *testing.T) {
	e := newEnv(t, envOptions{})
	sums := e.importSuperseding()
	approvals := map[uuid.UUID]catalog.Approval{
		idCumulative3: e.approveAll(idCumulative3, catalog.ActionInstall),
		idCumulative2: e.approveAll(idCumulative2, catalog.ActionOptionalInstall),
		idTool:        e.approveAll(idTool, catalog.ActionUninstall),
	}
	clientID, _ := e.login("")
	cases := []struct {
		protocol string
		update   uuid.UUID
		action   string
		assigned string
	}{
		{"2.90", idCumulative3, "Install", "true"},
		{"2.90", idCumulative2, "OptionalInstall", "false"},
		{"2.0", idCumulative2, "OptionalInstall", "false"},
		{"1.9", idCumulative2, "PreDeploymentCheck", "true"},
		{"1.8", idCumulative2, "PreDeploymentCheck", "true"},
		{"2.90", idTool, "Uninstall", "true"},
		{"2.90", idOldPart, "Bundle", "true"},
		{"2.90", idMicrosoft, "Evaluate", "true"},
		{"2.90", idSpare, "PreDeploymentCheck", "true"},
	}
	for _, c := range cases {
		t.Run(c.protocol+" "+c.action, func(t *testing.T) {
			status, body := e.postRaw(syncBody(e.sealedCookie(clientID, c.protocol)))
			if status != 200 {
				t.Fatalf("HTTP %d:\n%s", status, body)
			}
			s := sums[c.update]
			id := implicitID(s)
			if a, ok := approvals[c.update]; ok {
				id = a.ID
			}
			want := fmt.Sprintf("<UpdateInfo><ID>%d</ID><Deployment><ID>%d</ID><Action>%s</Action><IsAssigned>%s</IsAssigned><LastChangeTime>",
				s.ID, id, c.action, c.assigned)
			if !strings.Contains(body, want) {
				t.Errorf("answer lacks %s", want)
			}
		})
	}
}

// TestVersionGatedElements: DriverSyncNotNeeded and
// DeployedOutOfScopeRevisionIds MUST NOT go to clients whose GetCookie
// protocolVersion is below 1.7 ([MS-WUSP] 2.2.2.2.4, SyncInfo; MS-WUSP.md
// section 4.3), on the software pass, the category-filtered scan, the
// driver pass and SyncPrinterCatalog (also a SyncInfo). Below 1.7
// NeedTwoGroupOutOfScopeUpdates is ignored, so a cached revision outside the
// filter stays cached. [I] The versions a client sends were seen as 2.90
// (Windows 11 25H2) and, from the spec, 1.0 to 2.4; 1.7 itself is the
// spec's floor, no capture has it.
func TestVersionGatedElements(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, _ := e.login("")
	demo := e.ids[idDemo]
	filtered := func(ck string) string {
		return wrap(soap.NSClient, "SyncUpdates", ck+"<parameters><ExpressQuery>false</ExpressQuery>"+ints("OtherCachedUpdateIDs", []int32{demo})+
			"<SkipSoftwareSync>false</SkipSoftwareSync><FilterCategoryIds><CategoryIdentifier><Id>"+idOOBEZDP.String()+
			"</Id></CategoryIdentifier></FilterCategoryIds><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates></parameters>")
	}
	type pass struct {
		name  string
		body  func(ck string) string
		old   []string // children of SyncUpdatesResult below 1.7
		added []string // appended from 1.7 on
		gated string   // the XML of the gated elements from 1.7 on
	}
	passes := []pass{
		{"software", syncBody, []string{"NewUpdates", "Truncated", "NewCookie"}, []string{"DriverSyncNotNeeded"},
			"<DriverSyncNotNeeded>false</DriverSyncNotNeeded>"},
		{"category filter", filtered, []string{"NewUpdates", "Truncated", "NewCookie"}, []string{"DeployedOutOfScopeRevisionIds", "DriverSyncNotNeeded"},
			fmt.Sprintf("<DeployedOutOfScopeRevisionIds><int>%d</int></DeployedOutOfScopeRevisionIds><DriverSyncNotNeeded>true</DriverSyncNotNeeded>", demo)},
		{"driver pass", func(ck string) string { return driverPassBody(t, ck, nil) }, []string{"Truncated", "NewCookie"}, []string{"DriverSyncNotNeeded"},
			"<DriverSyncNotNeeded>true</DriverSyncNotNeeded>"},
	}
	for _, protocol := range []string{"2.90", "2.0", "1.8", "1.7", "1.6", "1.0", ""} {
		gate := protocol != "" && atLeast(protocol, "1.7")
		for _, p := range passes {
			t.Run(p.name+" "+protocol, func(t *testing.T) {
				status, body := e.postRaw(p.body(e.sealedCookie(clientID, protocol)))
				if status != 200 {
					t.Fatalf("HTTP %d:\n%s", status, body)
				}
				want := p.old
				if gate {
					want = append(slices.Clone(p.old), p.added...)
				}
				if got := resultChildren(t, body); !slices.Equal(got, want) {
					t.Errorf("SyncUpdatesResult children %v, want %v", got, want)
				}
				if gate {
					if got := body[strings.Index(body, "</NewCookie>")+len("</NewCookie>") : strings.Index(body, "</SyncUpdatesResult>")]; got != p.gated {
						t.Errorf("after NewCookie %s, want %s", got, p.gated)
					}
				}
			})
		}
		t.Run("SyncPrinterCatalog "+protocol, func(t *testing.T) {
			status, el := e.call(clientPath, soap.NSClient, "SyncPrinterCatalog", e.sealedCookie(clientID, protocol))
			if status != 200 {
				t.Fatalf("HTTP %d %s", status, faultCode(el))
			}
			var names []string
			for _, c := range el.FindElement("SyncPrinterCatalogResult").ChildElements() {
				names = append(names, c.Tag)
			}
			want := []string{"Truncated", "NewCookie"}
			if gate {
				want = append(want, "DriverSyncNotNeeded")
			}
			if !slices.Equal(names, want) {
				t.Errorf("SyncPrinterCatalogResult children %v, want %v", names, want)
			}
		})
	}
}

// TestChangedPassSurvivesGetCookie: a client whose cookie expires in the
// middle of an anchor reset's ChangedUpdates pages gets a new one from
// GetCookie with its old cookie, and the pass goes on where it stopped.
func TestChangedPassSurvivesGetCookie(t *testing.T) {
	e := newEnv(t, envOptions{pageSize: 1})
	_, ck := e.login("")
	m, w := e.ids[idMicrosoft], e.ids[idWindows]
	_, el := e.syncUpdates(ck, []int32{m, w}, nil)
	if got := el.FindElement("SyncUpdatesResult/ChangedUpdates/UpdateInfo/ID"); got == nil || got.Text() != itoa(min(m, w)) {
		t.Fatalf("first page: %v", got)
	}
	ck = newCookie(t, el)
	old := strings.Replace(strings.Replace(ck, "<cookie>", "<oldCookie>", 1), "</cookie>", "</oldCookie>", 1)
	_, el = e.call("/SimpleAuthWebService/SimpleAuth.asmx", soap.NSSimpleAuth, "GetAuthorizationCookie", "<clientId>"+
		clientOf(t, e, ck)+"</clientId><dnsName>pc</dnsName>")
	auth := el.FindElement("GetAuthorizationCookieResult/CookieData").Text()
	status, el := e.call(clientPath, soap.NSClient, "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+auth+
		"</CookieData></AuthorizationCookie></authCookies>"+old+"<lastChange>"+soap.FormatDateTime(e.info.ConfigChanged)+
		"</lastChange><currentTime>2026-10-04T15:03:36Z</currentTime><protocolVersion>2.90</protocolVersion>")
	if status != 200 {
		t.Fatalf("GetCookie: HTTP %d %s", status, faultCode(el))
	}
	res := el.FindElement("GetCookieResult")
	ck = "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
	_, el = e.syncUpdates(ck, []int32{m, w}, nil)
	if got := el.FindElement("SyncUpdatesResult/ChangedUpdates/UpdateInfo/ID"); got == nil || got.Text() != itoa(max(m, w)) {
		t.Fatalf("page after GetCookie: %v, want the pass to go on with %d", got, max(m, w))
	}
}

// clientOf opens a cookie element and returns its client ID.
func clientOf(t *testing.T, e *env, cookieXML string) string {
	t.Helper()
	data := cookieXML[strings.Index(cookieXML, "<EncryptedData>")+len("<EncryptedData>") : strings.Index(cookieXML, "</EncryptedData>")]
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.sealer.OpenSession(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s.ClientID
}
