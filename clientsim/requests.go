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
	// Offered are the UpdateIDs of the updates offered for install (147
	// count; the 156 U= list names those not in Installed, RebootPending or
	// Failed).
	Offered    []string
	Downloaded []reportedUpdate
	// Installed, RebootPending and Failed are the UpdateIDs of earlier
	// installs, named in the 156 V=, W= and g= lists.
	Installed, RebootPending, Failed []string
	// Installing are the updates this scan installs: one 181 (installation
	// started) each, after the 162s.
	Installing []installTarget
}

// Indexes of the prototype events in the recorded flow/000017 batch: the
// 147/156 pair of the scan that found updates, the 161 and the 181 of the
// bundle.
const (
	proto147 = 4
	proto156 = 5
	proto161 = 7
	proto181 = 8
)

// stampEvent gives a copied recorded event this agent's identity, the
// batch time and a fresh EventInstanceID.
func stampEvent(ev *etree.Element, clientID, ts string) error {
	bd := child(ev, "BasicData")
	if err := setText(bd, clientID, "TargetID", "Sid"); err != nil {
		return err
	}
	if err := setText(bd, ts, "TimeAtTarget"); err != nil {
		return err
	}
	return setText(bd, newGUID(), "EventInstanceID")
}

// setEventUpdate sets the EventID, Win32HResult and UpdateID of an event.
func setEventUpdate(ev *etree.Element, eventID int, hr HResult, updateID string, revision int) error {
	bd := child(ev, "BasicData")
	for _, s := range []struct {
		text string
		tags []string
	}{
		{strconv.Itoa(eventID), []string{"EventID"}},
		{strconv.Itoa(int(hr)), []string{"Win32HResult"}},
		{updateID, []string{"UpdateID", "UpdateID"}},
		{strconv.Itoa(revision), []string{"UpdateID", "RevisionNumber"}},
	} {
		if err := setText(bd, s.text, s.tags...); err != nil {
			return err
		}
	}
	return nil
}

// setReplacementStrings replaces the ReplacementStrings of an event.
func setReplacementStrings(ev *etree.Element, texts ...string) error {
	rs := path(ev, "ExtendedData", "ReplacementStrings")
	if rs == nil {
		return fmt.Errorf("recorded event %s has no ReplacementStrings", childText(child(ev, "BasicData"), "EventID"))
	}
	for _, s := range children(rs, "string") {
		rs.RemoveChild(s)
	}
	for _, t := range texts {
		rs.CreateElement("string").SetText(t)
	}
	return nil
}

