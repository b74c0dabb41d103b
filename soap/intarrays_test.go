package soap

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// viaTree parses body fully and reads every extractable array from it.
func viaTree(body []byte) (map[string][]int32, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		return nil, err
	}
	p := doc.FindElement("//parameters")
	out := map[string][]int32{}
	for _, name := range ExtractableArrays {
		ids, err := Ints(p, name, name)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			out[name] = ids
		}
	}
	return out, nil
}

// viaExtract extracts first, then reads what was left in the tree.
func viaExtract(body []byte) (map[string][]int32, []string, error) {
	rest, arrays := ExtractIntArrays(body)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(rest); err != nil {
		return nil, nil, err
	}
	p := doc.FindElement("//parameters")
	out := map[string][]int32{}
	var extracted []string
	for _, name := range ExtractableArrays {
		ids, ok := arrays[name]
		if ok {
			extracted = append(extracted, name)
			if c := Child(p, name); c != nil && len(c.ChildElements()) > 0 {
				return nil, nil, fmt.Errorf("%s extracted but items left in the tree", name)
			}
		} else {
			var err error
			if ids, err = Ints(p, name, name); err != nil {
				return nil, nil, err
			}
		}
		if len(ids) > 0 {
			out[name] = ids
		}
	}
	return out, extracted, nil
}

func envelope(params string) []byte {
	return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncUpdates xmlns="urn:x"><parameters>` + params + `</parameters></SyncUpdates></s:Body></s:Envelope>`)
}

func TestExtractIntArrays(t *testing.T) {
	cases := []struct {
		name      string
		params    string
		extracted []string
	}{
		{"native shape", `<ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs><int>108226</int><int>108231</int></InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>72571</int></OtherCachedUpdateIDs>`, []string{"InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs"}},
		{"prefixes and whitespace", `<p:OtherCachedUpdateIDs xmlns:p="urn:x">` + "\n  <p:int> 1 </p:int>\n  <p:int>-2</p:int>\n" + `</p:OtherCachedUpdateIDs>`, []string{"OtherCachedUpdateIDs"}},
		{"SOAP-encoded array attribute", `<OtherCachedUpdateIDs xmlns:e="urn:e" e:arrayType="xsd:int[2]"><int>5</int><int>6</int></OtherCachedUpdateIDs>`, []string{"OtherCachedUpdateIDs"}},
		{"empty array", `<OtherCachedUpdateIDs></OtherCachedUpdateIDs>`, []string{"OtherCachedUpdateIDs"}},
		{"self-closing array", `<OtherCachedUpdateIDs/><CachedDriverIDs /><int>9</int>`, nil},
		{"nil array", `<OtherCachedUpdateIDs xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"></OtherCachedUpdateIDs>`, nil},
		{"item with an attribute", `<OtherCachedUpdateIDs><int xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="1"/><int>3</int></OtherCachedUpdateIDs>`, nil},
		{"comment", `<OtherCachedUpdateIDs><int>1</int><!-- <int>2</int> --><int>3</int></OtherCachedUpdateIDs>`, nil},
		{"entity", `<OtherCachedUpdateIDs><int>&#49;</int></OtherCachedUpdateIDs>`, nil},
		{"other element inside", `<OtherCachedUpdateIDs><int>1</int><long>2</long></OtherCachedUpdateIDs>`, nil},
		{"a name that only ends like an array", `<XOtherCachedUpdateIDs><int>1</int></XOtherCachedUpdateIDs><OtherCachedUpdateIDs><int>2</int></OtherCachedUpdateIDs>`, []string{"OtherCachedUpdateIDs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := envelope(c.params)
			want, werr := viaTree(body)
			got, extracted, gerr := viaExtract(body)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("full parse err %v, extract err %v", werr, gerr)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("arrays %v, full parse gives %v", got, want)
			}
			if !slices.Equal(extracted, c.extracted) {
				t.Errorf("extracted %v, want %v", extracted, c.extracted)
			}
		})
	}
}

func FuzzExtractIntArrays(f *testing.F) {
	f.Add(`<InstalledNonLeafUpdateIDs><int>1</int></InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>2</int><int>3</int></OtherCachedUpdateIDs>`)
	f.Add(`<OtherCachedUpdateIDs> <a:int>4</a:int></OtherCachedUpdateIDs>`)
	f.Add(`<CachedDriverIDs><int>99999999999</int></CachedDriverIDs>`)
	f.Fuzz(func(t *testing.T, params string) {
		body := envelope(params)
		want, werr := viaTree(body)
		got, _, gerr := viaExtract(body)
		if werr != nil {
			return // not a valid request either way
		}
		if gerr != nil {
			t.Fatalf("extraction broke a valid request: %v\n%s", gerr, body)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("arrays %v, full parse gives %v\n%s", got, want, body)
		}
	})
}

func BenchmarkExtractIntArrays50k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("<OtherCachedUpdateIDs>")
	for i := range 50000 {
		fmt.Fprintf(&sb, "<int>%d</int>", 100000+i)
	}
	sb.WriteString("</OtherCachedUpdateIDs>")
	body := envelope(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rest, arrays := ExtractIntArrays(body)
		if len(arrays["OtherCachedUpdateIDs"]) != 50000 || bytes.Contains(rest, []byte("<int>")) {
			b.Fatal("not extracted")
		}
	}
}

func TestCutElementContent(t *testing.T) {
	cases := []struct {
		name, params, content string
		ok                    bool
	}{
		{"devices", `<SystemSpec><Device><HardwareIDs><string>PCI\VEN_1</string></HardwareIDs></Device></SystemSpec><SkipSoftwareSync>true</SkipSoftwareSync>`, `<Device><HardwareIDs><string>PCI\VEN_1</string></HardwareIDs></Device>`, true},
		{"prefixed", `<p:SystemSpec xmlns:p="urn:x"><p:Device/></p:SystemSpec>`, `<p:Device/>`, true},
		{"self-closing", `<SystemSpec/>`, "", false},
		{"absent", `<SkipSoftwareSync>true</SkipSoftwareSync>`, "", false},
		{"comment anywhere", `<!-- x --><SystemSpec><Device/></SystemSpec>`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := envelope(c.params)
			rest, content, ok := CutElementContent(body, "SystemSpec")
			if ok != c.ok || string(content) != c.content {
				t.Fatalf("ok %v content %q, want %v %q", ok, content, c.ok, c.content)
			}
			if !ok && !bytes.Equal(rest, body) {
				t.Fatal("body changed although nothing was cut")
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(rest); err != nil {
				t.Fatalf("what is left is not XML: %v", err)
			}
			if spec := doc.FindElement("//SystemSpec"); ok && (spec == nil || len(spec.Child) != 0) {
				t.Fatalf("SystemSpec not left empty in %s", rest)
			}
		})
	}
}
