package wsusss

import (
	"bytes"
	"encoding/base64"
	"strconv"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/soap"
)

// Request is one request to post: Body with Content-Type
// "text/xml; charset=utf-8" and the SOAPAction header set to Action in
// double quotes ([MS-WSUSSS] 2.1; MS-WSUSSS.md section 7 step 2).
type Request struct {
	// Operation is the operation name ("GetRevisionIdList").
	Operation string
	// Action is the SOAPAction URI, unquoted: the service namespace, '/',
	// the operation.
	Action string
	// Body is the SOAP 1.1 envelope.
	Body []byte
}

// newRequest returns the envelope document and the operation element, as
// the recorded requests spell them: an XML declaration, soap:Envelope
// declaring only the soap prefix, soap:Body, and the operation element
// declaring its namespace as the default one (samples
// wsusss-GetAuthorizationCookieRequest.xml, wsusss-GetRevisionIdListRequest-*.xml).
func newRequest(ns, op string) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	env := doc.CreateElement("soap:Envelope")
	env.CreateAttr("xmlns:soap", soap.NSEnvelope)
	el := env.CreateElement("soap:Body").CreateElement(op)
	el.CreateAttr("xmlns", ns)
	return doc, el
}

func finish(doc *etree.Document, ns, op string) Request {
	var buf bytes.Buffer
	// Writing to a bytes.Buffer cannot fail.
	_, _ = doc.WriteTo(&buf)
	return Request{Operation: op, Action: ns + "/" + op, Body: buf.Bytes()}
}

// addCookie writes a Cookie element named name: Expiration, EncryptedData
// (sample wsusss-GetRevisionIdListRequest-filtered.xml).
func addCookie(parent *etree.Element, name string, c Cookie) {
	el := parent.CreateElement(name)
	soap.Elem(el, "Expiration", soap.FormatDateTime(c.Expiration))
	soap.Elem(el, "EncryptedData", base64.StdEncoding.EncodeToString(c.EncryptedData))
}

// addIdentities writes an ArrayOfUpdateIdentity named name.
func addIdentities(parent *etree.Element, name string, ids []UpdateIdentity) {
	arr := parent.CreateElement(name)
	for _, id := range ids {
		it := arr.CreateElement("UpdateIdentity")
		soap.Elem(it, "UpdateID", id.UpdateID.String())
		soap.Elem(it, "RevisionNumber", strconv.FormatInt(int64(id.RevisionNumber), 10))
	}
}

// GetAuthConfigRequest asks for the upstream's authorization plug-ins
// ([MS-WSUSSS] 3.1.4.1: an empty operation element). [I] No recorded
// request; the shape is the spec's.
func GetAuthConfigRequest() Request {
	doc, _ := newRequest(NSServerSync, "GetAuthConfig")
	return finish(doc, NSServerSync, "GetAuthConfig")
}

// GetAuthorizationCookieRequest asks DssAuthWebService for an authorization
// cookie for the DSS named accountName (its FQDN) and accountGUID (its
// stable server ID) ([MS-WSUSSS] 3.1.4.2). The reserved programKeys is not
// sent, as in the recorded request (wsusss-GetAuthorizationCookieRequest.xml),
// which the real WSUS answered.
func GetAuthorizationCookieRequest(accountName string, accountGUID uuid.UUID) Request {
	doc, el := newRequest(NSDssAuth, "GetAuthorizationCookie")
	soap.Elem(el, "accountName", accountName)
	soap.Elem(el, "accountGuid", accountGUID.String())
	return finish(doc, NSDssAuth, "GetAuthorizationCookie")
}

// GetCookieRequest exchanges an authorization cookie for an access cookie
// ([MS-WSUSSS] 3.1.4.3): authCookies holding auth, oldCookie (the last
// Cookie; omitted when old is nil, as the spec says for the first call) and
// protocolVersion ("1.20" is what Windows Server 2025 reports; see
// MS-WSUSSS.md section 1). [I] No recorded request: element names are the
// spec's, the AuthorizationCookie children (PlugInId, CookieData) are those
// of the GetAuthorizationCookie answer.
func GetCookieRequest(auth AuthorizationCookie, old *Cookie, protocolVersion string) Request {
	doc, el := newRequest(NSServerSync, "GetCookie")
	ac := el.CreateElement("authCookies").CreateElement("AuthorizationCookie")
	soap.Elem(ac, "PlugInId", auth.PlugInID)
	soap.Elem(ac, "CookieData", base64.StdEncoding.EncodeToString(auth.CookieData))
	if old != nil {
		addCookie(el, "oldCookie", *old)
	}
	soap.Elem(el, "protocolVersion", protocolVersion)
	return finish(doc, NSServerSync, "GetCookie")
}

// GetConfigDataRequest asks for the upstream's configuration
// ([MS-WSUSSS] 3.1.4.4): cookie, and configAnchor (the last NewConfigAnchor;
// omitted when empty, as on the first call). [I] No recorded request.
func GetConfigDataRequest(cookie Cookie, configAnchor string) Request {
	doc, el := newRequest(NSServerSync, "GetConfigData")
	addCookie(el, "cookie", cookie)
	if configAnchor != "" {
		soap.Elem(el, "configAnchor", configAnchor)
	}
	return finish(doc, NSServerSync, "GetConfigData")
}

