package console

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog/admin"
)

// TestApportion: the widths sum to the width exactly, are in proportion
// to within one unit, and are zero for zero counts.
func TestApportion(t *testing.T) {
	for _, c := range []struct {
		counts []int
		want   []float64
	}{
		{[]int{1, 1, 1}, []float64{160, 160, 160}},
		{[]int{0, 0, 0, 0}, []float64{0, 0, 0, 0}},
		{[]int{5, 0, 0, 0}, []float64{480, 0, 0, 0}},
		{[]int{1, 0, 2, 0}, []float64{160, 0, 320, 0}},
		{[]int{1, 1, 1, 1, 1, 1, 1}, []float64{69, 69, 69, 69, 68, 68, 68}},
		{[]int{99999, 1, 0, 0}, []float64{479, 1, 0, 0}},
		{[]int{}, []float64{}},
	} {
		got := apportion(c.counts, chartWidth)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("apportion(%v) = %v, want %v", c.counts, got, c.want)
		}
	}
}

// TestGroupBars: every bar with computers spans the width exactly, its
// segments side by side in the series' order without zero ones; a group
// without computers has none; failures are not counted twice as needing;
// many groups stack downwards without overlapping.
func TestGroupBars(t *testing.T) {
	groups := []admin.GroupComplianceRow{
		{ID: uuid.New(), Name: "Ring 1", Computers: 3, NeedingUpdates: 2, WithFailures: 1, UpToDate: 1},
		{ID: uuid.New(), Name: "Empty"},
		{ID: uuid.New(), Name: "New", Computers: 7, UpToDate: 2, NotReported: 5},
	}
	c := groupBars(groups)
	if len(c.Bars) != 3 || c.Width != chartWidth {
		t.Fatalf("%d bars of width %v", len(c.Bars), c.Width)
	}
	type seg struct {
		key   string
		value int
		w     float64
	}
	want := [][]seg{
		{{"up_to_date", 1, 160}, {"needing", 1, 160}, {"failed", 1, 160}},
		nil,
		{{"up_to_date", 2, 137}, {"no_status", 5, 343}},
	}
	for i, b := range c.Bars {
		var got []seg
		x := 0.0
		for _, s := range b.Segments {
			got = append(got, seg{s.Key, s.Value, s.W})
			if s.X != x || s.Y != b.Y || s.H != barHeight {
				t.Errorf("%s: segment %s at x %v y %v h %v, want x %v y %v h %v", b.Name, s.Key, s.X, s.Y, s.H, x, b.Y, barHeight)
			}
			x += s.W
		}
		if fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("%s: segments %v, want %v", b.Name, got, want[i])
		}
		if len(b.Segments) > 0 && x != chartWidth {
			t.Errorf("%s: segments sum to %v, want %d", b.Name, x, chartWidth)
		}
	}
	if c.Bars[0].Href != "/console/computers?group="+groups[0].ID.String() {
		t.Errorf("bar link %q", c.Bars[0].Href)
	}

	var many []admin.GroupComplianceRow
	for i := range 200 {
		many = append(many, admin.GroupComplianceRow{Name: fmt.Sprint("g", i), Computers: 1000 + i*37, NeedingUpdates: i * 11, WithFailures: i * 3, UpToDate: 1000 - i})
	}
	c = groupBars(many)
	prev := -1.0
	for _, b := range c.Bars {
		sum := 0.0
		for _, s := range b.Segments {
			sum += s.W
			if s.W < 0 {
				t.Errorf("%s: negative width %v", b.Name, s.W)
			}
		}
		if sum != chartWidth {
			t.Errorf("%s: segments sum to %v", b.Name, sum)
		}
		if b.LabelY <= prev || b.Y <= b.LabelY || b.Y+barHeight > c.Height {
			t.Errorf("%s: label at %v, bar at %v, previous bar at %v, chart height %v", b.Name, b.LabelY, b.Y, prev, c.Height)
		}
		prev = b.Y + barHeight
	}
	if c := groupBars(nil); len(c.Bars) != 0 || c.Height <= 0 {
		t.Errorf("no groups: %+v", c)
	}
}

