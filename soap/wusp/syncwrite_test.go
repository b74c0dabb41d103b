package wusp

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog/scan"
	"wsus/soap"
	"wsus/soap/cookie"
)

// The SyncUpdates answer is written as bytes (writeSyncInfo); until then it
// was built as an etree tree. The tree builder is kept here as the oracle:
// for every case the bytes on the wire must be the same. When the answer
// changes on purpose, change the oracle with it.

// oracleSyncInfo is the tree builder SyncUpdates used, fragment truncation
// by MaxPageBytes included.
func (s *Services) oracleSyncInfo(parent *etree.Element, res scan.SyncResult, core map[int32]string, sess cookie.Session) error {
	// ChangedUpdates count first, then NewUpdates; cut among the changed
	// ones, the page carries no NewUpdates.
	size, n := 0, 0
	for i, u := range res.ChangedUpdates {
		size += len(core[u.RevisionID])
		if n > 0 && size > s.cfg.MaxPageBytes {
			res.ChangedUpdates, res.NewUpdates, res.Truncated = res.ChangedUpdates[:i], nil, true
			break
		}
		n++
	}
	for i, u := range res.NewUpdates {
		size += len(core[u.RevisionID])
		if n > 0 && size > s.cfg.MaxPageBytes {
			res.NewUpdates, res.Truncated = res.NewUpdates[:i], true
			break
		}
		n++
	}
	addInfos := func(name string, infos []scan.UpdateInfo) {
		if len(infos) == 0 {
			return
		}
		arr := parent.CreateElement(name)
		for _, u := range infos {
			oracleUpdateInfo(arr, "UpdateInfo", u, core[u.RevisionID], res.HardwareIDs[u.RevisionID], sess.ProtocolVersion)
		}
	}
	addInfos("NewUpdates", res.NewUpdates)
	soap.IntArray(parent, "OutOfScopeRevisionIDs", res.OutOfScope)
	addInfos("ChangedUpdates", res.ChangedUpdates)
	soap.Elem(parent, "Truncated", soap.BoolText(res.Truncated))
	sealed, err := s.cfg.Sealer.SealSession(sess)
	if err != nil {
		return err
	}
	c := parent.CreateElement("NewCookie")
	soap.Elem(c, "Expiration", soap.FormatDateTime(sess.Expires))
	soap.Elem(c, "EncryptedData", base64.StdEncoding.EncodeToString(sealed))
	if protocolAtLeast(sess.ProtocolVersion, 1, 7) {
		soap.IntArray(parent, "DeployedOutOfScopeRevisionIds", res.DeployedOutOfScope)
		soap.Elem(parent, "DriverSyncNotNeeded", soap.BoolText(res.DriverSyncNotNeeded))
	}
	return nil
}

func oracleUpdateInfo(parent *etree.Element, name string, u scan.UpdateInfo, coreXML string, hardwareIDs []string, protocol string) {
	ui := parent.CreateElement(name)
	soap.Elem(ui, "ID", strconv.Itoa(int(u.RevisionID)))
	oracleDeployment(ui, u.Deployment, hardwareIDs, protocol)
	soap.Elem(ui, "IsLeaf", soap.BoolText(u.IsLeaf))
	soap.Elem(ui, "Xml", coreXML)
}

func oracleDeployment(parent *etree.Element, d scan.Deployment, hardwareIDs []string, protocol string) {
	action := d.Action
	if action == scan.OptionalInstall && !protocolAtLeast(protocol, 2, 0) {
		action = scan.PreDeploymentCheck
	}
	dep := parent.CreateElement("Deployment")
	soap.Elem(dep, "ID", strconv.Itoa(int(d.ID)))
	soap.Elem(dep, "Action", string(action))
	if !d.Deadline.IsZero() {
		soap.Elem(dep, "Deadline", d.Deadline.UTC().Format(deadlineFormat))
	}
	soap.Elem(dep, "IsAssigned", soap.BoolText(action != scan.OptionalInstall))
	soap.Elem(dep, "LastChangeTime", d.ChangedAt.UTC().Format(lastChangeFormat))
	if len(hardwareIDs) > 0 && protocolAtLeast(protocol, 1, 6) {
		arr := dep.CreateElement("HardwareIds")
		for _, id := range hardwareIDs {
			soap.Elem(arr, "string", id)
		}
	}
	if protocolAtLeast(protocol, 1, 8) {
		soap.Elem(dep, "AutoSelect", "0")
		soap.Elem(dep, "AutoDownload", "0")
		soap.Elem(dep, "SupersedenceBehavior", "0")
	}
}

