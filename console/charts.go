package console

import (
	"fmt"
	"html/template"
	"math"
	"time"

	"wsus/catalog/admin"
)

// This file computes the overview's charts: pure functions from the API's
// rows to the geometry an SVG template draws (templates/overview.html), in
// the units of the chart's viewBox. The browser scales the drawing to its
// width; nothing here knows pixels, fonts or the page.

// chartFuncs are the template functions that draw charts.
func chartFuncs() template.FuncMap {
	return template.FuncMap{"groupBars": groupBars, "installColumns": installColumns, "num64": num64}
}

// num64 is num of a 64-bit count (the storage's objects).
func num64(n int64) string { return num(int(n)) }

// chartWidth is the width of every chart's viewBox: narrow enough that
// its text stays readable when a phone scales it to 300 pixels.
const chartWidth = 480

// chartSeries is one kind of count a chart stacks, with its legend label and
// the CSS class that colours it (console.css, the overview's section).
type chartSeries struct {
	// Key names it in the page (data-series); Phrase is Label within a
	// sentence.
	Key, Label, Phrase, Class string
}

// The series of the compliance chart, in the order they are stacked.
var complianceSeries = []chartSeries{
	{"up_to_date", "Up to date", "up to date", "fill-ok"},
	{"needing", "Needing updates", "needing updates", "fill-warn"},
	{"failed", "With failed installs", "with failed installs", "fill-err"},
	{"no_status", "No status reported", "with no status reported", "fill-none"},
}

// The series of the installs chart, bottom up.
var installSeries = []chartSeries{
	{"installed", "Installed", "installed", "fill-ok"},
	{"failed", "Failed", "failed", "fill-err"},
}

// chartSegment is one series' part of a bar or a column.
type chartSegment struct {
	chartSeries
	Value int
	// X, Y, W, H are its rectangle.
	X, Y, W, H float64
}

// chartBar is one group's horizontal bar of the compliance chart: its
// computers split by state, the whole bar chartWidth wide.
type chartBar struct {
	Name string
	// Href is the group's computers in the console.
	Href string
	// Computers is the bar's total; Segments only those with a value.
	Computers int
	// LabelY is the baseline of the group's name, above the bar at Y.
	LabelY, Y float64
	Segments  []chartSegment
}

// barChart is the compliance chart: one bar per group.
type barChart struct {
	Width, Height float64
	BarHeight     float64
	Bars          []chartBar
	Legend        []chartSeries
}

// Layout of the compliance chart: each group's name on a line of its own
// above its bar, so that long names fit a phone's width.
const (
	barLabelHeight = 19
	barHeight      = 20
	barGap         = 12
)

// groupRow are the counts of one group in the compliance chart's order:
// up to date, needing (but no failure), with failures, and no status
// reported ever. The API's counts overlap (WithFailures are among
// NeedingUpdates; a computer that has not reported for N days is any of
// them), so these are the disjoint parts of Computers: what neither needs
// nor is up to date has never reported a status.
func groupRow(g admin.GroupComplianceRow) []int {
	needing := max(g.NeedingUpdates-g.WithFailures, 0)
	none := max(g.Computers-g.NeedingUpdates-g.UpToDate, 0)
	return []int{g.UpToDate, needing, g.WithFailures, none}
}

// groupBars lays out the compliance chart of groups (as GET
// /api/v1/compliance/groups lists them): every bar spans the whole width,
// its segments in proportion to their computers, their widths summing to
// the width exactly (largest remainders); a group without computers has
// an empty bar.
func groupBars(groups []admin.GroupComplianceRow) barChart {
	c := barChart{Width: chartWidth, BarHeight: barHeight, Legend: complianceSeries}
	y := 0.0
	for _, g := range groups {
		counts := groupRow(g)
		b := chartBar{Name: g.Name, Href: "/console/computers?group=" + g.ID.String(), Computers: g.Computers,
			LabelY: y + barLabelHeight - 5, Y: y + barLabelHeight}
		widths := apportion(counts, chartWidth)
		x := 0.0
		for i, n := range counts {
			if n == 0 {
				continue
			}
			b.Segments = append(b.Segments, chartSegment{chartSeries: complianceSeries[i], Value: n, X: x, Y: b.Y, W: widths[i], H: barHeight})
			x += widths[i]
		}
		c.Bars = append(c.Bars, b)
		y += barLabelHeight + barHeight + barGap
	}
	c.Height = max(y-barGap, 1)
	return c
}

