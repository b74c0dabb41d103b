package wusp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
)

// TestReportFailureCode: a 182 (install failed) stores its Win32HResult as
// the failed state's ErrorCode, which the WSUS console shows next to the
// failure; a later 156 listing the update as failed (g=) keeps it; a 183
// (installed) clears it.
func TestReportFailureCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	event := func(id int, at string, hresult int32, misc string) string {
		update := idDemo.String()
		if id == 156 {
			update = uuid.Nil.String()
		}
		return `<ReportingEvent><BasicData><TargetID><Sid>` + clientID + `</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>` + at + `</TimeAtTarget>` +
			`<EventInstanceID>` + uuid.NewString() + `</EventInstanceID><NamespaceID>1</NamespaceID><EventID>` + fmt.Sprint(id) + `</EventID><SourceID>101</SourceID>` +
			`<UpdateID><UpdateID>` + update + `</UpdateID><RevisionNumber>0</RevisionNumber></UpdateID><Win32HResult>` + fmt.Sprint(hresult) + `</Win32HResult></BasicData>` +
			`<ExtendedData><ReplacementStrings><string>1</string></ReplacementStrings><MiscData>` + misc + `</MiscData></ExtendedData><PrivateData/></ReportingEvent>`
	}
	send := func(what string, events ...string) {
		t.Helper()
		batch := ck + "<clientTime>2026-10-04T16:00:00Z</clientTime><eventBatch>" + strings.Join(events, "") + "</eventBatch>"
		status, el := e.call("/ReportingWebService/ReportingWebService.asmx", soap.NSReporting, "ReportEventBatch", batch)
		if status != 200 || soap.Text(el, "ReportEventBatchResult") != "true" {
			t.Fatalf("%s: HTTP %d %s fault %q", what, status, el.Tag, faultCode(el))
		}
	}
	state := func(what string, wantState catalog.InstallState, wantCode int32) {
		t.Helper()
		sts, err := e.store.Statuses(t.Context(), clientID)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			if st.UpdateID == idDemo {
				if st.State != wantState || st.ErrorCode != wantCode {
					t.Errorf("%s: state %v code %#x, want %v code %#x", what, st.State, uint32(st.ErrorCode), wantState, uint32(wantCode))
				}
				return
			}
		}
		t.Errorf("%s: no state of the demo update", what)
	}
	const hresult = int32(-2145124329) // 0x80240017 WU_E_NOT_APPLICABLE
	send("182", event(182, "2026-10-04T15:20:00Z", hresult, "<string>A=1</string>"))
	state("after the 182", catalog.StateFailed, hresult)
	send("156 g=", event(156, "2026-10-04T15:30:00Z", 0, "<string>g="+strings.ToUpper(idDemo.String())+"</string>"))
	state("after a 156 listing it failed", catalog.StateFailed, hresult)
	send("183", event(183, "2026-10-04T15:40:00Z", 0, "<string>A=1</string>"))
	state("after the 183", catalog.StateInstalled, 0)
}
