package catalogen

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Provenance notes of the generated document kinds (header comment).
const (
	sourceDetectoid = "Shape of the Detectoid example of MS-WSUSSS section 4 (examples/mswsusss-spec-upd-Update-detectoid.xml); " +
		"UpdateID, title and rule values generated."
	sourceBundle = "Shape of metadata-samples/update-software-bundle-defender-engine-1f9bd9bb-r200.xml, with the IsCategory " +
		"prerequisites of a top-level update (captures/wsus-rs/wsus-m0-cbs/osinstaller-core.xml) and the SupportUrl and " +
		"KBArticleID of the real top-level Extended fragments; UpdateID, title and relationships generated."
	sourceCmd = "Shape of metadata-samples/update-software-leaf-commandline-am-engine-ff36f0b5-r200.xml; " +
		"UpdateID, title, rule values and file generated."
	sourceCbs = "CBS shape rebuilt from the real Core and Extended fragments in captures/wsus-rs/wsus-m0-cbs/ " +
		"(the namespace of CbsPackageInstalled, CbsPackageInstallable and CbsPackageApplicabilityMetadata is not " +
		"recorded there; the Cbs handler namespace is an assumption); UpdateID, title, manifest and file generated."
)

// detectoid emits detectoid d. The first plan.roots detectoids stand alone;
// every other one names one of them as prerequisite.
func (g *generator) detectoid(d int) error {
	id := newID(g.key, streamIDDetectoid, uint64(d))
	r := g.docs.reseed(streamDetectoid, uint64(d))
	created := time.Date(2015, 7, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(d) * 97 * time.Minute)

	g.begin(sourceDetectoid)
	w := &g.w
	w.raw(`<upd:Update xmlns:pub="` + nsPub + `" xmlns:bar="` + nsBar + `" xmlns:lar="` + nsLar + `" xmlns:upd="` + nsUpd + `">`)
	w.identity(id, 100)
	w.raw(`<upd:Properties DefaultPropertiesLanguage="en" UpdateType="Detectoid" ExplicitlyDeployable="false" IsPublic="false" PublicationState="Published"`)
	w.attr("CreationDate", creation(created))
	w.attr("PublisherID", publisherCategories)
	w.raw("></upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties>")
	w.elem("upd:Language", "en")
	w.elem("upd:Title", "Generated detectoid "+strconv.Itoa(d+1))
	w.raw("</upd:LocalizedProperties></upd:LocalizedPropertiesCollection>")
	if d >= g.plan.roots {
		w.raw("<upd:Relationships><upd:Prerequisites>")
		w.identity(newID(g.key, streamIDDetectoid, uint64(d%g.plan.roots)), -1)
		w.raw("</upd:Prerequisites></upd:Relationships>")
	}
	w.raw("<upd:ApplicabilityRules><upd:IsInstalled>")
	// Rule elements and attributes as in the real documents (bar:WindowsVersion
	// of OOBE ZDP, bar:RegDword, bar:RegValueExists and
	// bar:FileVersionPrependRegSz of the Defender leaf); values generated.
	switch d % 4 {
	case 0:
		w.raw(`<lar:And><bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" MinorVersion="0" ProductType="1" />`)
		w.raw(`<bar:RegDword Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft\Windows NT\CurrentVersion" Value="UBR" Comparison="GreaterThanOrEqualTo"`)
		w.attrInt("Data", r.between(1, 6000))
		w.raw(` /></lar:And>`)
	case 1:
		w.raw(`<bar:RegValueExists Key="HKEY_LOCAL_MACHINE"`)
		w.attr("Subkey", fmt.Sprintf(`SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\Package_for_KB%d~31bf3856ad364e35~amd64~~10.0.1.%d`,
			r.between(5000000, 5099999), r.between(1, 12)))
		w.raw(` Value="CurrentState" Type="REG_DWORD" />`)
	case 2:
		w.raw(`<bar:RegDword Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft\Windows NT\CurrentVersion" Value="UBR"`)
		w.raw(` Comparison="LessThan"`)
		w.attrInt("Data", r.between(1, 6000))
		w.raw(` />`)
	default:
		w.raw(`<bar:FileVersionPrependRegSz Path="mpclient.dll" Comparison="GreaterThanOrEqualTo"`)
		w.attr("Version", fmt.Sprintf("4.18.%d.%d", r.between(1800, 26000), r.between(0, 9)))
		w.raw(` Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft\Windows Defender" Value="InstallLocation" />`)
	}
	w.raw("</upd:IsInstalled></upd:ApplicabilityRules></upd:Update>")
	g.stats.Detectoids++
	return g.finish("detectoid", id, 100)
}

