package clientsim

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// serverConfig is the part of GetConfigResult clientsim uses.
type serverConfig struct {
	LastChange             string // echoed verbatim as GetCookie lastChange
	IsRegistrationRequired bool
	AuthServiceURL         string // SimpleTargeting ServiceUrl, usually relative
	MaxExtendedUpdates     int    // MaxExtendedUpdatesPerRequest
	Properties             map[string]string
}

// parseConfig reads a GetConfigResponse.
func parseConfig(resp *etree.Element) (serverConfig, error) {
	res := child(resp, "GetConfigResult")
	if res == nil {
		return serverConfig{}, fmt.Errorf("GetConfigResponse without GetConfigResult")
	}
	cfg := serverConfig{LastChange: childText(res, "LastChange"), Properties: map[string]string{}}
	if cfg.LastChange == "" {
		return cfg, fmt.Errorf("GetConfigResult without LastChange")
	}
	var err error
	if cfg.IsRegistrationRequired, err = xsdBool(res, "IsRegistrationRequired"); err != nil {
		return cfg, err
	}
	for _, p := range children(child(res, "AuthInfo"), "AuthPlugInInfo") {
		if childText(p, "PlugInID") == "SimpleTargeting" {
			cfg.AuthServiceURL = childText(p, "ServiceUrl")
		}
	}
	if cfg.AuthServiceURL == "" {
		return cfg, fmt.Errorf("GetConfigResult has no SimpleTargeting AuthPlugInInfo with a ServiceUrl")
	}
	for _, p := range children(child(res, "Properties"), "ConfigurationProperty") {
		cfg.Properties[childText(p, "Name")] = childText(p, "Value")
	}
	v, ok := cfg.Properties["MaxExtendedUpdatesPerRequest"]
	if !ok {
		return cfg, fmt.Errorf("GetConfigResult without the MaxExtendedUpdatesPerRequest property (MUST, MS-WUSP 2.2.2.2.1)")
	}
	if cfg.MaxExtendedUpdates, err = strconv.Atoi(v); err != nil || cfg.MaxExtendedUpdates <= 0 {
		return cfg, fmt.Errorf("MaxExtendedUpdatesPerRequest %q is not a positive integer", v)
	}
	return cfg, nil
}

// parseAuthCookie reads a GetAuthorizationCookieResponse.
func parseAuthCookie(resp *etree.Element) (authCookie, error) {
	res := child(resp, "GetAuthorizationCookieResult")
	a := authCookie{PlugInID: childText(res, "PlugInId"), CookieData: childText(res, "CookieData")}
	if res == nil || a.PlugInID == "" || a.CookieData == "" {
		return a, fmt.Errorf("GetAuthorizationCookieResult without PlugInId and CookieData")
	}
	return a, nil
}

// parseCookie reads a Cookie element (GetCookieResult, NewCookie).
func parseCookie(e *etree.Element, what string) (cookie, error) {
	c := cookie{Expiration: childText(e, "Expiration"), EncryptedData: childText(e, "EncryptedData")}
	if e == nil || c.Expiration == "" || c.EncryptedData == "" {
		return c, fmt.Errorf("%s without Expiration and EncryptedData", what)
	}
	return c, nil
}

// updateIdentity is an UpdateIdentity: the UpdateID GUID and revision number.
type updateIdentity struct {
	UpdateID       string
	RevisionNumber int
}

// updateInfo is one UpdateInfo of a SyncInfo.
type updateInfo struct {
	ID       int    // server revision id
	Action   string // Deployment/Action
	IsLeaf   bool
	Identity updateIdentity // from the Core fragment
	Driver   bool           // delivered by the driver pass
}

// syncInfo is a parsed SyncUpdatesResult.
type syncInfo struct {
	NewUpdates, ChangedUpdates []updateInfo
	OutOfScope                 []int
	Truncated                  bool
	NewCookie                  cookie
}

// parseSyncInfo reads a SyncUpdatesResponse.
func parseSyncInfo(resp *etree.Element) (syncInfo, error) {
	var si syncInfo
	res := child(resp, "SyncUpdatesResult")
	if res == nil {
		return si, fmt.Errorf("SyncUpdatesResponse without SyncUpdatesResult")
	}
	var err error
	if si.NewUpdates, err = parseUpdateInfos(child(res, "NewUpdates")); err != nil {
		return si, fmt.Errorf("NewUpdates: %w", err)
	}
	if si.ChangedUpdates, err = parseUpdateInfos(child(res, "ChangedUpdates")); err != nil {
		return si, fmt.Errorf("ChangedUpdates: %w", err)
	}
	if si.OutOfScope, err = intList(child(res, "OutOfScopeRevisionIDs")); err != nil {
		return si, fmt.Errorf("OutOfScopeRevisionIDs: %w", err)
	}
	if si.Truncated, err = xsdBool(res, "Truncated"); err != nil {
		return si, err
	}
	if si.NewCookie, err = parseCookie(child(res, "NewCookie"), "SyncUpdatesResult NewCookie"); err != nil {
		return si, err
	}
	return si, nil
}

