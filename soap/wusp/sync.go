package wusp

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/soap"
	"wsus/soap/cookie"
)

// lastChangeFormat is the date-only Deployment/LastChangeTime observed from
// WS2025 (MS-WUSP.md section 8, pitfall 4).
const lastChangeFormat = "2006-01-02"

// deadlineFormat writes Deployment/Deadline. [I] The spec types it
// xs:dateTime; the string WSUS actually sends was never observed.
const deadlineFormat = "2006-01-02T15:04:05Z"

// syncUpdates runs one SyncUpdates round (MS-WUSP.md section 5). Its answer
// is written as bytes, not built as a tree: each Core fragment is copied as
// the cache holds it, escaped once per snapshot (see coreFragments). A full
// page (BenchmarkSyncUpdatesFirstPage) costs about a third of what building
// and serializing a tree did.
func (s *Services) syncUpdates(ctx context.Context, req *soap.Request) (*soap.RawResponse, error) {
	sess, sealed, err := s.openSyncSession(ctx, req)
	if err != nil {
		return nil, err
	}
	opened := sess
	p := soap.Child(req.Body, "parameters")
	if p == nil {
		return nil, soap.BadParameter("parameters")
	}
	sreq, hw, err := decodeSyncParameters(req, p)
	if err != nil {
		return nil, err
	}
	// A steady-state round asks the store only for the change sequence: the
	// registration and the assigned groups come from memory, LastSync is
	// written at most every LastSyncResolution, and Core fragments come
	// from the cache.
	if err := s.requireRegistered(ctx, sess.ClientID); err != nil {
		return nil, err
	}
	snap, err := s.cfg.Engine.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	sreq.Groups = clientGroups(snap, sess)
	sreq.Anchor, sreq.AnchorGroups = sess.SyncAnchor, sess.AnchorGroups
	sreq.Changed = scan.ChangedPass{After: sess.ChangedAfter, Until: sess.ChangedUntil, Key: sess.ChangedKey}
	// FilterCategoryIds and NeedTwoGroupOutOfScopeUpdates come from clients
	// of protocol 1.7 and later; DeployedOutOfScopeRevisionIds MUST NOT go
	// to older ones (MS-WUSP.md section 4.3; [MS-WUSP] 2.2.2.2.4, SyncInfo).
	sreq.NeedTwoGroupOutOfScope = sreq.NeedTwoGroupOutOfScope && protocolAtLeast(sess.ProtocolVersion, 1, 7)
	sreq.PageSize = s.cfg.PageSize
	res := snap.Sync(sreq)

	if err := s.recordSync(ctx, sess.ClientID); err != nil {
		return nil, err
	}
	if hw != nil {
		if err := s.recordHardware(ctx, sess.ClientID, *hw); err != nil {
			return nil, err
		}
	}

	core, err := s.coreFragments(ctx, snap, updateIDs(res))
	if err != nil {
		return nil, err
	}
	fitPage(&res, core, s.cfg.MaxPageBytes)
	sess.SyncAnchor, sess.AnchorGroups = res.Anchor, res.AnchorGroups
	sess.ChangedAfter, sess.ChangedUntil, sess.ChangedKey = res.Changed.After, res.Changed.Until, res.Changed.Key
	if !sameSyncState(sess, opened) {
		sealed = "" // the session changed: seal it anew
	}
	resp := req.NewRawResponse()
	if err := s.writeSyncInfo(resp, "SyncUpdatesResult", res, core, sess, sealed); err != nil {
		return nil, err
	}
	if s.cfg.Scans != nil {
		s.cfg.Scans.ObserveScan(scanSizes(sreq, res, core))
	}
	return resp, nil
}

// decodeSyncParameters reads SyncUpdateParameters; unknown elements (the
// native client sends AlsoPerformRegularSync and ProductsParameters) are
// ignored. A driver pass also gives what it reports of the client's
// hardware (nil for the software pass).
func decodeSyncParameters(req *soap.Request, p *etree.Element) (scan.SyncRequest, *catalog.HardwareInventory, error) {
	r, hw, err := decodeSyncLists(req, p)
	if err != nil {
		return r, nil, err
	}
	if r.NeedTwoGroupOutOfScope, err = soap.Bool(p, "NeedTwoGroupOutOfScopeUpdates", "parameters.NeedTwoGroupOutOfScopeUpdates"); err != nil {
		return r, nil, err
	}
	for _, ci := range soap.Children(soap.Child(p, "FilterCategoryIds"), "CategoryIdentifier") {
		id, err := soap.GUID(soap.Text(ci, "Id"), "parameters.FilterCategoryIds")
		if err != nil {
			return r, nil, err
		}
		r.Filter = append(r.Filter, id)
	}
	return r, hw, nil
}

