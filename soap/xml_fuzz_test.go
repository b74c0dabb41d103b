package soap

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// Fuzzing the readers of xml.go on parsed fragments. Invariants: a reader
// fails only with the InvalidParameters fault naming the parameter path;
// what it accepts is what the obvious reading of the text gives; and what
// the writers (IntArray, Elem, FormatDateTime, BoolText) write, serialized
// and parsed again, reads back as the same value.

// fuzzPath is the parameter path the fuzzed readers are given.
const fuzzPath = "parameters.X"

// wantBadParameter fails unless err is the InvalidParameters fault naming
// fuzzPath.
func wantBadParameter(t *testing.T, what string, err error) {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) || f.Code != InvalidParameters || f.Message != fuzzPath {
		t.Fatalf("%s: error %v, want the InvalidParameters fault for %s", what, err, fuzzPath)
	}
}

// reparse serializes el as the services write answers and parses it again.
func reparse(t *testing.T, el *etree.Element) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	back := etree.NewDocument()
	if err := back.ReadFromBytes(b); err != nil {
		t.Fatalf("written element does not parse: %v\n%s", err, b)
	}
	return back.Root()
}

func FuzzXMLReaders(f *testing.F) {
	for _, s := range []string{
		`<X>42</X>`, `<X> -2147483648 </X>`, `<X>2147483648</X>`, `<X>true</X>`, `<X>0</X>`, `<X>yes</X>`,
		`<X><int>1</int><int> 2 </int><a:int xmlns:a="urn:a">3</a:int></X>`,
		`<X><int xsi:nil="true"/><int>4</int></X>`, `<X xsi:nil="1"><int>5</int></X>`, `<X a:nil="true" xmlns:a="urn:not-xsi"/>`,
		`<X a:nil="true" b:nil="1" xmlns:b="http://www.w3.org/2001/XMLSchema-instance"/>`, `<X xmlns:xsi="urn:shadowed" xsi:nil="true"/>`,
		`<X><string>PCI\VEN_1</string><string> b </string></X>`,
		`<X>2026-10-04T16:03:35.9967236Z</X>`, `<X>2026-10-04T13:17:07</X>`, `<X>2026-10-04T13:17:07.123456789+05:30</X>`,
		`<X>0000-01-01T00:00:00+01:00</X>`, `<X>9999-12-31T23:59:59-01:00</X>`,
		`<X>e1da06a3-5601-43c9-bac3-52d5db701494</X>`, `<X>{E1DA06A3-5601-43C9-BAC3-52D5DB701494}</X>`,
		`<X>qUOmBgxrKNtxt0g7vLdoeg6CYWk=</X>`, `<X>AAAA</X>`, `<X>A===</X>`,
		`<X>&#49;&#x32;</X>`, `<X><![CDATA[7]]></X>`, `<X>1<!-- c -->2</X>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fragment string) {
		doc := etree.NewDocument()
		if doc.ReadFromString(`<p xmlns:xsi="`+NSXSI+`">`+fragment+`</p>`) != nil {
			return
		}
		p := doc.Root()
		for _, el := range p.FindElements("//*") {
			if IsNil(el) != isNilReference(el) {
				t.Fatalf("IsNil(<%s>) = %v, resolving each attribute gives %v", el.FullTag(), IsNil(el), !IsNil(el))
			}
		}
		child := Child(p, "X")
		if (child == nil) != !slices.ContainsFunc(p.ChildElements(), func(c *etree.Element) bool { return c.Tag == "X" && !IsNil(c) }) {
			t.Fatal("Child disagrees with the first non-nil child named X")
		}
		text := Text(p, "X")
		if child != nil && text != strings.TrimSpace(child.Text()) {
			t.Fatalf("Text %q, element text %q", text, child.Text())
		}

		// Int: what strconv reads, in int32; writes back as itself.
		if v, err := Int(p, "X", fuzzPath); err != nil {
			wantBadParameter(t, "Int", err)
		} else {
			if want, perr := strconv.ParseInt(text, 10, 32); text != "" && (perr != nil || want != int64(v)) {
				t.Fatalf("Int %d for %q", v, text)
			}
			out := etree.NewElement("p")
			Elem(out, "X", strconv.Itoa(v))
			if back, err := Int(reparse(t, out), "X", fuzzPath); err != nil || back != v {
				t.Fatalf("Int round trip: %d gives %d, %v", v, back, err)
			}
		}

		// Bool: only the xs:boolean spellings.
		if v, err := Bool(p, "X", fuzzPath); err != nil {
			wantBadParameter(t, "Bool", err)
		} else {
			if !slices.Contains([]string{"", "true", "false", "1", "0"}, text) {
				t.Fatalf("Bool accepted %q", text)
			}
			out := etree.NewElement("p")
			Elem(out, "X", BoolText(v))
			if back, err := Bool(reparse(t, out), "X", fuzzPath); err != nil || back != v {
				t.Fatalf("Bool round trip: %v gives %v, %v", v, back, err)
			}
		}

		// Ints: every non-nil item; IntArray writes them back.
		if ids, err := Ints(p, "X", fuzzPath); err != nil {
			wantBadParameter(t, "Ints", err)
		} else {
			if child == nil && len(ids) != 0 {
				t.Fatalf("Ints %v from an absent or nil array", ids)
			}
			out := etree.NewElement("p")
			IntArray(out, "X", ids)
			back, err := Ints(reparse(t, out), "X", fuzzPath)
			if err != nil || !slices.Equal(back, ids) {
				t.Fatalf("Ints round trip: %v gives %v, %v", ids, back, err)
			}
		}

		// Strings: trimmed item texts, which written and read again stay.
		strs := Strings(p, "X")
		out := etree.NewElement("p")
		arr := out.CreateElement("X")
		for _, s := range strs {
			if s != strings.TrimSpace(s) {
				t.Fatalf("Strings item %q not trimmed", s)
			}
			Elem(arr, "string", s)
		}
		if back := Strings(reparse(t, out), "X"); len(strs) > 0 && !slices.Equal(back, strs) {
			t.Fatalf("Strings round trip: %q gives %q", strs, back)
		}

		// Time: FormatDateTime of what was read parses back to it.
		if v, err := Time(p, "X", fuzzPath); err != nil {
			wantBadParameter(t, "Time", err)
		} else if !v.IsZero() {
			if v.Location() != time.UTC {
				t.Fatalf("Time %v not in UTC", v)
			}
			checkDateTimeRoundTrip(t, v)
		}

		// GUID: the canonical spelling parses back to the same GUID.
		if id, err := GUID(text, fuzzPath); err != nil {
			wantBadParameter(t, "GUID", err)
		} else if back, err := GUID(id.String(), fuzzPath); err != nil || back != id {
			t.Fatalf("GUID round trip: %v gives %v, %v", id, back, err)
		} else if want, err := uuid.Parse(text); err != nil || want != id {
			t.Fatalf("GUID %v for %q", id, text)
		}

		// Base64: standard base64 only; re-encoding decodes to the same bytes.
		if b, err := Base64(text, fuzzPath); err != nil {
			wantBadParameter(t, "Base64", err)
		} else if back, err := Base64(base64.StdEncoding.EncodeToString(b), fuzzPath); err != nil || string(back) != string(b) {
			t.Fatalf("Base64 round trip: %x gives %x, %v", b, back, err)
		}
	})
}

// isNilReference is IsNil resolving each nil attribute's prefix on its own.
func isNilReference(el *etree.Element) bool {
	for _, a := range el.Attr {
		if a.Key == "nil" && (a.Value == "true" || a.Value == "1") && (a.Space == "" || a.NamespaceURI() == NSXSI) {
			return true
		}
	}
	return false
}

// checkDateTimeRoundTrip checks that FormatDateTime(v) reads back as v to
// the 100 ns FormatDateTime keeps.
func checkDateTimeRoundTrip(t *testing.T, v time.Time) {
	t.Helper()
	s := FormatDateTime(v)
	back, err := ParseDateTime(s)
	if err != nil {
		t.Fatalf("FormatDateTime(%v) = %q does not parse: %v", v, s, err)
	}
	if want := v.Truncate(100 * time.Nanosecond); !back.Equal(want) {
		t.Fatalf("date-time round trip: %v written %q reads %v", v, s, back)
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{
		"2026-10-04T16:03:35.9967236Z", "2026-10-04T13:17:07.59Z", "2026-10-04T15:03:36Z", "2003-12-08T22:42:53.093",
		"2026-10-04T13:17:07+02:00", "0001-01-01T00:00:00Z", "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
		"2026-02-30T00:00:00Z", "2026-10-04", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDateTime(s)
		if err != nil {
			return
		}
		if v.Location() != time.UTC {
			t.Fatalf("ParseDateTime(%q) = %v, not UTC", s, v)
		}
		if y := v.Year(); y < 1 || y > 9999 {
			t.Fatalf("ParseDateTime(%q) = %v: outside the years 1-9999 that xs:dateTime and the stores hold", s, v)
		}
		checkDateTimeRoundTrip(t, v)
	})
}
