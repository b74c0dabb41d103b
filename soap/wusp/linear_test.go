package wusp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/internal/lineartest"
	"wsus/soap"
)

// The work of an operation must grow linearly with the lists a request
// carries, up to the request limits (soap/wusp/limits.go): each case times a
// request with n items and with 4n in the same run (see lineartest).

// list returns count items made by item(i).
func list(count int, item func(i int) string) string {
	var b strings.Builder
	for i := range count {
		b.WriteString(item(i))
	}
	return b.String()
}

func TestOperationsAreLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: large requests skipped")
	}
	srv := newFuzzServer(t)
	// The largest counts stay within the markup limits of each operation.
	tests := []struct {
		name, ns, op string
		n            int // the smaller count; 4n is compared with it
		inner        func(n int) string
	}{
		{"SyncUpdates: cached update IDs", soap.NSClient, "SyncUpdates", 20_000, func(n int) string {
			return sessionCookie + "<parameters><OtherCachedUpdateIDs>" + list(n, func(i int) string { return fmt.Sprintf("<int>%d</int>", 1000+i) }) +
				"</OtherCachedUpdateIDs><SkipSoftwareSync>false</SkipSoftwareSync></parameters>"
		}},
		{"SyncUpdates: cached driver IDs on the driver pass", soap.NSClient, "SyncUpdates", 20_000, func(n int) string {
			return sessionCookie + "<parameters><CachedDriverIDs>" + list(n, func(i int) string { return fmt.Sprintf("<int>%d</int>", 1000+i) }) +
				"</CachedDriverIDs><SkipSoftwareSync>true</SkipSoftwareSync><SystemSpec><Device><HardwareIDs><string>PCI\\VEN_1AF4&amp;DEV_1041</string></HardwareIDs></Device></SystemSpec></parameters>"
		}},
		{"SyncUpdates: devices", soap.NSClient, "SyncUpdates", 1_000, func(n int) string {
			return sessionCookie + "<parameters><SkipSoftwareSync>true</SkipSoftwareSync><SystemSpec>" + list(n, func(i int) string {
				return fmt.Sprintf(`<Device><HardwareIDs><string>PCI\VEN_1AF4&amp;DEV_%04X</string><string>PCI\VEN_1AF4</string></HardwareIDs><CompatibleIDs><string>PCI\CC_0200</string></CompatibleIDs>`+
					`<installedDriver><MatchingID>PCI\VEN_1AF4</MatchingID><DriverVerDate>2020-01-01</DriverVerDate><DriverVerVersion>%d</DriverVerVersion><DriverRank>1</DriverRank></installedDriver></Device>`, i, i)
			}) + "</SystemSpec></parameters>"
		}},
		{"GetExtendedUpdateInfo: locales", soap.NSClient, "GetExtendedUpdateInfo", 2_300, func(n int) string {
			return sessionCookie + "<revisionIDs><int>1</int><int>2</int><int>6</int><int>7</int></revisionIDs><infoTypes><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes><locales>" +
				list(n, func(i int) string { return fmt.Sprintf("<string>x-%d</string>", i) }) + "</locales>"
		}},
		{"RefreshCache: identities", soap.NSClient, "RefreshCache", 1_000, func(n int) string {
			return sessionCookie + "<globalIDs>" + list(n, func(i int) string {
				return fmt.Sprintf("<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d</RevisionNumber></UpdateIdentity>", uuid.NewSHA1(uuid.Nil, []byte{byte(i), byte(i >> 8)}), i)
			}) + "</globalIDs>"
		}},
		{"GetFileLocations: digests", soap.NSClient, "GetFileLocations", 1_500, func(n int) string {
			return sessionCookie + "<fileDigests>" + list(n, func(i int) string {
				return fmt.Sprintf("<base64Binary>%s</base64Binary>", "AAAAAAAAAAAAAAAAAAAAAAAA"[:20]+fmt.Sprintf("%04d", i%10000)+"AAA=")
			}) + "</fileDigests>"
		}},
		{"ReportEventBatch: status lists", soap.NSReporting, "ReportEventBatch", 2_000, func(n int) string {
			// One status event listing n updates.
			ids := list(n, func(i int) string { return uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprint(i))).String() + ";" })
			return sessionCookie + `<eventBatch><ReportingEvent><BasicData><TimeAtTarget>2026-10-04T15:09:00Z</TimeAtTarget><EventInstanceID>` + uuid.NewString() +
				`</EventInstanceID><EventID>156</EventID><SourceID>1</SourceID><Win32HResult>0</Win32HResult></BasicData><ExtendedData><MiscData><string>V=` + ids +
				`</string><string>U=` + ids + `</string></MiscData></ExtendedData></ReportingEvent></eventBatch>`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			request := func(n int) []byte { return fuzzEnvelope(tt.ns, tt.op, srv.fill(t, tt.op, tt.inner(n))) }
			// From n/4 to 4n: sizes 16 times apart, the largest within the
			// operation's limits.
			lineartest.Check(t, []int{tt.n / 4, 4 * tt.n}, request, func(body []byte) { srv.check(t, tt.ns, tt.op, body) })
		})
	}
}
