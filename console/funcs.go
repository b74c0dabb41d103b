package console

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// funcs are the template functions every page may use. chartFuncs
// (charts.go) adds the charts'.
func funcs() template.FuncMap {
	m := template.FuncMap{
		"when":     when,
		"ago":      ago,
		"size":     size,
		"num":      num,
		"percent":  percent,
		"col":      col,
		"join":     strings.Join,
		"navItems": navItems,
	}
	for k, v := range chartFuncs() {
		m[k] = v
	}
	return m
}

// timeOf is t (a time.Time or *time.Time) as a time.Time; the zero time
// for nil or any other value.
func timeOf(t any) time.Time {
	switch t := t.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// when formats a time (time.Time or *time.Time) as the console shows
// times: UTC to the minute; "never" for the zero time or nil.
func when(t any) string {
	v := timeOf(t)
	if v.IsZero() {
		return "never"
	}
	return v.UTC().Format("2006-01-02 15:04 UTC")
}

// ago says how long before now t was, roughly ("3 h ago"); "never" for the
// zero time or nil.
func ago(t any) string {
	v := timeOf(t)
	if v.IsZero() {
		return "never"
	}
	d := time.Since(v)
	switch {
	case d < 0:
		return "in " + roughly(-d)
	case d < time.Minute:
		return "just now"
	}
	return roughly(d) + " ago"
}

// roughly is d in its largest unit.
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// size formats a byte count in binary units ("1.5 GiB").
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// num formats an integer with thousands separators ("50,000").
func num(n int) string { return humanize.Comma(int64(n)) }

// percent is part of whole in whole percent, 0 when whole is 0.
func percent(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	return part * 100 / whole
}

// navItem is one entry of the main navigation.
type navItem struct {
	Key, Label, Href string
}

// navItems are the navigation entries s's role may open: tokens and the
// audit log are an admin's only (the API refuses them to others).
func navItems(s *session) []navItem {
	items := []navItem{
		{"overview", "Overview", "/console/"},
		{"updates", "Updates", "/console/updates"},
		{"computers", "Computers", "/console/computers"},
		{"rules", "Rules and rings", "/console/rules"},
		{"sync", "Synchronization", "/console/sync"},
	}
	if s.IsAdmin() {
		items = append(items, navItem{"tokens", "Tokens", "/console/tokens"}, navItem{"audit", "Audit log", "/console/audit"})
	}
	return items
}
