package wsusss

import (
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/google/uuid"

	"wsus/soap"
)

// GetDeploymentsRequest asks a replica's upstream for its target groups
// and approvals ([MS-WSUSSS] 3.1.4.10): cookie, deploymentAnchor (the last
// answer's Anchor; omitted the first time, as in the spec's Sample 2) and
// syncAnchor (MUST be the Anchor of the last GetRevisionIdList for
// updates). Shape as in mswsusss-spec-example-GetDeployments.xml.
func GetDeploymentsRequest(cookie Cookie, deploymentAnchor, syncAnchor string) Request {
	doc, el := newRequest(NSServerSync, "GetDeployments")
	addCookie(el, "cookie", cookie)
	if deploymentAnchor != "" {
		soap.Elem(el, "deploymentAnchor", deploymentAnchor)
	}
	soap.Elem(el, "syncAnchor", syncAnchor)
	return finish(doc, NSServerSync, "GetDeployments")
}

// Deployments is ServerSyncDeploymentResult, the GetDeployments answer
// ([MS-WSUSSS] 3.1.4.10; sample mswsusss-spec-example-GetDeployments.xml).
type Deployments struct {
	// Anchor is the deploymentAnchor of the next call.
	Anchor string
	// Groups are the upstream's target groups, the built-in ones included.
	Groups []TargetGroup
	// Deployments are the approvals changed since the deployment anchor.
	Deployments []Deployment
	// DeadDeployments are the DeploymentGuids of approvals removed since.
	DeadDeployments []uuid.UUID
	// HiddenUpdates (declined updates) and AcceptedEulas are full lists,
	// whatever the anchor.
	HiddenUpdates []uuid.UUID
	AcceptedEulas []uuid.UUID
}

// TargetGroup is one ServerSyncTargetGroup. ParentGroupID is uuid.Nil for
// the root (and absent in the sample for "Unassigned Computers").
type TargetGroup struct {
	ID            uuid.UUID
	ParentGroupID uuid.UUID
	Name          string
	IsBuiltin     bool
}

// Deployment actions of ServerSyncDeployment/Action ([MS-WSUSSS] 2.2.5.x).
const (
	ActionInstall   int32 = 0
	ActionUninstall int32 = 1
	ActionScan      int32 = 2
	ActionBlock     int32 = 3
)

// NoDeadline is the Deadline of a deployment without one.
var NoDeadline = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)

// Deployment is one ServerSyncDeployment.
type Deployment struct {
	Update UpdateIdentity
	// Action is ActionInstall, ActionUninstall, ActionScan or ActionBlock.
	Action    int32
	AdminName string
	// Deadline is NoDeadline when there is none.
	Deadline   time.Time
	IsAssigned bool
	GoLiveTime time.Time
	ID         uuid.UUID
	GroupID    uuid.UUID
	// DownloadPriority is 1 to 3.
	DownloadPriority int32
}

// ParseGetDeploymentsResponse reads a GetDeployments answer, fields by name.
func ParseGetDeploymentsResponse(body []byte) (*Deployments, error) {
	const op = "GetDeployments"
	res, err := requiredResult(op, NSServerSync, body)
	if err != nil {
		return nil, err
	}
	r := fields{op: op, el: res}
	d := &Deployments{Anchor: r.text("Anchor", true)}
	for _, it := range items(res, "Groups") {
		g := fields{op: op, el: it}
		tg := TargetGroup{ID: g.guid("TargetGroupID"), Name: g.text("Name", true), IsBuiltin: g.bool("IsBuiltin", false)}
		if soap.Text(it, "ParentGroupId") != "" {
			tg.ParentGroupID = g.guid("ParentGroupId")
		}
		d.Groups = append(d.Groups, tg)
		r.merge(g)
	}
	for _, it := range items(res, "Deployments") {
		f := fields{op: op, el: it}
		dep := Deployment{
			Update:           UpdateIdentity{UpdateID: f.guid("UpdateId"), RevisionNumber: f.int("RevisionNumber", true)},
			Action:           f.int("Action", true),
			AdminName:        f.text("AdminName", false),
			Deadline:         f.time("Deadline", false),
			IsAssigned:       f.bool("IsAssigned", false),
			GoLiveTime:       f.time("GoLiveTime", false),
			ID:               f.guid("DeploymentGuid"),
			GroupID:          f.guid("TargetGroupId"),
			DownloadPriority: f.int("DownloadPriority", false),
		}
		if dep.Deadline.IsZero() {
			dep.Deadline = NoDeadline
		}
		d.Deployments = append(d.Deployments, dep)
		r.merge(f)
	}
	d.DeadDeployments = r.guids(res, "DeadDeployments")
	d.HiddenUpdates = r.guids(res, "HiddenUpdates")
	d.AcceptedEulas = r.guids(res, "AcceptedEulas")
	if r.err != nil {
		return nil, r.err
	}
	return d, nil
}

// merge keeps the first error of a child's fields.
func (r *fields) merge(child fields) {
	if r.err == nil {
		r.err = child.err
	}
}

// guids reads an ArrayOfGuid child.
func (r *fields) guids(el *etree.Element, name string) []uuid.UUID {
	var out []uuid.UUID
	for _, it := range items(el, name) {
		id, err := uuid.Parse(strings.TrimSpace(it.Text()))
		if err != nil {
			r.fail("%s/%s: %q is not a GUID", el.Tag, name, it.Text())
			continue
		}
		out = append(out, id)
	}
	return out
}
