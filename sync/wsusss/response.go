package wsusss

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/internal/cab"
	"wsus/soap"
)

// result reads body as the answer to op of the service ns: it returns the
// <op>Result element (nil when absent or xsi:nil), a *Fault when the Body
// holds a soap Fault, or an error wrapping ErrMalformed.
func result(op, ns string, body []byte) (*etree.Element, error) {
	doc, err := soap.ReadDocument(body)
	if err != nil {
		return nil, malformed(op, "not XML: %v", err)
	}
	env := doc.Root()
	if env == nil {
		return nil, malformed(op, "not XML: no root element")
	}
	if env.Tag != "Envelope" || env.NamespaceURI() != soap.NSEnvelope {
		return nil, malformed(op, "not a SOAP 1.1 envelope")
	}
	b := soap.Child(env, "Body")
	if b == nil || b.NamespaceURI() != soap.NSEnvelope {
		return nil, malformed(op, "SOAP envelope without Body")
	}
	kids := b.ChildElements()
	if len(kids) == 0 {
		return nil, malformed(op, "empty SOAP Body")
	}
	el := kids[0]
	if el.Tag == "Fault" && el.NamespaceURI() == soap.NSEnvelope {
		return nil, parseFault(op, el)
	}
	if el.Tag != op+"Response" || el.NamespaceURI() != ns {
		return nil, malformed(op, "SOAP Body holds {%s}%s, want {%s}%sResponse", el.NamespaceURI(), el.Tag, ns, op)
	}
	return soap.Child(el, op+"Result"), nil
}

// requiredResult is result when the answer must carry an <op>Result.
func requiredResult(op, ns string, body []byte) (*etree.Element, error) {
	r, err := result(op, ns, body)
	if err == nil && r == nil {
		err = malformed(op, "no %sResult", op)
	}
	return r, err
}

// parseFault reads a SOAP 1.1 Fault. The WSUS detail block has unqualified
// children; a SOAP 1.2 stack names the block Detail, which is accepted too
// ([MS-WSUSSS] 2.2.9; MS-WSUSSS.md 2.4). Texts are trimmed: the spec's
// example wraps them.
func parseFault(op string, fe *etree.Element) *Fault {
	f := &Fault{
		Operation:   op,
		FaultCode:   soap.Text(fe, "faultcode"),
		FaultString: soap.Text(fe, "faultstring"),
		FaultActor:  soap.Text(fe, "faultactor"),
	}
	d := soap.Child(fe, "detail")
	if d == nil {
		d = soap.Child(fe, "Detail")
	}
	if d != nil {
		f.Code = soap.ErrorCode(soap.Text(d, "ErrorCode"))
		f.Message = soap.Text(d, "Message")
		f.ID = soap.Text(d, "ID")
		f.Method = soap.Text(d, "Method")
	}
	return f
}

// fields reads typed children of one element, remembering the first error.
type fields struct {
	op  string
	el  *etree.Element
	err error
}

func (r *fields) fail(format string, args ...any) {
	if r.err == nil {
		r.err = malformed(r.op, format, args...)
	}
}

// text returns child name's trimmed text; required makes absence an error.
func (r *fields) text(name string, required bool) string {
	s := soap.Text(r.el, name)
	if s == "" && required {
		r.fail("%s/%s missing", r.el.Tag, name)
	}
	return s
}

// bool reads an xs:boolean child; absent is false unless required.
func (r *fields) bool(name string, required bool) bool {
	switch s := r.text(name, required); s {
	case "", "false", "0":
		return false
	case "true", "1":
		return true
	default:
		r.fail("%s/%s: %q is not a boolean", r.el.Tag, name, s)
		return false
	}
}

// int reads an xs:int child; absent is 0 unless required.
func (r *fields) int(name string, required bool) int32 {
	s := r.text(name, required)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		r.fail("%s/%s: %q is not an int", r.el.Tag, name, s)
	}
	return int32(v)
}

func (r *fields) time(name string, required bool) time.Time {
	s := r.text(name, required)
	if s == "" {
		return time.Time{}
	}
	t, err := soap.ParseDateTime(s)
	if err != nil {
		r.fail("%s/%s: %v", r.el.Tag, name, err)
	}
	return t
}

func (r *fields) base64(name string, required bool) []byte {
	return r.decode64(r.text(name, required), name)
}

