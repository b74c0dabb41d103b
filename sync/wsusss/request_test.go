package wsusss_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/soap"
	"wsus/sync/wsusss"
)

// compareTrees compares got with want element by element: local names,
// namespaces, order, and the text of leaves unless the leaf's name is in
// ignoreText. Elements of got named in onlyInGot are skipped (and must be
// there).
func compareTrees(t *testing.T, got, want *etree.Element, ignoreText, onlyInGot map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	var walk func(g, w *etree.Element, path string)
	walk = func(g, w *etree.Element, path string) {
		path += "/" + w.Tag
		if g.Tag != w.Tag || g.NamespaceURI() != w.NamespaceURI() {
			t.Errorf("%s: got {%s}%s, want {%s}%s", path, g.NamespaceURI(), g.Tag, w.NamespaceURI(), w.Tag)
			return
		}
		var gk []*etree.Element
		for _, c := range g.ChildElements() {
			if onlyInGot[c.Tag] {
				seen[c.Tag] = true
				continue
			}
			gk = append(gk, c)
		}
		wk := w.ChildElements()
		if len(gk) != len(wk) {
			t.Errorf("%s: %d children, want %d", path, len(gk), len(wk))
			return
		}
		if len(wk) == 0 && !ignoreText[w.Tag] && strings.TrimSpace(g.Text()) != strings.TrimSpace(w.Text()) {
			t.Errorf("%s: text %q, want %q", path, g.Text(), w.Text())
		}
		for i := range wk {
			walk(gk[i], wk[i], path)
		}
	}
	walk(got, want, "")
	for name := range onlyInGot {
		if !seen[name] {
			t.Errorf("%s missing from the request", name)
		}
	}
}

func readTree(t *testing.T, b []byte) *etree.Element {
	t.Helper()
	doc, err := soap.ReadDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// recordedCookie is the cookie of the recorded requests (sanitized by the
// capture's author), so that whole requests compare, values included.
func recordedCookie(t *testing.T) wsusss.Cookie {
	t.Helper()
	exp, err := time.Parse(time.RFC3339Nano, "2026-10-04T20:33:26.65455Z")
	if err != nil {
		t.Fatal(err)
	}
	return wsusss.Cookie{Expiration: exp, EncryptedData: make([]byte, 208)}
}

var (
	defender   = uuid.MustParse("8c3fcc84-7410-4a95-8b89-a166a0190486") // product Microsoft Defender Antivirus
	definition = uuid.MustParse("e0789628-ce08-4437-be74-2495b842f43b") // classification Definition Updates
)

func TestRequestsMatchRecorded(t *testing.T) {
	get63 := map[string]bool{"Get63LanguageOnly": true}
	for _, tc := range []struct {
		name      string
		req       wsusss.Request
		recorded  string
		action    string
		onlyInGot map[string]bool
		identical bool // byte for byte
	}{
		{
			name:      "GetAuthorizationCookie",
			req:       wsusss.GetAuthorizationCookieRequest("probe.lab.invalid", uuid.MustParse("6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12")),
			recorded:  "wsusss-GetAuthorizationCookieRequest.xml",
			action:    "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService/GetAuthorizationCookie",
			identical: true,
		},
		{
			name: "GetRevisionIdList filtered",
			req: wsusss.GetRevisionIdListRequest(recordedCookie(t), wsusss.Filter{
				Categories:      []wsusss.IDAndDelta{{ID: defender}},
				Classifications: []wsusss.IDAndDelta{{ID: definition}},
			}),
			recorded:  "wsusss-GetRevisionIdListRequest-filtered.xml",
			action:    "http://www.microsoft.com/SoftwareDistribution/GetRevisionIdList",
			onlyInGot: get63,
		},
		{
			name: "GetRevisionIdList incremental",
			req: wsusss.GetRevisionIdListRequest(recordedCookie(t), wsusss.Filter{
				Anchor:          "9438,2026-10-04 16:09:27.371",
				Categories:      []wsusss.IDAndDelta{{ID: defender, Delta: true}},
				Classifications: []wsusss.IDAndDelta{{ID: definition, Delta: true}},
			}),
			recorded:  "wsusss-GetRevisionIdListRequest-incremental-delta.xml",
			action:    "http://www.microsoft.com/SoftwareDistribution/GetRevisionIdList",
			onlyInGot: get63,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sample(t, tc.recorded)
			if tc.req.Action != tc.action {
				t.Errorf("Action %q, want %q", tc.req.Action, tc.action)
			}
			compareTrees(t, readTree(t, tc.req.Body), readTree(t, want), nil, tc.onlyInGot)
			if tc.identical && !bytes.Equal(tc.req.Body, bytes.TrimRight(want, "\n")) {
				t.Errorf("body\n%s\nwant\n%s", tc.req.Body, want)
			}
		})
	}
}

// specRequest returns the operation element of a request the spec shows
// without envelope (Sample 2), up to its end tag.
func specRequest(t *testing.T, file, op string) *etree.Element {
	t.Helper()
	s := string(sample(t, file))
	start, end := strings.Index(s, "<"+op+" "), strings.Index(s, "</"+op+">")
	if start < 0 || end < 0 {
		t.Fatalf("%s: no %s", file, op)
	}
	return readTree(t, []byte(s[start:end+len(op)+3]))
}

