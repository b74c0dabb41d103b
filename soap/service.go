// Package soap is the SOAP 1.1 layer of the client-facing services: it reads
// request envelopes (namespace-aware, prefix-agnostic, tolerant of unknown
// elements and xsi:nil), dispatches on the quoted SOAPAction with a fallback
// to the body element, and writes responses and WSUS faults in the envelope
// style a real WSUS uses for each service (MS-WUSP.md sections 1.4 and 4.4).
package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/internal/reqinfo"
)

// Style is the envelope spelling of a service's responses.
type Style int

const (
	// StyleClient is the ClientWebService spelling: no XML declaration,
	// prefix "s", xsi/xsd declared on the Body.
	StyleClient Style = iota
	// StyleASMX is the ASP.NET default used by SimpleAuth and Reporting:
	// an XML declaration, prefix "soap", xsi/xsd declared on the Envelope.
	StyleASMX
)

// Request is one decoded SOAP request.
type Request struct {
	// Operation is the operation's name as the service registered it.
	Operation string
	// Namespace is the service namespace the operation belongs to.
	Namespace string
	// Body is the operation element (the first child of soap:Body).
	Body *etree.Element
	// HTTP is the underlying request (for Host and headers).
	HTTP *http.Request
	// arrays holds ArrayOfInt parameters taken out of the body before
	// parsing (see ExtractIntArrays).
	arrays map[string][]int32
	// raw holds element contents cut out of the body before parsing.
	raw map[string][]byte
	// frame is the envelope of the operation's answers as bytes (see
	// NewRawResponse).
	frame *frame
}

// RawContent returns the XML content of a parameter that the operation
// asked to have cut out before parsing (see Service.HandleBulk), and
// whether it was.
func (r *Request) RawContent(name string) ([]byte, bool) {
	b, ok := r.raw[name]
	return b, ok
}

// Ints reads the ArrayOfInt child name of parent, from the arrays extracted
// before parsing when the operation asked for that, else from the tree.
func (r *Request) Ints(parent *etree.Element, name, path string) ([]int32, error) {
	if ids, ok := r.arrays[name]; ok {
		return ids, nil
	}
	return Ints(parent, name, path)
}

// NewResponse returns an empty <OperationResponse xmlns="namespace"> element
// for the handler to fill.
func (r *Request) NewResponse() *etree.Element {
	el := etree.NewElement(r.Operation + "Response")
	el.CreateAttr("xmlns", r.Namespace)
	return el
}

// Operation handles one SOAP operation. It returns the response element (see
// Request.NewResponse) or an error; a *Fault error is sent as that fault,
// any other error as InternalServerError.
type Operation func(ctx context.Context, req *Request) (*etree.Element, error)

// Service is an http.Handler serving one SOAP endpoint (one .asmx).
type Service struct {
	name      string
	namespace string
	style     Style
	admission *Admission
	logger    *slog.Logger
	ops       map[string]entry
	// widest holds the largest limits of any operation: what a request
	// whose SOAPAction does not name one may use until its body names it.
	widest Limits
	// faultActor writes the service's URL as faultactor (SetFaultActor).
	faultActor bool
}

// SetFaultActor makes the service's faults carry its URL as faultactor, as
// a real WSUS's ServerSyncWebService faults do
// (wsusss-Fault-InvalidParameters-GetRevisionIdList.xml); its client
// services' faults carry none (MS-WUSP.md section 4.4). Call it before
// serving.
func (s *Service) SetFaultActor() { s.faultActor = true }

type entry struct {
	name string
	// fn or rawFn (HandleBulkRaw) answers; frame is the envelope of the
	// answers as bytes.
	fn     Operation
	rawFn  RawOperation
	frame  *frame
	limits Limits
	// bulkInts: extract ExtractableArrays before parsing; bulkRaw: cut the
	// content of these elements out before parsing.
	bulkInts bool
	bulkRaw  []string
}

