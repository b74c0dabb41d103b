package wusp_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"wsus/catalog"
	"wsus/internal/testpg"
	"wsus/soap"
	"wsus/soap/wusp"
)

const reportingPath = "/ReportingWebService/ReportingWebService.asmx"

// hostile is one request body no real client sends.
type hostile struct {
	name, action string
	body         []byte
	chunked      bool   // sent without Content-Length
	wantMessage  string // in the InvalidParameters fault
}

// hostileBodies are the 8 MiB bodies that once cost hundreds of MB of heap
// or a minute of CPU each (issue 7).
func hostileBodies() []hostile {
	const size = 8 << 20
	envelope := func(op, inner string) []byte {
		head := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><` + op + ` xmlns="` + soap.NSClient + `">`
		tail := `</` + op + `></s:Body></s:Envelope>`
		var b bytes.Buffer
		b.WriteString(head)
		for b.Len() < size-len(tail)-len(inner) {
			b.WriteString(inner)
		}
		b.WriteString(tail)
		return b.Bytes()
	}
	action := func(op string) string { return `"` + soap.NSClient + "/" + op + `"` }
	return []hostile{
		{name: "GetConfig of empty elements", action: action("GetConfig"), body: envelope("GetConfig", "<a/>"), wantMessage: "exceeds 65536 bytes"},
		{name: "GetConfig of empty elements, chunked", action: action("GetConfig"), body: envelope("GetConfig", "<a/>"), chunked: true, wantMessage: "exceeds 65536 bytes"},
		{name: "SyncUpdates of empty elements", action: action("SyncUpdates"), body: envelope("SyncUpdates", "<a/>"), wantMessage: "more than 100000 tags and attributes"},
		{name: "no SOAPAction, empty elements", body: envelope("SyncUpdates", "<a/>"), wantMessage: "more than 100000 tags and attributes"},
		{name: "SyncUpdates of unfinished CachedDriverIDs tags", action: action("SyncUpdates"), body: envelope("SyncUpdates", "<CachedDriverIDs "), wantMessage: "more than 100000 tags and attributes"},
		{name: "SyncUpdates of attributes", action: action("SyncUpdates"), body: envelope("SyncUpdates", `<a b="" c="" d="" e="" f="" g="" h="" i=""/>`), wantMessage: "more than 100000 tags and attributes"},
		{name: "SyncUpdates of one element's attributes", action: action("SyncUpdates"), body: envelope("SyncUpdates", ` b=""`), wantMessage: "more than 100000 tags and attributes"},
	}
}

// TestHostileBodiesBounded sends each hostile body from several clients at
// once and checks that every one is refused with InvalidParameters, and
// that the whole process allocated less than twice the body size per
// request (today's bound: the body itself, read once). Before issue 7 one
// such request took 449 MB of heap.
func TestHostileBodiesBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	const concurrent = 4
	for _, h := range hostileBodies() {
		t.Run(h.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var wg sync.WaitGroup
			faults := make([]string, concurrent)
			for i := range concurrent {
				wg.Go(func() { faults[i] = e.postBytes(h.action, h.body, h.chunked) })
			}
			wg.Wait()
			runtime.ReadMemStats(&after)
			for i, f := range faults {
				if !strings.Contains(f, "InvalidParameters") || !strings.Contains(f, h.wantMessage) {
					t.Errorf("request %d answered %.300s, want an InvalidParameters fault saying %q", i, f, h.wantMessage)
				}
			}
			perRequest := (after.TotalAlloc - before.TotalAlloc) / concurrent
			if limit := uint64(2 * len(h.body)); perRequest > limit {
				t.Errorf("allocated %d bytes per request, want at most %d", perRequest, limit)
			}
			t.Logf("allocated %.1f MiB per %.1f MiB request", float64(perRequest)/(1<<20), float64(len(h.body))/(1<<20))
		})
	}
	// The server still answers a real client.
	if status, el := e.call(clientPath, soap.NSClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>"); status != 200 || el.Tag != "GetConfigResponse" {
		t.Fatalf("GetConfig after the hostile bodies: HTTP %d %s", status, el.Tag)
	}
}

// postBytes posts body to the client service and returns the response body as text.
func (e *env) postBytes(action string, body []byte, chunked bool) string {
	e.t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+clientPath, r)
	if err != nil {
		e.t.Error(err)
		return ""
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return "transport error: " + err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(data)
}

// TestAdmission checks the memory budget of soap.Admission through the
// services: a body that does not fit is answered ServerBusy at once (the
// slots are tested in package soap).
func TestAdmission(t *testing.T) {
	getConfig := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetConfig xmlns="` + soap.NSClient + `"><protocolVersion>2.90</protocolVersion></GetConfig></s:Body></s:Envelope>`
	action := `"` + soap.NSClient + `/GetConfig"`
	t.Run("memory budget", func(t *testing.T) {
		// 1 KiB of budget: a 64 KiB-limit GetConfig whose length is
		// unknown reserves its limit and cannot fit; a small one fits.
		e := newEnv(t, envOptions{maxBufferedBytes: 1 << 10})
		if f := e.postBytes(action, []byte(getConfig), true); !strings.Contains(f, "<ErrorCode>ServerBusy</ErrorCode>") {
			t.Fatalf("chunked GetConfig over a 1 KiB budget answered %.300s, want ServerBusy", f)
		}
		padded := strings.Replace(getConfig, "<protocolVersion>", "<pad>"+strings.Repeat("x", 2048)+"</pad><protocolVersion>", 1)
		if f := e.postBytes(action, []byte(padded), false); !strings.Contains(f, "<ErrorCode>ServerBusy</ErrorCode>") {
			t.Fatalf("2 KiB GetConfig over a 1 KiB budget answered %.300s, want ServerBusy", f)
		}
	})
}

// TestSlowBodyCut checks that a client sending its body too slowly is cut
// once the body's transfer deadline (10 s of grace for a small body)
// passes, instead of holding its connection and memory for as long as it
// likes.
func TestSlowBodyCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nSOAPAction: \"%s/GetConfig\"\r\nContent-Length: 1000\r\n\r\n<s:Envelope", clientPath, soap.NSClient)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	// The server answers with a fault (or just closes): either way the
	// connection ends long before the minute.
	data, err := io.ReadAll(bufio.NewReader(conn))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", time.Since(start))
	}
	if len(data) > 0 && !bytes.Contains(data, []byte("InvalidParameters")) {
		t.Fatalf("answer to a stalled body: %.300s", data)
	}
	t.Logf("stalled body cut after %v", time.Since(start).Round(100*time.Millisecond))
}