func parseUpdateInfos(list *etree.Element) ([]updateInfo, error) {
	var out []updateInfo
	for i, e := range children(list, "UpdateInfo") {
		u, err := parseUpdateInfo(e)
		if err != nil {
			return nil, fmt.Errorf("UpdateInfo %d: %w", i+1, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func parseUpdateInfo(e *etree.Element) (updateInfo, error) {
	var u updateInfo
	var err error
	if u.ID, err = strconv.Atoi(childText(e, "ID")); err != nil {
		return u, fmt.Errorf("ID: %w", err)
	}
	dep := child(e, "Deployment")
	if dep == nil {
		// WUA fails PopulateDataStore without it (MS-WUSP.md §2.2).
		return u, fmt.Errorf("revision %d has no Deployment", u.ID)
	}
	if u.Action = childText(dep, "Action"); u.Action == "" {
		return u, fmt.Errorf("revision %d: Deployment without Action", u.ID)
	}
	if u.IsLeaf, err = xsdBool(e, "IsLeaf"); err != nil {
		return u, fmt.Errorf("revision %d: %w", u.ID, err)
	}
	if u.Identity, err = coreIdentity(childText(e, "Xml")); err != nil {
		return u, fmt.Errorf("revision %d: %w", u.ID, err)
	}
	return u, nil
}

// parseFragment parses an XML fragment as the server sends it in Xml: a
// concatenation of elements without a single root, namespaces stripped.
func parseFragment(xml string) ([]*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		return nil, fmt.Errorf("parse Xml fragment: %w", err)
	}
	return doc.ChildElements(), nil
}

// coreIdentity returns the UpdateIdentity at the start of a Core fragment.
// The whole fragment must be well-formed, as for parseFragment, but it is
// only tokenized, not built into a tree: one Core fragment per delivered
// update made that tree most of a load run's client CPU.
func coreIdentity(fragment string) (updateIdentity, error) {
	dec := xml.NewDecoder(strings.NewReader(fragment))
	var first *xml.StartElement
	var open []xml.Name
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return updateIdentity{}, fmt.Errorf("parse Xml fragment: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if first == nil {
				c := t.Copy()
				first = &c
			}
			open = append(open, t.Name)
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name {
				return updateIdentity{}, fmt.Errorf("parse Xml fragment: unexpected end element </%s>", t.Name.Local)
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return updateIdentity{}, fmt.Errorf("parse Xml fragment: element <%s> not closed", open[len(open)-1].Local)
	}
	if first == nil || first.Name.Local != "UpdateIdentity" {
		return updateIdentity{}, errors.New("the Core fragment does not start with UpdateIdentity")
	}
	attr := func(name string) string {
		for _, a := range first.Attr {
			if a.Name.Space == "" && a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	id := updateIdentity{UpdateID: attr("UpdateID")}
	rev, err := strconv.Atoi(attr("RevisionNumber"))
	if err != nil || !isGUID(id.UpdateID) {
		return updateIdentity{}, fmt.Errorf("the Core fragment UpdateIdentity %q/%q is not GUID/revision", id.UpdateID, attr("RevisionNumber"))
	}
	id.RevisionNumber = rev
	return id, nil
}

// fileMeta is one File of an Extended fragment.
type fileMeta struct {
	Digest string // base64 SHA-1 as in File/@Digest and FileLocation/FileDigest
	SHA1   []byte
	SHA256 []byte // AdditionalDigest Algorithm="SHA256"
	Size   int64
	Name   string
}

// extendedInfo is a parsed GetExtendedUpdateInfoResult.
type extendedInfo struct {
	Files      map[int][]fileMeta // by revision id, from Extended fragments
	Titles     map[int]string     // by revision id, from LocalizedProperties (en preferred)
	KBs        map[int]string     // by revision id, ExtendedProperties/KBArticleID
	Locations  map[string]string  // base64 SHA-1 -> Url
	OutOfScope []int
}

// parseExtendedInfo reads a GetExtendedUpdateInfoResponse.
func parseExtendedInfo(resp *etree.Element) (extendedInfo, error) {
	x := extendedInfo{Files: map[int][]fileMeta{}, Titles: map[int]string{}, KBs: map[int]string{}, Locations: map[string]string{}}
	res := child(resp, "GetExtendedUpdateInfoResult")
	if res == nil {
		return x, errors.New("no GetExtendedUpdateInfoResult in GetExtendedUpdateInfoResponse")
	}
	for _, u := range children(child(res, "Updates"), "Update") {
		id, err := strconv.Atoi(childText(u, "ID"))
		if err != nil {
			return x, fmt.Errorf("bad Update/ID: %w", err)
		}
		els, err := parseFragment(childText(u, "Xml"))
		if err != nil {
			return x, fmt.Errorf("update %d: %w", id, err)
		}
		if len(els) == 0 {
			return x, fmt.Errorf("update %d: empty Xml", id)
		}
		switch els[0].Tag {
		case "ExtendedProperties":
			if kb := strings.TrimSpace(childText(els[0], "KBArticleID")); kb != "" {
				x.KBs[id] = kb
			}
			for _, e := range els {
				if e.Tag != "Files" {
					continue
				}
				for _, f := range children(e, "File") {
					fm, err := parseFile(f)
					if err != nil {
						return x, fmt.Errorf("update %d: %w", id, err)
					}
					x.Files[id] = append(x.Files[id], fm)
				}
			}
		case "LocalizedProperties":
			lang := childText(els[0], "Language")
			if _, seen := x.Titles[id]; !seen || lang == "en" {
				x.Titles[id] = childText(els[0], "Title")
			}
		}
	}
	for _, l := range children(child(res, "FileLocations"), "FileLocation") {
		d, u := childText(l, "FileDigest"), childText(l, "Url")
		if d == "" || u == "" {
			return x, fmt.Errorf("FileLocation without FileDigest and Url")
		}
		x.Locations[d] = u
	}
	var err error
	if x.OutOfScope, err = intList(child(res, "OutOfScopeRevisionIDs")); err != nil {
		return x, fmt.Errorf("OutOfScopeRevisionIDs: %w", err)
	}
	return x, nil
}

// parseFile reads Files/File: @Digest (SHA-1), @Size, @FileName and the SHA-256
// AdditionalDigest, which a Windows 8+ client requires (MS-WUSP.md §3.4).
func parseFile(f *etree.Element) (fileMeta, error) {
	fm := fileMeta{Digest: f.SelectAttrValue("Digest", ""), Name: f.SelectAttrValue("FileName", "")}
	if alg := f.SelectAttrValue("DigestAlgorithm", "SHA1"); alg != "SHA1" {
		return fm, fmt.Errorf("file %s: DigestAlgorithm %q, want SHA1", fm.Name, alg)
	}
	var err error
	if fm.SHA1, err = base64.StdEncoding.DecodeString(fm.Digest); err != nil || len(fm.SHA1) != 20 {
		return fm, fmt.Errorf("file %s: Digest %q is not a base64 SHA-1", fm.Name, fm.Digest)
	}
	if fm.Size, err = strconv.ParseInt(f.SelectAttrValue("Size", ""), 10, 64); err != nil || fm.Size < 0 {
		return fm, fmt.Errorf("file %s: bad Size %q", fm.Name, f.SelectAttrValue("Size", ""))
	}
	for _, ad := range children(f, "AdditionalDigest") {
		if ad.SelectAttrValue("Algorithm", "") == "SHA256" {
			if fm.SHA256, err = base64.StdEncoding.DecodeString(ad.Text()); err != nil || len(fm.SHA256) != 32 {
				return fm, fmt.Errorf("file %s: AdditionalDigest %q is not a base64 SHA-256", fm.Name, ad.Text())
			}
		}
	}
	if fm.SHA256 == nil {
		return fm, fmt.Errorf("file %s: no SHA256 AdditionalDigest", fm.Name)
	}
	return fm, nil
}

// parseReportResult reads a ReportEventBatchResponse.
func parseReportResult(resp *etree.Element) (bool, error) {
	return xsdBool(resp, "ReportEventBatchResult")
}

// xsdBool reads the required xs:boolean child tag of e.
func xsdBool(e *etree.Element, tag string) (bool, error) {
	c := child(e, tag)
	if c == nil {
		return false, fmt.Errorf("missing %s", tag)
	}
	switch strings.TrimSpace(c.Text()) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s %q is not an xs:boolean", tag, c.Text())
}

// intList reads an ArrayOfInt.
func intList(e *etree.Element) ([]int, error) {
	var out []int
	for _, c := range children(e, "int") {
		n, err := strconv.Atoi(strings.TrimSpace(c.Text()))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// isGUID reports whether s has the 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