// apportion splits width among counts in proportion, in whole units that
// sum to width exactly (the largest remainder method), every count above
// zero at least one unit; all zero when the counts sum to zero.
func apportion(counts []int, width int) []float64 {
	total := 0
	for _, n := range counts {
		total += n
	}
	out := make([]float64, len(counts))
	if total <= 0 {
		return out
	}
	rem := make([]float64, len(counts))
	given := 0
	for i, n := range counts {
		exact := float64(n) * float64(width) / float64(total)
		out[i] = math.Floor(exact)
		rem[i] = exact - out[i]
		given += int(out[i])
	}
	for ; given < width; given++ {
		best := -1
		for i := range counts {
			if counts[i] > 0 && (best < 0 || rem[i] > rem[best]) {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	// A count too small for a unit still shows: one unit, taken from the
	// widest (a failure among 100,000 computers is one sliver).
	for i, n := range counts {
		if n > 0 && out[i] == 0 {
			widest := 0
			for j := range out {
				if out[j] > out[widest] {
					widest = j
				}
			}
			if out[widest] > 1 {
				out[widest]--
				out[i]++
			}
		}
	}
	return out
}

// dayColumn is one day's column of the installs chart.
type dayColumn struct {
	Day string
	// Label is the day as the axis shows it ("Nov 12"), "" on days whose
	// label is left out to keep the axis readable.
	Label string
	// X is the column's left, W its width; LabelX the middle.
	X, W, LabelX float64
	Installed    int
	Failed       int
	Segments     []chartSegment
}

// chartTick is one line of the value axis.
type chartTick struct {
	Value int
	Y     float64
}

// columnChart is the installs chart: one stacked column per day.
type columnChart struct {
	Width, Height float64
	// The plot's area: from Left to Right, from Top to Bottom (the zero
	// line); the axis labels are outside it: the values' right-aligned at
	// TickX, the days' baseline at DayY.
	Left, Right, Top, Bottom float64
	TickX, DayY              float64
	Columns                  []dayColumn
	Ticks                    []chartTick
	Legend                   []chartSeries
	// Max is the axis' top value; Installed and Failed sum the days.
	Max, Installed, Failed int
}

// Layout of the installs chart.
const (
	colHeight = 220
	colLeft   = 44 // the value labels
	colRight  = 22 // half the last day's label
	colTop    = 10
	colBottom = colHeight - 26 // the day labels below
)

// installColumns lays out the installs chart of days (as GET
// /api/v1/compliance/installs answers them, oldest first): a column per
// day, installed at the bottom and failed on top, scaled to a round
// maximum with four or five ticks; an axis from 0 to 1 when every day is
// zero.
func installColumns(days []admin.InstallDay) columnChart {
	c := columnChart{Width: chartWidth, Height: colHeight, Left: colLeft, Right: chartWidth - colRight, Top: colTop, Bottom: colBottom,
		TickX: colLeft - 6, DayY: colHeight - 6, Legend: installSeries}
	most := 0
	for _, d := range days {
		most = max(most, d.Installed+d.Failed)
		c.Installed += d.Installed
		c.Failed += d.Failed
	}
	step := niceStep(most)
	c.Max = max(step, (most+step-1)/step*step)
	plot := float64(colBottom - colTop)
	scale := plot / float64(c.Max)
	for v := 0; v <= c.Max; v += step {
		c.Ticks = append(c.Ticks, chartTick{Value: v, Y: round1(colBottom - float64(v)*scale)})
	}
	if len(days) == 0 {
		return c
	}
	slot := float64(chartWidth-colLeft-colRight) / float64(len(days))
	w := round1(math.Max(slot*0.7, 1))
	every := max(1, (len(days)+4)/5) // at most about five day labels
	for i, d := range days {
		x := colLeft + float64(i)*slot
		col := dayColumn{Day: d.Day, X: round1(x + (slot-w)/2), W: w, LabelX: round1(x + slot/2), Installed: d.Installed, Failed: d.Failed}
		if (len(days)-1-i)%every == 0 {
			col.Label = dayLabel(d.Day)
		}
		y := float64(colBottom)
		for j, n := range []int{d.Installed, d.Failed} {
			if n == 0 {
				continue
			}
			h := float64(n) * scale
			y -= h
			col.Segments = append(col.Segments, chartSegment{chartSeries: installSeries[j], Value: n, X: col.X, Y: round1(y), W: w, H: round1(h)})
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}

// niceStep is the axis step for values up to most: 1, 2 or 5 times a
// power of ten, so that most takes four or five steps (at least 1).
func niceStep(most int) int {
	if most <= 4 {
		return 1
	}
	raw := float64(most) / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return int(m * pow)
		}
	}
	return int(10 * pow)
}

// dayLabel is a "YYYY-MM-DD" day as the axis shows it ("Nov 12").
func dayLabel(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%s %d", t.Month().String()[:3], t.Day())
}

// round1 rounds to a tenth: the drawing needs no more, and the page is
// smaller.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