// topInfo is what every document of top-level update k shares.
type topInfo struct {
	k, pos  int
	s       series
	leaves  int
	id      uuid.UUID
	kb      int
	created time.Time
}

func (g *generator) topInfo(k int) topInfo {
	s, pos := g.plan.top(k)
	t := topInfo{k: k, pos: pos, s: s, leaves: g.plan.leafCount(g.sizes, k),
		id: newID(g.key, streamIDTop, uint64(k)), kb: 5_100_000 + k}
	offset := time.Duration(k%len(g.plan.series)) * 7 * time.Minute
	if s.fam == famDefender {
		// Defender publishes several times a week; Windows and Office monthly.
		t.created = time.Date(2024, 1, 2, 8, 19, 36, 190e6, time.UTC).AddDate(0, 0, 2*pos).Add(offset)
	} else {
		t.created = time.Date(2023, 1, 10, 18, 0, 0, 0, time.UTC).AddDate(0, pos, 0).Add(offset)
	}
	return t
}

// Windows 11 variants: series v of the family is kind v%4, architecture
// (v/4)%2, version (v/8)%3.
var (
	winKinds = [...]struct {
		title   string
		classID uuid.UUID
	}{
		{"%s Cumulative Update for Windows 11 Version %s for %s-based Systems (KB%d)", idSecurityUpdates},
		{"%s Cumulative Update for .NET Framework 3.5 and 4.8.1 for Windows 11, version %s for %s (KB%d)", idSecurityUpdates},
		{"%s Servicing Stack Update for Windows 11 Version %s for %s-based Systems (KB%d)", idCriticalUpdates},
		{"%s Update for Windows 11 Version %s for %s-based Systems (KB%d)", idUpdates},
	}
	winArchs    = [...]struct{ title, file, cbs string }{{"x64", "x64", "amd64"}, {"ARM64", "arm64", "arm64"}}
	winVersions = [...]struct {
		name  string
		build int
	}{{"24H2", 26100}, {"23H2", 22631}, {"25H2", 26200}}
)

const (
	winCU = iota
	winDotNet
	winSSU
	winUpdate
)

type winVariant struct{ kind, arch, version int }

func windowsVariant(v int) winVariant {
	return winVariant{kind: v % 4, arch: (v / 4) % 2, version: (v / 8) % 3}
}

// windowsTitle is the title of a Windows update of the given kind, dated by
// t's position in its series (one a month).
func windowsTitle(kind int, v winVariant, t *topInfo) string {
	month := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, t.pos, 0).Format("2006-01")
	return fmt.Sprintf(winKinds[kind].title, month, winVersions[v.version].name, winArchs[v.arch].title, t.kb)
}