// syncCase is one SyncUpdates answer: what the scan engine decided, the
// Core fragments, the client's protocol and the page byte limit.
type syncCase struct {
	name     string
	res      scan.SyncResult
	core     map[int32]string
	protocol string
	maxBytes int
}

func syncCases() []syncCase {
	changed := time.Date(2026, 10, 4, 23, 59, 59, 0, time.FixedZone("", 5*3600))
	deadline := time.Date(2026, 11, 1, 8, 30, 0, 0, time.FixedZone("", -7*3600))
	info := func(id int32, action scan.Action, leaf bool) scan.UpdateInfo {
		return scan.UpdateInfo{RevisionID: id, IsLeaf: leaf, Deployment: scan.Deployment{ID: 1000 + id, Action: action, ChangedAt: changed}}
	}
	withDeadline := func(u scan.UpdateInfo) scan.UpdateInfo { u.Deployment.Deadline = deadline; return u }
	frag := func(id int32, extra string) string {
		return `<UpdateIdentity UpdateID="` + uuid.NewSHA1(uuid.Nil, []byte{byte(id)}).String() + `" RevisionNumber="` + strconv.Itoa(int(id)) +
			`" /><Properties UpdateType="Software" /><Relationships><Prerequisites><AtLeastOne IsCategory='true'><UpdateIdentity UpdateID="x" /></AtLeastOne></Prerequisites></Relationships>` + extra
	}
	software := scan.SyncResult{
		NewUpdates: []scan.UpdateInfo{
			info(1, scan.Install, false), info(2, scan.OptionalInstall, true), withDeadline(info(3, scan.Install, true)),
			info(4, scan.Bundle, true), info(5, scan.Evaluate, false),
		},
		ChangedUpdates: []scan.UpdateInfo{info(6, scan.Uninstall, true), withDeadline(info(7, scan.OptionalInstall, true))},
		OutOfScope:     []int32{8, 9, -1, 2147483647},
	}
	core := map[int32]string{
		1: frag(1, ""),
		2: frag(2, "<Title>Tom &amp; Jerry's \"update\" &lt;1&gt;</Title>"),
		3: frag(3, "\r\n\t<X a=\"1\r\n2\">é 中 \U0001F600 \ufffd</X>\r"),
		4: frag(4, "\x00\x1f\x7f \xff\xfe \xed\xa0\x80 \ufffe\uffff ]]> <![CDATA[x]]>"),
		5: "",
		6: frag(6, "&&<<>>''\"\""),
		7: frag(7, strings.Repeat("&", 300)),
	}
	drivers := scan.SyncResult{
		NewUpdates: []scan.UpdateInfo{info(20, scan.Install, true), withDeadline(info(21, scan.Install, true)), info(22, scan.Install, true)},
		HardwareIDs: map[int32][]string{
			20: {`PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01`, `PCI\VEN_1AF4&DEV_1041`},
			21: {"USB\\VID_0000&PID_<0>", "", "ACPI\\\"x\"\r"},
		},
		DriverSyncNotNeeded: false,
	}
	driverCore := map[int32]string{20: frag(20, ""), 21: frag(21, "&"), 22: frag(22, "<")}

	var cases []syncCase
	for _, protocol := range []string{"2.90", "2.0", "1.8", "1.7", "1.6", "1.0", "", "x"} {
		cases = append(cases,
			syncCase{"software " + protocol, software, core, protocol, DefaultMaxPageBytes},
			syncCase{"drivers " + protocol, drivers, driverCore, protocol, DefaultMaxPageBytes})
	}
	truncated := software
	truncated.Truncated = true
	truncated.DeployedOutOfScope = []int32{30, 31}
	// Fragment 7 is 300 bytes longer escaped: counted unescaped, the
	// changed updates 6 and 7, then the new 1 fit and 2 does not.
	sizes := len(core[6]) + len(core[7]) + len(core[1])
	cases = append(cases,
		syncCase{"nothing", scan.SyncResult{}, nil, "2.90", DefaultMaxPageBytes},
		syncCase{"nothing for drivers", scan.SyncResult{DriverSyncNotNeeded: true}, nil, "2.90", DefaultMaxPageBytes},
		syncCase{"only out of scope", scan.SyncResult{OutOfScope: []int32{1}, DeployedOutOfScope: []int32{2}}, nil, "1.8", DefaultMaxPageBytes},
		syncCase{"truncated by the engine", truncated, core, "2.90", DefaultMaxPageBytes},
		syncCase{"truncated by size", software, core, "2.90", sizes},
		// Changed updates 6 and 7 count first: 6 fits, 7 and every new one not.
		syncCase{"truncated by size among the changed", software, core, "2.90", len(core[6])},
		syncCase{"first fragment over the size", software, core, "2.90", 1},
		syncCase{"missing fragments", software, map[int32]string{}, "2.90", DefaultMaxPageBytes},
	)
	return cases
}

