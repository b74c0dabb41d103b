package soap

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// Namespaces of the three client-facing services and SOAP itself.
const (
	NSEnvelope   = "http://schemas.xmlsoap.org/soap/envelope/"
	NSXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	NSXSD        = "http://www.w3.org/2001/XMLSchema"
	NSClient     = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"
	NSSimpleAuth = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService"
	NSReporting  = "http://www.microsoft.com/SoftwareDistribution"
)

// The readers below are prefix-agnostic: request children are matched by
// local name (the schemas are elementFormDefault="qualified", but old clients
// and SOAP stacks differ in how they spell prefixes), unknown elements are
// ignored, and an element carrying xsi:nil="true"/"1" counts as absent.

// Child returns the first child element of el with the given local name,
// or nil when el is nil, the child is absent or it is xsi:nil.
func Child(el *etree.Element, name string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == name {
			if IsNil(c) {
				return nil
			}
			return c
		}
	}
	return nil
}

// Children returns the child elements of el with the given local name,
// skipping xsi:nil ones.
func Children(el *etree.Element, name string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == name && !IsNil(c) {
			out = append(out, c)
		}
	}
	return out
}

// IsNil reports whether el carries xsi:nil="true" (or "1"), whatever the
// prefix bound to the XML Schema instance namespace. An unprefixed nil
// attribute counts too.
//
// The prefixes of all nil attributes are resolved in one walk over the
// attributes of el and its ancestors: resolving each one on its own
// (Attr.NamespaceURI) made an element with many p1:nil, p2:nil, ...
// attributes cost their number squared.
func IsNil(el *etree.Element) bool {
	var prefixes []string
	for _, a := range el.Attr {
		if a.Key == "nil" && (a.Value == "true" || a.Value == "1") {
			if a.Space == "" {
				return true
			}
			prefixes = append(prefixes, a.Space)
		}
	}
	return len(prefixes) > 0 && bindsXSI(el, prefixes)
}

// bindsXSI reports whether one of prefixes is bound to NSXSI where el is:
// the nearest xmlns:prefix declaration, on el or an ancestor, counts.
func bindsXSI(el *etree.Element, prefixes []string) bool {
	pending := make(map[string]bool, len(prefixes))
	for _, p := range prefixes {
		pending[p] = true
	}
	for e := el; e != nil && len(pending) > 0; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && pending[a.Key] {
				if a.Value == NSXSI {
					return true
				}
				delete(pending, a.Key)
			}
		}
	}
	return false
}

// Text returns the trimmed text of el's child name, "" when absent.
func Text(el *etree.Element, name string) string {
	c := Child(el, name)
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.Text())
}

// Has reports whether el has a non-nil child name.
func Has(el *etree.Element, name string) bool { return Child(el, name) != nil }

// Bool parses the boolean child name; absent is false. path names the
// parameter in the InvalidParameters fault when the value is malformed.
func Bool(el *etree.Element, name, path string) (bool, error) {
	s := Text(el, name)
	switch s {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, BadParameter(path)
}

// Int parses the int child name; absent is 0.
func Int(el *etree.Element, name, path string) (int, error) {
	s := Text(el, name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, BadParameter(path)
	}
	return int(v), nil
}

// Ints parses an ArrayOfInt child (its <int> items); absent, empty and nil
// arrays are all empty.
func Ints(el *etree.Element, name, path string) ([]int32, error) {
	arr := Child(el, name)
	if arr == nil {
		return nil, nil
	}
	items := arr.ChildElements()
	out := make([]int32, 0, len(items))
	for _, it := range items {
		if IsNil(it) {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(it.Text()), 10, 32)
		if err != nil {
			return nil, BadParameter(path)
		}
		out = append(out, int32(v))
	}
	return out, nil
}

// Strings parses an ArrayOfString-like child: the text of every item element.
func Strings(el *etree.Element, name string) []string {
	arr := Child(el, name)
	if arr == nil {
		return nil
	}
	var out []string
	for _, it := range arr.ChildElements() {
		if !IsNil(it) {
			out = append(out, strings.TrimSpace(it.Text()))
		}
	}
	return out
}

// GUID parses a guid text; path names the parameter on failure.
func GUID(s, path string) (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return uuid.Nil, BadParameter(path)
	}
	return id, nil
}

// Time parses an xs:dateTime child; absent is the zero time.
func Time(el *etree.Element, name, path string) (time.Time, error) {
	s := Text(el, name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := ParseDateTime(s)
	if err != nil {
		return time.Time{}, BadParameter(path)
	}
	return t, nil
}

// ParseDateTime parses an xs:dateTime as .NET writes it: RFC 3339 with or
// without fraction and zone (no zone means UTC). The time, in UTC, must lie
// in the years 1-9999: those xs:dateTime, FormatDateTime and the catalog
// stores hold ("0000-01-01T00:00:00+01:00" would be year -1).
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if y := t.Year(); y < 1 || y > 9999 {
				return time.Time{}, fmt.Errorf("soap: parse date-time %q: year %d in UTC is outside 1-9999", s, y)
			}
			return t, nil
		}
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return time.Time{}, fmt.Errorf("soap: parse date-time: %w", err)
}

// FormatDateTime writes t the way .NET serializes a UTC DateTime: up to 7
// fractional digits, trailing zeros dropped, "Z" suffix
// (e.g. 2026-10-04T16:03:35.9967236Z, 2026-10-04T13:17:07.59Z).
func FormatDateTime(t time.Time) string {
	return t.UTC().Truncate(100 * time.Nanosecond).Format(time.RFC3339Nano)
}

// Base64 decodes standard base64 text; path names the parameter on failure.
func Base64(s, path string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, BadParameter(path)
	}
	return b, nil
}

// Elem adds a child element with text to parent and returns it.
func Elem(parent *etree.Element, name, text string) *etree.Element {
	c := parent.CreateElement(name)
	if text != "" {
		c.SetText(text)
	}
	return c
}

// BoolText is the xs:boolean spelling .NET uses.
func BoolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// IntArray adds an ArrayOfInt child named name holding ids; nothing is added
// when ids is empty (real WSUS omits empty arrays).
func IntArray(parent *etree.Element, name string, ids []int32) {
	if len(ids) == 0 {
		return
	}
	arr := parent.CreateElement(name)
	for _, id := range ids {
		Elem(arr, "int", strconv.FormatInt(int64(id), 10))
	}
}