// Defender and Office series names.
var (
	defenderChannels = [...]string{"Current Channel (Broad)", "Current Channel (Staged)", "Beta Channel", "Preview Channel"}
	// Real sizes: AM_Engine 6.7 MB, AM_Delta 11.6 MB, AM_Base 204.7 MB.
	defenderParts = [...]struct {
		title, file, path string
		lo, hi            int64
	}{
		{"AM Engine", "AM_Engine.exe", "mpengine.dll", 6 << 20, 8 << 20},
		{"Bases", "AM_Base.exe", "mpasbase.vdm", 150 << 20, 250 << 20},
		{"Full Deltas", "AM_Delta.exe", "mpasdlta.vdm", 5 << 20, 15 << 20},
		{"MpSigStub", "MpSigStub.exe", "mpsigstub.exe", 512 << 10, 1536 << 10},
	}
	defenderArchs  = [...]string{"amd64", "x86", "arm64"}
	officeChannels = [...]string{"Current Channel", "Monthly Enterprise Channel", "Semi-Annual Enterprise Channel"}
	officeKinds    = [...]uuid.UUID{idUpdates, idSecurityUpdates, idCriticalUpdates}
)

// topDesc is what a top-level document says about itself.
type topDesc struct {
	title, moreInfo, supportURL, kb, msrc string
	product, class                        uuid.UUID
	detectoids                            int
}

// describeTop draws the description of top-level update t from r.
func (g *generator) describeTop(t *topInfo, r *rng) topDesc {
	var d topDesc
	switch t.s.fam {
	case famWindows:
		v := windowsVariant(t.s.variant)
		kind := winKinds[v.kind]
		d.title = windowsTitle(v.kind, v, t)
		d.product, d.class = idWindows11, kind.classID
		d.kb = strconv.Itoa(t.kb)
		d.supportURL = "https://support.microsoft.com/help/" + d.kb
		d.moreInfo = d.supportURL
		if kind.classID == idSecurityUpdates {
			d.msrc = [...]string{"Critical", "Important"}[r.IntN(2)]
		}
		d.detectoids = r.IntN(3) // sometimes; the real OS installer update names 2
	case famDefender:
		major := 400 + t.pos/8
		d.title = fmt.Sprintf("Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.%d.%d.0) - %s",
			major, (t.pos%8)*100+t.s.variant, defenderChannels[t.s.variant%len(defenderChannels)])
		d.product, d.class = idDefender, idDefinitionUpds
		// Every real Defender definition update carries KB2267602 and these URLs.
		d.kb = "2267602"
		d.supportURL = "https://go.microsoft.com/fwlink/?LinkId=52661"
		d.moreInfo = "https://go.microsoft.com/fwlink/?linkid=2007160"
	default:
		class := officeKinds[t.s.variant%len(officeKinds)]
		channel := officeChannels[(t.s.variant/len(officeKinds))%len(officeChannels)]
		bits := [...]string{"64", "32"}[r.IntN(2)]
		switch class {
		case idUpdates:
			d.title = fmt.Sprintf("Microsoft 365 Apps Update - %s Version %d (Build %d.%d)", channel, 2301+t.pos, 16026+30*t.pos, 20000+t.k%10000)
		case idSecurityUpdates:
			d.title = fmt.Sprintf("Security Update for Microsoft 365 Apps (KB%d) %s-Bit Edition", t.kb, bits)
			d.msrc = "Important"
		default:
			d.title = fmt.Sprintf("Critical Update for Microsoft 365 Apps (KB%d) %s-Bit Edition", t.kb, bits)
		}
		d.product, d.class = m365ID(g.key), class
		d.kb = strconv.Itoa(t.kb)
		d.supportURL = "https://support.microsoft.com/help/" + d.kb
		d.moreInfo = d.supportURL
		if r.IntN(10) < 3 {
			d.detectoids = 1
		}
	}
	return d
}

