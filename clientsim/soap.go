package clientsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/beevik/etree"

	"wsus/internal/xpress"
)

// XML namespaces of the three SOAP services and of the envelope (MS-WUSP.md §1.5).
const (
	nsEnvelope   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsClient     = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"
	nsSimpleAuth = "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService"
	nsReporting  = "http://www.microsoft.com/SoftwareDistribution"
)

// Service paths. The client service is spelled in lower case as the native
// agent sends it; the reporting path is the one the native agent posts to.
const (
	clientPath    = "/ClientWebService/client.asmx"
	reportingPath = "/ReportingWebService/ReportingWebService.asmx"
)

// AgentUserAgent is the User-Agent of the captured Windows Update Agent.
const AgentUserAgent = "Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90"

// maxResponseBytes bounds a SOAP response body read into memory.
const maxResponseBytes = 64 << 20

// Fault is a SOAP fault returned by the server (HTTP 500 with s:Fault, MS-WUSP.md §4.4).
type Fault struct {
	// Operation is the operation clientsim called, e.g. "SyncUpdates".
	Operation string
	// HTTPStatus is the HTTP status code of the answer.
	HTTPStatus int
	// FaultCode and FaultString are the SOAP faultcode and faultstring.
	FaultCode, FaultString string
	// ErrorCode is detail/ErrorCode, e.g. "InvalidCookie".
	ErrorCode string
	// Message is detail/Message (for InvalidParameters the parameter path).
	Message string
	// ID is detail/ID, a GUID the server generates per fault.
	ID string
	// Method is detail/Method, the quoted SOAPAction as the server echoes it.
	Method string
}

// Error implements error.
func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SOAP fault %s", f.ErrorCode)
	if f.ErrorCode == "" {
		fmt.Fprintf(&b, "(no ErrorCode) %s %q", f.FaultCode, f.FaultString)
	}
	if f.Message != "" {
		fmt.Fprintf(&b, " (%s)", f.Message)
	}
	fmt.Fprintf(&b, " [HTTP %d]", f.HTTPStatus)
	return b.String()
}

// IsFault reports whether err is (or wraps) a *Fault with one of the given error codes.
func IsFault(err error, codes ...string) bool {
	var f *Fault
	if !errors.As(err, &f) {
		return false
	}
	for _, c := range codes {
		if f.ErrorCode == c {
			return true
		}
	}
	return false
}

// soapClient posts request documents and returns the operation's response element.
type soapClient struct {
	http      *http.Client
	userAgent string
	log       *slog.Logger
	// identity leaves out Accept-Encoding: xpress (Config.Identity).
	identity bool
}