// NewService returns a service for namespace ns whose requests are
// admitted by admission (shared by every service of one server).
func NewService(name, ns string, style Style, admission *Admission, logger *slog.Logger) *Service {
	return &Service{name: name, namespace: ns, style: style, admission: admission, logger: logger, ops: map[string]entry{}}
}

// Handle registers op with the limits of its requests; operation names
// match case-insensitively.
func (s *Service) Handle(op string, limits Limits, fn Operation) {
	s.register(entry{name: op, fn: fn, limits: limits})
}

// HandleBulk registers op like Handle, for an operation whose requests are
// large (SyncUpdates): when its SOAPAction names it, the ArrayOfInt
// parameters are extracted before parsing (read them with Request.Ints),
// and the content of the elements named in raw is cut out and kept as bytes
// (read it with Request.RawContent) instead of being parsed. The markup of
// the raw parts counts towards limits.MaxMarkup: the operation may parse
// them with ReadDocument.
func (s *Service) HandleBulk(op string, limits Limits, fn Operation, raw ...string) {
	s.register(entry{name: op, fn: fn, limits: limits, bulkInts: true, bulkRaw: raw})
}

func (s *Service) register(e entry) {
	e.frame = s.newFrame(e.name)
	s.ops[strings.ToLower(e.name)] = e
	s.widest.MaxBytes = max(s.widest.MaxBytes, e.limits.MaxBytes)
	s.widest.MaxMarkup = max(s.widest.MaxMarkup, e.limits.MaxMarkup)
}

// Action returns the SOAPAction of op in this service, unquoted.
func (s *Service) Action(op string) string { return s.namespace + "/" + op }

// ServeHTTP implements http.Handler. A request goes through these steps,
// each refusing what it cannot bound before the next allocates: the
// SOAPAction picks the operation and its Limits; a body longer than they
// allow is refused unread; the body's bytes are reserved from the
// Admission, then read under a deadline; a slot is taken; the markup is
// counted and the tree's estimated memory reserved; only then is the body
// parsed and the operation run.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: SOAP endpoints take POST", http.StatusMethodNotAllowed)
		return
	}
	start := time.Now()
	var reserved int64
	defer func() { s.admission.release(reserved) }()
	req, method, err := s.decode(w, r, &reserved)
	if err == nil {
		defer s.admission.leave()
		var body []byte
		if body, err = s.run(r.Context(), req); err == nil {
			s.write(w, r, http.StatusOK, body)
			s.logger.DebugContext(r.Context(), "soap request", "service", s.name, "op", req.Operation, "took", time.Since(start))
			return
		}
	}
	f, internal := AsFault(err)
	reqinfo.From(r.Context()).SetFault(string(f.Code))
	// "err" is the root cause, the same for every request an outage fails
	// (so the log handler can count repeats instead of printing each);
	// "detail" is the whole chain, naming the client and the operation.
	// Logged with the request's context, the lines name its request ID
	// when the server bound one (internal/requestid).
	switch {
	case internal:
		s.logger.ErrorContext(r.Context(), "soap operation failed", "service", s.name, "method", method, "err", rootCause(err), "detail", err)
	case f.Code == ServerBusy && f.Cause != nil:
		s.logger.WarnContext(r.Context(), "soap server busy", "service", s.name, "method", method, "reason", f.Message, "err", rootCause(f.Cause), "detail", f.Cause)
	case f.Code == ServerBusy:
		s.logger.WarnContext(r.Context(), "soap server busy", "service", s.name, "method", method, "reason", f.Message)
	default:
		s.logger.InfoContext(r.Context(), "soap fault", "service", s.name, "method", method, "code", f.Code, "message", f.Message)
	}
	actor := ""
	if s.faultActor {
		actor = requestURL(r)
	}
	body, err := serialize(s.fault(f, method, actor))
	if err != nil {
		s.logger.ErrorContext(r.Context(), "soap: serialize fault", "service", s.name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.write(w, r, http.StatusInternalServerError, body)
}

// run runs the operation of req and returns the response envelope.
func (s *Service) run(ctx context.Context, req *Request) ([]byte, error) {
	e := s.ops[strings.ToLower(req.Operation)]
	if e.rawFn != nil {
		resp, err := e.rawFn(ctx, req)
		if err != nil {
			return nil, err
		}
		return resp.envelope(), nil
	}
	resp, err := e.fn(ctx, req)
	if err != nil {
		return nil, err
	}
	body, err := serialize(s.envelope(resp))
	if err != nil {
		return nil, fmt.Errorf("soap: serialize response: %w", err)
	}
	return body, nil
}

// rootCause returns the innermost error of err's chain (the first branch
// of a joined error).
func rootCause(err error) error {
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				next = errs[0]
			}
		}
		if next == nil {
			return err
		}
		err = next
	}
}