// buildReportEventBatch builds one ReportEventBatch: a 147 (detection
// finished, ReplacementStrings = number of offered updates), a 156 (status:
// U = offered UpdateIDs upper-case not installed yet, V = installed, W =
// installed pending a restart, g = failed), one 162 (download succeeded) per
// downloaded update and one 181 (installation started) per update being
// installed. Each event is a copy of a recorded native event with only
// identity, time and the values named here replaced; the 162 is derived from
// the recorded 161 (download failed) because no 162 was captured: EventID
// 162, Win32HResult 0, MiscData Q=1 and B=<bytes> added (B = ByteCount,
// MS-WUSP.md §7.3). The 181 is the recorded bundle 181 with Q=1, the value
// the native agent sent in the 181 of a standalone update (wsus-rs
// docs/fixtures/wsus-m0-reports/native-install-events.json, exchange 162),
// and F=<HRESULT> when an earlier attempt failed, as the native 181s of the
// retried MSI updates carry (F = LastError, MS-WUSP.md §7.3). The native
// agent sends the 181s in the batch of the scan and the results (see
// buildInstallReport) in a later one (exchanges 79 and 80 there).
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
	if len(recorded) <= proto181 ||
		childText(path(recorded[proto147], "BasicData"), "EventID") != "147" ||
		childText(path(recorded[proto156], "BasicData"), "EventID") != "156" ||
		childText(path(recorded[proto161], "BasicData"), "EventID") != "161" ||
		childText(path(recorded[proto181], "BasicData"), "EventID") != "181" {
		return nil, 0, fmt.Errorf("template ReportEventBatch.xml: prototype events not where expected")
	}
	p147, p156, p161, p181 := recorded[proto147].Copy(), recorded[proto156].Copy(), recorded[proto161].Copy(), recorded[proto181].Copy()
	for _, e := range recorded {
		batch.RemoveChild(e)
	}

	ev := p147.Copy()
	if err := stampEvent(ev, b.ClientID, ts); err != nil {
		return nil, 0, err
	}
	if err := setText(ev, strconv.Itoa(len(b.Offered)), "ExtendedData", "ReplacementStrings", "string"); err != nil {
		return nil, 0, err
	}
	batch.AddChild(ev)

	ev = p156.Copy()
	if err := stampEvent(ev, b.ClientID, ts); err != nil {
		return nil, 0, err
	}
	misc := path(ev, "ExtendedData", "MiscData")
	u := miscEntry(misc, "U")
	if u == nil {
		return nil, 0, fmt.Errorf("template ReportEventBatch.xml: 156 without U=")
	}
	misc.RemoveChild(u)
	known := map[string]bool{}
	for _, id := range slices.Concat(b.Installed, b.RebootPending, b.Failed) {
		known[strings.ToUpper(id)] = true
	}
	var needed []string
	for _, id := range b.Offered {
		if !known[strings.ToUpper(id)] {
			needed = append(needed, id)
		}
	}
	// The recorded 156 lists U= between T= and AppName=; the native 156
	// of a machine with installed updates lists U= then V= there (wsus-rs
	// docs/fixtures/wsus-m0-reports/native-156-lists.json) and the failed
	// update of a native g= list comes between c= and m= (exchange 165 of
	// native-install-events.json): the single-letter tags sorted, upper and
	// lower case apart. V= is always sent, empty when nothing is installed.
	// [I] W= (InstalledPendingRebootIDs) is specified (MS-WUSP.md §7.3) but
	// was never captured: the native agent was seen keeping an update that
	// waits for its restart in U= until the restart (native-156-lists.json,
	// sizes_over_time). clientsim, which never restarts, reports W= so the
	// server can tell those apart.
	for _, l := range []struct {
		tag    string
		ids    []string
		always bool
	}{{"U", needed, false}, {"V", b.Installed, true}, {"W", b.RebootPending, false}, {"g", b.Failed, false}} {
		if len(l.ids) == 0 && !l.always {
			continue
		}
		ids := make([]string, len(l.ids))
		for i, id := range l.ids {
			ids[i] = strings.ToUpper(id)
		}
		insertMiscSorted(misc, l.tag+"="+strings.Join(ids, ";"))
	}
	batch.AddChild(ev)

	for _, d := range b.Downloaded {
		ev = p161.Copy()
		if err := stampEvent(ev, b.ClientID, ts); err != nil {
			return nil, 0, err
		}
		if err := setEventUpdate(ev, 162, 0, d.UpdateID, d.RevisionNumber); err != nil {
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

	for _, in := range b.Installing {
		ev = p181.Copy()
		if err := stampEvent(ev, b.ClientID, ts); err != nil {
			return nil, 0, err
		}
		if err := setEventUpdate(ev, 181, 0, strings.ToLower(in.UpdateID), in.RevisionNumber); err != nil {
			return nil, 0, err
		}
		if err := setReplacementStrings(ev, in.titleOrID()); err != nil {
			return nil, 0, err
		}
		misc := path(ev, "ExtendedData", "MiscData")
		setMisc(misc, "Q", "1")
		if in.LastError != 0 {
			setMisc(misc, "F", strconv.Itoa(int(in.LastError)))
		}
		batch.AddChild(ev)
	}
	out, err := serialize(doc)
	return out, 2 + len(b.Downloaded) + len(b.Installing), err
}

// installReport is the content of the ReportEventBatch call that reports
// the results of a scan's installs.
type installReport struct {
	Cookie   cookie
	ClientID string
	Time     time.Time
	Results  []installResult
}

// installResult is one install and its outcome.
type installResult struct {
	installTarget
	installOutcome
}

// Index of the prototype event in the recorded flow/000018 batch: the 182 of
// the bundle (the deployed update), with ReplacementStrings.
const proto182 = 1

// buildInstallReport builds the ReportEventBatch of install results: per
// update a 182 (failed), 183 (succeeded) or 184 (succeeded, restart
// required), each a copy of the 182 the native agent sent for the deployed
// update of capture flow/000018 (templates/ReportEventBatch-182.xml) with
// identity, time and these values replaced:
//
//   - every result: the shape of a standalone (not bundled) update, as the
//     native 182 of the MSI update b3201129 had it (wsus-rs
//     docs/fixtures/wsus-m0-reports/native-install-events.json, exchange
//     163): Q=1 and no P=1 (P appears only in the bundle's 182; its meaning
//     is not documented).
//   - 182: Win32HResult and F= (LastError) the HRESULT as a signed decimal,
//     ReplacementStrings the HRESULT in hexadecimal and the title (SUSDB
//     template "failed to install the following update with error %1: %2"),
//     C=1 (RepeatFailFlag) kept as captured, also for a retried install.
//   - 183 and 184: Win32HResult 0 (183) or RebootRequiredHResult (184),
//     ReplacementStrings the title only (SUSDB templates "...installed the
//     following update: %1" and "...restart required for the following
//     update: %1", wsus-rs susdb-client-event-table.csv, and the 183 of the
//     MS-WUSP section 4 example), C= removed. [I] No native 183 or 184 was
//     captured: the MiscData are those of the captured native 182 without
//     the failure tags; the captured native 201 (install pending, restart
//     required) carries the same tags plus D=1, whose meaning there
//     (NumberApplicable, MS-WUSP.md §7.3) is unclear, so it is left out.
//
// The native agent also sends the result for each member of a bundle
// (UpdateID of the member, M=<bundle>;<revision>, no ReplacementStrings);
// clientsim installs only updates that carry their own files, so it sends
// none.
func buildInstallReport(r installReport) ([]byte, int, error) {
	doc, op, err := template("ReportEventBatch-182.xml")
	if err != nil {
		return nil, 0, err
	}
	if err := setCookie(op, r.Cookie); err != nil {
		return nil, 0, err
	}
	ts := r.Time.UTC().Format(layoutMillis)
	if err := setText(op, ts, "clientTime"); err != nil {
		return nil, 0, err
	}
	batch := child(op, "eventBatch")
	recorded := children(batch, "ReportingEvent")
	if len(recorded) <= proto182 || childText(path(recorded[proto182], "BasicData"), "EventID") != "182" ||
		len(children(path(recorded[proto182], "ExtendedData", "ReplacementStrings"), "string")) != 2 {
		return nil, 0, fmt.Errorf("template ReportEventBatch-182.xml: prototype event not where expected")
	}
	proto := recorded[proto182].Copy()
	for _, e := range recorded {
		batch.RemoveChild(e)
	}
	for _, res := range r.Results {
		ev := proto.Copy()
		if err := stampEvent(ev, r.ClientID, ts); err != nil {
			return nil, 0, err
		}
		misc := path(ev, "ExtendedData", "MiscData")
		removeMisc(misc, "P")
		setMisc(misc, "Q", "1")
		id, title := strings.ToLower(res.UpdateID), res.titleOrID()
		switch res.Result {
		case InstallFailed:
			err = setEventUpdate(ev, 182, res.HResult, id, res.RevisionNumber)
			if err == nil {
				err = setReplacementStrings(ev, res.HResult.String(), title)
			}
			setMisc(misc, "F", strconv.Itoa(int(res.HResult)))
		case InstallSucceeded, InstallRebootRequired:
			eventID, hr := 183, HResult(0)
			if res.Result == InstallRebootRequired {
				eventID, hr = 184, RebootRequiredHResult
			}
			err = setEventUpdate(ev, eventID, hr, id, res.RevisionNumber)
			if err == nil {
				err = setReplacementStrings(ev, title)
			}
			removeMisc(misc, "C")
		default:
			err = fmt.Errorf("install of %s: unknown result %v", id, res.Result)
		}
		if err != nil {
			return nil, 0, err
		}
		batch.AddChild(ev)
	}
	out, err := serialize(doc)
	return out, len(r.Results), err
}

// titleOrID is the title reported for an install: the update's title, or
// its UpdateID when GetExtendedUpdateInfo gave none.
func (t installTarget) titleOrID() string {
	if t.Title != "" {
		return t.Title
	}
	return strings.ToLower(t.UpdateID)
}

// isSingleLetterTag reports whether a MiscData tag is one ASCII letter,
// and whether it is upper case.
func isSingleLetterTag(tag string) (single, upper bool) {
	if len(tag) != 1 {
		return false, false
	}
	c := tag[0]
	return ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z'), 'A' <= c && c <= 'Z'
}

// insertMiscSorted inserts the MiscData entry text ("tag=value", tag one
// letter) where the native agent puts it: among the single-letter tags of
// its case, in alphabetical order (the recorded MiscData list the upper-case
// single-letter tags sorted first, the lower-case ones sorted after
// CsiErrorType).
func insertMiscSorted(misc *etree.Element, text string) {
	tag, _, _ := strings.Cut(text, "=")
	_, upper := isSingleLetterTag(tag)
	el := etree.NewElement("string")
	el.SetText(text)
	var last *etree.Element
	for _, s := range children(misc, "string") {
		k, _, _ := strings.Cut(s.Text(), "=")
		single, up := isSingleLetterTag(k)
		if !single || up != upper {
			continue
		}
		if k > tag {
			misc.InsertChildAt(s.Index(), el)
			return
		}
		last = s
	}
	switch {
	case last != nil:
		misc.InsertChildAt(last.Index()+1, el)
	case upper:
		misc.InsertChildAt(0, el)
	default:
		misc.AddChild(el)
	}
}

// setMisc sets the value of a single-letter MiscData tag, inserting the
// entry in its sorted place when absent.
func setMisc(misc *etree.Element, tag, value string) {
	if e := miscEntry(misc, tag); e != nil {
		e.SetText(tag + "=" + value)
		return
	}
	insertMiscSorted(misc, tag+"="+value)
}

// removeMisc removes the MiscData entry of tag when present.
func removeMisc(misc *etree.Element, tag string) {
	if e := miscEntry(misc, tag); e != nil {
		misc.RemoveChild(e)
	}
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
