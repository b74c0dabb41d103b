package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wsus/internal/xpress"
)

// demoUpdateID is the approved local update of the demo catalog.
const demoUpdateID = "7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7"

// Every ReportEventBatch of an install run against a real server is
// recorded, once, with the events the server then holds: the lines' events
// are the agents' own count of reported events, each is in the store under
// its client, and every client's acknowledged 183 (installed) is about the
// demo update.
func TestAcksRecordWhatTheServerKept(t *testing.T) {
	base, store := startDemo(t)
	var lines bytes.Buffer
	rep, err := Run(context.Background(), Config{
		ServerURL: base, Clients: 3, Mode: ModeBoth, Iterations: 2, Duration: 5 * time.Minute,
		Install: true, Acks: &lines,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 || rep.AckError != "" {
		t.Fatalf("failed %d (%+v), ack error %q", rep.Failed(), rep.Errors, rep.AckError)
	}
	reported := rep.FirstScan.EventsReported + rep.Delta.EventsReported
	if rep.Acknowledged.Events != reported || reported == 0 {
		t.Errorf("acknowledged %+v, agents reported %d events", rep.Acknowledged, reported)
	}

	var acks []Ack
	sc := bufio.NewScanner(&lines)
	for sc.Scan() {
		var a Ack
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		acks = append(acks, a)
	}
	if len(acks) != rep.Acknowledged.Batches {
		t.Fatalf("%d lines, report says %d batches", len(acks), rep.Acknowledged.Batches)
	}
	// 3 clients × 3 scans (a first scan, 2 delta scans): each scan one
	// batch (147, 156, 162 ...), and the first scan of each client a second
	// one with the install results.
	if len(acks) != 3*3+3 {
		t.Errorf("%d acknowledged batches, want 12", len(acks))
	}
	installed := map[string]int{}
	for _, a := range acks {
		kept, err := store.Events(context.Background(), a.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]int{}
		for _, e := range kept {
			stored[e.InstanceID.String()] = e.EventID
		}
		for _, e := range a.Events {
			if id, ok := stored[e.InstanceID]; !ok || id != e.EventID {
				t.Errorf("client %s: acknowledged event %s (%d) stored as %d, %v", a.ClientID, e.InstanceID, e.EventID, id, ok)
			}
			if e.EventID == 183 {
				installed[a.ClientID]++
				if e.UpdateID != demoUpdateID {
					t.Errorf("client %s: 183 about %s", a.ClientID, e.UpdateID)
				}
			}
		}
	}
	if len(installed) != 3 {
		t.Errorf("clients with an acknowledged install: %v, want 3 with one each", installed)
	}
	for c, n := range installed {
		if n != 1 {
			t.Errorf("client %s: %d acknowledged installs, want 1", c, n)
		}
	}
}

// Only an answer of true is an acknowledgement, however it is encoded;
// a fault, false, or an HTTP error is not, and the agent's answer is
// handed on unchanged either way.
func TestAckRecorderOnlyTrue(t *testing.T) {
	const batch = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ReportEventBatch xmlns="http://www.microsoft.com/SoftwareDistribution"><eventBatch>` +
		`<ReportingEvent><BasicData><TargetID><Sid>c1</Sid></TargetID><EventInstanceID>e1</EventInstanceID><EventID>183</EventID><UpdateID><UpdateID>AB</UpdateID><RevisionNumber>1</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult></BasicData></ReportingEvent>` +
		`<ReportingEvent><BasicData><TargetID><Sid>c1</Sid></TargetID><EventInstanceID>e2</EventInstanceID><EventID>182</EventID><Win32HResult>-2147023293</Win32HResult></BasicData></ReportingEvent>` +
		`</eventBatch></ReportEventBatch></s:Body></s:Envelope>`
	answer := func(result string) string {
		return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ReportEventBatchResponse xmlns="http://www.microsoft.com/SoftwareDistribution"><ReportEventBatchResult>` +
			result + `</ReportEventBatchResult></ReportEventBatchResponse></s:Body></s:Envelope>`
	}
	const fault = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>busy</faultstring></s:Fault></s:Body></s:Envelope>`
	want := `{"client_id":"c1","events":[{"instance_id":"e1","event_id":183,"update_id":"ab"},{"instance_id":"e2","event_id":182,"hresult":-2147023293}]}` + "\n"
	tests := []struct {
		name     string
		action   string
		status   int
		encoding string
		body     string
		want     string
	}{
		{"true", reportAction, 200, "", answer("true"), want},
		{"true in xpress", reportAction, 200, "xpress", answer("true"), want},
		{"false", reportAction, 200, "", answer("false"), ""},
		{"fault", reportAction, 500, "", fault, ""},
		{"not xml", reportAction, 200, "", "true", ""},
		{"another operation", "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates", 200, "", answer("true"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := []byte(tt.body)
			if tt.encoding == "xpress" {
				wire = xpress.Frame(nil, wire, 0)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.encoding != "" {
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				w.WriteHeader(tt.status)
				w.Write(wire)
			}))
			defer srv.Close()
			var out bytes.Buffer
			log := &ackLog{w: &out}
			client := &http.Client{Transport: ackRecorder{next: http.DefaultTransport, log: log}}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(batch))
			req.Header.Set("SOAPAction", `"`+tt.action+`"`)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			got.ReadFrom(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got.Bytes(), wire) || resp.StatusCode != tt.status {
				t.Errorf("agent got HTTP %d %q, want %d %q", resp.StatusCode, got.Bytes(), tt.status, wire)
			}
			if out.String() != tt.want {
				t.Errorf("recorded %q, want %q", out.String(), tt.want)
			}
			totals, err := log.result()
			if err != nil {
				t.Error(err)
			}
			if n := strings.Count(tt.want, "\n"); totals.Batches != n || (n > 0 && totals.Events != 2) {
				t.Errorf("totals %+v", totals)
			}
		})
	}
}
