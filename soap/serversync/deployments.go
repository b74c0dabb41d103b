package serversync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
)

// noDeadline is the Deadline of a deployment without one ([MS-WSUSSS]
// 3.1.4.10; mswsusss-spec-example-GetDeployments.xml).
const noDeadline = "9999-12-31T23:59:59.9999999"

// deploymentTimeLayout writes Deadline and GoLiveTime as the spec's example
// does ("2006-05-24T15:37:08.887": UTC, no zone, up to 7 fractional digits).
const deploymentTimeLayout = "2006-01-02T15:04:05.9999999"

// Deployment actions of ServerSyncDeployment ([MS-WSUSSS] 3.1.4.10).
const (
	actionInstall   = 0
	actionUninstall = 1
)

// adminNameDefault is the AdminName of an approval that names no admin:
// what WSUS writes for its own (mswsusss-spec-example-GetDeployments.xml).
const adminNameDefault = "WUS Server"

// getDeployments answers ServerSyncDeploymentResult for a replica DSS
// ([MS-WSUSSS] 3.1.4.10), in the order and spelling of the spec's example
// (mswsusss-spec-example-GetDeployments.xml; no real answer was recorded):
//   - Anchor: this server's change sequence now.
//   - Groups: every target group, the built-in "All Computers" and
//     "Unassigned Computers" included with IsBuiltin true (the example
//     lists both); ParentGroupId always written, the nil GUID for the root
//     (the example writes it for "All Computers").
//   - Deployments: one per approval in force of an update not declined, for
//     the update's newest published revision (the one clients are offered),
//     else its newest. Action: Install 0, Uninstall 1; [I] OptionalInstall,
//     which the protocol cannot name, is Install with IsAssigned false (an
//     update offered but not assigned: what "optional" means to a
//     client). Deadline 9999-12-31T23:59:59.9999999 when none; AdminName
//     the approving admin or "WUS Server"; GoLiveTime when the approval was
//     set; DeploymentGuid [I] a name-based GUID of this installation and the
//     approval's deployment ID (stable across replicas, new when the
//     approval is replaced); DownloadPriority [I] 1, as every deployment of
//     the example.
//   - DeadDeployments: [I] always empty. The store keeps no history of
//     removed approvals, so they cannot be named; every call lists all
//     deployments in force instead of those changed since
//     deploymentAnchor, so a DSS that replaces its deployments with the
//     list loses none and keeps none too many.
//   - HiddenUpdates: every declined update (the spec's full list).
//   - AcceptedEulas: the full list; this server records no EULA acceptance,
//     so it is empty.
//
// deploymentAnchor and syncAnchor must be this server's anchors when
// present (InvalidParameters naming the parameter [I]; ServerChanged when
// ahead of the change sequence, anchor.fromHere); they select nothing.
func (s *Services) getDeployments(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	if _, err := s.openSession(ctx, req); err != nil {
		return nil, err
	}
	var anchors []anchor
	for _, name := range []string{"deploymentAnchor", "syncAnchor"} {
		if text := soap.Text(req.Body, name); text != "" {
			a, err := parseAnchor(text)
			if err != nil {
				return nil, soap.BadParameter(name)
			}
			anchors = append(anchors, a)
		}
	}
	x, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range anchors {
		if err := a.fromHere(x.seq); err != nil {
			return nil, err
		}
	}
	groups, err := s.store.TargetGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: target groups: %w", err)
	}
	approvals, err := s.store.Approvals(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: approvals: %w", err)
	}
	states, err := s.store.UpdateStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: update states: %w", err)
	}
	declined := map[uuid.UUID]bool{}
	var hidden []uuid.UUID
	for _, st := range states {
		if st.Declined && !declined[st.UpdateID] {
			declined[st.UpdateID] = true
			hidden = append(hidden, st.UpdateID)
		}
	}
	slices.SortFunc(approvals, func(a, b catalog.Approval) int { return int(a.ID) - int(b.ID) })

	resp := req.NewResponse()
	res := resp.CreateElement("GetDeploymentsResult")
	soap.Elem(res, "Anchor", anchor{seq: x.seq, at: s.now()}.String())
	ge := res.CreateElement("Groups")
	for _, g := range groups {
		e := ge.CreateElement("ServerSyncTargetGroup")
		soap.Elem(e, "TargetGroupID", g.ID.String())
		soap.Elem(e, "ParentGroupId", g.ParentID.String())
		soap.Elem(e, "Name", g.Name)
		builtin := g.ID == catalog.AllComputersGroupID || g.ID == catalog.UnassignedComputersGroupID
		soap.Elem(e, "IsBuiltin", soap.BoolText(builtin))
	}
	de := res.CreateElement("Deployments")
	for _, a := range approvals {
		rev, ok := x.offered(a.UpdateID)
		if !ok || declined[a.UpdateID] {
			continue
		}
		action, assigned := actionInstall, true
		switch a.Action {
		case catalog.ActionInstall:
		case catalog.ActionOptionalInstall:
			assigned = false
		case catalog.ActionUninstall:
			action = actionUninstall
		default:
			continue
		}
		deadline := noDeadline
		if !a.Deadline.IsZero() {
			deadline = a.Deadline.UTC().Format(deploymentTimeLayout)
		}
		admin := a.By
		if admin == "" {
			admin = adminNameDefault
		}
		e := de.CreateElement("ServerSyncDeployment")
		soap.Elem(e, "UpdateId", a.UpdateID.String())
		soap.Elem(e, "RevisionNumber", strconv.FormatInt(int64(rev.RevisionNumber), 10))
		soap.Elem(e, "Action", strconv.Itoa(action))
		soap.Elem(e, "AdminName", admin)
		soap.Elem(e, "Deadline", deadline)
		soap.Elem(e, "IsAssigned", soap.BoolText(assigned))
		soap.Elem(e, "GoLiveTime", goLive(a.ChangedAt))
		soap.Elem(e, "DeploymentGuid", s.deploymentGUID(a.ID).String())
		soap.Elem(e, "TargetGroupId", a.GroupID.String())
		soap.Elem(e, "DownloadPriority", "1")
	}
	res.CreateElement("DeadDeployments")
	he := res.CreateElement("HiddenUpdates")
	for _, id := range hidden {
		soap.Elem(he, "guid", id.String())
	}
	res.CreateElement("AcceptedEulas")
	return resp, nil
}

// goLive writes an approval's time as a GoLiveTime.
func goLive(t time.Time) string { return t.UTC().Format(deploymentTimeLayout) }

// offered returns the revision of an update clients are offered: its
// newest published revision, else its newest.
func (x *index) offered(updateID uuid.UUID) (catalog.Summary, bool) {
	i, ok := x.latest[updateID]
	if !ok {
		return catalog.Summary{}, false
	}
	best := -1
	for _, j := range x.byUpdate[updateID] {
		sm := &x.sums[j]
		if sm.PublicationState != "Expired" &&
			(best < 0 || x.sums[best].RevisionNumber < sm.RevisionNumber) {
			best = j
		}
	}
	if best < 0 {
		best = i
	}
	return x.sums[best], true
}

// deploymentGUID names an approval's deployment: a SHA-1 name-based GUID
// of this installation's ID and the deployment ID.
func (s *Services) deploymentGUID(id int32) uuid.UUID {
	return uuid.NewSHA1(s.info.ID, []byte("deployment:"+strconv.FormatInt(int64(id), 10)))
}
