// Package wsusss builds and reads the messages of the WSUS Server-Server
// protocol ([MS-WSUSSS]) as a downstream server (DSS) speaks it to its
// upstream (Microsoft Update or a WSUS): pure functions from typed values to
// request bodies and from response bodies to typed values. It does no I/O.
//
// What callers may rely on:
//   - Every request function returns a Request: the SOAP 1.1 envelope, as the
//     recorded requests of ../shared/protocol/metadata-samples/ spell it
//     (`<?xml ...?><soap:Envelope xmlns:soap=...><soap:Body><Op xmlns=ns>`),
//     and the SOAPAction it must be posted with. Children are written in WSDL
//     order ([MS-WSUSSS] 2.2; ../shared/protocol/MS-WSUSSS.md section 1:
//     "Emit requests in WSDL order").
//   - Every Parse function reads one response body, already bounded by the
//     caller (MaxResponseBytes), with soap.ReadDocument (so deeper than
//     soap.MaxDepth is refused). Elements are matched by local name in any
//     order (the real WSUS GetConfigData answer is not in WSDL order),
//     unknown elements are ignored and xsi:nil counts as absent (the soap
//     package's readers).
//   - A SOAP fault in the body is returned as a *Fault (errors.As), carrying
//     the WSUS ErrorCode of its detail ([MS-WSUSSS] 2.2.9; MS-WSUSSS.md 2.4).
//     Every other error wraps ErrMalformed (errors.Is): not XML, not a SOAP
//     envelope, the wrong response element, a missing or malformed required
//     field, an undecodable compressed update blob.
//
// Faults are returned whatever the HTTP status (real WSUS answers them with
// 500); the caller decides about statuses that carry no SOAP body.
package wsusss

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/soap"
)

// Namespaces of the two services a DSS calls ([MS-WSUSSS] 2.2;
// MS-WSUSSS.md section 1).
const (
	// NSServerSync is the namespace of ServerSyncWebService (GetAuthConfig,
	// GetCookie, GetConfigData, GetRevisionIdList, GetUpdateData,
	// GetUpdateDecryptionData).
	NSServerSync = "http://www.microsoft.com/SoftwareDistribution"
	// NSDssAuth is the namespace of DssAuthWebService (GetAuthorizationCookie).
	NSDssAuth = "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
)

// Service paths, relative to the upstream's root (https://sws.update.microsoft.com,
// http://wsus:8530). GetAuthConfig names the DssAuth one again
// (AuthPlugIn.ServiceURL); callers should prefer that value.
const (
	ServerSyncPath = "ServerSyncWebService/ServerSyncWebService.asmx"
	DssAuthPath    = "DssAuthWebService/DssAuthWebService.asmx"
)

// DssTargeting is the PlugInID of the only authorization plug-in a WSUS
// upstream offers ([MS-WSUSSS] 3.1.4.1; sample wsusss-GetAuthConfigResponse.xml).
const DssTargeting = "DssTargeting"

// ErrorCodes raised by an upstream beside those of soap (which the upstream
// shares with MS-WUSP: InvalidCookie, InvalidParameters, InternalServerError,
// ServerChanged, ServerBusy, InvalidAuthorizationCookie)
// ([MS-WSUSSS] 2.2.9.3; MS-WSUSSS.md 2.4).
const (
	IncompatibleProtocolVersion soap.ErrorCode = "IncompatibleProtocolVersion"
	FileDigestsMissing          soap.ErrorCode = "FileDigestsMissing"
)

// MaxResponseBytes is the limit callers should put on a response body before
// a Parse function sees it: 256 MiB. [I] No source gives a cap that holds:
// the spec's note <37> says a Windows GetUpdateData answer is limited to
// 2,000,000 bytes, but real batches of 100 updates reach 1.5 MB and single
// CBS documents 46.9 MB uncompressed (MS-WSUSSS.md 1 and 3.3); a
// GetRevisionIdList of 24,509 revisions took 3.1 MB in one answer, so the
// whole catalog's list may take tens of MB. The parsed tree costs several
// times the body (soap/limits.go estimates 512 bytes per '<'), and each
// compressed blob may decode to cab.MaxUpdateBlobSize.
const MaxResponseBytes = 256 << 20

// MaxDecodedBytes bounds the documents ParseGetUpdateDataResponse decodes
// from the compressed blobs of one answer, together. [I] Real documents are
// mostly tens to hundreds of KB; a batch of MaxNumberOfUpdatesPerRequest
// (100 on the upstreams seen) of them stays far below, and the largest real
// one (94 MB as UTF-16) fits alone.
const MaxDecodedBytes = 256 << 20

// ErrMalformed is wrapped by every error of a Parse function that is not a
// *Fault.
var ErrMalformed = errors.New("malformed response")

func malformed(op, format string, args ...any) error {
	return fmt.Errorf("wsusss: %s response: %s: %w", op, fmt.Sprintf(format, args...), ErrMalformed)
}

// Fault is a SOAP fault an upstream answered, with the WSUS detail block
// ([MS-WSUSSS] 2.2.9; samples wsusss-Fault-InvalidParameters-GetRevisionIdList.xml,
// mswsusss-spec-example-Fault-InvalidCookie.xml).
type Fault struct {
	// Operation is the operation whose response was parsed ("GetRevisionIdList").
	Operation string
	// Code is detail/ErrorCode ("InvalidCookie"); empty when the fault has
	// none, which MS-WSUSSS.md 2.4 says to treat as "stop".
	Code soap.ErrorCode
	// Message is detail/Message: for InvalidParameters the offending
	// parameter ("filter", "updateIds"); for FileDigestsMissing the missing
	// digests joined by '|'.
	Message string
	// ID is detail/ID, a GUID the upstream makes per fault (for its log).
	ID string
	// Method is detail/Method, the quoted SOAPAction the upstream echoes.
	Method string
	// FaultCode, FaultString and FaultActor are the SOAP 1.1 elements
	// ("soap:Client", "Fault occurred", the service URL).
	FaultCode, FaultString, FaultActor string
}

// Error implements error.
func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wsusss: %s: fault", f.Operation)
	if f.Code == "" {
		fmt.Fprintf(&b, " without ErrorCode (%s %q)", f.FaultCode, f.FaultString)
	} else {
		fmt.Fprintf(&b, " %s", f.Code)
	}
	if f.Message != "" {
		fmt.Fprintf(&b, ": %s", f.Message)
	}
	return b.String()
}

// UpdateIdentity names one revision of an update ([MS-WSUSSS] 2.2.5.x
// UpdateIdentity: UpdateID, RevisionNumber).
type UpdateIdentity struct {
	UpdateID       uuid.UUID
	RevisionNumber int32
}

// Cookie is the access cookie GetCookie returns and every ServerSync call
// but GetAuthConfig takes ([MS-WSUSSS] 2.2.5 Cookie). Callers treat it as
// opaque and renew it before Expiration.
type Cookie struct {
	// Expiration is in UTC; a real WSUS issues 240-minute cookies.
	Expiration time.Time
	// EncryptedData is opaque to the DSS.
	EncryptedData []byte
}

// AuthorizationCookie is the answer of GetAuthorizationCookie and the
// input of GetCookie ([MS-WSUSSS] 3.1.4.2).
type AuthorizationCookie struct {
	// PlugInID is the plug-in that issued it (DssTargeting).
	PlugInID string
	// CookieData is opaque to the DSS.
	CookieData []byte
}
