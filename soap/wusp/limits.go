package wusp

import (
	"context"
	"errors"

	"wsus/catalog"
	"wsus/soap"
)

// Request limits per operation: what no real client exceeds, with room to
// spare. A request beyond them gets InvalidParameters before it is parsed.
// [I] Real WSUS (IIS/ASP.NET) refuses bodies over its maxRequestLength; its
// exact limits and answer were not observed.
var (
	// smallRequest: GetConfig, GetAuthorizationCookie, GetCookie, RegisterComputer,
	// StartCategoryScan. Real ones are 234 to 2,865 bytes with under 60
	// elements, so under 150 tags and attributes (captures scan/000001 to
	// 000008); a client asking for many target groups stays far below.
	smallRequest = soap.Limits{MaxBytes: 64 << 10, MaxMarkup: 2_000}
	// listRequest: RefreshCache (the client sends 200 identities at a time,
	// MS-WUSP.md section 3.3: about 600 elements), GetExtendedUpdateInfo(2)
	// (at most MaxExtendedUpdatesPerRequest revisions), GetFileLocations,
	// SyncPrinterCatalog.
	listRequest = soap.Limits{MaxBytes: 1 << 20, MaxMarkup: 20_000}
	// syncRequest: SyncUpdates. The cached-update arrays are taken out before
	// the markup is counted (soap.ExtractIntArrays), so the markup left is
	// the driver pass's SystemSpec: 1,978 '<' and 209 '=' for 70 devices
	// (capture scan/000009); 100,000 leaves room for 3,000 devices, or for
	// arrays of an unusual shape that stay in the tree. The 8 MiB cap leaves room for
	// about 140,000 cached update IDs across the three arrays.
	syncRequest = soap.Limits{MaxBytes: 8 << 20, MaxMarkup: 100_000}
	// reportRequest: ReportEventBatch, at most MaxEventsPerBatch events of
	// about 25 elements each, 50 tags (MS-WUSP.md section 7.1), plus the
	// MiscData strings of a status event.
	reportRequest = soap.Limits{MaxBytes: 4 << 20, MaxMarkup: 100 * MaxEventsPerBatch}
)

// MaxEventsPerBatch is the most events one ReportEventBatch may carry.
// [I] WUA sends the events of one scan or install together (147 + 156 after
// a scan, a few per installed update; MS-WUSP.md section 3.2); 1,000 leaves
// room for a client that was offline for weeks.
const MaxEventsPerBatch = 1_000

// MaxEventsPerDay is the per-computer budget of stored events over any 24
// hours. A batch that would pass it gets ServerBusy, so the client keeps its
// events and sends them later; it bounds the disk one cookie holder can
// fill. [I] A busy real client sends tens of events a day.
const MaxEventsPerDay = 5_000

// outageAware wraps an operation so that a store outage is answered with
// ServerBusy, which Windows retries soon, instead of InternalServerError,
// after which it waits hours (MS-WUSP.md section 3.3). It wraps both kinds
// of operations, soap.Operation and soap.RawOperation.
func outageAware[Response any](op func(context.Context, *soap.Request) (Response, error)) func(context.Context, *soap.Request) (Response, error) {
	return func(ctx context.Context, req *soap.Request) (Response, error) {
		resp, err := op(ctx, req)
		if err != nil && errors.Is(err, catalog.ErrUnavailable) {
			var none Response
			return none, &soap.Fault{Code: soap.ServerBusy, Message: "catalog store unavailable", Cause: err}
		}
		return resp, err
	}
}
