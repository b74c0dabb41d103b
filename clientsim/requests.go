package clientsim

import (
	"crypto/rand"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// templates holds the recorded native request bodies (see templates/README.md).
//
//go:embed templates/*.xml
var templates embed.FS

// protocolVersion is the client protocol version the captured agent sends.
const protocolVersion = "2.90"

// Time layouts of the native agent: GetCookie sends whole seconds
// ("2026-10-04T15:03:36Z"), ReportEventBatch milliseconds with trailing zeros
// trimmed ("2026-10-04T15:20:47.68Z").
const (
	layoutSeconds = "2006-01-02T15:04:05Z"
	layoutMillis  = "2006-01-02T15:04:05.999Z"
)

// syncParamOrder is the element order of SyncUpdateParameters: the WSDL
// sequence with the native extras (AlsoPerformRegularSync, ProductsParameters)
// where the native agent puts them (MS-WUSP.md §2.2).
var syncParamOrder = []string{
	"ExpressQuery", "InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs", "SystemSpec",
	"CachedDriverIDs", "SkipSoftwareSync", "FilterCategoryIds", "NeedTwoGroupOutOfScopeUpdates",
	"AlsoPerformRegularSync", "ComputerSpec", "FeatureScoreMatchingKey", "ProductsParameters",
}

// cookie is the session Cookie of MS-WUSP (GetCookieResult, NewCookie).
type cookie struct {
	Expiration    string
	EncryptedData string
}

// authCookie is the AuthorizationCookie returned by GetAuthorizationCookie.
type authCookie struct {
	PlugInID   string
	CookieData string
}

// template parses the named embedded request body and returns it with its
// operation element (the first child of s:Body).
func template(name string) (*etree.Document, *etree.Element, error) {
	data, err := templates.ReadFile("templates/" + name)
	if err != nil {
		return nil, nil, fmt.Errorf("template %s: %w", name, err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, nil, fmt.Errorf("template %s: %w", name, err)
	}
	op := firstChildElement(path(doc.Root(), "Body"))
	if op == nil {
		return nil, nil, fmt.Errorf("template %s: no operation element", name)
	}
	return doc, op, nil
}

// serialize writes doc the way the native agent does: no declaration, no
// indentation, only &, < and > escaped in text.
func serialize(doc *etree.Document) ([]byte, error) {
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("serialize: %w", err)
	}
	return b, nil
}

// setText sets the text of the element at the given path below e.
func setText(e *etree.Element, text string, tags ...string) error {
	el := path(e, tags...)
	if el == nil {
		return fmt.Errorf("template has no %s/%s", e.Tag, strings.Join(tags, "/"))
	}
	el.SetText(text)
	return nil
}

// removeChild removes the child element tag of e when present.
func removeChild(e *etree.Element, tag string) {
	if c := child(e, tag); c != nil {
		e.RemoveChild(c)
	}
}

// placeChild inserts el into parent in the position that order prescribes
// for its tag: before the first existing sibling that comes later in order.
func placeChild(parent, el *etree.Element, order []string) {
	rank := slices.Index(order, el.Tag)
	for _, c := range parent.ChildElements() {
		if r := slices.Index(order, c.Tag); r > rank {
			parent.InsertChildAt(c.Index(), el)
			return
		}
	}
	parent.AddChild(el)
}

// setIntList replaces parent's ArrayOfInt child tag by ids; an empty list
// removes the element, as the native agent omits empty id arrays.
func setIntList(parent *etree.Element, tag string, ids []int, order []string) {
	removeChild(parent, tag)
	if len(ids) == 0 {
		return
	}
	el := etree.NewElement(tag)
	for _, id := range ids {
		el.CreateElement("int").SetText(strconv.Itoa(id))
	}
	placeChild(parent, el, order)
}

// setCookie fills the cookie element of an operation.
func setCookie(op *etree.Element, c cookie) error {
	if err := setText(op, c.Expiration, "cookie", "Expiration"); err != nil {
		return err
	}
	return setText(op, c.EncryptedData, "cookie", "EncryptedData")
}

var updateServiceURLRe = regexp.MustCompile(`UpdateServiceUrl=[^;]*;`)

// setUpdateServiceURL points the UpdateServiceUrl entry of a recorded
// DeviceAttributes string at the server under test.
func setUpdateServiceURL(e *etree.Element, server string) {
	if e == nil {
		return
	}
	e.SetText(updateServiceURLRe.ReplaceAllLiteralString(e.Text(), "UpdateServiceUrl="+server+";"))
}

func buildGetConfig() ([]byte, error) {
	doc, op, err := template("GetConfig.xml")
	if err != nil {
		return nil, err
	}
	if err := setText(op, protocolVersion, "protocolVersion"); err != nil {
		return nil, err
	}
	return serialize(doc)
}

func buildGetAuthorizationCookie(clientID, targetGroup, dnsName string) ([]byte, error) {
	doc, op, err := template("GetAuthorizationCookie.xml")
	if err != nil {
		return nil, err
	}
	if err := setText(op, clientID, "clientId"); err != nil {
		return nil, err
	}
	if err := setText(op, dnsName, "dnsName"); err != nil {
		return nil, err
	}
	if targetGroup != "" {
		// Not in the capture (no targeting policy there): WSDL order is
		// clientId, targetGroupName, dnsName.
		tg := etree.NewElement("targetGroupName")
		tg.SetText(targetGroup)
		placeChild(op, tg, []string{"clientId", "targetGroupName", "dnsName"})
	}
	return serialize(doc)
}

// buildGetCookie builds GetCookie. old is the previous session cookie; when
// its EncryptedData is empty only the Expiration is sent, as the native agent
// does on first contact (oldCookie Expiration = currentTime).
func buildGetCookie(auth authCookie, old cookie, lastChange string, now time.Time) ([]byte, error) {
	doc, op, err := template("GetCookie.xml")
	if err != nil {
		return nil, err
	}
	cur := now.UTC().Format(layoutSeconds)
	if old.Expiration == "" {
		old.Expiration = cur
	}
	steps := []struct {
		text string
		tags []string
	}{
		{auth.PlugInID, []string{"authCookies", "AuthorizationCookie", "PlugInId"}},
		{auth.CookieData, []string{"authCookies", "AuthorizationCookie", "CookieData"}},
		{old.Expiration, []string{"oldCookie", "Expiration"}},
		{lastChange, []string{"lastChange"}},
		{cur, []string{"currentTime"}},
		{protocolVersion, []string{"protocolVersion"}},
	}
	for _, s := range steps {
		if err := setText(op, s.text, s.tags...); err != nil {
			return nil, err
		}
	}
	if old.EncryptedData != "" {
		// Cookie type order: Expiration, EncryptedData.
		child(op, "oldCookie").CreateElement("EncryptedData").SetText(old.EncryptedData)
	}
	return serialize(doc)
}

func buildRegisterComputer(c cookie, dnsName string) ([]byte, error) {
	doc, op, err := template("RegisterComputer.xml")
	if err != nil {
		return nil, err
	}
	if err := setCookie(op, c); err != nil {
		return nil, err
	}
	if err := setText(op, dnsName, "computerInfo", "DnsName"); err != nil {
		return nil, err
	}
	return serialize(doc)
}

// syncRequest describes one SyncUpdates call.
type syncRequest struct {
	Driver           bool // driver pass (SkipSoftwareSync=true, SystemSpec, ComputerSpec)
	Cookie           cookie
	InstalledNonLeaf []int
	OtherCached      []int  // software rounds only
	CachedDrivers    []int  // driver pass only
	Server           string // base URL of the server, for DeviceAttributes UpdateServiceUrl
}

// buildSyncUpdates builds a SyncUpdates request from the recorded software
// (scan/000006) or driver (scan/000009) request. The recorded scan was
// category-filtered; clientsim runs a normal full scan and therefore drops
// FilterCategoryIds and NeedTwoGroupOutOfScopeUpdates. Empty id arrays are
// omitted (the native first call omits them all).
func buildSyncUpdates(r syncRequest) ([]byte, error) {
	name := "SyncUpdates-software.xml"
	if r.Driver {
		name = "SyncUpdates-driver.xml"
	}
	doc, op, err := template(name)
	if err != nil {
		return nil, err
	}
	if err := setCookie(op, r.Cookie); err != nil {
		return nil, err
	}
	params := child(op, "parameters")
	if params == nil {
		return nil, fmt.Errorf("template %s has no parameters", name)
	}
	removeChild(params, "FilterCategoryIds")
	removeChild(params, "NeedTwoGroupOutOfScopeUpdates")
	setIntList(params, "InstalledNonLeafUpdateIDs", r.InstalledNonLeaf, syncParamOrder)
	if r.Driver {
		setIntList(params, "CachedDriverIDs", r.CachedDrivers, syncParamOrder)
	} else {
		setIntList(params, "OtherCachedUpdateIDs", r.OtherCached, syncParamOrder)
	}
	setUpdateServiceURL(path(params, "ProductsParameters", "DeviceAttributes"), r.Server)
	return serialize(doc)
}

// buildGetExtendedUpdateInfo asks for the Extended and LocalizedProperties
// fragments (en-US, en) of ids, with the recorded device and caller attributes.
func buildGetExtendedUpdateInfo(c cookie, ids []int, server string) ([]byte, error) {
	doc, op, err := template("GetExtendedUpdateInfo.xml")
	if err != nil {
		return nil, err
	}
	if err := setCookie(op, c); err != nil {
		return nil, err
	}
	order := []string{"cookie", "revisionIDs", "infoTypes", "locales", "deviceAttributes", "GeoId", "callerAttributes"}
	setIntList(op, "revisionIDs", ids, order)
	setUpdateServiceURL(child(op, "deviceAttributes"), server)
	return serialize(doc)
}

// reportedUpdate is one update named by a 162 (download succeeded) event.
type reportedUpdate struct {
	UpdateID       string // lower-case GUID
	RevisionNumber int
	Title          string
	Bytes          int64
}

// eventBatch is the content of one ReportEventBatch call.
type eventBatch struct {
	Cookie   cookie
	ClientID string
	Time     time.Time
	// Offered are the UpdateIDs of the updates offered for install (156 U=).
	Offered    []string
	Downloaded []reportedUpdate
}

// Indexes of the prototype events in the recorded flow/000017 batch: the
// 147/156 pair of the scan that found updates, and the 161 of the bundle.
const (
	proto147 = 4
	proto156 = 5
	proto161 = 7
)

// buildReportEventBatch builds one ReportEventBatch: a 147 (detection
// finished, ReplacementStrings = number of offered updates), a 156 (status:
// U = offered UpdateIDs upper-case, V = empty) and one 162 (download
// succeeded) per downloaded update. Each event is a copy of a recorded native
// event with only identity, time and the values named here replaced; the 162
// is derived from the recorded 161 (download failed) because no 162 was
// captured: EventID 162, Win32HResult 0, MiscData Q=1 and B=<bytes> added
// (B = ByteCount, MS-WUSP.md §7.3).
func buildReportEventBatch(b eventBatch) ([]byte, int, error) {
	doc, op, err := template("ReportEventBatch.xml")
	if err != nil {
		return nil, 0, err
	}
	if err := setCookie(op, b.Cookie); err != nil {
		return nil, 0, err
	}
	ts := b.Time.UTC().Format(layoutMillis)
	if err := setText(op, ts, "clientTime"); err != nil {
		return nil, 0, err
	}
	batch := child(op, "eventBatch")
	recorded := children(batch, "ReportingEvent")
	if len(recorded) <= proto161 ||
		childText(path(recorded[proto147], "BasicData"), "EventID") != "147" ||
		childText(path(recorded[proto156], "BasicData"), "EventID") != "156" ||
		childText(path(recorded[proto161], "BasicData"), "EventID") != "161" {
		return nil, 0, fmt.Errorf("template ReportEventBatch.xml: prototype events not where expected")
	}
	p147, p156, p161 := recorded[proto147].Copy(), recorded[proto156].Copy(), recorded[proto161].Copy()
	for _, e := range recorded {
		batch.RemoveChild(e)
	}

	common := func(ev *etree.Element) error {
		bd := child(ev, "BasicData")
		if err := setText(bd, b.ClientID, "TargetID", "Sid"); err != nil {
			return err
		}
		if err := setText(bd, ts, "TimeAtTarget"); err != nil {
			return err
		}
		return setText(bd, newGUID(), "EventInstanceID")
	}

	ev := p147.Copy()
	if err := common(ev); err != nil {
		return nil, 0, err
	}
	if err := setText(ev, strconv.Itoa(len(b.Offered)), "ExtendedData", "ReplacementStrings", "string"); err != nil {
		return nil, 0, err
	}
	batch.AddChild(ev)

	ev = p156.Copy()
	if err := common(ev); err != nil {
		return nil, 0, err
	}
	misc := path(ev, "ExtendedData", "MiscData")
	u := miscEntry(misc, "U")
	if u == nil {
		return nil, 0, fmt.Errorf("template ReportEventBatch.xml: 156 without U=")
	}
	at := u.Index()
	misc.RemoveChild(u)
	if len(b.Offered) > 0 {
		ids := make([]string, len(b.Offered))
		for i, id := range b.Offered {
			ids[i] = strings.ToUpper(id)
		}
		nu := etree.NewElement("string")
		nu.SetText("U=" + strings.Join(ids, ";"))
		misc.InsertChildAt(at, nu)
		at = nu.Index() + 1
	}
	v := etree.NewElement("string")
	v.SetText("V=")
	misc.InsertChildAt(at, v)
	batch.AddChild(ev)

	for _, d := range b.Downloaded {
		ev = p161.Copy()
		if err := common(ev); err != nil {
			return nil, 0, err
		}
		bd := child(ev, "BasicData")
		for _, s := range []struct{ text, tag string }{
			{"162", "EventID"}, {"0", "Win32HResult"},
		} {
			if err := setText(bd, s.text, s.tag); err != nil {
				return nil, 0, err
			}
		}
		if err := setText(bd, d.UpdateID, "UpdateID", "UpdateID"); err != nil {
			return nil, 0, err
		}
		if err := setText(bd, strconv.Itoa(d.RevisionNumber), "UpdateID", "RevisionNumber"); err != nil {
			return nil, 0, err
		}
		title := d.Title
		if title == "" {
			title = d.UpdateID
		}
		if err := setText(ev, title, "ExtendedData", "ReplacementStrings", "string"); err != nil {
			return nil, 0, err
		}
		misc := path(ev, "ExtendedData", "MiscData")
		if q := miscEntry(misc, "Q"); q != nil {
			q.SetText("Q=1")
		}
		bytesEntry := etree.NewElement("string")
		bytesEntry.SetText("B=" + strconv.FormatInt(d.Bytes, 10))
		misc.InsertChildAt(0, bytesEntry)
		batch.AddChild(ev)
	}
	out, err := serialize(doc)
	return out, 2 + len(b.Downloaded), err
}

// miscEntry returns the MiscData string whose tag (text before '=') is tag.
func miscEntry(misc *etree.Element, tag string) *etree.Element {
	for _, s := range children(misc, "string") {
		if k, _, ok := strings.Cut(s.Text(), "="); ok && k == tag {
			return s
		}
	}
	return nil
}

// newGUID returns a random (version 4) GUID in lower case.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
