package testcluster

import (
	"reflect"
	"testing"
)

// Lines as HAProxy 2.6 writes them with logFormat: a normal SOAP call, a
// request retried on another server, a content range, a request HAProxy
// could not read (no captures), and lines that are not requests.
func TestParseRequest(t *testing.T) {
	tests := []struct {
		line string
		want Request
		kind string
		bad  bool
	}{
		{
			line: `r1 200 POST /ClientWebService/client.asmx 0 ---- 1161 {#22http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates#22}`,
			want: Request{Server: "r1", Status: 200, Method: "POST", Path: "/ClientWebService/client.asmx", Termination: "----", Bytes: 1161,
				SOAPAction: "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"},
			kind: KindScan,
		},
		{
			line: `r2 200 POST /ReportingWebService/ReportingWebService.asmx +1 ---- 510 {#22http://www.microsoft.com/SoftwareDistribution/ReportEventBatch#22}`,
			want: Request{Server: "r2", Status: 200, Method: "POST", Path: "/ReportingWebService/ReportingWebService.asmx", Retries: 1, Redispatched: true,
				Termination: "----", Bytes: 510, SOAPAction: "http://www.microsoft.com/SoftwareDistribution/ReportEventBatch"},
			kind: KindReport,
		},
		{
			line: `r3 206 GET /Content/A7/0C2F.bin?x=1 0 ---- 1048576 {}`,
			want: Request{Server: "r3", Status: 206, Method: "GET", Path: "/Content/A7/0C2F.bin", Termination: "----", Bytes: 1048576},
			kind: KindContent,
		},
		{
			line: `r1 200 POST /ClientWebService/client.asmx 0 ---- 900 {#22http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig#22}`,
			want: Request{Server: "r1", Status: 200, Method: "POST", Path: "/ClientWebService/client.asmx", Termination: "----", Bytes: 900,
				SOAPAction: "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig"},
			kind: KindClient,
		},
		{
			line: `<NOSRV> 408 <BADREQ> <BADREQ> 0 cR-- 0 `,
			want: Request{Server: "<NOSRV>", Status: 408, Method: "<BADREQ>", Path: "<BADREQ>", Termination: "cR--"},
			kind: KindOther,
		},
		{line: `Server replicas/r3 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms.`, bad: true},
		{line: `r1 twohundred POST / 0 ---- 1 {}`, bad: true},
	}
	for _, tt := range tests {
		got, err := ParseRequest(tt.line)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: parsed as %+v", tt.line, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || got.Kind() != tt.kind {
			t.Errorf("%q:\n got %+v (%s), %v\nwant %+v (%s)", tt.line, got, got.Kind(), err, tt.want, tt.kind)
		}
	}
}

// show stat's CSV (HAProxy 2.6, columns cut down to the ones read and a
// few others): the servers of backend replicas, not the frontend or the
// backend's total.
func TestParseStats(t *testing.T) {
	const raw = "# pxname,svname,qcur,scur,stot,econ,eresp,wretr,wredis,status,hrsp_2xx,hrsp_4xx,hrsp_5xx,\n" +
		"wsus,FRONTEND,,12,5000,,,,,OPEN,4990,0,0,\n" +
		"replicas,r1,0,3,1525,0,0,0,0,UP,1525,0,0,\n" +
		"replicas,r3,0,0,1278,0,3,3,134,DOWN,1144,0,0,\n" +
		"replicas,BACKEND,0,3,2803,0,3,3,134,UP,2669,0,0,\n"
	got, err := parseStats(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ServerStats{
		"r1": {Status: "UP", Current: 3, Total: 1525, Responses2xx: 1525},
		"r3": {Status: "DOWN", Total: 1278, Responses2xx: 1144, Retries: 3, Redispatches: 134, RespErrors: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseStats("# pxname,svname\nreplicas,r1\n"); err == nil {
		t.Error("stats without the counters read")
	}
}