func (r *fields) decode64(s, name string) []byte {
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		r.fail("%s/%s: not base64: %v", r.el.Tag, name, err)
	}
	return b
}

func (r *fields) guid(name string) uuid.UUID {
	s := r.text(name, true)
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		r.fail("%s/%s: %q is not a GUID", r.el.Tag, name, s)
	}
	return id
}

// identity reads an UpdateIdentity element (UpdateID, RevisionNumber).
func (r *fields) identity(el *etree.Element) UpdateIdentity {
	f := fields{op: r.op, el: el}
	id := UpdateIdentity{UpdateID: f.guid("UpdateID"), RevisionNumber: f.int("RevisionNumber", true)}
	if r.err == nil {
		r.err = f.err
	}
	return id
}

// items returns the non-nil child elements of the array child name, whatever
// their names (absent, empty and nil arrays are all empty).
func items(el *etree.Element, name string) []*etree.Element {
	arr := soap.Child(el, name)
	if arr == nil {
		return nil
	}
	var out []*etree.Element
	for _, it := range arr.ChildElements() {
		if !soap.IsNil(it) {
			out = append(out, it)
		}
	}
	return out
}

// AuthConfig is the GetAuthConfig answer, ServerAuthConfig ([MS-WSUSSS]
// 3.1.4.1; sample wsusss-GetAuthConfigResponse.xml). AllowedEventIds, which
// the spec lists and no sample carries, is not read.
type AuthConfig struct {
	LastChange time.Time
	AuthInfo   []AuthPlugIn
}

// AuthPlugIn is one AuthPlugInInfo.
type AuthPlugIn struct {
	// PlugInID is "DssTargeting" on every upstream seen.
	PlugInID string
	// ServiceURL is relative to the upstream's root
	// ("DssAuthWebService/DssAuthWebService.asmx").
	ServiceURL string
	// Parameter is empty on every upstream seen.
	Parameter string
}

// ParseGetAuthConfigResponse reads a GetAuthConfig answer. An answer with no
// AuthPlugInInfo is malformed (the spec says exactly one).
func ParseGetAuthConfigResponse(body []byte) (*AuthConfig, error) {
	const op = "GetAuthConfig"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return nil, err
	}
	r := fields{op: op, el: res}
	ac := &AuthConfig{LastChange: r.time("LastChange", false)}
	for _, it := range items(res, "AuthInfo") {
		p := fields{op: op, el: it}
		ac.AuthInfo = append(ac.AuthInfo, AuthPlugIn{
			PlugInID:   p.text("PlugInID", true),
			ServiceURL: p.text("ServiceUrl", true),
			Parameter:  p.text("Parameter", false),
		})
		if r.err == nil {
			r.err = p.err
		}
	}
	if r.err == nil && len(ac.AuthInfo) == 0 {
		r.fail("no AuthPlugInInfo")
	}
	if r.err != nil {
		return nil, r.err
	}
	return ac, nil
}

// ParseGetAuthorizationCookieResponse reads a DssAuthWebService
// GetAuthorizationCookie answer: AuthorizationCookie{PlugInId, CookieData}
// ([MS-WSUSSS] 3.1.4.2). [I] No answer was recorded; the element names are
// the spec's, in the DssAuth namespace like the request.
func ParseGetAuthorizationCookieResponse(body []byte) (AuthorizationCookie, error) {
	const op = "GetAuthorizationCookie"
	res, err := requiredResult(op, NSDssAuth, body)
	if err != nil {
		return AuthorizationCookie{}, err
	}
	r := fields{op: op, el: res}
	ac := AuthorizationCookie{PlugInID: r.text("PlugInId", false), CookieData: r.base64("CookieData", true)}
	if r.err != nil {
		return AuthorizationCookie{}, r.err
	}
	return ac, nil
}

// ParseGetCookieResponse reads a GetCookie answer (sample
// wsusss-GetCookieResponse.xml). Both Expiration and EncryptedData are
// required.
func ParseGetCookieResponse(body []byte) (Cookie, error) {
	const op = "GetCookie"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return Cookie{}, err
	}
	r := fields{op: op, el: res}
	c := Cookie{Expiration: r.time("Expiration", true), EncryptedData: r.base64("EncryptedData", true)}
	if r.err != nil {
		return Cookie{}, r.err
	}
	return c, nil
}