// decodeSyncLists reads the cached-update arrays, SkipSoftwareSync and the
// driver pass's parameters.
func decodeSyncLists(req *soap.Request, p *etree.Element) (scan.SyncRequest, *catalog.HardwareInventory, error) {
	var r scan.SyncRequest
	var err error
	if r.InstalledNonLeaf, err = req.Ints(p, "InstalledNonLeafUpdateIDs", "parameters.InstalledNonLeafUpdateIDs"); err != nil {
		return r, nil, err
	}
	if len(r.InstalledNonLeaf) > MaxInstalledNonLeaf {
		return r, nil, soap.BadParameter("parameters.InstalledNonLeafUpdateIDs")
	}
	if r.OtherCached, err = req.Ints(p, "OtherCachedUpdateIDs", "parameters.OtherCachedUpdateIDs"); err != nil {
		return r, nil, err
	}
	if r.CachedDrivers, err = req.Ints(p, "CachedDriverIDs", "parameters.CachedDriverIDs"); err != nil {
		return r, nil, err
	}
	if r.Drivers, err = soap.Bool(p, "SkipSoftwareSync", "parameters.SkipSoftwareSync"); err != nil {
		return r, nil, err
	}
	if soap.Has(p, "SystemSpec") && !r.Drivers {
		return r, nil, soap.BadParameter("parameters.SystemSpec")
	}
	if !r.Drivers {
		return r, nil, nil
	}
	if err := decodeDriverParameters(req, p, &r); err != nil {
		return r, nil, err
	}
	hw := hardwareInventory(r)
	return r, &hw, nil
}

// updateIDs returns the revision IDs of the updates res delivers.
func updateIDs(res scan.SyncResult) []int32 {
	ids := make([]int32, 0, len(res.NewUpdates)+len(res.ChangedUpdates))
	for _, u := range res.NewUpdates {
		ids = append(ids, u.RevisionID)
	}
	for _, u := range res.ChangedUpdates {
		ids = append(ids, u.RevisionID)
	}
	return ids
}

// fitPage ends a page early once its Core fragments pass maxBytes, counted
// before escaping (real ones reach 46 MB), ChangedUpdates first as the
// engine fills a page (scan.SyncResult.Fit); a page always carries at least
// one update.
func fitPage(res *scan.SyncResult, core map[int32]coreFragment, maxBytes int) {
	res.Fit(func(id int32) int { return core[id].size }, maxBytes)
}

// sameSyncState reports whether two sessions hold the same sync state
// (anchor, its groups, an unfinished ChangedUpdates pass).
func sameSyncState(a, b cookie.Session) bool {
	return a.SyncAnchor.Equal(b.SyncAnchor) && slices.Equal(a.AnchorGroups, b.AnchorGroups) &&
		a.ChangedAfter == b.ChangedAfter && a.ChangedUntil.Equal(b.ChangedUntil) && a.ChangedKey == b.ChangedKey
}

// openSyncSession opens the session of a SyncUpdates request, from the
// cookie's EncryptedData as the request carried it (cut out before parsing,
// see Client) or as parsed. It also returns that EncryptedData when it is
// canonical base64, so that an answer whose session did not change can hand
// the same cookie back instead of sealing it again.
func (s *Services) openSyncSession(ctx context.Context, req *soap.Request) (cookie.Session, string, error) {
	data, ok := req.RawContent("EncryptedData")
	if !ok {
		sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
		return sess, "", err
	}
	text := string(data)
	if strings.IndexByte(text, '&') >= 0 {
		text = html.UnescapeString(text) // character references in base64: legal, if odd
	}
	text = strings.TrimSpace(text)
	sess, err := s.unsealData(ctx, text)
	if err == nil {
		err = s.checkSession(sess)
	}
	if err != nil {
		return cookie.Session{}, "", err
	}
	if strings.ContainsAny(text, "\r\n\t ") {
		text = "" // not as we write it: seal anew
	}
	return sess, text, nil
}

