package clientsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// HResult is a Windows HRESULT as the agent reports it: Win32HResult and the
// MiscData F= entry carry it as a signed 32-bit decimal (the captured 182
// has Win32HResult -2145099769 for 0x80246007, MS-WUSP.md section 7.1).
type HResult int32

// String formats h as the ReplacementStrings of a captured 182 do: "0x"
// and eight hexadecimal digits ("0x80246007"). [I] The capture has no hex
// letter in it; clientsim writes them upper-case.
func (h HResult) String() string { return fmt.Sprintf("0x%08X", uint32(h)) }

// ParseHResult reads an HRESULT written in hexadecimal ("0x80070643") or as
// the signed decimal of Win32HResult ("-2147023293").
func ParseHResult(s string) (HResult, error) {
	t := strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return 0, fmt.Errorf("clientsim: HRESULT %q: %w", s, err)
		}
		return HResult(int32(uint32(v))), nil
	}
	v, err := strconv.ParseInt(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("clientsim: HRESULT %q is neither 0x-hexadecimal nor a 32-bit decimal: %w", s, err)
	}
	return HResult(v), nil
}

// DefaultInstallFailure is the HRESULT a simulated install fails with when
// none is configured: 0x80070643, ERROR_INSTALL_FAILURE ("Fatal error during
// installation") as an HRESULT, the code a failing MSI or CBS install
// commonly reports.
const DefaultInstallFailure = HResult(-2147023293) // 0x80070643

// RebootRequiredHResult is the Win32HResult of the 184 (installed, restart
// required) that clientsim sends: WU_S_REBOOT_REQUIRED, 0x00240005. [I] No
// 184 was captured; the native agent reported its restart-requiring install
// with a 201 carrying this HRESULT (wsus-rs
// docs/fixtures/wsus-m0-reports/native-install-events.json, exchange 80).
const RebootRequiredHResult = HResult(0x00240005)

// InstallResult is the outcome of one simulated install.
type InstallResult int

// The outcomes, with the event each is reported with (MS-WUSP.md section 7.2).
const (
	// InstallSucceeded is reported with event 183.
	InstallSucceeded InstallResult = iota
	// InstallFailed is reported with event 182 and its HRESULT.
	InstallFailed
	// InstallRebootRequired is reported with event 184.
	InstallRebootRequired
)

// String names the result as clientsim prints it.
func (r InstallResult) String() string {
	switch r {
	case InstallSucceeded:
		return "installed"
	case InstallFailed:
		return "failed"
	case InstallRebootRequired:
		return "reboot-required"
	default:
		return "InstallResult(" + strconv.Itoa(int(r)) + ")"
	}
}

// InstallPlan decides the outcome of each install the simulated machine
// runs (ScanOptions.Install). An update is named by its UpdateID (a GUID, any
// case) or by its KB article ("KB5031356" or "5031356"), matched against the
// KBArticleID of its Extended fragment. The zero InstallPlan installs every
// update successfully.
type InstallPlan struct {
	// Fail names the updates whose install fails, each with the HRESULT
	// reported; a zero HRESULT means DefaultInstallFailure.
	Fail map[string]HResult
	// RebootPending names the updates whose install succeeds but needs a
	// restart that never comes: reported with 184, then listed in the W=
	// (InstalledPendingRebootIDs) list of every later 156.
	RebootPending []string
	// FailFraction (0 to 1) is the chance that the install of an update
	// named by neither list fails with FailHResult; it is drawn with
	// Config.Rand once per update and agent, so a retried install fails
	// again. Zero fails none.
	FailFraction float64
	// FailHResult is the HRESULT of the FailFraction failures; zero means
	// DefaultInstallFailure.
	FailHResult HResult
}

// Validate reports names that are neither GUIDs nor KB numbers, and a
// fraction out of range.
func (p InstallPlan) Validate() error {
	var errs []error
	for name := range p.Fail {
		if updateKey(name) == "" {
			errs = append(errs, fmt.Errorf("install plan: %q is neither an UpdateID nor a KB number", name))
		}
	}
	for _, name := range p.RebootPending {
		if updateKey(name) == "" {
			errs = append(errs, fmt.Errorf("install plan: %q is neither an UpdateID nor a KB number", name))
		}
	}
	if p.FailFraction < 0 || p.FailFraction > 1 || p.FailFraction != p.FailFraction {
		errs = append(errs, fmt.Errorf("install plan: fail fraction %v is not between 0 and 1", p.FailFraction))
	}
	return errors.Join(errs...)
}