// ConfigData is ServerSyncConfigData, the GetConfigData answer
// ([MS-WSUSSS] 3.1.4.4; MS-WSUSSS.md 2.1; samples
// wsusss-GetConfigDataResponse-wsus-upstream.xml and -microsoft-update.xml).
type ConfigData struct {
	// CatalogOnlySync: the upstream serves no content; files come from
	// their MUUrl (true for Microsoft Update).
	CatalogOnlySync bool
	// LazySync: the upstream downloads content only when approved.
	LazySync bool
	// ServerHostsPsfFiles: the upstream hosts PSF (express) files.
	ServerHostsPsfFiles bool
	// MaxNumberOfUpdatesPerRequest bounds the ids of one GetUpdateData
	// (100 on both samples); always > 0 in a parsed answer.
	MaxNumberOfUpdatesPerRequest int32
	// The driver-sync limits: 0 on a WSUS upstream.
	MaxNumberOfDriverSetsPerRequest    int32
	MaxNumberOfComputerIdsInRequest    int32
	MaxNumberOfPnpHardwareIdsInRequest int32
	// MaxUpdatesPerRequestInGetUpdateDecryptionData bounds the ids of one
	// GetUpdateDecryptionData; 0 when absent.
	MaxUpdatesPerRequestInGetUpdateDecryptionData int32
	// NewConfigAnchor is the configAnchor of the next GetConfigData.
	NewConfigAnchor string
	// ProtocolVersion is the upstream's ("1.20" WSUS 2025, "1.21" MU).
	ProtocolVersion string
	// Languages is LanguageUpdateList: the languages changed since the
	// configAnchor (all of them without one; WSUS omits the list when
	// called with an anchor, MS-WSUSSS.md section 2).
	Languages []Language
}

// Language is one ServerSyncLanguageData.
type Language struct {
	// ID is the LCID (1033); 0 is the "all" entry.
	ID int32
	// Short is the language code ("en", "pt-br", "all").
	Short string
	// Long is the English name ("English").
	Long string
	// Enabled: the upstream synchronizes this language.
	Enabled bool
}