// writeSyncInfo writes a SyncInfo named result (SyncUpdatesResult,
// SyncPrinterCatalogResult) in WSDL order,
// omitting empty arrays as real WSUS does, and the elements a client's
// protocol version predates ([MS-WUSP] 2.2.2.2.4): DeployedOutOfScopeRevisionIds
// and DriverSyncNotNeeded below 1.7, and in Deployment HardwareIds below
// 1.6 and AutoSelect, AutoDownload, SupersedenceBehavior below 1.8. sealed, when set, is the
// EncryptedData of sess as the request carried it.
func (s *Services) writeSyncInfo(w *soap.RawResponse, result string, res scan.SyncResult, core map[int32]coreFragment, sess cookie.Session, sealed string) error {
	size := 0
	for _, f := range core {
		size += len(f.text)
	}
	// Each UpdateInfo besides its fragment takes about 400 bytes.
	w.Grow(size + 400*(len(res.NewUpdates)+len(res.ChangedUpdates)) + 1024)
	w.Start(result)
	writeInfos := func(name string, infos []scan.UpdateInfo) {
		if len(infos) == 0 {
			return
		}
		w.Start(name)
		for _, u := range infos {
			writeUpdateInfo(w, u, core[u.RevisionID].text, res.HardwareIDs[u.RevisionID], sess.ProtocolVersion)
		}
		w.End(name)
	}
	writeInfos("NewUpdates", res.NewUpdates)
	w.IntArray("OutOfScopeRevisionIDs", res.OutOfScope)
	writeInfos("ChangedUpdates", res.ChangedUpdates)
	w.Elem("Truncated", soap.BoolText(res.Truncated))
	if sealed != "" {
		writeCookie(w, "NewCookie", sess.Expires, sealed)
	} else if err := s.addCookie(w, "NewCookie", sess); err != nil {
		return err
	}
	// Both MUST NOT go to clients older than protocol 1.7 ([MS-WUSP]
	// 2.2.2.2.4, SyncInfo; MS-WUSP.md section 4.3).
	if protocolAtLeast(sess.ProtocolVersion, 1, 7) {
		w.IntArray("DeployedOutOfScopeRevisionIds", res.DeployedOutOfScope)
		w.Elem("DriverSyncNotNeeded", soap.BoolText(res.DriverSyncNotNeeded))
	}
	w.End(result)
	return nil
}

// writeUpdateInfo writes an UpdateInfo: ID, Deployment, IsLeaf, Xml (the
// Core fragment, escaped). Every UpdateInfo carries a Deployment; WUA fails
// without one (MS-WUSP.md section 2.2, Deployment). hardwareIDs are a
// driver's matched hardware IDs (nil for other updates).
func writeUpdateInfo(w *soap.RawResponse, u scan.UpdateInfo, coreXML []byte, hardwareIDs []string, protocol string) {
	w.Start("UpdateInfo")
	w.Int("ID", int64(u.RevisionID))
	addDeployment(w, u.Deployment, hardwareIDs, protocol)
	w.Elem("IsLeaf", soap.BoolText(u.IsLeaf))
	w.EscapedElem("Xml", coreXML)
	w.End("UpdateInfo")
}

// addDeployment writes the seven children WS2025 sends (ID, Action,
// IsAssigned, LastChangeTime, AutoSelect, AutoDownload,
// SupersedenceBehavior), plus Deadline when one is set. The last three
// "MUST NOT be sent" to clients older than protocol 1.8. OptionalInstall
// exists from Windows 10 1903 (client protocol 2.0) on; an older client gets
// the update for detection only, PreDeploymentCheck.
//
// IsAssigned is false for OptionalInstall: true means the revision "SHOULD
// be installed automatically", false that it is offered to the users but not
// installed automatically ([MS-WUSP] 2.2.2.2.4, Deployment), which is what
// OptionalInstall means. Every other action has true, as WS2025 sends with
// Install, Evaluate, Bundle and PreDeploymentCheck (MS-WUSP.md section 2.2,
// captures scan/000006-000008); [I] no capture has OptionalInstall or
// Uninstall.
//
// A driver offered on the driver pass also carries HardwareIds, the driver
// hardware IDs it was the best match on, for clients of protocol 1.6 and
// later ([MS-WUSP] 3.1.5.7 and note <54>), in WSDL order after
// DownloadPriority (never sent) and before AutoSelect. WSUS sending it was
// never observed (no capture has a driver offer).
func addDeployment(w soap.XMLWriter, d scan.Deployment, hardwareIDs []string, protocol string) {
	action := d.Action
	if action == scan.OptionalInstall && !protocolAtLeast(protocol, 2, 0) {
		action = scan.PreDeploymentCheck
	}
	w.Start("Deployment")
	w.Int("ID", int64(d.ID))
	w.Elem("Action", string(action))
	if !d.Deadline.IsZero() {
		w.Elem("Deadline", d.Deadline.UTC().Format(deadlineFormat))
	}
	w.Elem("IsAssigned", soap.BoolText(action != scan.OptionalInstall))
	w.Elem("LastChangeTime", d.ChangedAt.UTC().Format(lastChangeFormat))
	if len(hardwareIDs) > 0 && protocolAtLeast(protocol, 1, 6) {
		w.Start("HardwareIds")
		for _, id := range hardwareIDs {
			w.Elem("string", id)
		}
		w.End("HardwareIds")
	}
	if protocolAtLeast(protocol, 1, 8) {
		w.Elem("AutoSelect", "0")
		w.Elem("AutoDownload", "0")
		w.Elem("SupersedenceBehavior", "0")
	}
	w.End("Deployment")
}