// reportBatch returns the ReportEventBatch parameters of n events of the
// client: a 156 status event listing needed as needed, then n-1 147s.
func reportBatch(clientID, cookieXML string, n int, needed uuid.UUID) string {
	var b strings.Builder
	b.WriteString(cookieXML + "<clientTime>2026-10-04T15:20:47.502Z</clientTime><eventBatch>")
	for i := range n {
		id, misc := 147, "<string>D=1</string>"
		if i == 0 {
			id, misc = 156, "<string>U="+strings.ToUpper(needed.String())+"</string><string>V=</string>"
		}
		b.WriteString(`<ReportingEvent><BasicData><TargetID><Sid>` + clientID + `</Sid></TargetID><SequenceNumber>0</SequenceNumber>` +
			`<TimeAtTarget>2026-10-04T15:20:47.502Z</TimeAtTarget><EventInstanceID>` + uuid.NewString() + `</EventInstanceID>` +
			`<NamespaceID>1</NamespaceID><EventID>` + fmt.Sprint(id) + `</EventID><SourceID>101</SourceID>` +
			`<UpdateID><UpdateID>` + uuid.Nil.String() + `</UpdateID><RevisionNumber>0</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult></BasicData>` +
			`<ExtendedData><ReplacementStrings><string>1</string></ReplacementStrings><MiscData>` + misc + `</MiscData></ExtendedData><PrivateData/></ReportingEvent>`)
	}
	b.WriteString("</eventBatch>")
	return b.String()
}

