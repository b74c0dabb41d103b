package soap

import (
	"slices"
	"strings"
)

// ErrorCodes returns every ErrorCode a WSUS server raises (the constants
// above Fault), for callers that need the whole vocabulary (metrics bound
// their fault-code label with it).
func ErrorCodes() []ErrorCode {
	return []ErrorCode{
		InvalidCookie, ServerChanged, ConfigChanged, CookieExpired, RegistrationRequired,
		RegistrationNotRequired, InvalidAuthorizationCookie, InvalidParameters,
		InternalServerError, ServerBusy, FileLocationChanged,
	}
}

// Name returns the service's name ("ClientWebService"), as requests name
// it to reqinfo.
func (s *Service) Name() string { return s.name }

// Operations returns the names of the operations registered on the service,
// as registered ("SyncUpdates"), sorted. Call it once every operation is
// registered (the service is then read-only).
func (s *Service) Operations() []string {
	out := make([]string, 0, len(s.ops))
	for _, e := range s.ops {
		out = append(out, e.name)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}
