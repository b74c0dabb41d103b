package wusp

import "wsus/catalog/scan"

// ScanObserver is told the sizes of each SyncUpdates round the services
// answered (see Config.Scans). ObserveScan is called on the request's
// goroutine once the answer is built: it must not block.
type ScanObserver interface {
	ObserveScan(ScanSizes)
}

// ScanSizes is what one SyncUpdates round considered and returned.
type ScanSizes struct {
	// Drivers reports the driver pass (SkipSoftwareSync); false is the
	// software pass.
	Drivers bool
	// Cached counts the revisions the client said it caches: its
	// InstalledNonLeafUpdateIDs and OtherCachedUpdateIDs on the software
	// pass, its CachedDriverIDs on the driver pass.
	Cached int
	// NewUpdates and ChangedUpdates count the UpdateInfos the answer
	// carries; OutOfScope the OutOfScopeRevisionIDs.
	NewUpdates, ChangedUpdates, OutOfScope int
	// Truncated reports a page that ends before the client's scope does
	// (the client asks again).
	Truncated bool
	// CoreBytes is the size of the Core fragments the answer carries,
	// before escaping (what Config.MaxPageBytes bounds).
	CoreBytes int
}

// scanSizes measures a SyncUpdates round: req as decoded, res as fitted
// to the page, core the fragments written.
func scanSizes(req scan.SyncRequest, res scan.SyncResult, core map[int32]coreFragment) ScanSizes {
	sz := ScanSizes{
		Drivers:        req.Drivers,
		Cached:         len(req.InstalledNonLeaf) + len(req.OtherCached),
		NewUpdates:     len(res.NewUpdates),
		ChangedUpdates: len(res.ChangedUpdates),
		OutOfScope:     len(res.OutOfScope),
		Truncated:      res.Truncated,
	}
	if req.Drivers {
		sz.Cached = len(req.CachedDrivers)
	}
	for _, id := range updateIDs(res) {
		sz.CoreBytes += core[id].size
	}
	return sz
}
