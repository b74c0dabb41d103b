package syncer

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/sync/wsusss"
)

// replica mirrors the upstream's target groups, approvals and declines
// (WSUS's replica mode; [MS-WSUSSS] 3.1.4.10).
//
// [I] Every run asks for the whole list (no deploymentAnchor) and makes the
// catalog equal to it: approvals the upstream no longer has are removed,
// declines it no longer has are lifted. The spec allows that call at any
// time; it makes a run that was killed halfway, or an admin's local change,
// converge on the next run without remembering which DeploymentGuid stood
// for which approval. Approvals equal to the stored ones are not written
// again, so clients see no change that did not happen. Target groups the
// upstream deleted stay (the store cannot delete groups yet).
func (r *runner) replica(ctx context.Context) error {
	if !r.settings.Replica {
		return nil
	}
	r.update(func(run *catalog.SyncRun) { run.Phase, run.Done, run.Total = "approvals", 0, 0 })
	d, err := r.up.GetDeployments(ctx, "", r.state.UpdateAnchor)
	if err != nil {
		return err
	}
	if err := r.mirrorGroups(ctx, d.Groups); err != nil {
		return fmt.Errorf("replica mode: %w", err)
	}
	if err := r.mirrorApprovals(ctx, d.Deployments); err != nil {
		return fmt.Errorf("replica mode: %w", err)
	}
	if err := r.mirrorDeclines(ctx, d.HiddenUpdates); err != nil {
		return fmt.Errorf("replica mode: %w", err)
	}
	r.state.DeploymentAnchor = d.Anchor
	if err := r.store.SetSyncState(ctx, r.state); err != nil {
		return fmt.Errorf("replica mode: store the anchor: %w", err)
	}
	return nil
}

// mirrorGroups creates the upstream's groups missing here, parents first.
func (r *runner) mirrorGroups(ctx context.Context, groups []wsusss.TargetGroup) error {
	stored, err := r.store.TargetGroups(ctx)
	if err != nil {
		return fmt.Errorf("target groups: %w", err)
	}
	have := map[uuid.UUID]bool{}
	for _, g := range stored {
		have[g.ID] = true
	}
	for progress := true; progress; {
		progress = false
		for _, g := range groups {
			if have[g.ID] || g.IsBuiltin {
				continue
			}
			parent := g.ParentGroupID
			if parent == uuid.Nil {
				parent = catalog.AllComputersGroupID
			}
			if !have[parent] {
				continue // its parent first
			}
			if err := r.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: g.ID, Name: g.Name, ParentID: parent}); err != nil {
				return fmt.Errorf("create target group %q: %w", g.Name, err)
			}
			have[g.ID], progress = true, true
		}
	}
	for _, g := range groups {
		if !have[g.ID] && !g.IsBuiltin {
			return fmt.Errorf("target group %q: its parent %s is not among the upstream's groups", g.Name, g.ParentGroupID)
		}
	}
	return nil
}

// approvalKey names an approval: one per update and group.
type approvalKey struct{ update, group uuid.UUID }

// mirrorApprovals makes the approvals equal to the upstream's deployments.
// [I] Install deployments that are not assigned are optional installs
// (IsAssigned false: "offered to the user, not installed automatically");
// Scan and Block deployments have no approval equivalent here and are
// skipped.
func (r *runner) mirrorApprovals(ctx context.Context, deps []wsusss.Deployment) error {
	stored, err := r.store.Approvals(ctx)
	if err != nil {
		return fmt.Errorf("approvals: %w", err)
	}
	current := map[approvalKey]catalog.Approval{}
	for _, a := range stored {
		current[approvalKey{a.UpdateID, a.GroupID}] = a
	}
	want := map[approvalKey]bool{}
	for _, d := range deps {
		a := catalog.Approval{UpdateID: d.Update.UpdateID, GroupID: d.GroupID, By: d.AdminName}
		switch {
		case d.Action == wsusss.ActionInstall && d.IsAssigned:
			a.Action = catalog.ActionInstall
		case d.Action == wsusss.ActionInstall:
			a.Action = catalog.ActionOptionalInstall
		case d.Action == wsusss.ActionUninstall:
			a.Action = catalog.ActionUninstall
		default:
			r.s.log.Info("syncer: replica: deployment action without equivalent skipped", "update", d.Update.UpdateID, "action", d.Action)
			continue
		}
		if !d.Deadline.Equal(wsusss.NoDeadline) {
			a.Deadline = d.Deadline
		}
		if a.By == "" {
			a.By = "upstream"
		}
		k := approvalKey{a.UpdateID, a.GroupID}
		want[k] = true
		if c, ok := current[k]; ok && c.Action == a.Action && c.Deadline.Equal(a.Deadline) {
			continue
		}
		if _, err := r.store.SetApproval(ctx, a); err != nil {
			return fmt.Errorf("approve %s for group %s: %w", a.UpdateID, a.GroupID, err)
		}
	}
	for k, a := range current {
		if want[k] {
			continue
		}
		a.Action = catalog.ActionNotApproved
		if _, err := r.store.SetApproval(ctx, a); err != nil {
			return fmt.Errorf("remove the approval of %s for group %s: %w", a.UpdateID, a.GroupID, err)
		}
	}
	return nil
}

// mirrorDeclines declines the upstream's hidden updates and lifts declines
// it does not have.
func (r *runner) mirrorDeclines(ctx context.Context, hidden []uuid.UUID) error {
	states, err := r.store.UpdateStates(ctx)
	if err != nil {
		return fmt.Errorf("declines: %w", err)
	}
	declined := map[uuid.UUID]bool{}
	for _, st := range states {
		declined[st.UpdateID] = st.Declined
	}
	want := map[uuid.UUID]bool{}
	for _, id := range hidden {
		want[id] = true
		if declined[id] || !r.software[id] {
			continue // already, or not in this catalog
		}
		if err := r.store.SetDeclined(ctx, id, true); err != nil {
			return fmt.Errorf("decline %s: %w", id, err)
		}
	}
	for id, d := range declined {
		// Updates the upstream expired stay declined (declineExpired).
		if d && !want[id] && !r.expired[id] {
			if err := r.store.SetDeclined(ctx, id, false); err != nil {
				return fmt.Errorf("un-decline %s: %w", id, err)
			}
		}
	}
	return nil
}