// ParseGetConfigDataResponse reads a GetConfigData answer, its fields by name
// in any order. MaxNumberOfUpdatesPerRequest must be present and positive:
// without it no GetUpdateData batch size is known. [I] The other fields are
// not required: the spec's sequence has them all, but nothing depends on
// their presence.
func ParseGetConfigDataResponse(body []byte) (*ConfigData, error) {
	const op = "GetConfigData"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return nil, err
	}
	r := fields{op: op, el: res}
	c := &ConfigData{
		CatalogOnlySync:                               r.bool("CatalogOnlySync", false),
		LazySync:                                      r.bool("LazySync", false),
		ServerHostsPsfFiles:                           r.bool("ServerHostsPsfFiles", false),
		MaxNumberOfUpdatesPerRequest:                  r.int("MaxNumberOfUpdatesPerRequest", true),
		MaxNumberOfDriverSetsPerRequest:               r.int("MaxNumberOfDriverSetsPerRequest", false),
		MaxNumberOfComputerIdsInRequest:               r.int("MaxNumberOfComputerIdsInRequest", false),
		MaxNumberOfPnpHardwareIdsInRequest:            r.int("MaxNumberOfPnpHardwareIdsInRequest", false),
		MaxUpdatesPerRequestInGetUpdateDecryptionData: r.int("MaxUpdatesPerRequestInGetUpdateDecryptionData", false),
		NewConfigAnchor:                               r.text("NewConfigAnchor", false),
		ProtocolVersion:                               r.text("ProtocolVersion", false),
	}
	if r.err == nil && c.MaxNumberOfUpdatesPerRequest <= 0 {
		r.fail("MaxNumberOfUpdatesPerRequest %d is not positive", c.MaxNumberOfUpdatesPerRequest)
	}
	for _, it := range items(res, "LanguageUpdateList") {
		l := fields{op: op, el: it}
		c.Languages = append(c.Languages, Language{
			ID:      l.int("LanguageID", true),
			Short:   l.text("ShortLanguage", false),
			Long:    l.text("LongLanguage", false),
			Enabled: l.bool("Enabled", false),
		})
		if r.err == nil {
			r.err = l.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// RevisionIDList is the GetRevisionIdList answer ([MS-WSUSSS] 3.1.4.5;
// sample wsusss-GetRevisionIdListResponse-getconfig-categories.xml).
type RevisionIDList struct {
	// Anchor is the Anchor of the next call with the same filter; store it
	// only once everything the list names is stored.
	Anchor string
	// NewRevisions, in the upstream's order. A real WSUS lists several
	// revisions of one UpdateID (rev 1 and rev 100 of a classification),
	// although the spec says one per UpdateID; all are kept. An entry
	// carries nothing beside its identity (no IsCategory, no type): what a
	// revision is comes from its document (GetUpdateData).
	NewRevisions []UpdateIdentity
}

// ParseGetRevisionIdListResponse reads a GetRevisionIdList answer. The
// Anchor is required: [I] an answer without one would reset the next call
// to a full list, silently.
func ParseGetRevisionIdListResponse(body []byte) (*RevisionIDList, error) {
	const op = "GetRevisionIdList"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return nil, err
	}
	r := fields{op: op, el: res}
	l := &RevisionIDList{Anchor: r.text("Anchor", true)}
	its := items(res, "NewRevisions")
	l.NewRevisions = make([]UpdateIdentity, 0, len(its))
	for _, it := range its {
		l.NewRevisions = append(l.NewRevisions, r.identity(it))
	}
	if r.err != nil {
		return nil, r.err
	}
	return l, nil
}

// UpdateData is ServerUpdateData, the GetUpdateData answer ([MS-WSUSSS]
// 3.1.4.6; MS-WSUSSS.md 2.3).
type UpdateData struct {
	Updates []Update
	// FileURLs is fileUrls: where the files the updates name can be
	// downloaded, joined to them by digest.
	FileURLs []FileURL
}

// Update is one ServerSyncUpdateData.
type Update struct {
	ID UpdateIdentity
	// XML is the upd:Update document in UTF-8: the XmlUpdateBlob text, or
	// the XmlUpdateBlobCompressed cabinet decoded by cab.DecodeUpdateBlob
	// (byte for byte the document Microsoft wrote). Its identity is not
	// checked against ID here; catalog/metadata.Parse reads it.
	XML []byte
	// Compressed reports that XML came from XmlUpdateBlobCompressed.
	Compressed bool
	// FileDigests is FileDigestList: the SHA-1 of each content file
	// (absent when the update has none).
	FileDigests [][]byte
}

// FileURL is one ServerSyncUrlData.
type FileURL struct {
	// Digest is FileDigest, the SHA-1 of the file (upd:File/@Digest).
	Digest []byte
	// MUURL is where Microsoft Update serves it; empty when it does not.
	MUURL string
	// USSURL is UssUrl, unused (empty) on every upstream seen.
	USSURL string
}

// ParseGetUpdateDataResponse reads a GetUpdateData answer, decoding every
// XmlUpdateBlobCompressed. An update must carry exactly one of
// XmlUpdateBlob and XmlUpdateBlobCompressed, non-empty. The compressed
// blobs of one answer may decode to MaxDecodedBytes together (each to
// cab.MaxUpdateBlobSize): the memory a parse takes is bounded by the body's
// size plus that much. An answer past it fails with an error wrapping
// cab.ErrTooLarge, which tells the caller to ask for fewer updates at once.
func ParseGetUpdateDataResponse(body []byte) (*UpdateData, error) {
	return parseGetUpdateData(body, MaxDecodedBytes)
}

// parseGetUpdateData is ParseGetUpdateDataResponse with maxDecoded in place
// of MaxDecodedBytes.
func parseGetUpdateData(body []byte, maxDecoded int64) (*UpdateData, error) {
	const op = "GetUpdateData"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return nil, err
	}
	decoded := int64(0) // UTF-16 bytes of the compressed blobs decoded so far, at most
	d := &UpdateData{}
	for _, it := range items(res, "updates") {
		u := fields{op: op, el: it}
		up := Update{}
		if id := soap.Child(it, "Id"); id != nil {
			up.ID = u.identity(id)
		} else {
			u.fail("ServerSyncUpdateData without Id")
		}
		plain, compressed := soap.Child(it, "XmlUpdateBlob"), soap.Child(it, "XmlUpdateBlobCompressed")
		switch {
		case plain != nil && compressed != nil:
			u.fail("update %s: both XmlUpdateBlob and XmlUpdateBlobCompressed", up.ID.UpdateID)
		case plain != nil:
			// The text as is: the document, unescaped by the parser.
			if strings.TrimSpace(plain.Text()) == "" {
				u.fail("update %s: empty XmlUpdateBlob", up.ID.UpdateID)
			}
			up.XML = []byte(plain.Text())
		case compressed != nil:
			up.Compressed = true
			if raw := u.base64("XmlUpdateBlobCompressed", true); u.err == nil {
				// The limit counts the documents as stored, in UTF-16;
				// twice their UTF-8 length is that or more.
				doc, err := cab.DecodeUpdateBlobLimit(raw, maxDecoded-decoded)
				if err != nil {
					if errors.Is(err, cab.ErrTooLarge) {
						return nil, fmt.Errorf("wsusss: %s: update %s: the answer's documents pass %d bytes: %w", op, up.ID.UpdateID, maxDecoded, err)
					}
					u.fail("update %s: XmlUpdateBlobCompressed: %v", up.ID.UpdateID, err)
				}
				decoded += 2 * int64(len(doc))
				up.XML = doc
			}
		default:
			u.fail("update %s: no XmlUpdateBlob nor XmlUpdateBlobCompressed", up.ID.UpdateID)
		}
		for _, dg := range items(it, "FileDigestList") {
			s := strings.TrimSpace(dg.Text())
			if s == "" {
				u.fail("update %s: empty FileDigestList entry", up.ID.UpdateID)
				continue
			}
			up.FileDigests = append(up.FileDigests, u.decode64(s, "FileDigestList"))
		}
		if u.err != nil {
			return nil, u.err
		}
		d.Updates = append(d.Updates, up)
	}
	for _, it := range items(res, "fileUrls") {
		f := fields{op: op, el: it}
		d.FileURLs = append(d.FileURLs, FileURL{
			Digest: f.base64("FileDigest", true),
			MUURL:  f.text("MUUrl", false),
			USSURL: f.text("UssUrl", false),
		})
		if f.err != nil {
			return nil, f.err
		}
	}
	return d, nil
}

