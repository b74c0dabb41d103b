package clientsim

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// emptySync is a SyncUpdates answer with nothing new: the recorded driver
// pass answer (000009), which holds no NewUpdates.
func emptySync(t *testing.T) []byte { return recorded(t, "000009", "response.body") }

func TestAgentRepeatScanCarriesCookieAndCache(t *testing.T) {
	rs := newRecordingServer(t)
	rs.software = append(rs.software, emptySync(t)) // rounds 1-3 as recorded, then nothing new
	a, err := NewAgent(testConfig(rs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	first, err := a.Scan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantFirst := ScanResult{
		Summary:      Summary{ClientID: "0badc0de-0000-4000-8000-000000000001", DNSName: "clientsim-0badc0de", SoftwareRounds: 3, DriverRounds: 1},
		FirstContact: true, NewUpdates: 3,
	}
	if !reflect.DeepEqual(first, wantFirst) {
		t.Errorf("first scan\n got %+v\nwant %+v", first, wantFirst)
	}
	if in, other, drv := a.CacheSize(); in != 2 || other != 1 || drv != 0 {
		t.Errorf("cache after first scan: %d installed, %d other, %d drivers; want 2, 1, 0", in, other, drv)
	}

	second, err := a.Scan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantSecond := ScanResult{Summary: Summary{ClientID: wantFirst.ClientID, DNSName: wantFirst.DNSName, SoftwareRounds: 1, DriverRounds: 1}}
	if !reflect.DeepEqual(second, wantSecond) {
		t.Errorf("repeat scan\n got %+v\nwant %+v", second, wantSecond)
	}
	wantOps := []string{"GetConfig", "GetAuthorizationCookie", "GetCookie", "RegisterComputer",
		"SyncUpdates", "SyncUpdates", "SyncUpdates", "SyncUpdates", // first scan: 3 software rounds, driver pass
		"SyncUpdates", "SyncUpdates"} // repeat scan: one software round, driver pass
	if got := rs.ops(); !reflect.DeepEqual(got, wantOps) {
		t.Errorf("operations\n got %v\nwant %v", got, wantOps)
	}
	syncs := rs.bodies("SyncUpdates")
	for i, want := range []string{
		"<EncryptedData>TmV34</EncryptedData>", // the first scan's last NewCookie
		"<InstalledNonLeafUpdateIDs><int>108226</int><int>108231</int></InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>72571</int></OtherCachedUpdateIDs>",
	} {
		if !strings.Contains(syncs[4], want) {
			t.Errorf("repeat software SyncUpdates lacks %s (check %d)", want, i)
		}
	}
	if d := syncs[5]; !strings.Contains(d, "<EncryptedData>TmV35</EncryptedData>") ||
		!strings.Contains(d, "<InstalledNonLeafUpdateIDs><int>108226</int><int>108231</int></InstalledNonLeafUpdateIDs>") ||
		strings.Contains(d, "OtherCachedUpdateIDs") || !strings.Contains(d, "<SkipSoftwareSync>true</SkipSoftwareSync>") {
		t.Errorf("repeat driver pass: %.600s", d[strings.Index(d, "<cookie>"):])
	}

	// A third scan with Report: the events go out, no content is fetched
	// (nothing is offered for install in the recorded catalog).
	third, err := a.Scan(ctx, ScanOptions{Report: true})
	if err != nil {
		t.Fatal(err)
	}
	if third.EventsReported != 2 || third.FirstContact || third.SoftwareRounds != 1 {
		t.Errorf("third scan %+v", third)
	}
	if got := rs.ops()[len(wantOps):]; !reflect.DeepEqual(got, []string{"SyncUpdates", "SyncUpdates", "ReportEventBatch"}) {
		t.Errorf("third scan operations %v", got)
	}
}

func TestAgentDropsOutOfScopeRevisions(t *testing.T) {
	rs := newRecordingServer(t)
	outOfScope := strings.Replace(string(emptySync(t)), "<Truncated>",
		"<OutOfScopeRevisionIDs><int>108231</int><int>72571</int></OutOfScopeRevisionIDs><Truncated>", 1)
	rs.software = append(rs.software, []byte(outOfScope), emptySync(t))
	a, err := NewAgent(testConfig(rs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Scan(context.Background(), ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := a.Scan(context.Background(), ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OutOfScope != 2 {
		t.Errorf("OutOfScope %d, want 2", res.OutOfScope)
	}
	if in, other, _ := a.CacheSize(); in != 1 || other != 0 {
		t.Errorf("cache after out-of-scope answer: %d installed, %d other; want 1, 0", in, other)
	}
	if _, err := a.Scan(context.Background(), ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	syncs := rs.bodies("SyncUpdates")
	if last := syncs[len(syncs)-2]; !strings.Contains(last, "<InstalledNonLeafUpdateIDs><int>108226</int></InstalledNonLeafUpdateIDs>") ||
		strings.Contains(last, "OtherCachedUpdateIDs") {
		t.Errorf("software SyncUpdates after the purge: %.500s", last[strings.Index(last, "<parameters>"):])
	}
}

func TestAgentMaxInstalledNonLeaf(t *testing.T) {
	rs := newRecordingServer(t)
	rs.software = append(rs.software, emptySync(t))
	cfg := testConfig(rs)
	cfg.MaxInstalledNonLeaf = 1
	a, err := NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := a.Scan(context.Background(), ScanOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The second category (108231) is evaluated as not installed: cached.
	want := "<InstalledNonLeafUpdateIDs><int>108226</int></InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>108231</int><int>72571</int></OtherCachedUpdateIDs>"
	if s := rs.bodies("SyncUpdates")[4]; !strings.Contains(s, want) {
		t.Errorf("repeat software SyncUpdates: %.500s", s[strings.Index(s, "<parameters>"):])
	}
	if in, other, _ := a.CacheSize(); in != 1 || other != 2 {
		t.Errorf("cache %d installed, %d other; want 1, 2", in, other)
	}
}

func TestAgentRetriesFirstContactAfterFailure(t *testing.T) {
	rs := newRecordingServer(t)
	rs.faultOnce["GetCookie"] = []string{"InternalServerError"}
	a, err := NewAgent(testConfig(rs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Scan(context.Background(), ScanOptions{}); !IsFault(err, "InternalServerError") {
		t.Fatalf("first scan error %v, want the InternalServerError fault", err)
	}
	res, err := a.Scan(context.Background(), ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FirstContact {
		t.Error("the scan after a failed first contact did not start with GetConfig")
	}
	if got := rs.ops()[:4]; !reflect.DeepEqual(got, []string{"GetConfig", "GetAuthorizationCookie", "GetCookie", "GetConfig"}) {
		t.Errorf("operations %v", got)
	}
}

func TestSyncSkeletonMatchesBuild(t *testing.T) {
	const server = "http://wsus.test:8530/a&b"
	many := make([]int, 5000)
	for i := range many {
		many[i] = 100000 + i*7
	}
	tests := []struct {
		name              string
		driver            bool
		installed, cached []int
		cookie            cookie
	}{
		{"software, empty cache", false, nil, nil, cookie{"2026-10-04T16:03:35.9967236Z", "QUJD+/=="}},
		{"software, installed only", false, []int{108226, 108231}, nil, cookie{"2026-10-04T16:03:35Z", "QUJD"}},
		{"software, other only", false, nil, []int{72571}, cookie{"2026-10-04T16:03:35Z", "QUJD"}},
		{"software, both, many", false, []int{1, 2, 3}, many, cookie{"2026-10-04T16:03:35Z", "QUJD"}},
		{"driver, empty cache", true, nil, nil, cookie{"2026-10-04T16:03:35Z", "QUJD"}},
		{"driver, installed and drivers", true, []int{5, 6}, []int{9}, cookie{"2026-10-04T16:03:35Z", "QUJD"}},
		{"cookie needing escapes", false, []int{1}, []int{2}, cookie{"2026-10-04T16:03:35Z\r", "a&b<c>\"d'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newSession(Config{ServerURL: server})
			if err != nil {
				t.Fatal(err)
			}
			s.cookie = tt.cookie
			for _, id := range tt.installed {
				s.cache.installed.add(id)
			}
			cached := &s.cache.other
			if tt.driver {
				cached = &s.cache.drivers
			}
			for _, id := range tt.cached {
				cached.add(id)
			}
			r := syncRequest{Driver: tt.driver, Cookie: tt.cookie, Server: "http://wsus.test:8530/a&b", InstalledNonLeaf: tt.installed}
			if tt.driver {
				r.CachedDrivers = tt.cached
			} else {
				r.OtherCached = tt.cached
			}
			want, err := buildSyncUpdates(r)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second call reuses the skeleton and the rendered ids
				got, err := s.syncBody(tt.driver)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Fatalf("skeleton body differs from buildSyncUpdates\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

func TestIDListKeepsOrderAndMembership(t *testing.T) {
	var l idList
	for _, id := range []int{5, 3, 9, 1} {
		l.add(id)
	}
	if got := string(l.rendered()); got != "<int>5</int><int>3</int><int>9</int><int>1</int>" {
		t.Errorf("rendered %s", got)
	}
	l.add(8) // appended to the rendering
	if got := string(l.rendered()); got != "<int>5</int><int>3</int><int>9</int><int>1</int><int>8</int>" {
		t.Errorf("rendered after add %s", got)
	}
	l.remove(8)
	l.remove(3)
	l.remove(42) // absent: no change
	l.add(3)
	l.removeAll(map[int]bool{5: true, 77: true})
	if !reflect.DeepEqual(l.ids, []int{9, 1, 3}) || l.has[5] || !l.has[3] || len(l.has) != 3 {
		t.Errorf("ids %v has %v", l.ids, l.has)
	}
	if got := string(l.rendered()); got != "<int>9</int><int>1</int><int>3</int>" {
		t.Errorf("rendered after changes %s", got)
	}
}

// BenchmarkSyncBodyFullCache is the client-side cost of one delta software
// SyncUpdates body for an agent holding 50,000 revisions: assembled from the
// skeleton, and built with etree (buildSyncUpdates) for comparison.
func BenchmarkSyncBodyFullCache(b *testing.B) {
	s, err := newSession(Config{ServerURL: "http://127.0.0.1:8530"})
	if err != nil {
		b.Fatal(err)
	}
	s.cookie = cookie{Expiration: recExpiration, EncryptedData: recCookieData}
	for i := range 50000 {
		if i%500 == 0 {
			s.cache.installed.add(100000 + i)
		} else {
			s.cache.other.add(100000 + i)
		}
	}
	b.Run("skeleton", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.syncBody(false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("etree", func(b *testing.B) {
		b.ReportAllocs()
		r := syncRequest{Cookie: s.cookie, Server: s.server, InstalledNonLeaf: s.cache.installed.ids, OtherCached: s.cache.other.ids}
		for b.Loop() {
			if _, err := buildSyncUpdates(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
