package soap_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"wsus/internal/testseed"
	"wsus/soap"
)

// Fuzzing the envelope parser and the dispatch of soap.Service.
//
// Every answer must be either 200 with a well-formed envelope holding the
// operation's response, or 500 with a SOAP fault whose detail carries one of
// the WSUS ErrorCodes of fault.go; InternalServerError only where the
// operation itself failed with a plain error. The same request goes to a
// service that registered the operation with Handle and to one that
// registered it with HandleBulk: the bulk path (arrays extracted and
// SystemSpec cut out before parsing) must accept every request the plain
// path accepts and read the same arrays from it.

// fuzzNS is the namespace of the fuzzed service.
const fuzzNS = "urn:wsus:fuzz"

// knownCodes are the ErrorCodes a WSUS server raises (fault.go).
var knownCodes = []soap.ErrorCode{
	soap.InvalidCookie, soap.ServerChanged, soap.ConfigChanged, soap.CookieExpired,
	soap.RegistrationRequired, soap.RegistrationNotRequired, soap.InvalidAuthorizationCookie,
	soap.InvalidParameters, soap.InternalServerError, soap.ServerBusy, soap.FileLocationChanged,
}

// errEcho is the plain error the Fail operation returns.
var errEcho = errors.New("echo: failed on purpose")

// echo answers the arrays of its parameters element, as Request.Ints reads
// them. A <fault> child naming one of knownCodes makes it fail with that
// fault.
func echo(_ context.Context, req *soap.Request) (*etree.Element, error) {
	p := soap.Child(req.Body, "parameters")
	if code := soap.ErrorCode(soap.Text(req.Body, "fault")); slices.Contains(knownCodes, code) {
		return nil, soap.Errorf(code, "asked for")
	}
	resp := req.NewResponse()
	for _, name := range soap.ExtractableArrays {
		ids, err := req.Ints(p, name, "parameters."+name)
		if err != nil {
			return nil, err
		}
		arr := resp.CreateElement(name)
		for _, id := range ids {
			soap.Elem(arr, "int", strconv.Itoa(int(id)))
		}
	}
	return resp, nil
}

func fail(context.Context, *soap.Request) (*etree.Element, error) { return nil, errEcho }

// fuzzServices returns a service registering Echo and Fail with Handle, and
// one registering Echo with HandleBulk (cutting out SystemSpec).
func fuzzServices() (plain, bulk *soap.Service) {
	logger := slog.New(slog.DiscardHandler)
	limits := soap.Limits{MaxBytes: 1 << 20, MaxMarkup: 1 << 16}
	plain = soap.NewService("Fuzz", fuzzNS, soap.StyleClient, soap.NewAdmission(0, 0, 0), logger)
	plain.Handle("Echo", limits, echo)
	plain.Handle("Fail", limits, fail)
	bulk = soap.NewService("Fuzz", fuzzNS, soap.StyleASMX, soap.NewAdmission(0, 0, 0), logger)
	bulk.HandleBulk("Echo", limits, echo, "SystemSpec")
	bulk.Handle("Fail", limits, fail)
	return plain, bulk
}

// answer is one checked response of the service.
type answer struct {
	status int
	// op is the response element (OperationResponse or Fault).
	op   *etree.Element
	body []byte
}

// post sends body to svc and checks the invariants every answer must hold.
func post(t *testing.T, svc *soap.Service, action string, body []byte) answer {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/fuzz.asmx", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		r.Header.Set("SOAPAction", action)
	}
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	a := answer{status: w.Code, body: w.Body.Bytes()}
	if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(a.body)) {
		t.Fatalf("Content-Length %q for a %d-byte answer", cl, len(a.body))
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if a.status != http.StatusOK && a.status != http.StatusInternalServerError {
		t.Fatalf("HTTP %d: only 200 and 500 (fault) are SOAP answers\n%s", a.status, a.body)
	}
	a.op = checkEnvelope(t, a.body)
	if a.status == http.StatusOK {
		if a.op.Tag == "Fault" {
			t.Fatalf("a fault sent with 200:\n%s", a.body)
		}
		return a
	}
	checkFault(t, a.op, a.body)
	return a
}

// checkEnvelope parses a SOAP answer and returns the one element of its Body.
func checkEnvelope(t *testing.T, body []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, body)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != soap.NSEnvelope {
		t.Fatalf("answer is not a SOAP envelope:\n%s", body)
	}
	b := soap.Child(env, "Body")
	if b == nil || len(b.ChildElements()) != 1 {
		t.Fatalf("answer Body does not hold exactly one element:\n%s", body)
	}
	return b.ChildElements()[0]
}

// checkFault checks a fault element: faultcode, faultstring and a detail
// whose ErrorCode is a WSUS one.
func checkFault(t *testing.T, f *etree.Element, body []byte) soap.ErrorCode {
	t.Helper()
	if f.Tag != "Fault" || f.NamespaceURI() != soap.NSEnvelope {
		t.Fatalf("HTTP 500 without a SOAP fault:\n%s", body)
	}
	if fc := soap.Text(f, "faultcode"); !strings.HasSuffix(fc, ":Client") && !strings.HasSuffix(fc, ":Server") {
		t.Fatalf("faultcode %q:\n%s", fc, body)
	}
	if soap.Text(f, "faultstring") == "" {
		t.Fatalf("fault without faultstring:\n%s", body)
	}
	detail := soap.Child(f, "detail")
	code := soap.ErrorCode(soap.Text(detail, "ErrorCode"))
	if !slices.Contains(knownCodes, code) {
		t.Fatalf("fault ErrorCode %q is not a WSUS code:\n%s", code, body)
	}
	if soap.Text(detail, "ID") == "" {
		t.Fatalf("fault without detail/ID:\n%s", body)
	}
	return code
}

