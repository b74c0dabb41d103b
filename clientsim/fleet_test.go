package clientsim

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

// TestFleetOverlay: a scan's additions to the shared cache go after the
// template's ids, non-leaf revisions to InstalledNonLeafUpdateIDs until
// the cap, revisions already held are not added twice, out-of-scope ones
// are left out, and the template's renderings are never written to.
func TestFleetOverlay(t *testing.T) {
	tmpl := &FleetTemplate{
		installed: []int{1, 2}, other: []int{10, 11}, drivers: []int{20},
		has: map[int]bool{1: true, 2: true, 10: true, 11: true, 20: true}, maxInstalled: 3,
	}
	for _, l := range []struct {
		ids []int
		dst *[]byte
	}{{tmpl.installed, &tmpl.installedInts}, {tmpl.other, &tmpl.otherInts}, {tmpl.drivers, &tmpl.drvInts}} {
		var b []byte
		for _, id := range l.ids {
			b = appendIntElement(b, id)
		}
		*l.dst = slices.Clip(b)
	}
	before := [][]byte{slices.Clone(tmpl.installedInts), slices.Clone(tmpl.otherInts), slices.Clone(tmpl.drvInts)}

	render := func(ids ...int) string {
		var b []byte
		for _, id := range ids {
			b = appendIntElement(b, id)
		}
		return string(b)
	}
	tests := []struct {
		name                   string
		put                    []updateInfo
		driver                 []updateInfo
		dropped                []int
		installed, other, drvs string
	}{
		{"nothing new", nil, nil, nil, render(1, 2), render(10, 11), render(20)},
		{"non-leaf to installed up to the cap, then other", []updateInfo{{ID: 30}, {ID: 31}, {ID: 32, IsLeaf: true}}, nil, nil,
			render(1, 2, 30), render(10, 11, 31, 32), render(20)},
		{"held already: not added", []updateInfo{{ID: 1}, {ID: 10, IsLeaf: true}, {ID: 40, IsLeaf: true}, {ID: 40, IsLeaf: true}}, nil, nil,
			render(1, 2), render(10, 11, 40), render(20)},
		{"drivers", nil, []updateInfo{{ID: 50, IsLeaf: true}, {ID: 20, IsLeaf: true}}, nil, render(1, 2), render(10, 11), render(20, 50)},
		{"out of scope left out", []updateInfo{{ID: 60, IsLeaf: true}}, nil, []int{2, 11, 60},
			render(1), render(10), render(20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &overlay{t: tmpl, dropped: map[int]bool{}, extraHas: map[int]bool{}}
			for _, u := range tt.put {
				o.put(u, false)
			}
			for _, u := range tt.driver {
				o.put(u, true)
			}
			for _, id := range tt.dropped {
				o.dropped[id] = true
			}
			inst, other := o.ids(false)
			_, drvs := o.ids(true)
			if string(inst) != tt.installed || string(other) != tt.other || string(drvs) != tt.drvs {
				t.Errorf("installed %s, other %s, drivers %s; want %s, %s, %s", inst, other, drvs, tt.installed, tt.other, tt.drvs)
			}
		})
	}
	after := [][]byte{tmpl.installedInts, tmpl.otherInts, tmpl.drvInts}
	for i := range before {
		if !slices.Equal(before[i], after[i]) {
			t.Errorf("template rendering %d changed: %s, was %s", i, after[i], before[i])
		}
	}
}

// TestFleetReportMatchesBuild: a report rendered from a skeleton is
// byte for byte what buildReportEventBatch builds for the same computer,
// cookie, time and offered updates, but for the EventInstanceIDs, fresh
// GUIDs in both.
func TestFleetReportMatchesBuild(t *testing.T) {
	tmpl := &FleetTemplate{offered: []string{"AAAAAAAA-0000-4000-8000-000000000001", "AAAAAAAA-0000-4000-8000-000000000002"}}
	ck := SessionCookie{Expiration: "2026-12-06T10:00:00.000Z", EncryptedData: "AQIDBAUGBwgJCgsMDQ4PEA=="}
	const client = "5a1f0000-1111-4222-8333-444455556666"
	instance := regexp.MustCompile(`<EventInstanceID>([^<]*)</EventInstanceID>`)
	for _, tt := range []struct {
		name string
		at   time.Time
		new  []string
	}{
		{"nothing new", time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC), nil},
		{"new updates, milliseconds", time.Date(2026, 12, 6, 16, 0, 1, 230e6, time.UTC), []string{"BBBBBBBB-0000-4000-8000-000000000003"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sk, err := tmpl.reportSkeleton(tt.new)
			if err != nil {
				t.Fatal(err)
			}
			got := sk.render(ck, client, tt.at)
			want, n, err := buildReportEventBatch(eventBatch{Cookie: cookie(ck), ClientID: client, Time: tt.at, Offered: append(slices.Clip(tmpl.offered), tt.new...)})
			if err != nil {
				t.Fatal(err)
			}
			ids := instance.FindAllSubmatch(got, -1)
			if n != sk.events || len(ids) != n || n != 2 {
				t.Fatalf("%d events, skeleton %d, %d instance ids", n, sk.events, len(ids))
			}
			if !isGUID(string(ids[0][1])) || !isGUID(string(ids[1][1])) || string(ids[0][1]) == string(ids[1][1]) {
				t.Errorf("instance ids %s, %s: want two distinct GUIDs", ids[0][1], ids[1][1])
			}
			blank := func(b []byte) string {
				return instance.ReplaceAllString(string(b), "<EventInstanceID>x</EventInstanceID>")
			}
			if blank(got) != blank(want) {
				t.Errorf("rendered report differs from the built one:\n%s\n%s", blank(got), blank(want))
			}
			if again := sk.render(ck, client, tt.at); string(instance.Find(again)) == string(instance.Find(got)) {
				t.Error("two renderings share an EventInstanceID")
			}
		})
	}
}
