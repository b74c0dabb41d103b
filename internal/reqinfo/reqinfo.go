// Package reqinfo carries what the handlers of one HTTP request learn about
// it (the SOAP service and operation, the client's computer ID, the fault
// code, whether the request was shed) to the middleware that logs and counts
// the request once it has been answered.
//
// What callers may rely on:
//
//   - The middleware calls Attach before routing; every handler below it
//     finds the request's *Info with From(ctx). From returns nil when no
//     Info was attached (a handler served on its own, in a test), and every
//     method of a nil *Info does nothing, so handlers never check.
//   - The setters may be called from any goroutine of the request; Record
//     takes what was set so far. The last value set wins.
//   - Nothing here reads the request body or writes the answer: handlers
//     report what they learned, the middleware measures status, bytes and
//     duration itself and builds the Record.
package reqinfo

import (
	"context"
	"sync"
	"time"
)

// Kind is the family of a path, the first label of every request metric.
type Kind string

// The kinds of path a listener serves.
const (
	KindSOAP    Kind = "soap"    // the MS-WUSP and MS-WSUSSS services
	KindContent Kind = "content" // /Content/...
	KindAdmin   Kind = "admin"   // /api/v1/...
	KindConsole Kind = "console" // /console/... (the web console)
	KindHealth  Kind = "health"  // /healthz, /readyz
	KindMetrics Kind = "metrics" // /metrics
	KindOther   Kind = "other"   // anything else (404s included)
)

// Info collects what handlers learn about one request. The zero value is
// ready to use; a nil *Info ignores every call.
type Info struct {
	mu        sync.Mutex
	service   string
	operation string
	clientID  string
	faultCode string
	shed      bool
}

type contextKey struct{}

// Attach returns ctx carrying a fresh Info, and that Info.
func Attach(ctx context.Context) (context.Context, *Info) {
	i := &Info{}
	return context.WithValue(ctx, contextKey{}, i), i
}

// From returns the Info ctx carries, nil when none.
func From(ctx context.Context) *Info {
	i, _ := ctx.Value(contextKey{}).(*Info)
	return i
}

// SetOperation records the SOAP service ("ClientWebService") and operation
// ("SyncUpdates") the request named, once its SOAPAction was matched.
func (i *Info) SetOperation(service, operation string) {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.service, i.operation = service, operation
	i.mu.Unlock()
}

// SetClientID records the computer ID of the client, once a cookie or the
// request itself named it.
func (i *Info) SetClientID(id string) {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.clientID = id
	i.mu.Unlock()
}

// SetFault records the WSUS error code of the SOAP fault answered
// ("InvalidCookie", "ServerBusy", "InternalServerError").
func (i *Info) SetFault(code string) {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.faultCode = code
	i.mu.Unlock()
}

// SetShed records that the request was refused for overload (ServerBusy from
// admission control) rather than served.
func (i *Info) SetShed() {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.shed = true
	i.mu.Unlock()
}

// Record is one answered request, as the middleware hands it to the access
// log and the metrics.
type Record struct {
	// Kind is the family of the path.
	Kind Kind
	// Method and Path are the request's (the path as the client sent it).
	Method, Path string
	// Service and Operation name the SOAP operation; empty otherwise.
	Service, Operation string
	// ClientID is the computer ID when a handler learned it.
	ClientID string
	// Status is the HTTP status answered (200 when the handler wrote a body
	// without one).
	Status int
	// FaultCode is the WSUS error code of a SOAP fault; empty otherwise.
	FaultCode string
	// Shed reports a request refused for overload.
	Shed bool
	// Range reports a request with a Range header (content).
	Range bool
	// Bytes is the number of body bytes written.
	Bytes int64
	// Duration runs from the middleware's start to the handler's return.
	Duration time.Duration
	// RequestID is the request's X-Request-Id (internal/requestid).
	RequestID string
}

// Fill copies what handlers recorded into rec.
func (i *Info) Fill(rec *Record) {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	rec.Service, rec.Operation = i.service, i.operation
	rec.ClientID = i.clientID
	rec.FaultCode = i.faultCode
	rec.Shed = i.shed
}
