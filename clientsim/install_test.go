package clientsim

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

const (
	demoUpdateID = "7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7"
	capturedMisc = "G=1507.2601.30012.0|J=775|K=unknown|L=2022-02-02T00:00:00|%Q|T=EDK II|AppName=<<PROCESS>>: powershell.exe|CsiErrorType=0|c=48|m=0|n=1|o=0|p=0|q=0|r=0|w=0|x=1|cc=powershell.exe|dd=0|ff=0|WUfBOn=0|WUfBDS=0|DisableDS=1|PauseQU=0|PauseFU=0"
)

// miscOf returns the MiscData strings of an event joined by "|".
func miscOf(ev *etree.Element) string {
	var out []string
	for _, s := range children(path(ev, "ExtendedData", "MiscData"), "string") {
		out = append(out, s.Text())
	}
	return strings.Join(out, "|")
}

// replacementOf returns the ReplacementStrings of an event joined by "|".
func replacementOf(ev *etree.Element) string {
	var out []string
	for _, s := range children(path(ev, "ExtendedData", "ReplacementStrings"), "string") {
		out = append(out, s.Text())
	}
	return strings.Join(out, "|")
}

// eventsOf returns the ReportingEvents of a ReportEventBatch body.
func eventsOf(t *testing.T, b []byte) []*etree.Element {
	t.Helper()
	return children(child(parseOp(t, b), "eventBatch"), "ReportingEvent")
}

var volatileRe = regexp.MustCompile(`<(EventInstanceID|TimeAtTarget|Sid)>[^<]*<`)