// IDAndDelta is one entry of a filter's Categories or Classifications
// (IdAndDelta). Delta true asks only for changes since the filter's Anchor;
// send it for entries already subscribed at that anchor and false for
// entries added since (MS-WSUSSS.md 2.2, observed on a real WSUS).
type IDAndDelta struct {
	ID    uuid.UUID
	Delta bool
}

// LanguageAndDelta is one entry of a filter's Languages: an LCID and its
// Delta. [I] Named after the spec's ArrayOfLanguageAndDelta{Id, Delta}; no
// recorded request carries one.
type LanguageAndDelta struct {
	ID    int32
	Delta bool
}

// Filter is the ServerSyncFilter of GetRevisionIdList ([MS-WSUSSS] 2.2.x;
// MS-WSUSSS.md 2.2). DssProtocolVersion is never sent (the spec says MUST
// NOT).
type Filter struct {
	// Anchor is the Anchor of the previous answer to the same kind of
	// call; empty (omitted) asks for everything.
	Anchor string
	// GetConfig true asks for categories, classifications and detectoids;
	// Categories and Classifications are then ignored by the upstream.
	GetConfig bool
	// Categories (products) and Classifications: an update matches when it
	// is in one of each; when either is set both must be (MS-WSUSSS.md 2.2).
	// Empty lists are omitted.
	Categories      []IDAndDelta
	Classifications []IDAndDelta
	// Languages is omitted when empty.
	Languages []LanguageAndDelta
}

// GetRevisionIdListRequest asks for the revisions the filter selects
// ([MS-WSUSSS] 3.1.4.5). The filter's children are written in WSDL order:
// Anchor, GetConfig, Get63LanguageOnly, Categories, Classifications,
// Languages.
//
// Get63LanguageOnly is always sent, false: the spec calls it required from
// protocol 1.2 on (MS-WSUSSS.md 2.2) and its Sample 2 (a WSUS request) sends
// it after GetConfig. The recorded requests of a third-party prober omit it
// and the real WSUS answered them all the same; this is the one element in
// which our requests differ from them.
func GetRevisionIdListRequest(cookie Cookie, f Filter) Request {
	doc, el := newRequest(NSServerSync, "GetRevisionIdList")
	addCookie(el, "cookie", cookie)
	fe := el.CreateElement("filter")
	if f.Anchor != "" {
		soap.Elem(fe, "Anchor", f.Anchor)
	}
	soap.Elem(fe, "GetConfig", soap.BoolText(f.GetConfig))
	soap.Elem(fe, "Get63LanguageOnly", "false")
	for _, list := range []struct {
		name string
		ids  []IDAndDelta
	}{{"Categories", f.Categories}, {"Classifications", f.Classifications}} {
		if len(list.ids) == 0 {
			continue
		}
		arr := fe.CreateElement(list.name)
		for _, id := range list.ids {
			it := arr.CreateElement("IdAndDelta")
			soap.Elem(it, "Id", id.ID.String())
			soap.Elem(it, "Delta", soap.BoolText(id.Delta))
		}
	}
	if len(f.Languages) > 0 {
		arr := fe.CreateElement("Languages")
		for _, l := range f.Languages {
			it := arr.CreateElement("LanguageAndDelta")
			soap.Elem(it, "Id", strconv.FormatInt(int64(l.ID), 10))
			soap.Elem(it, "Delta", soap.BoolText(l.Delta))
		}
	}
	return finish(doc, NSServerSync, "GetRevisionIdList")
}

// GetUpdateDataRequest asks for the metadata of ids ([MS-WSUSSS] 3.1.4.6):
// cookie, updateIds. Callers send at most the upstream's
// MaxNumberOfUpdatesPerRequest ids (a real WSUS faults InvalidParameters
// "updateIds" on 101). Shape as in the spec's Sample 2
// (mswsusss-spec-example-GetUpdateData-detectoid.xml).
func GetUpdateDataRequest(cookie Cookie, ids []UpdateIdentity) Request {
	doc, el := newRequest(NSServerSync, "GetUpdateData")
	addCookie(el, "cookie", cookie)
	addIdentities(el, "updateIds", ids)
	return finish(doc, NSServerSync, "GetUpdateData")
}

// GetUpdateDecryptionDataRequest asks for the file keys of ids
// ([MS-WSUSSS] 3.1.4.18): cookie, updateIds, at most
// MaxUpdatesPerRequestInGetUpdateDecryptionData of them. [I] No example
// exists; the item element is taken to be UpdateIdentity as in GetUpdateData.
func GetUpdateDecryptionDataRequest(cookie Cookie, ids []UpdateIdentity) Request {
	doc, el := newRequest(NSServerSync, "GetUpdateDecryptionData")
	addCookie(el, "cookie", cookie)
	addIdentities(el, "updateIds", ids)
	return finish(doc, NSServerSync, "GetUpdateDecryptionData")
}