// call POSTs body to endpoint with SOAPAction ns+"/"+op and returns the
// <op>Response element of the answer, or a *Fault.
func (c *soapClient) call(ctx context.Context, endpoint, ns, op string, body []byte) (*etree.Element, error) {
	action := ns + "/" + op
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	// Header set of the native agent (wsus-m0-native/scan/*/request.headers),
	// minus the MS-CV correlation vector; Accept-Encoding: xpress unless
	// Config.Identity.
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Pragma", "no-cache")
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if !c.identity {
		req.Header.Set("Accept-Encoding", "xpress")
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("SOAPAction", `"`+action+`"`)
	c.log.Debug("soap request", "op", op, "url", endpoint, "bytes", len(body))

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // *url.Error names method and URL
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	wire := len(data)
	if data, err = c.decode(resp.Header.Get("Content-Encoding"), data); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	c.log.Debug("soap response", "op", op, "status", resp.StatusCode, "bytes", len(data), "wire bytes", wire)
	return parseResponse(op, ns, resp.StatusCode, data)
}

// decode undoes the Content-Encoding of an answer: none, or xpress when
// the request asked for it (MS-WUSP.md section 1.4), decoded within
// maxResponseBytes.
func (c *soapClient) decode(encoding string, data []byte) ([]byte, error) {
	switch {
	case encoding == "" || strings.EqualFold(encoding, "identity"):
		return data, nil
	case strings.EqualFold(encoding, "xpress") && !c.identity:
		out, err := xpress.Unframe(nil, data, maxResponseBytes)
		if err != nil {
			return nil, fmt.Errorf("decode Xpress answer: %w", err)
		}
		return out, nil
	case strings.EqualFold(encoding, "xpress"):
		return nil, errors.New("answer in Xpress, which the request did not accept")
	}
	return nil, fmt.Errorf("answer with unsupported Content-Encoding %q", encoding)
}

// parseResponse checks an HTTP answer to op and returns its <op>Response element.
func parseResponse(op, ns string, status int, data []byte) (*etree.Element, error) {
	body, perr := envelopeBody(data)
	if perr == nil {
		if f := faultOf(body); f != nil {
			f.Operation, f.HTTPStatus = op, status
			return nil, f
		}
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d, not a SOAP fault: %s", status, snippet(data))
	}
	if perr != nil {
		return nil, perr
	}
	want := op + "Response"
	el := firstChildElement(body)
	if el == nil {
		return nil, errors.New("empty SOAP Body")
	}
	if el.Tag != want || el.NamespaceURI() != ns {
		return nil, fmt.Errorf("expected {%s}%s in SOAP Body, got {%s}%s", ns, want, el.NamespaceURI(), el.Tag)
	}
	return el, nil
}

// envelopeBody parses a SOAP 1.1 envelope and returns its Body element.
func envelopeBody(data []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("response is not XML: %w: %s", err, snippet(data))
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" || root.NamespaceURI() != nsEnvelope {
		return nil, fmt.Errorf("response is not a SOAP 1.1 envelope: %s", snippet(data))
	}
	body := child(root, "Body")
	if body == nil || body.NamespaceURI() != nsEnvelope {
		return nil, fmt.Errorf("SOAP envelope without Body: %s", snippet(data))
	}
	return body, nil
}

// faultOf returns the Fault in a SOAP Body, or nil when the Body holds none.
func faultOf(body *etree.Element) *Fault {
	fe := child(body, "Fault")
	if fe == nil || fe.NamespaceURI() != nsEnvelope {
		return nil
	}
	f := &Fault{
		FaultCode:   childText(fe, "faultcode"),
		FaultString: childText(fe, "faultstring"),
	}
	if d := child(fe, "detail"); d != nil {
		f.ErrorCode = childText(d, "ErrorCode")
		f.Message = childText(d, "Message")
		f.ID = childText(d, "ID")
		f.Method = childText(d, "Method")
	}
	return f
}

// ParseFault parses a SOAP fault body. It returns an error when data is not a
// SOAP envelope whose Body holds a Fault.
func ParseFault(data []byte) (*Fault, error) {
	body, err := envelopeBody(data)
	if err != nil {
		return nil, fmt.Errorf("clientsim: parse fault: %w", err)
	}
	f := faultOf(body)
	if f == nil {
		return nil, errors.New("clientsim: parse fault: SOAP Body holds no Fault")
	}
	return f, nil
}

// child returns the first child element of e with local name tag, ignoring prefixes.
func child(e *etree.Element, tag string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// children returns the child elements of e with local name tag.
func children(e *etree.Element, tag string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// childText returns the text of child tag of e, "" when absent.
func childText(e *etree.Element, tag string) string {
	if c := child(e, tag); c != nil {
		return c.Text()
	}
	return ""
}

// path follows a chain of local names from e; nil when any step is missing.
func path(e *etree.Element, tags ...string) *etree.Element {
	for _, t := range tags {
		e = child(e, t)
	}
	return e
}

func firstChildElement(e *etree.Element) *etree.Element {
	if els := e.ChildElements(); len(els) > 0 {
		return els[0]
	}
	return nil
}

// snippet returns the start of data for error messages.
func snippet(data []byte) string {
	const n = 200
	s := strings.TrimSpace(string(data))
	if len(s) > n {
		return s[:n] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