func TestSyncInfoBytesMatchTheTreeBuilder(t *testing.T) {
	sealer, err := cookie.NewSealer(bytes.Repeat([]byte{7}, cookie.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range syncCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := &Services{cfg: Config{Sealer: sealer, MaxPageBytes: tc.maxBytes}}
			sess := cookie.Session{
				ServerID: uuid.NewSHA1(uuid.Nil, []byte("server")), ClientID: "client",
				Expires: time.Date(2026, 10, 4, 16, 3, 35, 996723600, time.UTC), ProtocolVersion: tc.protocol,
			}
			logger := slog.New(slog.DiscardHandler)
			oracle := soap.NewService("ClientWebService", soap.NSClient, soap.StyleClient, soap.NewAdmission(0, 0, 0), logger)
			oracle.Handle("SyncUpdates", syncRequest, func(_ context.Context, req *soap.Request) (*etree.Element, error) {
				resp := req.NewResponse()
				return resp, s.oracleSyncInfo(resp.CreateElement("SyncUpdatesResult"), tc.res, tc.core, sess)
			})
			raw := soap.NewService("ClientWebService", soap.NSClient, soap.StyleClient, soap.NewAdmission(0, 0, 0), logger)
			raw.HandleBulkRaw("SyncUpdates", syncRequest, func(_ context.Context, req *soap.Request) (*soap.RawResponse, error) {
				core := map[int32]coreFragment{}
				for id, x := range tc.core {
					core[id] = coreFragment{text: soap.AppendText(nil, x), size: len(x)}
				}
				res := tc.res
				fitPage(&res, core, s.cfg.MaxPageBytes)
				resp := req.NewRawResponse()
				return resp, s.writeSyncInfo(resp, "SyncUpdatesResult", res, core, sess, "")
			})
			call := func(svc *soap.Service) []byte {
				// The same random stream for both: the same sealed cookie.
				cryptotest.SetGlobalRandom(t, 1)
				r := httptest.NewRequest(http.MethodPost, "/ClientWebService/client.asmx", strings.NewReader(
					`<s:Envelope xmlns:s="`+soap.NSEnvelope+`"><s:Body><SyncUpdates xmlns="`+soap.NSClient+`"/></s:Body></s:Envelope>`))
				r.Header.Set("SOAPAction", `"`+soap.NSClient+`/SyncUpdates"`)
				rec := httptest.NewRecorder()
				svc.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
				}
				if n, _ := strconv.Atoi(rec.Header().Get("Content-Length")); n != rec.Body.Len() {
					t.Fatalf("Content-Length %d for %d bytes", n, rec.Body.Len())
				}
				return rec.Body.Bytes()
			}
			want, got := call(oracle), call(raw)
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("the answers differ from byte %d:\nbytes: %q\ntree:  %q", i, got[max(0, i-80):min(len(got), i+80)], want[max(0, i-80):min(len(want), i+80)])
			}
		})
	}
}