// updateKey normalizes the name of an update: "GUID:" and the upper-case
// UpdateID, or "KB:" and the article number; "" for neither.
func updateKey(name string) string {
	name = strings.TrimSpace(name)
	if isGUID(name) {
		return "GUID:" + strings.ToUpper(name)
	}
	n := name
	if len(n) > 2 && strings.EqualFold(n[:2], "KB") {
		n = n[2:]
	}
	if n == "" || strings.TrimLeft(n, "0123456789") != "" {
		return ""
	}
	return "KB:" + n
}

// installTarget is one update the simulated machine installs.
type installTarget struct {
	UpdateID       string // upper-case GUID
	RevisionNumber int
	Title          string
	KB             string // KBArticleID, "" if none
	// LastError is the HRESULT of the update's previous failed install,
	// zero if none (181 F=).
	LastError HResult
}

// installOutcome is what one install reported.
type installOutcome struct {
	Result  InstallResult
	HResult HResult // of a failure
}

// decide returns the outcome of installing u under p; draw answers whether
// an update named in no list falls in FailFraction.
func (p InstallPlan) decide(u installTarget, draw func() bool) installOutcome {
	keys := []string{"GUID:" + strings.ToUpper(u.UpdateID)}
	if u.KB != "" {
		keys = append(keys, "KB:"+strings.TrimPrefix(strings.ToUpper(u.KB), "KB"))
	}
	for name, hr := range p.Fail {
		for _, k := range keys {
			if updateKey(name) == k {
				if hr == 0 {
					hr = DefaultInstallFailure
				}
				return installOutcome{Result: InstallFailed, HResult: hr}
			}
		}
	}
	for _, name := range p.RebootPending {
		for _, k := range keys {
			if updateKey(name) == k {
				return installOutcome{Result: InstallRebootRequired}
			}
		}
	}
	if p.FailFraction > 0 && draw() {
		hr := p.FailHResult
		if hr == 0 {
			hr = DefaultInstallFailure
		}
		return installOutcome{Result: InstallFailed, HResult: hr}
	}
	return installOutcome{Result: InstallSucceeded}
}

// installLedger is what the simulated machine remembers of its installs
// between scans, by upper-case UpdateID: the outcome of the last attempt
// (which the next 156 reports in V=, W= or g=) and whether FailFraction
// picked the update.
type installLedger struct {
	last  map[string]installOutcome
	order []string // UpdateIDs in the order first installed
	drawn map[string]bool
}

// record remembers the outcome of an install of id.
func (l *installLedger) record(id string, o installOutcome) {
	if l.last == nil {
		l.last = map[string]installOutcome{}
	}
	if _, ok := l.last[id]; !ok {
		l.order = append(l.order, id)
	}
	l.last[id] = o
}

// done reports whether id is installed, pending a restart included: the
// machine does not install it again.
func (l *installLedger) done(id string) bool {
	o, ok := l.last[id]
	return ok && o.Result != InstallFailed
}

// draw answers, once per UpdateID, whether FailFraction picks it.
func (l *installLedger) draw(id string, fraction float64, r *rand.Rand) bool {
	if l.drawn == nil {
		l.drawn = map[string]bool{}
	}
	v, ok := l.drawn[id]
	if !ok {
		v = r.Float64() < fraction
		l.drawn[id] = v
	}
	return v
}

// lists returns the UpdateIDs the next 156 names as installed (V=),
// installed pending a restart (W=) and failed (g=).
func (l *installLedger) lists() (installed, pending, failed []string) {
	for _, id := range l.order {
		switch l.last[id].Result {
		case InstallSucceeded:
			installed = append(installed, id)
		case InstallRebootRequired:
			pending = append(pending, id)
		case InstallFailed:
			failed = append(failed, id)
		}
	}
	return installed, pending, failed
}