// top emits the first revision of top-level update t (second == secondNone)
// or its second revision.
func (g *generator) top(t *topInfo, second secondKind) error {
	rev, state, created := int32(200), "Published", t.created
	switch second {
	case secondRevised:
		rev, created = 201, created.AddDate(0, 0, 14)
		g.stats.Revised++
	case secondExpired:
		rev, state, created = 201, "Expired", created.AddDate(0, 0, 30)
		g.stats.Expired++
	}
	r := g.docs.reseed(streamTop, uint64(t.k))
	d := g.describeTop(t, r)
	var picks [3]int
	dets := g.pickDetectoids(r, d.detectoids, picks[:0])
	desc := fmt.Sprintf("Synthetic update generated by wsus/clientsim/catalogen (seed %d) for tests; not a Microsoft update.", g.opts.Seed)
	if second == secondRevised {
		desc += " Revised."
	}

	if t.leaves == 0 {
		// A standalone top-level update carries its own file.
		l := g.describeLeaf(t, standaloneLeaf, r, second == secondNone)
		g.begin(l.source)
		g.writeFileDoc(t.id, rev, state, created, &l, &d, desc, dets, t)
		if second == secondNone {
			g.stats.Standalone++
			g.stats.SupersededEdges += g.supersededCount(t)
		}
		return g.finish("software-standalone", t.id, rev)
	}

	g.begin(sourceBundle)
	w := &g.w
	w.raw(`<upd:Update xmlns:pub="` + nsPub + `" xmlns:upd="` + nsUpd + `">`)
	w.identity(t.id, rev)
	w.raw(`<upd:Properties UpdateType="Software" DefaultPropertiesLanguage="en" MaxDownloadSize="0" MinDownloadSize="0"`)
	g.writeStateAttrs(d.msrc, state, created)
	w.raw(">")
	w.elem("upd:SupportUrl", d.supportURL)
	w.elem("upd:KBArticleID", d.kb)
	w.raw("</upd:Properties>")
	g.writeLocalized(d.title, desc, d.moreInfo)
	w.raw("<upd:Relationships>")
	g.writeTopPrerequisites(&d, dets)
	w.raw("<upd:BundledUpdates><upd:AtLeastOne>")
	for i := range t.leaves {
		w.identity(newID(g.key, streamIDLeaf, uint64(t.k)<<8|uint64(i)), 200)
	}
	w.raw("</upd:AtLeastOne></upd:BundledUpdates>")
	g.writeSuperseded(t)
	w.raw("</upd:Relationships></upd:Update>")
	if second == secondNone {
		g.stats.Bundles++
		g.stats.SupersededEdges += g.supersededCount(t)
	}
	return g.finish("software-bundle", t.id, rev)
}

// supersededCount is how many older updates of its series t supersedes.
func (g *generator) supersededCount(t *topInfo) int { return min(t.pos, maxSupersede) }

// writeSuperseded writes the SupersededUpdates of t: the older members of
// its series, newest first.
func (g *generator) writeSuperseded(t *topInfo) {
	n := g.supersededCount(t)
	if n == 0 {
		return
	}
	g.w.raw("<upd:SupersededUpdates>")
	for m := 1; m <= n; m++ {
		g.w.identity(newID(g.key, streamIDTop, uint64(t.k-m*len(g.plan.series))), -1)
	}
	g.w.raw("</upd:SupersededUpdates>")
}

// writeStateAttrs writes the Properties attributes from MsrcSeverity on.
func (g *generator) writeStateAttrs(msrc, state string, created time.Time) {
	if msrc != "" {
		g.w.attr("MsrcSeverity", msrc)
	}
	g.w.attr("PublicationState", state)
	g.w.attr("CreationDate", creation(created))
	g.w.attr("PublisherID", publisherSoftware)
}

// writeLocalized writes the English LocalizedPropertiesCollection;
// description and moreInfo only when not empty.
func (g *generator) writeLocalized(title, description, moreInfo string) {
	w := &g.w
	w.raw("<upd:LocalizedPropertiesCollection><upd:LocalizedProperties>")
	w.elem("upd:Language", "en")
	w.elem("upd:Title", title)
	if description != "" {
		w.elem("upd:Description", description)
	}
	if moreInfo != "" {
		w.elem("upd:MoreInfoUrl", moreInfo)
	}
	w.raw("</upd:LocalizedProperties></upd:LocalizedPropertiesCollection>")
}