// coreFragment is a Core fragment as SyncUpdates sends it: escaped for the
// wire (soap.AppendText), once per snapshot, and its size before escaping,
// which MaxPageBytes counts.
type coreFragment struct {
	text []byte
	size int
}

// coreFragments returns the Core fragments of ids, from the cache where it
// holds them for this snapshot.
func (s *Services) coreFragments(ctx context.Context, snap *scan.Snapshot, ids []int32) (map[int32]coreFragment, error) {
	out := make(map[int32]coreFragment, len(ids))
	s.coreMu.Lock()
	if s.coreSeq != snap.Seq {
		s.core.Purge()
		s.coreSeq = snap.Seq
	}
	s.coreMu.Unlock()
	var missing []int32
	for _, id := range ids {
		if x, ok := s.core.Get(id); ok {
			out[id] = x
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	frags, err := s.cfg.Store.Fragments(ctx, missing, catalog.FragmentCore, nil)
	if err != nil {
		return nil, fmt.Errorf("wusp: core fragments: %w", err)
	}
	for _, f := range frags {
		c := coreFragment{text: soap.AppendText(nil, f.XML), size: len(f.XML)}
		out[f.RevisionID] = c
		s.core.Add(f.RevisionID, c)
	}
	return out, nil
}

// syncPrinterCatalog answers the Add Printer Wizard's catalog sync
// ([MS-WUSP] 3.1.5.12, see scan.Snapshot.SyncPrinters): the printer
// drivers deployed to the client that it does not cache, as a SyncInfo
// written as the driver pass writes it (Core fragments, pages cut by
// PageSize and MaxPageBytes, the version-gated elements), under
// SyncPrinterCatalogResult. The request names no devices; the installed
// printers the spec's rule compares with are those of the client's last
// driver pass, read from the store ([I], see SyncPrinters). Like
// SyncUpdates it refuses an unregistered client (RegistrationRequired, a
// SHOULD of 3.1.5.12) and more than MaxInstalledNonLeaf installed
// non-leaf revisions ([I] as SyncUpdates).
func (s *Services) syncPrinterCatalog(ctx context.Context, req *soap.Request) (*soap.RawResponse, error) {
	sess, sealed, err := s.openSyncSession(ctx, req)
	if err != nil {
		return nil, err
	}
	sreq := scan.SyncRequest{PageSize: s.cfg.PageSize}
	if sreq.InstalledNonLeaf, err = req.Ints(req.Body, "installedNonLeafUpdateIDs", "installedNonLeafUpdateIDs"); err != nil {
		return nil, err
	}
	if len(sreq.InstalledNonLeaf) > MaxInstalledNonLeaf {
		return nil, soap.BadParameter("installedNonLeafUpdateIDs")
	}
	if sreq.CachedDrivers, err = req.Ints(req.Body, "printerUpdateIDs", "printerUpdateIDs"); err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.Computer(ctx, sess.ClientID)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && !c.Registered) {
		return nil, soap.Errorf(soap.RegistrationRequired, "")
	}
	if err != nil {
		return nil, fmt.Errorf("wusp: look up computer: %w", err)
	}
	s.registered.Add(sess.ClientID, struct{}{})
	if h := c.Hardware; h != nil {
		sreq.Devices = scanDevices(h.Devices)
		sreq.ComputerHardwareIDs, sreq.FeatureScoreKey = h.ComputerHardwareIDs, h.FeatureScoreMatchingKey
	}
	snap, err := s.cfg.Engine.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	sreq.Groups = clientGroups(snap, sess)
	sreq.Anchor, sreq.AnchorGroups = sess.SyncAnchor, sess.AnchorGroups
	sreq.Changed = scan.ChangedPass{After: sess.ChangedAfter, Until: sess.ChangedUntil, Key: sess.ChangedKey}
	res := snap.SyncPrinters(sreq)
	core, err := s.coreFragments(ctx, snap, updateIDs(res))
	if err != nil {
		return nil, err
	}
	fitPage(&res, core, s.cfg.MaxPageBytes)
	resp := req.NewRawResponse()
	if err := s.writeSyncInfo(resp, "SyncPrinterCatalogResult", res, core, sess, sealed); err != nil {
		return nil, err
	}
	return resp, nil
}

// scanDevices are the stored devices of a hardware inventory as the scan
// engine matches them.
func scanDevices(stored []catalog.InventoryDevice) []scan.Device {
	out := make([]scan.Device, len(stored))
	for i, d := range stored {
		out[i] = scan.Device{HardwareIDs: d.HardwareIDs, CompatibleIDs: d.CompatibleIDs}
		if inst := d.InstalledDriver; inst != nil {
			out[i].Installed = &scan.InstalledDriver{
				MatchingID: inst.MatchingID, DriverVerDate: inst.DriverVerDate,
				DriverVerVersion: uint64(inst.DriverVerVersion), Class: inst.Class,
				Manufacturer: inst.Manufacturer, Provider: inst.Provider, Model: inst.Model,
				MatchingComputerHWID: inst.MatchingComputerHWID, DriverRank: inst.DriverRank,
			}
		}
	}
	return out
}

// refreshCache maps the update identities a client caches to current
// revision IDs and deployments, after an InvalidCookie or ServerChanged.
// Like real WSUS it answers only deployed revisions and omits those
// deployed as Bundle (MS-WUSP.md section 3.3).
func (s *Services) refreshCache(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	ids, err := decodeIdentities(soap.Child(req.Body, "globalIDs"), "globalIDs")
	if err != nil {
		return nil, err
	}
	snap, scope, err := s.clientScope(ctx, sess)
	if err != nil {
		return nil, err
	}
	resp := req.NewResponse()
	arr := resp.CreateElement("RefreshCacheResult")
	for _, id := range ids {
		r, ok := snap.ByIdentity(id)
		if !ok {
			continue
		}
		d, ok := scope.Lookup(r.ID)
		if !ok || d.Action == scan.Bundle {
			continue
		}
		rc := arr.CreateElement("RefreshCacheResult")
		soap.Elem(rc, "RevisionID", strconv.Itoa(int(r.ID)))
		gid := rc.CreateElement("GlobalID")
		soap.Elem(gid, "UpdateID", r.UpdateID.String())
		soap.Elem(gid, "RevisionNumber", strconv.Itoa(int(r.RevisionNumber)))
		soap.Elem(rc, "IsLeaf", soap.BoolText(r.IsLeaf))
		addDeployment(&soap.Tree{El: rc}, d, nil, sess.ProtocolVersion)
	}
	return resp, nil
}

// decodeIdentities reads an ArrayOfUpdateIdentity.
func decodeIdentities(arr *etree.Element, path string) ([]catalog.Identity, error) {
	var out []catalog.Identity
	for _, el := range soap.Children(arr, "UpdateIdentity") {
		id, err := soap.GUID(soap.Text(el, "UpdateID"), path)
		if err != nil {
			return nil, err
		}
		rev, err := soap.Int(el, "RevisionNumber", path)
		if err != nil {
			return nil, err
		}
		out = append(out, catalog.Identity{UpdateID: id, RevisionNumber: int32(rev)})
	}
	return out, nil
}

// startCategoryScan applies the category-scan rule; it takes no cookie.
func (s *Services) startCategoryScan(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	var rels []scan.CategoryRelationship
	for _, el := range soap.Children(soap.Child(req.Body, "requestedCategories"), "CategoryRelationship") {
		idx, err := soap.Int(el, "IndexOfAndGroup", "requestedCategories")
		if err != nil {
			return nil, err
		}
		id, err := soap.GUID(soap.Text(el, "CategoryId"), "requestedCategories")
		if err != nil {
			return nil, err
		}
		rels = append(rels, scan.CategoryRelationship{IndexOfAndGroup: idx, CategoryID: id})
	}
	snap, err := s.cfg.Engine.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	preferred, inError, err := snap.StartCategoryScan(rels)
	if err != nil {
		return nil, soap.BadParameter("requestedCategories")
	}
	resp := req.NewResponse()
	addGUIDs(resp, "preferredCategoryIds", preferred)
	addGUIDs(resp, "requestedCategoryIdsInError", inError)
	return resp, nil
}

func addGUIDs(parent *etree.Element, name string, ids []uuid.UUID) {
	if len(ids) == 0 {
		return
	}
	arr := parent.CreateElement(name)
	for _, id := range ids {
		soap.Elem(arr, "guid", id.String())
	}
}