// TestReportRetryAfterStatusWriteFailure forces the status write of a
// report to fail inside the store (a trigger refusing update_status rows),
// then lets the client retry the same batch: the retry must store the
// events and derive the status. Before issue 7 the events stayed stored
// without a status and the retry, finding nothing new, derived nothing.
func TestReportRetryAfterStatusWriteFailure(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	batch := reportBatch(clientID, ck, 2, idDemo)
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_status BEFORE INSERT ON update_status BEGIN SELECT RAISE(ABORT, 'forced failure'); END`); err != nil {
		t.Fatal(err)
	}
	status, el := e.call(reportingPath, soap.NSReporting, "ReportEventBatch", batch)
	if status == 200 {
		t.Fatalf("report with a failing status write answered %s, want a fault", el.Tag)
	}
	ctx := context.Background()
	if evs, err := e.store.Events(ctx, clientID); err != nil || len(evs) != 0 {
		t.Fatalf("after the failed report: %d events stored (err %v), want none", len(evs), err)
	}
	if _, err := db.Exec(`DROP TRIGGER fail_status`); err != nil {
		t.Fatal(err)
	}
	status, el = e.call(reportingPath, soap.NSReporting, "ReportEventBatch", batch)
	if status != 200 || soap.Text(el, "ReportEventBatchResult") != "true" {
		t.Fatalf("retry: HTTP %d %s fault %q", status, el.Tag, faultCode(el))
	}
	statuses, err := e.store.Statuses(ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uuid.UUID]catalog.InstallState{}
	for _, st := range statuses {
		got[st.UpdateID] = st.State
	}
	if got[idDemo] != catalog.StateNotInstalled {
		t.Fatalf("statuses after the retry %v, want the demo update NotInstalled", got)
	}
}

// TestReportEventCaps checks the per-request and per-day event caps.
func TestReportEventCaps(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	status, el := e.call(reportingPath, soap.NSReporting, "ReportEventBatch", reportBatch(clientID, ck, wusp.MaxEventsPerBatch+1, idDemo))
	if status != 500 || faultCode(el) != "InvalidParameters" || !strings.Contains(soap.Text(soap.Child(el, "detail"), "Message"), "eventBatch") {
		t.Fatalf("batch of %d events: HTTP %d fault %q, want InvalidParameters naming eventBatch", wusp.MaxEventsPerBatch+1, status, faultCode(el))
	}
	// Fill the day's budget but 10 (stored as reports received now).
	ctx := context.Background()
	filler := make([]catalog.Event, wusp.MaxEventsPerDay-10)
	for i := range filler {
		filler[i] = catalog.Event{InstanceID: uuid.New(), EventID: 147, SourceID: 101, TimeAtTarget: e.clock.now()}
	}
	if _, err := e.store.StoreEvents(ctx, clientID, filler, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	status, el = e.call(reportingPath, soap.NSReporting, "ReportEventBatch", reportBatch(clientID, ck, 11, idDemo))
	if status != 500 || faultCode(el) != "ServerBusy" {
		t.Fatalf("batch past the day's budget: HTTP %d fault %q, want ServerBusy", status, faultCode(el))
	}
	status, el = e.call(reportingPath, soap.NSReporting, "ReportEventBatch", reportBatch(clientID, ck, 10, idDemo))
	if status != 200 || soap.Text(el, "ReportEventBatchResult") != "true" {
		t.Fatalf("batch within the day's budget: HTTP %d %s fault %q", status, el.Tag, faultCode(el))
	}
	if n, err := e.store.CountEvents(ctx, clientID, e.clock.now().Add(-time.Hour)); err != nil || n != wusp.MaxEventsPerDay {
		t.Fatalf("%d events stored (err %v), want %d", n, err, wusp.MaxEventsPerDay)
	}
}

// TestStoreOutageAnsweredServerBusy stops PostgreSQL while clients scan and
// report, and checks that they get ServerBusy (which Windows retries soon),
// never InternalServerError (after which it waits hours), and that the
// same clients succeed once PostgreSQL is back.
func TestStoreOutageAnsweredServerBusy(t *testing.T) {
	pg := testpg.NewPrivate(t)
	e := newEnv(t, envOptions{databaseURL: pg.URL()})
	const clients = 4
	type client struct{ id, cookie string }
	cs := make([]client, clients)
	for i := range cs {
		cs[i].id, cs[i].cookie = e.login("")
	}
	// rounds runs n rounds of SyncUpdates + ReportEventBatch per client and
	// counts the fault codes (200 answers count as "").
	rounds := func(n int) map[string]int {
		var mu sync.Mutex
		codes := map[string]int{}
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Go(func() {
				for range n {
					_, el := e.syncUpdates(c.cookie, nil, nil)
					_, el2 := e.call(reportingPath, soap.NSReporting, "ReportEventBatch", reportBatch(c.id, c.cookie, 2, idDemo))
					mu.Lock()
					codes[faultCode(el)]++
					codes[faultCode(el2)]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return codes
	}
	if codes := rounds(2); codes[""] != 2*2*clients {
		t.Fatalf("before the outage: answers %v, want only successes", codes)
	}
	pg.Stop()
	codes := rounds(3)
	if codes["InternalServerError"] > 0 || codes["ServerBusy"] == 0 {
		t.Errorf("during the outage: answers %v, want ServerBusy and never InternalServerError", codes)
	}
	pg.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		codes = rounds(1)
		if codes[""] == 2*clients || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if codes[""] != 2*clients {
		t.Fatalf("after the outage: answers %v, want only successes", codes)
	}
}