// writeTopPrerequisites writes the prerequisites of a top-level update, in
// the order of the real OS installer update: product and classification
// (IsCategory), then detectoids.
func (g *generator) writeTopPrerequisites(d *topDesc, dets []int) {
	w := &g.w
	w.raw(`<upd:Prerequisites><upd:AtLeastOne IsCategory="true">`)
	w.identity(d.product, -1)
	w.raw(`</upd:AtLeastOne><upd:AtLeastOne IsCategory="true">`)
	w.identity(d.class, -1)
	w.raw(`</upd:AtLeastOne>`)
	for _, x := range dets {
		w.identity(newID(g.key, streamIDDetectoid, uint64(x)), -1)
	}
	w.raw(`</upd:Prerequisites>`)
}

// pickDetectoids appends up to n distinct detectoid numbers drawn from r.
func (g *generator) pickDetectoids(r *rng, n int, dst []int) []int {
	n = min(n, g.plan.detectoids)
	for len(dst) < n {
		x := r.IntN(g.plan.detectoids)
		dup := false
		for _, y := range dst {
			dup = dup || x == y
		}
		if !dup {
			dst = append(dst, x)
		}
	}
	return dst
}

// ruleKind selects the applicability rules of a file-carrying document.
type ruleKind int

const (
	rulesCbs ruleKind = iota
	rulesDefender
	rulesWindowsCmd
	rulesOffice
)

// leafDesc is what a file-carrying document says about itself.
type leafDesc struct {
	title      string
	handler    string // handlerCbs or handlerCmd
	kind       string // file name part: "software-leaf-cbs"
	detectoids int
	files      []fileSpec
	modified   time.Time
	rules      ruleKind
	source     string
	// CBS package (rulesCbs).
	cbsName, cbsVersion, cbsArch, cbsRelease, cbsKB string
	lcuReoffer, dotnet                              bool
	// Defender rule values (rulesDefender).
	version, prev1, prev2, prev3, sigVersion, path string
	// Registry values of the Windows and Office command-line rules.
	regKey string
	ubr    int64
}

// standaloneLeaf is the leaf number of a standalone update's own payload.
const standaloneLeaf = 255