// TestInstallColumns: columns scale to a round axis, installed below
// failed, their heights in proportion and within the plot; the zero line
// is the plot's bottom; every day has a column, some a label, the last
// always; all-zero days draw an axis 0 to 1 and no rectangles.
func TestInstallColumns(t *testing.T) {
	days := make([]admin.InstallDay, 30)
	for i := range days {
		days[i].Day = fmt.Sprintf("2026-11-%02d", i+1)
	}
	days[3] = admin.InstallDay{Day: days[3].Day, Installed: 30, Failed: 7}
	days[29] = admin.InstallDay{Day: days[29].Day, Installed: 3}
	c := installColumns(days)
	if c.Max != 40 || c.Installed != 33 || c.Failed != 7 || len(c.Columns) != 30 {
		t.Fatalf("max %d, %d installed, %d failed, %d columns", c.Max, c.Installed, c.Failed, len(c.Columns))
	}
	var ticks []int
	for _, tk := range c.Ticks {
		ticks = append(ticks, tk.Value)
	}
	if fmt.Sprint(ticks) != "[0 10 20 30 40]" || c.Ticks[0].Y != c.Bottom || c.Ticks[len(c.Ticks)-1].Y != c.Top {
		t.Errorf("ticks %v from y %v to %v, want 0..40 from the bottom %v to the top %v", ticks, c.Ticks[0].Y, c.Ticks[len(c.Ticks)-1].Y, c.Bottom, c.Top)
	}
	scale := (c.Bottom - c.Top) / 40
	d := c.Columns[3]
	if len(d.Segments) != 2 || d.Segments[0].Key != "installed" || d.Segments[1].Key != "failed" {
		t.Fatalf("day 4 segments %+v", d.Segments)
	}
	in, fail := d.Segments[0], d.Segments[1]
	if math.Abs(in.H-30*scale) > 0.1 || math.Abs(fail.H-7*scale) > 0.1 ||
		math.Abs(in.Y+in.H-c.Bottom) > 0.1 || math.Abs(fail.Y+fail.H-in.Y) > 0.1 {
		t.Errorf("day 4: installed %+v, failed %+v, scale %v", in, fail, scale)
	}
	if len(c.Columns[0].Segments) != 0 {
		t.Errorf("an empty day has segments %+v", c.Columns[0].Segments)
	}
	labels := 0
	for i, col := range c.Columns {
		if col.X < c.Left || col.X+col.W > c.Right+0.1 || (i > 0 && col.X <= c.Columns[i-1].X) {
			t.Errorf("column %d at %v width %v, outside the plot or out of order", i, col.X, col.W)
		}
		if col.Label != "" {
			labels++
		}
	}
	if c.Columns[29].Label != "Nov 30" || labels < 4 || labels > 6 {
		t.Errorf("%d labels, the last %q", labels, c.Columns[29].Label)
	}

	c = installColumns([]admin.InstallDay{{Day: "2026-11-01"}, {Day: "2026-11-02"}})
	if c.Max != 1 || len(c.Ticks) != 2 || len(c.Columns) != 2 || len(c.Columns[0].Segments)+len(c.Columns[1].Segments) != 0 {
		t.Errorf("zero days: max %d, ticks %+v, columns %+v", c.Max, c.Ticks, c.Columns)
	}
	if c := installColumns(nil); c.Max != 1 || len(c.Columns) != 0 {
		t.Errorf("no days: %+v", c)
	}
}

// TestNiceStep: an axis step of 1, 2 or 5 times a power of ten taking the
// maximum in four or five steps.
func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ most, want int }{
		{0, 1}, {1, 1}, {4, 1}, {5, 2}, {8, 2}, {9, 5}, {20, 5}, {37, 10}, {40, 10}, {41, 20}, {199, 50}, {100000, 50000},
	} {
		if got := niceStep(c.most); got != c.want {
			t.Errorf("niceStep(%d) = %d, want %d", c.most, got, c.want)
		}
		if steps := (c.most + c.want - 1) / c.want; steps > 5 {
			t.Errorf("niceStep(%d) = %d takes %d steps", c.most, c.want, steps)
		}
	}
}