// decode reads and checks the envelope and resolves the operation. method is
// the quoted SOAPAction for the fault's Method element. The memory it
// reserves from the Admission is added to *reserved (the caller releases
// it); when err is nil it also holds a slot (the caller leaves it).
func (s *Service) decode(w http.ResponseWriter, r *http.Request, reserved *int64) (req *Request, method string, err error) {
	header := strings.TrimSpace(r.Header.Get("SOAPAction"))
	method = header
	action := strings.Trim(header, `"`)
	var named *entry
	if action != "" {
		i := strings.LastIndex(action, "/")
		if i < 0 || !strings.EqualFold(action[:i], s.namespace) {
			return nil, method, Errorf(InvalidParameters, "SOAPAction %q is not an operation of %s", action, s.name)
		}
		e, ok := s.ops[strings.ToLower(action[i+1:])]
		if !ok {
			return nil, method, Errorf(InvalidParameters, "unknown operation %s", action[i+1:])
		}
		named = &e
		reqinfo.From(r.Context()).SetOperation(s.name, e.name)
	}
	limits := s.widest
	if named != nil {
		limits = named.limits
	}

	body, err := s.readBody(w, r, limits.MaxBytes, reserved)
	if err != nil {
		return nil, method, err
	}
	if !s.admission.enter(r.Context()) {
		return nil, method, shed(r.Context(), "no request slot free")
	}
	defer func() {
		if err != nil {
			s.admission.leave()
		}
	}()

	body, arrays, raw, markup, err := s.unbundle(r.Context(), body, named, limits, reserved)
	if err != nil {
		return nil, method, err
	}
	opEl, err := operationElement(body)
	if err != nil {
		return nil, method, err
	}
	if opEl.NamespaceURI() != s.namespace {
		return nil, method, Errorf(InvalidParameters, "body element %s is not in namespace %s", opEl.Tag, s.namespace)
	}
	e, ok := s.ops[strings.ToLower(opEl.Tag)]
	switch {
	case named != nil && !strings.EqualFold(named.name, opEl.Tag):
		return nil, method, Errorf(InvalidParameters, "SOAPAction %s does not match body element %s", named.name, opEl.Tag)
	case !ok:
		return nil, method, Errorf(InvalidParameters, "unknown operation %s", opEl.Tag)
	case named == nil && (int64(len(body)) > e.limits.MaxBytes || markup > e.limits.MaxMarkup):
		// Named only by its body: hold it to its own limits now.
		return nil, method, Errorf(InvalidParameters, "request exceeds the limits of %s", e.name)
	}
	if named == nil {
		reqinfo.From(r.Context()).SetOperation(s.name, e.name)
	}
	return &Request{Operation: e.name, Namespace: s.namespace, Body: opEl, HTTP: r, arrays: arrays, raw: raw, frame: e.frame}, `"` + s.Action(e.name) + `"`, nil
}