// DecryptionData is one ServerSyncUpdateFileDecryption of a
// GetUpdateDecryptionData answer ([MS-WSUSSS] 3.1.4.18).
//
// [I] No example of this answer exists in the spec or in any capture; the
// element names (GetUpdateDecryptionDataResult / UpdateFileDecryptionData /
// {UpdateId: UpdateIdentity, FileDecryptionData / {FileDigest,
// DecryptionKey}}) follow the spec's type names as summed up in
// MS-WSUSSS.md section 2 and the WSDL-derived types of
// github.com/CaddyGlow/wsus-rs (crates/wsus-protocol, commit 1e4c8059).
// Array items are read whatever their element names.
type DecryptionData struct {
	UpdateID UpdateIdentity
	Files    []FileDecryption
}

// FileDecryption is the key of one file.
type FileDecryption struct {
	// Digest is FileDigest (SHA-1).
	Digest []byte
	// Key is DecryptionKey; nil when the upstream sent none (the spec says
	// it MAY be null).
	Key []byte
}

// ParseGetUpdateDecryptionDataResponse reads a GetUpdateDecryptionData
// answer.
func ParseGetUpdateDecryptionDataResponse(body []byte) ([]DecryptionData, error) {
	const op = "GetUpdateDecryptionData"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return nil, err
	}
	var out []DecryptionData
	for _, it := range items(res, "UpdateFileDecryptionData") {
		r := fields{op: op, el: it}
		dd := DecryptionData{}
		if id := soap.Child(it, "UpdateId"); id != nil {
			dd.UpdateID = r.identity(id)
		} else {
			r.fail("no UpdateId")
		}
		for _, f := range items(it, "FileDecryptionData") {
			ff := fields{op: op, el: f}
			dd.Files = append(dd.Files, FileDecryption{Digest: ff.base64("FileDigest", true), Key: ff.base64("DecryptionKey", false)})
			if r.err == nil {
				r.err = ff.err
			}
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, dd)
	}
	return out, nil
}