// describeLeaf draws leaf i of top-level update t (or, for i =
// standaloneLeaf, the payload of standalone update t) from r. Its files are
// numbered t.k<<12 | i<<4 | f; first marks the first document listing them.
func (g *generator) describeLeaf(t *topInfo, i int, r *rng, first bool) leafDesc {
	fileKey := func(f int) uint64 { return uint64(t.k)<<12 | uint64(i)<<4 | uint64(f) }
	l := leafDesc{modified: t.created.Add(-(time.Duration(r.between(24, 24*15)) * time.Hour)), handler: handlerCmd,
		kind: "software-leaf-commandline", source: sourceCmd}
	switch t.s.fam {
	case famWindows:
		v := windowsVariant(t.s.variant)
		arch, ver := winArchs[v.arch], winVersions[v.version]
		ubr := int64(1000 + 40*t.pos + int(r.IntN(30)))
		kind := v.kind
		switch i {
		case 1:
			kind = winSSU // the second leaf of a bundle is its servicing stack
		case standaloneLeaf:
			kind = winUpdate // a standalone update is a command-line one
		}
		l.title = windowsTitle(kind, v, t)
		switch kind {
		case winCU:
			l.cbsName, l.cbsRelease, l.lcuReoffer = "Package_for_RollupFix", "Security Update", true
			l.cbsVersion = fmt.Sprintf("%d.%d.1.%d", ver.build, ubr, r.IntN(12)+1)
			l.files = append(l.files, g.file(fileKey(0), fmt.Sprintf("Windows11.0-KB%d-%s.cab", t.kb, arch.file), 300<<20, 800<<20, first))
		case winDotNet:
			l.cbsName, l.cbsRelease, l.dotnet = "Package_for_DotNetRollup_481", "Update", true
			l.cbsVersion = fmt.Sprintf("10.0.%d.%d", 9000+t.pos, r.IntN(12)+1)
			l.files = append(l.files, g.file(fileKey(0), fmt.Sprintf("Windows11.0-KB%d-%s-NDP481.cab", t.kb, arch.file), 30<<20, 80<<20, first))
		case winSSU:
			l.cbsName, l.cbsRelease = "Package_for_ServicingStack", "Update"
			l.cbsVersion = fmt.Sprintf("%d.%d.1.%d", ver.build, ubr, r.IntN(12)+1)
			l.files = append(l.files, g.file(fileKey(0), fmt.Sprintf("SSU-%d.%d-%s.cab", ver.build, ubr, arch.file), 10<<20, 30<<20, first))
		default:
			l.rules, l.ubr = rulesWindowsCmd, ubr
			l.regKey = fmt.Sprintf(`SOFTWARE\Microsoft\Windows\CurrentVersion\Updates\KB%d`, t.kb)
			l.files = append(l.files, g.file(fileKey(0), fmt.Sprintf("windows11.0-kb%d-%s.exe", t.kb, arch.file), 1<<20, 50<<20, first))
			l.detectoids = 1 + r.IntN(3)
			return l
		}
		l.handler, l.kind, l.source, l.rules = handlerCbs, "software-leaf-cbs", sourceCbs, rulesCbs
		l.cbsArch, l.cbsKB = arch.cbs, strconv.Itoa(t.kb)
		// The real cumulative update names 2 detectoids, the real .NET one 3.
		l.detectoids = 2
		if l.dotnet {
			l.detectoids = 3
		}
	case famDefender:
		part := defenderParts[i%len(defenderParts)]
		arch := defenderArchs[(i/len(defenderParts))%len(defenderArchs)]
		build := 26000 + t.pos
		l.version = fmt.Sprintf("1.1.%d.%d", build, i+1)
		l.prev1 = fmt.Sprintf("1.1.%d.%d", build-1, i+1)
		l.prev2 = fmt.Sprintf("1.1.%d.%d", build-2, 3000+i)
		l.prev3 = fmt.Sprintf("1.1.%d.%d", build-3, 7)
		l.sigVersion = fmt.Sprintf("1.%d.8.0", 400+t.pos/8)
		l.path = part.path
		l.title = fmt.Sprintf("%s %s for Defender %sfre Broad", part.title, l.version, arch)
		l.rules = rulesDefender
		l.files = append(l.files, g.file(fileKey(0), part.file, part.lo, part.hi, first))
		l.detectoids = 3 // as the real AM engine leaf
	default:
		l.title = fmt.Sprintf("Microsoft 365 Apps update component %d (KB%d)", i%255+1, t.kb)
		l.rules = rulesOffice
		l.regKey = fmt.Sprintf(`SOFTWARE\Microsoft\Office\ClickToRun\Updates\KB%d-%d`, t.kb, i%255+1)
		n := 1 + r.IntN(3)
		for f := range n {
			name := fmt.Sprintf("officeupdate-kb%d-%d-x64.exe", t.kb, i%255+1)
			if f > 0 {
				name = fmt.Sprintf("officeupdate-kb%d-%d-%d.cab", t.kb, i%255+1, f)
			}
			l.files = append(l.files, g.file(fileKey(f), name, 1<<20, 200<<20, first))
		}
		l.detectoids = 1 + r.IntN(2)
	}
	return l
}

// leaf emits leaf i of top-level update t.
func (g *generator) leaf(t *topInfo, i int) error {
	n := uint64(t.k)<<8 | uint64(i)
	id := newID(g.key, streamIDLeaf, n)
	r := g.docs.reseed(streamLeaf, n)
	l := g.describeLeaf(t, i, r, true)
	var picks [3]int
	dets := g.pickDetectoids(r, l.detectoids, picks[:0])
	g.begin(l.source)
	g.writeFileDoc(id, 200, "Published", t.created, &l, nil, "", dets, t)
	g.stats.Leaves++
	return g.finish(l.kind, id, 200)
}