// shed returns the ServerBusy fault of a request the Admission refused,
// and says so to the request's reqinfo (its metrics count it as shed).
func shed(ctx context.Context, message string) *Fault {
	reqinfo.From(ctx).SetShed()
	return &Fault{Code: ServerBusy, Message: message}
}

// unbundle prepares a body for parsing: for a bulk operation named by the
// SOAPAction, it takes out the ArrayOfInt parameters; it counts the markup
// left against limits and reserves the memory of the tree (added to
// *reserved); then it cuts out the raw parameters of a bulk operation.
func (s *Service) unbundle(ctx context.Context, body []byte, named *entry, limits Limits, reserved *int64) (rest []byte, arrays map[string][]int32, raw map[string][]byte, markup int, err error) {
	if named != nil && named.bulkInts {
		body, arrays = ExtractIntArrays(body)
	}
	markup, cost := treeCost(body)
	if markup > limits.MaxMarkup {
		return nil, nil, nil, 0, Errorf(InvalidParameters, "request has more than %d tags and attributes", limits.MaxMarkup)
	}
	if !s.admission.reserve(cost) {
		return nil, nil, nil, 0, shed(ctx, "request memory budget exhausted")
	}
	*reserved += cost
	if named != nil {
		for _, name := range named.bulkRaw {
			var content []byte
			var cut bool
			if body, content, cut = CutElementContent(body, name); cut {
				if raw == nil {
					raw = map[string][]byte{}
				}
				raw[name] = content
			}
		}
	}
	return body, arrays, raw, markup, nil
}

// operationElement parses a SOAP 1.1 envelope and returns the operation
// element: the first child of its Body.
func operationElement(body []byte) (*etree.Element, error) {
	doc, err := ReadDocument(body)
	if err != nil {
		return nil, Errorf(InvalidParameters, "malformed XML: %v", err)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != NSEnvelope {
		return nil, Errorf(InvalidParameters, "not a SOAP 1.1 envelope")
	}
	// The Envelope's namespace declarations, read once: resolving each
	// child's prefix through them anew would cost children × attributes.
	envScope := map[string]string{}
	for _, a := range env.Attr {
		if prefix, ok := declaredPrefix(a); ok {
			envScope[prefix] = a.Value
		}
	}
	for _, c := range env.ChildElements() {
		if c.Tag != "Body" {
			continue
		}
		uri, ok := declaration(c, c.Space)
		if !ok {
			uri = envScope[c.Space]
		}
		if uri != NSEnvelope {
			continue
		}
		if children := c.ChildElements(); len(children) > 0 {
			return children[0], nil
		}
		break
	}
	return nil, Errorf(InvalidParameters, "SOAP envelope has no body element")
}

// declaredPrefix reports whether a is a namespace declaration, and of
// which prefix ("" for the default namespace).
func declaredPrefix(a etree.Attr) (prefix string, ok bool) {
	switch {
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	case a.Space == "xmlns":
		return a.Key, true
	}
	return "", false
}

// declaration returns the namespace el itself binds prefix to, if it does.
func declaration(el *etree.Element, prefix string) (uri string, ok bool) {
	for _, a := range el.Attr {
		if p, isDecl := declaredPrefix(a); isDecl && p == prefix {
			return a.Value, true
		}
	}
	return "", false
}

// readBody reads a request body of at most maxBytes into memory reserved
// from the Admission (added to *reserved), under a read deadline that
// allows the body's length at the minimum transfer rate. A body declared
// longer than maxBytes is refused unread.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request, maxBytes int64, reserved *int64) (body []byte, err error) {
	rc := http.NewResponseController(w)
	defer func() {
		if err != nil {
			// Whatever is left of the body is not worth reading: end the
			// connection instead of draining it (an expired deadline
			// stops the server's drain at once). Deadlines are unsupported
			// on some writers (httptest recorders); nothing to bound there.
			w.Header().Set("Connection", "close")
			_ = rc.SetReadDeadline(time.Now())
		}
	}()
	size := r.ContentLength
	if size > maxBytes {
		return nil, Errorf(InvalidParameters, "request body exceeds %d bytes", maxBytes)
	}
	if size < 0 {
		size = maxBytes // unknown length: reserve the most it may be
	}
	if !s.admission.reserve(size) {
		return nil, shed(r.Context(), "request memory budget exhausted")
	}
	*reserved += size
	_ = rc.SetReadDeadline(time.Now().Add(transferTimeout(size)))
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, Errorf(InvalidParameters, "request body exceeds %d bytes", maxBytes)
		}
		return nil, Errorf(InvalidParameters, "read request body: %v", err)
	}
	// Clear the deadline: once the operation runs, the server's background
	// read would take an expired one as the client going away.
	_ = rc.SetReadDeadline(time.Time{})
	return body, nil
}

