package wusp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/soap"
	"wsus/soap/cookie"
)

// Event IDs that carry update status (MS-WUSP.md section 7.2).
const (
	eventStatus            = 156
	eventInstallFailed     = 182
	eventInstallSucceeded  = 183
	eventInstallNeedReboot = 184
)

// statusLists maps the MiscData tags of a 156 status event to the state of
// the updates they list (MS-WUSP.md section 7.3).
var statusLists = map[string]catalog.InstallState{
	"U": catalog.StateNotInstalled,
	"V": catalog.StateInstalled,
	"W": catalog.StateInstalledPendingReboot,
	"g": catalog.StateFailed,
	"h": catalog.StateDownloaded,
}

// reportEventBatch stores a batch of reporting events together with the
// per-update status they imply, in one store transaction and once per
// EventInstanceID, and answers true. A batch that fails to store leaves
// nothing behind, so the client's retry derives the status in full.
func (s *Services) reportEventBatch(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	items := soap.Children(soap.Child(req.Body, "eventBatch"), "ReportingEvent")
	if len(items) > MaxEventsPerBatch {
		return nil, soap.Errorf(soap.InvalidParameters, "eventBatch: %d events, at most %d", len(items), MaxEventsPerBatch)
	}
	events := make([]catalog.Event, 0, len(items))
	for i, el := range items {
		ev, err := decodeEvent(el, fmt.Sprintf("eventBatch[%d]", i))
		if err != nil {
			return nil, err
		}
		ev.ClientID = sess.ClientID
		events = append(events, ev)
	}
	now := s.now().UTC()
	recent, err := s.cfg.Store.CountEvents(ctx, sess.ClientID, now.Add(-24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("wusp: count events: %w", err)
	}
	if recent+len(events) > MaxEventsPerDay {
		// The client keeps the events and sends them again later.
		return nil, soap.Errorf(soap.ServerBusy, "computer %s passed its budget of %d events a day", sess.ClientID, MaxEventsPerDay)
	}
	changes, err := s.statusChanges(ctx, sess, events)
	if err != nil {
		return nil, err
	}
	report := catalog.Report{ClientID: sess.ClientID, Events: events, Changes: changes, At: now}
	if _, err := s.cfg.Store.StoreReport(ctx, report); err != nil {
		return nil, fmt.Errorf("wusp: store report: %w", err)
	}
	resp := req.NewResponse()
	soap.Elem(resp, "ReportEventBatchResult", "true")
	return resp, nil
}

// decodeEvent reads one ReportingEvent.
func decodeEvent(el *etree.Element, path string) (catalog.Event, error) {
	basic := soap.Child(el, "BasicData")
	if basic == nil {
		return catalog.Event{}, soap.BadParameter(path + ".BasicData")
	}
	var ev catalog.Event
	var err error
	if ev.InstanceID, err = soap.GUID(soap.Text(basic, "EventInstanceID"), path+".EventInstanceID"); err != nil {
		return ev, err
	}
	if ev.EventID, err = soap.Int(basic, "EventID", path+".EventID"); err != nil {
		return ev, err
	}
	if ev.SourceID, err = soap.Int(basic, "SourceID", path+".SourceID"); err != nil {
		return ev, err
	}
	if ev.TimeAtTarget, err = soap.Time(basic, "TimeAtTarget", path+".TimeAtTarget"); err != nil {
		return ev, err
	}
	hr, err := soap.Int(basic, "Win32HResult", path+".Win32HResult")
	if err != nil {
		return ev, err
	}
	ev.Win32HResult = int32(hr)
	if u := soap.Child(basic, "UpdateID"); u != nil {
		if ev.UpdateID, err = soap.GUID(soap.Text(u, "UpdateID"), path+".UpdateID"); err != nil {
			return ev, err
		}
		rev, err := soap.Int(u, "RevisionNumber", path+".UpdateID.RevisionNumber")
		if err != nil {
			return ev, err
		}
		ev.RevisionNumber = int32(rev)
	}
	ev.AppName = soap.Text(basic, "AppName")
	if ext := soap.Child(el, "ExtendedData"); ext != nil {
		ev.Replacement = soap.Strings(ext, "ReplacementStrings")
		ev.MiscData = soap.Strings(ext, "MiscData")
	}
	return ev, nil
}

// statusChanges applies the WSUS status rules (MS-WUSP.md section 7.4): a
// 156 replaces the computer's states (U needed, V installed, W pending
// reboot, g failed, h downloaded; every other update deployed to it for
// install or detection becomes NotApplicable), and 182/183/184 change one
// update between status reports, a 182 carrying its Win32HResult as the
// failed state's ErrorCode. Changes apply in TimeAtTarget order.
func (s *Services) statusChanges(ctx context.Context, sess cookie.Session, events []catalog.Event) ([]catalog.StatusChange, error) {
	ordered := slices.Clone(events)
	slices.SortStableFunc(ordered, func(a, b catalog.Event) int { return a.TimeAtTarget.Compare(b.TimeAtTarget) })
	var changes []catalog.StatusChange
	for _, ev := range ordered {
		switch ev.EventID {
		case eventStatus:
			statuses, err := s.statusReport(ctx, sess, ev)
			if err != nil {
				return nil, err
			}
			changes = append(changes, catalog.StatusChange{Event: ev.InstanceID, Statuses: statuses, Replace: true})
		case eventInstallFailed, eventInstallSucceeded, eventInstallNeedReboot:
			if ev.UpdateID == uuid.Nil {
				continue
			}
			state := map[int]catalog.InstallState{
				eventInstallFailed:     catalog.StateFailed,
				eventInstallSucceeded:  catalog.StateInstalled,
				eventInstallNeedReboot: catalog.StateInstalledPendingReboot,
			}[ev.EventID]
			st := catalog.UpdateStatus{ClientID: sess.ClientID, UpdateID: ev.UpdateID, State: state, ChangedAt: ev.TimeAtTarget}
			if ev.EventID == eventInstallFailed {
				// The failure's HRESULT, as the WSUS console shows it
				// next to a failed update; a later 156 listing the
				// update as failed keeps it (catalog.UpdateStatus).
				st.ErrorCode = ev.Win32HResult
			}
			changes = append(changes, catalog.StatusChange{Event: ev.InstanceID, Statuses: []catalog.UpdateStatus{st}})
		}
	}
	return changes, nil
}

// statusReport turns one 156 event into the computer's full status set.
func (s *Services) statusReport(ctx context.Context, sess cookie.Session, ev catalog.Event) ([]catalog.UpdateStatus, error) {
	listed := map[uuid.UUID]catalog.InstallState{}
	for _, md := range ev.MiscData {
		tag, value, ok := strings.Cut(md, "=")
		state, known := statusLists[tag]
		if !ok || !known {
			continue
		}
		for _, g := range strings.Split(value, ";") {
			if id, err := uuid.Parse(strings.TrimSpace(g)); err == nil {
				listed[id] = state
			}
		}
	}
	snap, scope, err := s.clientScope(ctx, sess)
	if err != nil {
		return nil, err
	}
	for id, d := range scope.All() {
		r, _ := snap.Revision(id)
		if r.Type != catalog.TypeSoftware || (d.Action != scan.Install && d.Action != scan.Uninstall && d.Action != scan.PreDeploymentCheck) {
			continue
		}
		if _, ok := listed[r.UpdateID]; !ok {
			listed[r.UpdateID] = catalog.StateNotApplicable
		}
	}
	out := make([]catalog.UpdateStatus, 0, len(listed))
	for id, state := range listed {
		out = append(out, catalog.UpdateStatus{ClientID: sess.ClientID, UpdateID: id, State: state, ChangedAt: ev.TimeAtTarget})
	}
	slices.SortFunc(out, func(a, b catalog.UpdateStatus) int { return strings.Compare(a.UpdateID.String(), b.UpdateID.String()) })
	return out, nil
}