// writeFileDoc writes a document carrying files: a bundled leaf (top nil)
// or a standalone top-level update.
func (g *generator) writeFileDoc(id uuid.UUID, rev int32, state string, created time.Time, l *leafDesc,
	top *topDesc, desc string, dets []int, t *topInfo) {
	w := &g.w
	handlerNS := `xmlns:cmd="` + nsCmd + `"`
	if l.handler == handlerCbs {
		handlerNS = `xmlns:cbs="` + nsCbs + `"`
	}
	w.raw(`<upd:Update xmlns:pub="` + nsPub + `" xmlns:bar="` + nsBar + `" xmlns:lar="` + nsLar + `" ` + handlerNS + ` xmlns:upd="` + nsUpd + `">`)
	w.identity(id, rev)
	var total int64
	for _, f := range l.files {
		total += f.size
	}
	w.raw(`<upd:Properties UpdateType="Software" DefaultPropertiesLanguage="en"`)
	w.attr("Handler", l.handler)
	w.attrInt("MaxDownloadSize", total)
	w.raw(` MinDownloadSize="0"`)
	if l.dotnet {
		w.raw(` CompatibleProtocolVersion="1.4"`) // as the real .NET update
	}
	msrc := ""
	if top != nil {
		msrc = top.msrc
	}
	g.writeStateAttrs(msrc, state, created)
	if l.handler == handlerCbs {
		w.raw(`><upd:InstallationBehavior RebootBehavior="CanRequestReboot" />`)
		if l.dotnet {
			w.raw(`<upd:UninstallationBehavior RebootBehavior="CanRequestReboot" />`)
		}
	} else {
		w.raw(`><upd:InstallationBehavior Impact="Minor" />`)
	}
	if top != nil {
		w.elem("upd:SupportUrl", top.supportURL)
		w.elem("upd:KBArticleID", top.kb)
	}
	w.raw("</upd:Properties>")
	if top != nil {
		g.writeLocalized(top.title, desc, top.moreInfo)
	} else {
		g.writeLocalized(l.title, "", "")
	}

	w.raw("<upd:Relationships>")
	if top != nil {
		g.writeTopPrerequisites(top, dets)
		g.writeSuperseded(t)
	} else {
		// A leaf: detectoids, then the product in a plain AtLeastOne (real leaves).
		w.raw("<upd:Prerequisites>")
		for _, x := range dets {
			w.identity(newID(g.key, streamIDDetectoid, uint64(x)), -1)
		}
		w.raw("<upd:AtLeastOne>")
		w.identity(g.productOf(t), -1)
		w.raw("</upd:AtLeastOne></upd:Prerequisites>")
	}
	w.raw("</upd:Relationships><upd:ApplicabilityRules>")
	g.writeRules(l)
	w.raw("</upd:ApplicabilityRules><upd:Files>")
	for _, f := range l.files {
		w.raw("<upd:File")
		w.attr("Digest", base64.StdEncoding.EncodeToString(f.sha1[:]))
		w.raw(` DigestAlgorithm="SHA1"`)
		w.attr("FileName", f.name)
		w.attrInt("Size", f.size)
		w.attr("Modified", modified(l.modified))
		if l.handler == handlerCbs {
			w.raw(` PatchingType="SelfContained"`)
		}
		w.raw(`><upd:AdditionalDigest Algorithm="SHA256">`)
		w.raw(base64.StdEncoding.EncodeToString(f.sha256[:]))
		w.raw("</upd:AdditionalDigest></upd:File>")
	}
	w.raw("</upd:Files>")
	if l.handler == handlerCbs {
		w.raw(`<upd:HandlerSpecificData xsi:type="cbs:Cbs" xmlns:xsi="` + nsXsi + `"><cbs:CbsData PackageIdentity="" /></upd:HandlerSpecificData>`)
	} else {
		w.raw(`<upd:HandlerSpecificData xsi:type="cmd:CommandLineInstallation" xmlns:xsi="` + nsXsi + `"><cmd:InstallCommand`)
		w.attr("Program", l.files[0].name)
		w.raw(` xmlns:cmd="` + nsCmd + `"><cmd:ReturnCode Code="0" Result="Succeeded" /></cmd:InstallCommand></upd:HandlerSpecificData>`)
	}
	w.raw("</upd:Update>")
}

