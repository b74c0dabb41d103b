package soap

import (
	"errors"
	"fmt"
)

// ErrorCode is a WSUS fault ErrorCode, spelled as in the [MS-WUSP] 2.2.2.4
// table (MS-WUSP.md section 3.3).
type ErrorCode string

// The ErrorCodes a WSUS server raises.
const (
	InvalidCookie              ErrorCode = "InvalidCookie"
	ServerChanged              ErrorCode = "ServerChanged"
	ConfigChanged              ErrorCode = "ConfigChanged"
	CookieExpired              ErrorCode = "CookieExpired"
	RegistrationRequired       ErrorCode = "RegistrationRequired"
	RegistrationNotRequired    ErrorCode = "RegistrationNotRequired"
	InvalidAuthorizationCookie ErrorCode = "InvalidAuthorizationCookie"
	InvalidParameters          ErrorCode = "InvalidParameters"
	InternalServerError        ErrorCode = "InternalServerError"
	ServerBusy                 ErrorCode = "ServerBusy"
	FileLocationChanged        ErrorCode = "FileLocationChanged"
)

// Fault is a SOAP fault with the WSUS detail block. Operation handlers return
// it as an error; the service writes it as HTTP 500.
type Fault struct {
	Code ErrorCode
	// Message is the detail Message: for InvalidParameters the path of the
	// offending parameter (e.g. "parameters.InstalledNonLeafUpdateIDs").
	Message string
	// Cause is the error behind the fault, logged but never sent (a store
	// outage behind ServerBusy); nil when the fault is the whole story.
	Cause error
}

// Error implements error.
func (f *Fault) Error() string {
	if f.Message == "" {
		return "soap fault " + string(f.Code)
	}
	return fmt.Sprintf("soap fault %s: %s", f.Code, f.Message)
}

// Unwrap returns the Cause.
func (f *Fault) Unwrap() error { return f.Cause }

// Errorf returns a Fault with a formatted Message.
func Errorf(code ErrorCode, format string, args ...any) *Fault {
	return &Fault{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadParameter returns the InvalidParameters fault WSUS raises for a missing
// or malformed parameter; path names it the way WSUS does ("parameters.X").
func BadParameter(path string) *Fault {
	return &Fault{Code: InvalidParameters, Message: path}
}

// AsFault returns err as a Fault: a Fault wrapped anywhere in err is returned
// as is, anything else becomes InternalServerError (its text is not sent to
// the client).
func AsFault(err error) (f *Fault, internal bool) {
	if errors.As(err, &f) {
		return f, false
	}
	return &Fault{Code: InternalServerError}, true
}