// echoed reads the arrays of an Echo answer.
func echoed(op *etree.Element) map[string][]string {
	out := map[string][]string{}
	for _, name := range soap.ExtractableArrays {
		for _, it := range op.FindElements(name + "/int") {
			out[name] = append(out[name], it.Text())
		}
	}
	return out
}

func FuzzServiceDispatch(f *testing.F) {
	env := func(inner string) []byte {
		return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + inner + `</s:Body></s:Envelope>`)
	}
	echoAction := `"` + fuzzNS + `/Echo"`
	f.Add(echoAction, env(`<Echo xmlns="urn:wsus:fuzz"><parameters><OtherCachedUpdateIDs><int>1</int><int>-2</int></OtherCachedUpdateIDs></parameters></Echo>`))
	f.Add(echoAction, env(`<Echo xmlns="urn:wsus:fuzz"><parameters><InstalledNonLeafUpdateIDs><int>7</int></InstalledNonLeafUpdateIDs><SystemSpec><Device><HardwareIDs><string>PCI\VEN_1</string></HardwareIDs></Device></SystemSpec><CachedDriverIDs><int>3</int></CachedDriverIDs></parameters></Echo>`))
	f.Add(echoAction, env(`<e:Echo xmlns:e="urn:wsus:fuzz"><e:parameters><e:CachedDriverIDs><e:int>99999999999</e:int></e:CachedDriverIDs></e:parameters></e:Echo>`))
	f.Add(echoAction, env(`<Echo xmlns="urn:wsus:fuzz"><fault>RegistrationRequired</fault></Echo>`))
	f.Add(echoAction, env(`<Echo xmlns="urn:wsus:fuzz"><fault>NotACode</fault></Echo>`))
	f.Add(`"`+fuzzNS+`/Fail"`, env(`<Fail xmlns="urn:wsus:fuzz"/>`))
	f.Add("", env(`<Echo xmlns="urn:wsus:fuzz"/>`))
	f.Add(`"urn:other/Echo"`, env(`<Echo xmlns="urn:wsus:fuzz"/>`))
	f.Add(echoAction, env(`<Echo xmlns="urn:other"/>`))
	f.Add(echoAction, []byte(`<Envelope><Body><Echo xmlns="urn:wsus:fuzz"/></Body></Envelope>`))
	f.Add(echoAction, []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>`))
	f.Add(echoAction, []byte(``))
	for _, body := range captureRequests(f) {
		f.Add(echoAction, asEcho(body))
	}
	plain, bulk := fuzzServices()
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		if strings.ContainsAny(action, "\r\n\x00") {
			return // not a header value an HTTP client can send
		}
		p := post(t, plain, action, body)
		b := post(t, bulk, action, body)
		for _, a := range []answer{p, b} {
			if a.status == http.StatusOK {
				if !slices.Contains([]string{"EchoResponse"}, a.op.Tag) || a.op.SelectAttrValue("xmlns", "") != fuzzNS {
					t.Fatalf("200 answer is %s in %q:\n%s", a.op.Tag, a.op.SelectAttrValue("xmlns", ""), a.body)
				}
				continue
			}
			detail := soap.Child(a.op, "detail")
			internal := soap.ErrorCode(soap.Text(detail, "ErrorCode")) == soap.InternalServerError
			if internal && soap.Text(detail, "Message") != "asked for" && soap.Text(detail, "Method") != `"`+fuzzNS+`/Fail"` {
				t.Fatalf("InternalServerError without an operation that failed:\n%s", a.body)
			}
		}
		if p.status == http.StatusOK {
			if b.status != http.StatusOK {
				t.Fatalf("the bulk path refused a request the plain parse accepts:\n%s\nanswer:\n%s", body, b.body)
			}
			if pe, be := echoed(p.op), echoed(b.op); !equalArrays(pe, be) {
				t.Fatalf("arrays %v through the bulk path, %v through the plain parse:\n%s", be, pe, body)
			}
		}
	})
}

// asEcho renames the operation element of a recorded request to Echo in
// fuzzNS, so that the recorded parameters reach the operation; a body that
// does not parse is returned as is.
func asEcho(body []byte) []byte {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(body) != nil {
		return body
	}
	op := doc.FindElement("/Envelope/Body/*")
	if op == nil {
		return body
	}
	op.Tag = "Echo"
	if op.Space == "" {
		op.CreateAttr("xmlns", fuzzNS)
	} else {
		op.CreateAttr("xmlns:"+op.Space, fuzzNS)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return body
	}
	return out
}

func equalArrays(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// captureRequests returns the recorded request bodies of testdata/clientsim
// and the example messages of ../shared/protocol (when that folder is
// there), as fuzz seeds.
func captureRequests(tb testing.TB) [][]byte {
	tb.Helper()
	out := testseed.Files(tb,
		"../testdata/clientsim/scan/*/request.body",
		"../testdata/clientsim/flow/*-request.body",
		"../../shared/protocol/examples/*request*.xml",
		"../../shared/protocol/examples/pywsus-*.xml",
	)
	if len(out) == 0 {
		tb.Fatal("no recorded requests found under ../testdata/clientsim")
	}
	return out
}