// productOf returns the product category of t's family.
func (g *generator) productOf(t *topInfo) uuid.UUID {
	switch t.s.fam {
	case famWindows:
		return idWindows11
	case famDefender:
		return idDefender
	}
	return m365ID(g.key)
}

// writeRules writes the ApplicabilityRules content of a file-carrying document.
func (g *generator) writeRules(l *leafDesc) {
	w := &g.w
	switch l.rules {
	case rulesCbs:
		// As the real Core fragments: the cumulative update adds the
		// LCUReoffer check to CbsPackageInstalled; the manifest is reduced to
		// its identity and package element, as in the captures.
		w.raw("<upd:IsInstalled>")
		if l.lcuReoffer {
			w.raw(`<lar:And><cbs:CbsPackageInstalled /><lar:Not><bar:RegDword Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing" Value="LCUReoffer" Comparison="EqualTo" Data="1" /></lar:Not></lar:And>`)
		} else {
			w.raw(`<cbs:CbsPackageInstalled />`)
		}
		w.raw(`</upd:IsInstalled><upd:IsInstallable><cbs:CbsPackageInstallable /></upd:IsInstallable><upd:Metadata><cbs:CbsPackageApplicabilityMetadata>`)
		w.raw(`<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0"`)
		w.attr("description", "Fix for KB"+l.cbsKB)
		w.raw(` displayName="default" company="Microsoft Corporation" copyright="Microsoft Corporation"`)
		w.attr("supportInformation", "https://support.microsoft.com/help/"+l.cbsKB)
		w.attr("creationTimeStamp", modified(l.modified))
		w.attr("lastUpdateTimeStamp", modified(l.modified))
		w.raw(`><assemblyIdentity`)
		w.attr("name", l.cbsName)
		w.attr("version", l.cbsVersion)
		w.attr("processorArchitecture", l.cbsArch)
		w.raw(` language="neutral" publicKeyToken="31bf3856ad364e35" /><package`)
		w.attr("identifier", "KB"+l.cbsKB)
		if l.dotnet {
			w.raw(` applicabilityEvaluation="deep"`) // as the real .NET update
		}
		w.attr("releaseType", l.cbsRelease)
		w.raw(` restart="possible"></package></assembly></cbs:CbsPackageApplicabilityMetadata></upd:Metadata>`)
	case rulesDefender:
		g.defender.fill(w, "V", l.version, "V1", l.prev1, "V2", l.prev2, "V3", l.prev3, "S", l.sigVersion, "P", l.path)
	case rulesWindowsCmd:
		w.raw(`<upd:IsInstalled><bar:RegValueExists Key="HKEY_LOCAL_MACHINE"`)
		w.attr("Subkey", l.regKey)
		w.raw(` Value="Installed" Type="REG_DWORD" /></upd:IsInstalled><upd:IsInstallable><lar:And>`)
		w.raw(`<bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" MinorVersion="0" ProductType="1" />`)
		w.raw(`<bar:RegDword Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft\Windows NT\CurrentVersion" Value="UBR" Comparison="LessThan"`)
		w.attrInt("Data", l.ubr)
		w.raw(` /></lar:And></upd:IsInstallable>`)
	default:
		w.raw(`<upd:IsInstalled><bar:RegDword Key="HKEY_LOCAL_MACHINE"`)
		w.attr("Subkey", l.regKey)
		w.raw(` Value="Installed" Comparison="EqualTo" Data="1" /></upd:IsInstalled><upd:IsInstallable>`)
		w.raw(`<bar:RegValueExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\Microsoft\Office\ClickToRun\Configuration" Value="Platform" Type="REG_SZ" /></upd:IsInstallable>`)
	}
}