// envelope wraps a response element in this service's envelope style.
func (s *Service) envelope(resp *etree.Element) *etree.Document {
	doc, body := s.skeleton(true)
	body.AddChild(resp)
	return doc
}

// fault builds the fault envelope; real WS2025 sends exactly
// <faultcode>s:Client</faultcode><faultstring>Fault occurred</faultstring>,
// then <faultactor> (the service's URL) when actor is set, and a detail of
// ErrorCode, Message, ID (a new GUID) and Method (the quoted SOAPAction), see
// MS-WUSP.md section 4.4.
func (s *Service) fault(f *Fault, method, actor string) *etree.Document {
	doc, body := s.skeleton(false)
	prefix := body.Space
	fe := body.CreateElement(prefix + ":Fault")
	side := "Client"
	if f.Code == InternalServerError || f.Code == ServerBusy {
		side = "Server"
	}
	Elem(fe, "faultcode", prefix+":"+side)
	Elem(fe, "faultstring", "Fault occurred")
	if actor != "" {
		Elem(fe, "faultactor", actor)
	}
	detail := fe.CreateElement("detail")
	Elem(detail, "ErrorCode", string(f.Code))
	Elem(detail, "Message", f.Message)
	Elem(detail, "ID", uuid.NewString())
	Elem(detail, "Method", method)
	return doc
}

// skeleton returns an envelope document and its Body element. The client
// style declares xsi/xsd on the Body of normal responses only, as WS2025 does.
func (s *Service) skeleton(declareOnBody bool) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	if s.style == StyleASMX {
		doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
		env := doc.CreateElement("soap:Envelope")
		env.CreateAttr("xmlns:soap", NSEnvelope)
		env.CreateAttr("xmlns:xsi", NSXSI)
		env.CreateAttr("xmlns:xsd", NSXSD)
		return doc, env.CreateElement("soap:Body")
	}
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", NSEnvelope)
	body := env.CreateElement("s:Body")
	if declareOnBody {
		body.CreateAttr("xmlns:xsi", NSXSI)
		body.CreateAttr("xmlns:xsd", NSXSD)
	}
	return doc, body
}

// serialize returns the bytes of doc.
func serialize(doc *etree.Document) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// write sends body with an exact Content-Length (never chunked); an
// answer that is not a fault goes in Xpress when r asks for it (see
// encoding.go).
func (s *Service) write(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	if s.style == StyleASMX && status == http.StatusOK {
		h.Set("Cache-Control", "private, max-age=0")
	} else {
		h.Set("Cache-Control", "private")
	}
	if status == http.StatusOK {
		if listed, ok := acceptsXpress(r.Header); ok {
			framed, release := encodeXpress(body)
			defer release()
			body = framed
			h.Set("Content-Encoding", "xpress")
			h.Set("Vary", "Accept-Encoding")
		} else if listed {
			h.Set("Vary", "Accept-Encoding")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(transferTimeout(int64(len(body)))))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// requestURL is the URL a request was sent to, as its client wrote it:
// scheme, Host header and path.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}