// TestBuildInstallReportFailureIsTheCapturedShape holds the 182 clientsim
// sends against the 182 the native agent sent for the deployed update of
// capture flow/000018, edited only as the standalone-update shape of the
// decoded native 182 (wsus-rs native-install-events.json, exchange 163)
// differs: its identity, HRESULT and title, Q=1, no P=1, F= after C=1.
func TestBuildInstallReportFailureIsTheCapturedShape(t *testing.T) {
	at := time.Date(2031, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	b, n, err := buildInstallReport(installReport{
		Cookie: cookie{"E", "D"}, ClientID: recClientID, Time: at,
		Results: []installResult{{
			installTarget:  installTarget{UpdateID: strings.ToUpper(demoUpdateID), RevisionNumber: 100, Title: "wsus demo update"},
			installOutcome: installOutcome{Result: InstallFailed, HResult: DefaultInstallFailure},
		}},
	})
	if err != nil || n != 1 {
		t.Fatalf("n %d, err %v", n, err)
	}
	op := parseOp(t, b)
	if op.Tag != "ReportEventBatch" || op.NamespaceURI() != nsReporting || childText(op, "clientTime") != "2031-01-02T03:04:05.6Z" {
		t.Fatalf("operation {%s}%s clientTime %q", op.NamespaceURI(), op.Tag, childText(op, "clientTime"))
	}
	events := eventsOf(t, b)
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	doc := etree.NewDocument()
	doc.SetRoot(events[0])
	got, _ := serialize(doc)

	captured := string(readTemplate(t, "ReportEventBatch-182.xml"))
	all := regexp.MustCompile(`<ReportingEvent>.*?</ReportingEvent>`).FindAllString(captured, -1)
	if len(all) != 2 {
		t.Fatalf("capture has %d events", len(all))
	}
	want := strings.NewReplacer(
		"<UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber>200</RevisionNumber>",
		"<UpdateID>"+demoUpdateID+"</UpdateID><RevisionNumber>100</RevisionNumber>",
		"<Win32HResult>-2145099769</Win32HResult>", "<Win32HResult>-2147023293</Win32HResult>",
		"<string>0x80246007</string>", "<string>0x80070643</string>",
		"<string>Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.459.547.0) - Current Channel (Broad)</string>",
		"<string>wsus demo update</string>",
		"<string>C=1</string>", "<string>C=1</string><string>F=-2147023293</string>",
		"<string>P=1</string>", "",
		"<string>Q=2</string>", "<string>Q=1</string>",
	).Replace(all[1])
	norm := func(s string) string { return volatileRe.ReplaceAllString(s, "<$1>*<") }
	if norm(string(got)) != norm(want) {
		t.Errorf("182 differs from the captured shape\n got %s\nwant %s", norm(string(got)), norm(want))
	}
	bd := child(events[0], "BasicData")
	if childText(child(bd, "TargetID"), "Sid") != recClientID || childText(bd, "TimeAtTarget") != "2031-01-02T03:04:05.6Z" ||
		!isGUID(childText(bd, "EventInstanceID")) || strings.Contains(captured, childText(bd, "EventInstanceID")) {
		t.Errorf("identity not substituted: %s", got)
	}
}

func TestBuildInstallReportResults(t *testing.T) {
	target := func(id, title string) installTarget {
		return installTarget{UpdateID: id, RevisionNumber: 7, Title: title}
	}
	b, n, err := buildInstallReport(installReport{
		Cookie: cookie{"E", "D"}, ClientID: recClientID, Time: time.Now(),
		Results: []installResult{
			{target("AAAAAAAA-0000-4000-8000-000000000001", "Update one"), installOutcome{Result: InstallSucceeded}},
			{target("AAAAAAAA-0000-4000-8000-000000000002", ""), installOutcome{Result: InstallRebootRequired}},
			{target("AAAAAAAA-0000-4000-8000-000000000003", "Update three"), installOutcome{Result: InstallFailed, HResult: HResult(-2145124318)}},
		},
	})
	if err != nil || n != 3 {
		t.Fatalf("n %d, err %v", n, err)
	}
	events := eventsOf(t, b)
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	tests := []struct {
		eventID, hresult, update, replacement, misc string
	}{
		{"183", "0", "aaaaaaaa-0000-4000-8000-000000000001", "Update one", strings.Replace(capturedMisc, "%Q", "Q=1", 1)},
		// Without a title the UpdateID stands in; 0x00240005 = WU_S_REBOOT_REQUIRED.
		{"184", "2359301", "aaaaaaaa-0000-4000-8000-000000000002", "aaaaaaaa-0000-4000-8000-000000000002", strings.Replace(capturedMisc, "%Q", "Q=1", 1)},
		{"182", "-2145124318", "aaaaaaaa-0000-4000-8000-000000000003", "0x80240022|Update three", "C=1|F=-2145124318|" + strings.Replace(capturedMisc, "%Q", "Q=1", 1)},
	}
	seen := map[string]bool{}
	for i, tt := range tests {
		ev := events[i]
		bd := child(ev, "BasicData")
		if got := childTags(bd); got != "TargetID,SequenceNumber,TimeAtTarget,EventInstanceID,NamespaceID,EventID,SourceID,UpdateID,Win32HResult" {
			t.Errorf("%s BasicData %s", tt.eventID, got)
		}
		if got := childTags(child(ev, "ExtendedData")); got != "ReplacementStrings,MiscData,ComputerBrand,ComputerModel,BiosRevision,ProcessorArchitecture,OSVersion,OSLocaleID" {
			t.Errorf("%s ExtendedData %s", tt.eventID, got)
		}
		if childText(bd, "EventID") != tt.eventID || childText(bd, "Win32HResult") != tt.hresult ||
			childText(bd, "NamespaceID") != "1" || childText(bd, "SourceID") != "101" || childText(bd, "SequenceNumber") != "0" ||
			childText(child(bd, "UpdateID"), "UpdateID") != tt.update || childText(child(bd, "UpdateID"), "RevisionNumber") != "7" {
			t.Errorf("event %d BasicData: EventID %s Win32HResult %s UpdateID %s", i, childText(bd, "EventID"), childText(bd, "Win32HResult"), childText(child(bd, "UpdateID"), "UpdateID"))
		}
		if got := replacementOf(ev); got != tt.replacement {
			t.Errorf("%s ReplacementStrings %q, want %q", tt.eventID, got, tt.replacement)
		}
		if got := miscOf(ev); got != tt.misc {
			t.Errorf("%s MiscData\n got %s\nwant %s", tt.eventID, got, tt.misc)
		}
		id := childText(bd, "EventInstanceID")
		if seen[id] {
			t.Errorf("EventInstanceID %s repeated", id)
		}
		seen[id] = true
	}
}

func TestBuildReportEventBatchInstallLists(t *testing.T) {
	const (
		a = "AAAAAAAA-0000-4000-8000-00000000000A"
		b = "bbbbbbbb-0000-4000-8000-00000000000b"
		c = "CCCCCCCC-0000-4000-8000-00000000000C"
		d = "DDDDDDDD-0000-4000-8000-00000000000D"
	)
	body, n, err := buildReportEventBatch(eventBatch{
		Cookie: cookie{"E", "D"}, ClientID: recClientID, Time: time.Now(),
		Offered:   []string{a, b, c, d},
		Installed: []string{b}, RebootPending: []string{c}, Failed: []string{d},
		Installing: []installTarget{
			{UpdateID: a, RevisionNumber: 3, Title: "Update A"},
			{UpdateID: d, RevisionNumber: 4, Title: "Update D", LastError: DefaultInstallFailure},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	events := eventsOf(t, body)
	if n != 4 || len(events) != 4 {
		t.Fatalf("n %d, %d events", n, len(events))
	}
	if got := replacementOf(events[0]); got != "4" {
		t.Errorf("147 counts %s offered updates, want 4", got)
	}
	// U= the offered updates not installed, V= installed, W= pending a
	// restart after T=; g= failed between c= and m= (native exchange 165).
	want := "G=1507.2601.30012.0|J=775|K=unknown|L=2022-02-02T00:00:00|Q=1|T=EDK II|U=" + a + "|V=" + strings.ToUpper(b) + "|W=" + c +
		"|AppName=<<PROCESS>>: powershell.exe|CsiErrorType=0|c=48|g=" + d + "|m=0|n=1|o=0|p=0|q=0|r=0|w=0|x=1|cc=powershell.exe|dd=0|ff=0|WUfBOn=0|WUfBDS=0|DisableDS=1|PauseQU=1|PauseFU=1"
	if got := miscOf(events[1]); got != want {
		t.Errorf("156 MiscData\n got %s\nwant %s", got, want)
	}
	for i, tt := range []struct{ update, rev, title, misc string }{
		{strings.ToLower(a), "3", "Update A", strings.Replace(capturedMisc, "%Q", "Q=1", 1)},
		// A retry carries the previous failure in F=, as the native 181s of
		// the retried MSI updates do.
		{strings.ToLower(d), "4", "Update D", "F=-2147023293|" + strings.Replace(capturedMisc, "%Q", "Q=1", 1)},
	} {
		ev := events[2+i]
		bd := child(ev, "BasicData")
		if childText(bd, "EventID") != "181" || childText(bd, "Win32HResult") != "0" ||
			childText(child(bd, "UpdateID"), "UpdateID") != tt.update || childText(child(bd, "UpdateID"), "RevisionNumber") != tt.rev {
			t.Errorf("181 %d BasicData wrong", i)
		}
		if got := replacementOf(ev); got != tt.title {
			t.Errorf("181 %d ReplacementStrings %q", i, got)
		}
		if got := miscOf(ev); got != tt.misc {
			t.Errorf("181 %d MiscData\n got %s\nwant %s", i, got, tt.misc)
		}
	}

	// Everything installed: no U=, V= lists them.
	body, _, err = buildReportEventBatch(eventBatch{Cookie: cookie{"E", "D"}, ClientID: recClientID, Time: time.Now(), Offered: []string{a}, Installed: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	if got := miscOf(eventsOf(t, body)[1]); !strings.Contains(got, "|T=EDK II|V="+a+"|AppName=") || strings.Contains(got, "|U=") {
		t.Errorf("156 MiscData %s", got)
	}
}

func TestParseHResult(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want HResult
		hex  string
	}{
		{"0x80070643", DefaultInstallFailure, "0x80070643"},
		{"0X80246007", -2145099769, "0x80246007"},
		{"-2145099769", -2145099769, "0x80246007"},
		{"0x00240005", RebootRequiredHResult, "0x00240005"},
		{"0x8024a00f", HResult(-2145083377), "0x8024A00F"},
	} {
		got, err := ParseHResult(tt.in)
		if err != nil || got != tt.want || got.String() != tt.hex {
			t.Errorf("ParseHResult(%q) = %d (%s), %v; want %d (%s)", tt.in, got, got, err, tt.want, tt.hex)
		}
	}
	for _, bad := range []string{"", "0x", "0x1FFFFFFFF", "nope", "2147483648"} {
		if _, err := ParseHResult(bad); err == nil {
			t.Errorf("ParseHResult(%q) accepted", bad)
		}
	}
}

func TestInstallPlanDecide(t *testing.T) {
	plan := InstallPlan{
		Fail:          map[string]HResult{"kb5031356": 0, "cccccccc-0000-4000-8000-00000000000c": HResult(-2145124318)},
		RebootPending: []string{"5040000", "DDDDDDDD-0000-4000-8000-00000000000D"},
	}
	if err := plan.Validate(); err != nil {
		t.Fatal(err)
	}
	never := func() bool { t.Error("FailFraction drawn with FailFraction 0"); return false }
	for _, tt := range []struct {
		target installTarget
		want   installOutcome
	}{
		{installTarget{UpdateID: "AAAAAAAA-0000-4000-8000-00000000000A", KB: "5031356"}, installOutcome{InstallFailed, DefaultInstallFailure}},
		{installTarget{UpdateID: "CCCCCCCC-0000-4000-8000-00000000000C"}, installOutcome{InstallFailed, HResult(-2145124318)}},
		{installTarget{UpdateID: "BBBBBBBB-0000-4000-8000-00000000000B", KB: "5040000"}, installOutcome{Result: InstallRebootRequired}},
		{installTarget{UpdateID: "DDDDDDDD-0000-4000-8000-00000000000D"}, installOutcome{Result: InstallRebootRequired}},
		{installTarget{UpdateID: "EEEEEEEE-0000-4000-8000-00000000000E", KB: "503135"}, installOutcome{Result: InstallSucceeded}},
	} {
		if got := plan.decide(tt.target, never); got != tt.want {
			t.Errorf("decide(%+v) = %+v, want %+v", tt.target, got, tt.want)
		}
	}

	// FailFraction: drawn once per update and agent, so a retry fails again.
	var l installLedger
	r := rand.New(rand.NewPCG(1, 2))
	frac := InstallPlan{FailFraction: 0.5, FailHResult: HResult(-2145124318)}
	failed := 0
	for i := range 200 {
		id := newGUID()
		o := frac.decide(installTarget{UpdateID: id}, func() bool { return l.draw(id, 0.5, r) })
		if o.Result == InstallFailed {
			failed++
			if o.HResult != HResult(-2145124318) {
				t.Errorf("fraction failure with %s", o.HResult)
			}
		}
		if again := frac.decide(installTarget{UpdateID: id}, func() bool { return l.draw(id, 0.5, r) }); again != o {
			t.Errorf("update %d: %+v, then %+v", i, o, again)
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("%d of 200 failed with FailFraction 0.5", failed)
	}

	for _, bad := range []InstallPlan{
		{Fail: map[string]HResult{"KB": 0}},
		{RebootPending: []string{"not-a-guid"}},
		{FailFraction: 1.5},
		{FailFraction: -0.1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("plan %+v accepted", bad)
		}
	}
}

func TestParseExtendedInfoKBArticleID(t *testing.T) {
	resp := etree.NewElement("GetExtendedUpdateInfoResponse")
	updates := resp.CreateElement("GetExtendedUpdateInfoResult").CreateElement("Updates")
	u := updates.CreateElement("Update")
	u.CreateElement("ID").SetText("42")
	u.CreateElement("Xml").SetText(`<ExtendedProperties DefaultPropertiesLanguage="en" MsrcSeverity="Critical"><KBArticleID>5031356</KBArticleID></ExtendedProperties>`)
	x, err := parseExtendedInfo(resp)
	if err != nil {
		t.Fatal(err)
	}
	if x.KBs[42] != "5031356" {
		t.Errorf("KBs = %v", x.KBs)
	}
}

// readTemplate returns an embedded request template.
func readTemplate(t *testing.T, name string) []byte {
	t.Helper()
	b, err := templates.ReadFile("templates/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