func TestRequestsMatchSpecExamples(t *testing.T) {
	// The spec's cookies and arrays are trimmed: values and array lengths
	// are the spec's; cookie values are not compared.
	cookie := recordedCookie(t)
	ignore := map[string]bool{"Expiration": true, "EncryptedData": true}

	got := readTree(t, wsusss.GetRevisionIdListRequest(cookie, wsusss.Filter{GetConfig: true}).Body)
	compareTrees(t, soap.Child(soap.Child(got, "Body"), "GetRevisionIdList"),
		specRequest(t, "mswsusss-spec-example-GetRevisionIdList-getconfig.xml", "GetRevisionIdList"), ignore, nil)

	ids := []wsusss.UpdateIdentity{
		{UpdateID: uuid.MustParse("0287014e-6772-4b4d-81f7-42063ac26e8a"), RevisionNumber: 100},
		{UpdateID: uuid.MustParse("36b1c48e-c741-4047-9b09-d38698ed34b3"), RevisionNumber: 101},
	}
	req := wsusss.GetUpdateDataRequest(cookie, ids)
	if req.Action != "http://www.microsoft.com/SoftwareDistribution/GetUpdateData" {
		t.Errorf("Action %q", req.Action)
	}
	got = readTree(t, req.Body)
	compareTrees(t, soap.Child(soap.Child(got, "Body"), "GetUpdateData"),
		specRequest(t, "mswsusss-spec-example-GetUpdateData-detectoid.xml", "GetUpdateData"), ignore, nil)

	got = readTree(t, wsusss.GetDeploymentsRequest(cookie, "", "4742,2006-05-26 18:59:26.192").Body)
	compareTrees(t, soap.Child(soap.Child(got, "Body"), "GetDeployments"),
		specRequest(t, "mswsusss-spec-example-GetDeployments.xml", "GetDeployments"), ignore, nil)
}

// TestRequestShapes checks the requests no example shows against the spec's
// element lists (MS-WSUSSS.md section 2), and that every body parses.
func TestRequestShapes(t *testing.T) {
	cookie := recordedCookie(t)
	old := cookie
	auth := wsusss.AuthorizationCookie{PlugInID: wsusss.DssTargeting, CookieData: []byte{1, 2, 3}}
	id := wsusss.UpdateIdentity{UpdateID: defender, RevisionNumber: 200}
	for _, tc := range []struct {
		req    wsusss.Request
		ns     string
		shape  string // the operation element's descendants, depth-first, with their texts
		action string
	}{
		{wsusss.GetAuthConfigRequest(), wsusss.NSServerSync, "", "GetAuthConfig"},
		{wsusss.GetCookieRequest(auth, nil, "1.20"), wsusss.NSServerSync,
			"authCookies(AuthorizationCookie(PlugInId=DssTargeting CookieData=AQID)) protocolVersion=1.20", "GetCookie"},
		{wsusss.GetCookieRequest(auth, &old, "1.20"), wsusss.NSServerSync,
			"authCookies(AuthorizationCookie(PlugInId=DssTargeting CookieData=AQID)) oldCookie(Expiration=2026-10-04T20:33:26.65455Z EncryptedData=" + base64.StdEncoding.EncodeToString(make([]byte, 208)) + ") protocolVersion=1.20", "GetCookie"},
		{wsusss.GetConfigDataRequest(cookie, ""), wsusss.NSServerSync, "cookie(*)", "GetConfigData"},
		{wsusss.GetConfigDataRequest(cookie, "9438,2026-10-04 16:33:26.670"), wsusss.NSServerSync, "cookie(*) configAnchor=9438,2026-10-04 16:33:26.670", "GetConfigData"},
		{wsusss.GetRevisionIdListRequest(cookie, wsusss.Filter{GetConfig: true, Anchor: "a<b", Languages: []wsusss.LanguageAndDelta{{ID: 1033, Delta: true}}}), wsusss.NSServerSync,
			"cookie(*) filter(Anchor=a<b GetConfig=true Get63LanguageOnly=false Languages(LanguageAndDelta(Id=1033 Delta=true)))", "GetRevisionIdList"},
		{wsusss.GetUpdateDecryptionDataRequest(cookie, []wsusss.UpdateIdentity{id}), wsusss.NSServerSync,
			"cookie(*) updateIds(UpdateIdentity(UpdateID=8c3fcc84-7410-4a95-8b89-a166a0190486 RevisionNumber=200))", "GetUpdateDecryptionData"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			if tc.req.Operation != tc.action || tc.req.Action != tc.ns+"/"+tc.action {
				t.Errorf("Operation %q Action %q", tc.req.Operation, tc.req.Action)
			}
			root := readTree(t, tc.req.Body)
			op := soap.Child(soap.Child(root, "Body"), tc.action)
			if op == nil || op.NamespaceURI() != tc.ns {
				t.Fatalf("no {%s}%s in %s", tc.ns, tc.action, tc.req.Body)
			}
			if got := shape(op); got != tc.shape {
				t.Errorf("shape\n got %s\nwant %s", got, tc.shape)
			}
		})
	}
}

// shape renders el's children: name=text for leaves, name(...) otherwise;
// a cookie's children are "*".
func shape(el *etree.Element) string {
	var parts []string
	for _, c := range el.ChildElements() {
		if c.NamespaceURI() != el.NamespaceURI() {
			parts = append(parts, "{"+c.NamespaceURI()+"}")
		}
		switch {
		case c.Tag == "cookie":
			parts = append(parts, "cookie(*)")
		case len(c.ChildElements()) > 0:
			parts = append(parts, c.Tag+"("+shape(c)+")")
		default:
			parts = append(parts, c.Tag+"="+c.Text())
		}
	}
	return strings.Join(parts, " ")
}
