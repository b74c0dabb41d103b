// Package replay replays a recorded WSUS conversation against a server and
// compares each answer with the answer real WSUS gave.
//
// A capture folder holds one folder per exchange, NNNNNN/{meta.json,
// request.headers, request.body, response.body} (the layout of
// shared/protocol/captures/wsus-rs/wsus-m0-native/scan). Load reads them in
// name order; Run sends each recorded request body to the server at the
// recorded path with the recorded SOAPAction and User-Agent, then compares.
//
// # Rewrites
//
// A recorded conversation cannot run unchanged against a new server, so Run
// rewrites requests before sending them:
//
//   - Cookies. Recorded CookieData/EncryptedData are sanitized ("AAAA…").
//     AuthorizationCookie/CookieData (GetCookie) becomes the CookieData the
//     server returned to the replayed GetAuthorizationCookie; every cookie or
//     oldCookie element that carries EncryptedData gets the Expiration and
//     EncryptedData of the newest cookie the server issued (GetCookieResult or
//     NewCookie). An oldCookie with only an Expiration (first contact) is kept.
//     A capture that starts after the handshake therefore sends a sanitized
//     cookie, and the server rightly faults.
//   - Revision ids. Pairing the UpdateInfo entries of the recorded and the
//     actual SyncUpdates answers by the UpdateIdentity/@UpdateID inside their
//     Xml (case-insensitive) — and RefreshCacheResult entries by GlobalID —
//     yields a map recorded id → server id. The <int> values of
//     InstalledNonLeafUpdateIDs, OtherCachedUpdateIDs, CachedDriverIDs and
//     revisionIDs in later requests are rewritten through it; unmapped ids
//     are sent as recorded.
//
// An unchanged request is sent byte for byte; a rewritten one is
// re-serialized by etree, which keeps element order, prefixes and namespace
// declarations.
//
// # Comparison rules
//
// Compare parses both bodies namespace-aware and walks the element trees:
//
//   - The HTTP status class (2xx, 5xx) must match the recorded status (Run).
//   - Elements are matched by local name and resolved namespace URI; prefixes
//     and where xmlns declarations sit do not matter. A fault answer where a
//     normal answer was recorded (or the reverse) shows as a different
//     element under Body.
//   - Children must come in the same order and number. Children are aligned
//     by name (longest common subsequence), so an inserted or dropped element
//     is reported as "missing element X" / "unexpected element X", an element
//     in place of another as "expected element X, got Y", and reordered
//     children as a missing plus an unexpected element.
//   - Attributes are compared as sets of (resolved namespace, local name,
//     value), ignoring namespace declarations.
//   - The text of leaf elements is compared exactly, except for the values
//     listed below.
//   - Xml elements carry XML-escaped fragments; they are compared exactly as
//     text after unescaping (the parser unescapes), so &lt; versus a
//     character reference does not matter but every byte of the fragment does.
//
// Values that legitimately differ between servers:
//
//   - cookie data and expiry (CookieData, EncryptedData, Expiration) and
//     times (LastChange, LastChangeTime): ignored;
//   - server-assigned ids: every ID element (UpdateInfo, Deployment, Update,
//     fault detail): ignored;
//   - revision ids (RevisionID and the <int> values of
//     InstalledNonLeafUpdateIDs, OtherCachedUpdateIDs, CachedDriverIDs,
//     revisionIDs, OutOfScopeRevisionIDs, DeployedOutOfScopeRevisionIds):
//     compared through the learned revision map when the recorded id is in
//     it, accepted otherwise;
//   - the fault detail Message (server prose): ignored; ErrorCode, faultcode,
//     faultstring and Method are compared exactly;
//   - the Value of the PackageServerShare ConfigurationProperty: ignored;
//   - URLs (elements whose name ends in "Url": Url, ServiceUrl, …): only
//     their paths are compared, so scheme, host and port may differ.
//
// Compare reports nil for equivalent bodies, and otherwise every difference
// with a path of local names such as
// /Envelope/Body/SyncUpdatesResponse/SyncUpdatesResult/NewUpdates/UpdateInfo[2]/IsLeaf.
package replay
