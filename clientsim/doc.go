// Package clientsim is a simulated Windows Update Agent: it speaks SOAP 1.1
// over HTTP to an update server exactly as the captured native agent
// (Windows-Update-Agent/1507.2601.30012.0, Client-Protocol/2.90) does, so the
// project can prove compatibility without a Windows machine.
//
// Every request body is a recorded native request (embedded from templates/,
// see templates/README.md) with values substituted through etree; element
// order, namespaces and prefixes stay as the native agent sends them. The
// headers are those of the native agent except MS-CV, which clientsim does
// not send; like the agent it sends Accept-Encoding: xpress and decodes
// Xpress answers (Config.Identity turns that off).
//
// Scan runs the sequence of MS-WUSP.md §3.1: GetConfig, GetAuthorizationCookie,
// GetCookie, RegisterComputer, the SyncUpdates software rounds (§5.1) and the
// driver pass, GetExtendedUpdateInfo, ranged content downloads (§3.4) with
// SHA-1 and SHA-256 checks, and ReportEventBatch (§7). The simulated
// applicability rule is: every non-leaf revision is installed, every leaf is
// merely cached.
//
// With ScanOptions.Install an Agent also installs the updates approved for
// it and reports what the native agent reports after installing: a 181 with
// the scan's events, then 183 (installed), 182 (failed, with its HRESULT)
// or 184 (installed, restart required) per update, as Config.Install
// decides; its later status reports (156) list the results in V=, W= and g=.
// The events are copies of the captured native ones (templates/README.md);
// where no native event was captured, the comments of buildInstallReport
// say what is inferred.
//
// An Agent keeps its cookie and cache between scans like a real agent after
// its first scan (§3.2): later scans are one software SyncUpdates carrying
// every cached id, and the driver pass. The load subpackage runs many agents
// at once against a server.
//
// The replay subpackage replays a recorded conversation against a server and
// compares the answers' structure with the recorded real-WSUS answers.
package clientsim
