package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/rules"
)

// This file is the rules and rings pages: the automatic approval rules
// with their conditions, their rings in order with each ring's gate and
// live status (what it would approve now, why it waits, why it paused
// itself), the automatic decline settings, and running the rules now or
// as a dry run. Everything is read and written through the rules API
// (catalog/admin/rules.go):
//
//	GET  /console/rules                  every rule, its rings' status, auto-decline
//	GET  /console/rules/new              the form of a new rule
//	GET  /console/rules/{id}             one rule's form and its rings
//	GET  /console/rules/{id}/rings/new   the form of a new ring of a rule
//	GET  /console/rings/{id}             one ring's form and status
//	POST /console/rules                  create a rule
//	POST /console/rules/{id}             replace a rule (If-Match: the form's ETag)
//	POST /console/rules/{id}/delete      delete a rule with its rings
//	POST /console/rules/{id}/rings       create a ring of a rule
//	POST /console/rings/{id}             replace a ring (If-Match)
//	POST /console/rings/{id}/delete      delete a ring
//	POST /console/rings/{id}/resume      resume a ring that paused itself
//	POST /console/autodecline            replace the auto-decline settings (If-Match)
//	POST /console/rules/run              run now, or plan (dry_run): answers the
//	                                     rules page with the run's report
//
// Edits are conditional: a form carries the ETag of what it showed and
// the write sends it as If-Match, so a change someone else made meanwhile
// is refused (412) with the API's reason rather than overwritten.

// routeRules registers the rules and rings pages.
func (c *Console) routeRules() {
	c.get("GET /console/rules", c.rulesPage)
	c.get("GET /console/rules/new", c.newRulePage)
	c.get("GET /console/rules/{id}", c.rulePage)
	c.get("GET /console/rules/{id}/rings/new", c.newRingPage)
	c.get("GET /console/rings/{id}", c.ringPage)
	c.post("POST /console/rules", c.createRule)
	c.post("POST /console/rules/{id}", c.replaceRule)
	c.post("POST /console/rules/{id}/delete", c.deleteRule)
	c.post("POST /console/rules/{id}/rings", c.createRing)
	c.post("POST /console/rings/{id}", c.replaceRing)
	c.post("POST /console/rings/{id}/delete", c.deleteRing)
	c.post("POST /console/rings/{id}/resume", c.resumeRing)
	c.post("POST /console/autodecline", c.setAutoDecline)
	c.postPage("POST /console/rules/run", "/console/rules", c.runRules)
}

// maxWaitingShown bounds the waiting updates listed per ring and in a
// run's report: with a large catalog a ring may wait on thousands; the
// page says how many more there are.
const maxWaitingShown = 20

// rulesData is the rules page's data.
type rulesData struct {
	Rules []ruleView
	// AutoDecline and AutoDeclineETag are the settings as the API answers
	// them and their ETag, which the edit form sends back.
	AutoDecline     admin.AutoDecline
	AutoDeclineETag string
	// Report is the answer of a run this page answers (POST
	// /console/rules/run); nil on GET.
	Report *reportView
}

// ruleView is a rule as the pages show it, with its rings in order and
// their status.
type ruleView struct {
	admin.Rule
	Rings []ringView
}

// ringView is a ring with its live status (GET /api/v1/rings/{id}/status),
// or why the status could not be read.
type ringView struct {
	admin.Ring
	Status      *admin.RingStatus
	StatusError string
}

// ProductsText, ClassificationsText and GroupsText say a rule's
// conditions and targets in words: an empty list of products or
// classifications is "any" (the API's meaning), of groups "none".
func (r ruleView) ProductsText() string        { return categoryText(r.Products) }
func (r ruleView) ClassificationsText() string { return categoryText(r.Classifications) }
func (r ruleView) GroupsText() string {
	if len(r.Groups) == 0 {
		return "none (only the rings approve)"
	}
	names := make([]string, 0, len(r.Groups))
	for _, g := range r.Groups {
		names = append(names, cmp.Or(g.Name, g.ID.String()))
	}
	return strings.Join(names, ", ")
}

// DeadlineText is the rule's deadline in words.
func (r ruleView) DeadlineText() string {
	if r.DeadlineDays == nil {
		return "none"
	}
	return fmt.Sprintf("%d days after approval", *r.DeadlineDays)
}

func categoryText(refs []admin.CategoryRef) string {
	if len(refs) == 0 {
		return "any"
	}
	names := make([]string, 0, len(refs))
	for _, c := range refs {
		names = append(names, cmp.Or(c.Title, c.ID.String()))
	}
	return strings.Join(names, ", ")
}

// DelayText is the ring's delay in words.
func (r ringView) DelayText() string { return ringDelayText(r.Ring) }

// GateText is the ring's gate in words.
func (r ringView) GateText() string { return ringGateText(r.Ring) }

func ringDelayText(r admin.Ring) string {
	from := "the update's release"
	if r.DelayFrom == "previous" {
		from = "the previous ring's approval"
	}
	return fmt.Sprintf("%d days after %s", r.DelayDays, from)
}

func ringGateText(r admin.Ring) string {
	g := r.Gate
	if g == nil {
		return "none"
	}
	s := fmt.Sprintf("at least %s%% of the previous ring installed it, and at least %d installs",
		strconv.FormatFloat(g.MinInstalledPercent, 'f', -1, 64), g.MinInstalls)
	if g.MaxFailedPercent != nil {
		s += fmt.Sprintf("; pauses itself above %s%% failed", strconv.FormatFloat(*g.MaxFailedPercent, 'f', -1, 64))
	}
	return s
}

// WaitingShown is the first maxWaitingShown updates the ring waits on;
// WaitingMore how many more there are.
func (r ringView) WaitingShown() []rules.Waiting {
	if r.Status == nil {
		return nil
	}
	return r.Status.Waiting[:min(len(r.Status.Waiting), maxWaitingShown)]
}

// WaitingMore is how many waiting updates WaitingShown leaves out.
func (r ringView) WaitingMore() int {
	if r.Status == nil {
		return 0
	}
	return max(len(r.Status.Waiting)-maxWaitingShown, 0)
}

// reportView is a run's report as the rules page shows it.
type reportView struct {
	rules.Report
	// Done is what the run did (or would do): approvals, declines and
	// pauses, in that order.
	Done []rules.Done
}

// WaitingShown is the first maxWaitingShown waiting entries.
func (r reportView) WaitingShown() []rules.Waiting {
	return r.Waiting[:min(len(r.Waiting), maxWaitingShown)]
}

// WaitingMore is how many waiting entries WaitingShown leaves out.
func (r reportView) WaitingMore() int { return max(len(r.Waiting)-maxWaitingShown, 0) }

// Summary is the report in one sentence.
func (r reportView) Summary() string { return reportSummary(r.Report) }

func reportSummary(rep rules.Report) string {
	if rep.Skipped != "" {
		return "The rules did not run: " + rep.Skipped + "."
	}
	verb := "Ran the rules: made"
	if rep.DryRun {
		verb = "Dry run, nothing changed: the rules would make"
	}
	return fmt.Sprintf("%s %d approvals and %d declines, %d rings paused; %d waiting.",
		verb, len(rep.Approved), len(rep.Declined), len(rep.Paused), len(rep.Waiting))
}

// rulesPage serves the rules page.
func (c *Console) rulesPage(q *request) error {
	d, err := loadRulesData(q)
	if err != nil {
		return err
	}
	return q.render("rules", "Rules and rings", "rules", d)
}

// loadRulesData reads every rule with its rings' status and the
// auto-decline settings.
func loadRulesData(q *request) (rulesData, error) {
	var d rulesData
	var list admin.RuleList
	if err := q.get("/api/v1/rules", nil, &list); err != nil {
		return d, err
	}
	for _, r := range list.Rules {
		v, err := ruleWithStatus(q, r)
		if err != nil {
			return d, err
		}
		d.Rules = append(d.Rules, v)
	}
	etag, err := q.tagged(http.MethodGet, "/api/v1/autodecline", "", nil, &d.AutoDecline)
	if err != nil {
		return d, err
	}
	d.AutoDeclineETag = etag
	return d, nil
}

// ruleWithStatus is r with its rings in order, each with its status. A
// status the API does not answer (this process runs no rules: 503) is
// shown with the API's reason; an ended session fails the page.
func ruleWithStatus(q *request, r admin.Rule) (ruleView, error) {
	v := ruleView{Rule: r}
	rings := slices.Clone(r.Rings)
	slices.SortStableFunc(rings, func(a, b admin.Ring) int { return cmp.Compare(a.Position, b.Position) })
	for _, ring := range rings {
		rv, err := ringWithStatus(q, ring)
		if err != nil {
			return v, err
		}
		v.Rings = append(v.Rings, rv)
	}
	return v, nil
}

// ringWithStatus reads ring's status.
func ringWithStatus(q *request, ring admin.Ring) (ringView, error) {
	rv := ringView{Ring: ring}
	var st admin.RingStatus
	switch err := q.get("/api/v1/rings/"+ring.ID.String()+"/status", nil, &st); {
	case err == nil:
		rv.Status = &st
		rv.Ring = st.Ring
	case statusOf(err) == http.StatusUnauthorized:
		return rv, err
	default:
		rv.StatusError = reasonOf(err)
	}
	return rv, nil
}

// runRules runs the rules (or plans them: the "dry_run" button) and
// answers the rules page with the API's report at its top. The report is
// rendered on the POST's answer rather than carried across a redirect:
// it lists every approval and every waiting update, far more than a
// flash cookie holds.
func (c *Console) runRules(q *request) error {
	var rep rules.Report
	dry := q.r.PostForm.Get("dry_run") != ""
	if err := q.api(http.MethodPost, "/api/v1/rules/run", nil, admin.RunRequest{DryRun: dry}, &rep); err != nil {
		return err
	}
	d, err := loadRulesData(q)
	if err != nil {
		return err
	}
	rv := reportView{Report: rep}
	rv.Done = append(append(append(rv.Done, rep.Approved...), rep.Declined...), rep.Paused...)
	d.Report = &rv
	f := flashOK(rv.Summary())
	if rep.Skipped != "" {
		f = flashError(rv.Summary())
	}
	if len(rep.Errors) > 0 {
		f = flashError(rv.Summary() + " Some actions failed; the next run tries them again: " + strings.Join(rep.Errors, "; "))
	}
	q.c.renderPage(q.w, q.r, q.s, http.StatusOK, "rules", "Rules and rings", "rules", d, f)
	return nil
}

// ruleData is the rule page's data: the form of a new rule (New) or of
// an existing one with its rings, and the choices the form offers.
type ruleData struct {
	New  bool
	Rule admin.Rule
	// ETag is the rule's, sent back as If-Match.
	ETag                      string
	Products, Classifications []admin.Category
	Groups                    []admin.Group
	Rings                     []ringView
	selected                  map[uuid.UUID]bool
}

// Selected tells whether the rule names the category or group id.
func (d ruleData) Selected(id uuid.UUID) bool { return d.selected[id] }

// DeadlineValue is the deadline field's value ("" when none).
func (d ruleData) DeadlineValue() string {
	if d.Rule.DeadlineDays == nil {
		return ""
	}
	return strconv.Itoa(*d.Rule.DeadlineDays)
}

// newRulePage serves the form of a new rule.
func (c *Console) newRulePage(q *request) error {
	d := ruleData{New: true, Rule: admin.Rule{Enabled: true, Action: "Install"}}
	if err := loadRuleChoices(q, &d); err != nil {
		return err
	}
	return q.render("rule", "New approval rule", "rules", d)
}

// rulePage serves one rule's form with its rings.
func (c *Console) rulePage(q *request) error {
	var d ruleData
	etag, err := q.tagged(http.MethodGet, "/api/v1/rules/"+url.PathEscape(q.r.PathValue("id")), "", nil, &d.Rule)
	if err != nil {
		return err
	}
	d.ETag = etag
	if err := loadRuleChoices(q, &d); err != nil {
		return err
	}
	v, err := ruleWithStatus(q, d.Rule)
	if err != nil {
		return err
	}
	d.Rings = v.Rings
	return q.render("rule", "Approval rule "+d.Rule.Name, "rules", d)
}

// loadRuleChoices reads the products, classifications and groups the rule
// form offers, and marks those d's rule names.
func loadRuleChoices(q *request, d *ruleData) error {
	var products, classes admin.CategoryList
	if err := q.get("/api/v1/products", nil, &products); err != nil {
		return err
	}
	if err := q.get("/api/v1/classifications", nil, &classes); err != nil {
		return err
	}
	var groups admin.GroupList
	if err := q.get("/api/v1/groups", nil, &groups); err != nil {
		return err
	}
	d.Products, d.Classifications, d.Groups = products.Categories, classes.Categories, groups.Groups
	d.selected = map[uuid.UUID]bool{}
	for _, c := range append(slices.Clone(d.Rule.Products), d.Rule.Classifications...) {
		d.selected[c.ID] = true
	}
	for _, g := range d.Rule.Groups {
		d.selected[g.ID] = true
	}
	return nil
}

// ruleRequest decodes the rule form into the API's request. Only the
// form's syntax is checked here (a number is a number); the API decides
// what is valid.
func ruleRequest(f url.Values) (admin.RuleRequest, error) {
	enabled := f.Get("enabled") != ""
	req := admin.RuleRequest{Name: f.Get("name"), Enabled: &enabled, Products: nonEmpty(f["products"]),
		Classifications: nonEmpty(f["classifications"]), Groups: nonEmpty(f["groups"]), Action: f.Get("action")}
	var err error
	req.DeadlineDays, err = optionalInt(f, "deadline_days", "Deadline (days)")
	return req, err
}

// nonEmpty is vs without its empty strings, never nil (the API reads an
// absent list as "any", as an empty one).
func nonEmpty(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

// optionalInt is the whole number in field key, nil when it is empty.
func optionalInt(f url.Values, key, label string) (*int, error) {
	s := strings.TrimSpace(f.Get(key))
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a whole number", label, s)
	}
	return &n, nil
}

// optionalFloat is the number in field key, nil when it is empty.
func optionalFloat(f url.Values, key, label string) (*float64, error) {
	s := strings.TrimSpace(f.Get(key))
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a number", label, s)
	}
	return &n, nil
}

// createRule creates a rule from the form and goes to its page.
func (c *Console) createRule(q *request) (string, flash, error) {
	req, err := ruleRequest(q.r.PostForm)
	if err != nil {
		return "", flash{}, err
	}
	var r admin.Rule
	if err := q.api(http.MethodPost, "/api/v1/rules", nil, req, &r); err != nil {
		return "", flash{}, err
	}
	return "/console/rules/" + r.ID.String(), flashOK("Created approval rule " + r.Name + "."), nil
}

// replaceRule replaces the rule with the form, if it is still the one
// the form showed.
func (c *Console) replaceRule(q *request) (string, flash, error) {
	req, err := ruleRequest(q.r.PostForm)
	if err != nil {
		return "", flash{}, err
	}
	var r admin.Rule
	path := "/api/v1/rules/" + url.PathEscape(q.r.PathValue("id"))
	if _, err := q.tagged(http.MethodPut, path, q.r.PostForm.Get("etag"), req, &r); err != nil {
		return "", flash{}, changedMeanwhile(err, "rule")
	}
	return "/console/rules/" + r.ID.String(), flashOK("Saved approval rule " + r.Name + "."), nil
}

// deleteRule deletes the rule with its rings.
func (c *Console) deleteRule(q *request) (string, flash, error) {
	var r admin.Rule
	path := "/api/v1/rules/" + url.PathEscape(q.r.PathValue("id"))
	if _, err := q.tagged(http.MethodDelete, path, q.r.PostForm.Get("etag"), nil, &r); err != nil {
		return "", flash{}, changedMeanwhile(err, "rule")
	}
	return "/console/rules", flashOK(fmt.Sprintf("Deleted approval rule %s with its %d rings.", r.Name, len(r.Rings))), nil
}

// ringData is the ring page's data: the form of a new ring of Rule (New)
// or of an existing ring with its status.
type ringData struct {
	New    bool
	Rule   admin.Rule
	Ring   ringView
	ETag   string
	Groups []admin.Group
}

// MinInstalledPercent, MinInstalls and MaxFailedPercent are the gate
// fields' values ("" when the ring has no gate, or no failure limit).
func (d ringData) MinInstalledPercent() string {
	if d.Ring.Gate == nil {
		return ""
	}
	return strconv.FormatFloat(d.Ring.Gate.MinInstalledPercent, 'f', -1, 64)
}

// MinInstalls is the gate's minimum installs field.
func (d ringData) MinInstalls() string {
	if d.Ring.Gate == nil {
		return ""
	}
	return strconv.Itoa(d.Ring.Gate.MinInstalls)
}

// MaxFailedPercent is the gate's failure limit field.
func (d ringData) MaxFailedPercent() string {
	if d.Ring.Gate == nil || d.Ring.Gate.MaxFailedPercent == nil {
		return ""
	}
	return strconv.FormatFloat(*d.Ring.Gate.MaxFailedPercent, 'f', -1, 64)
}

// newRingPage serves the form of a new ring of a rule, at the position
// after its last ring.
func (c *Console) newRingPage(q *request) error {
	d := ringData{New: true}
	if err := q.get("/api/v1/rules/"+url.PathEscape(q.r.PathValue("id")), nil, &d.Rule); err != nil {
		return err
	}
	d.Ring.Position = 1
	for _, r := range d.Rule.Rings {
		d.Ring.Position = max(d.Ring.Position, r.Position+1)
	}
	d.Ring.DelayFrom = "release"
	if err := loadGroups(q, &d); err != nil {
		return err
	}
	return q.render("ring", "New ring of "+d.Rule.Name, "rules", d)
}

// loadGroups reads the groups the ring form offers.
func loadGroups(q *request, d *ringData) error {
	var groups admin.GroupList
	if err := q.get("/api/v1/groups", nil, &groups); err != nil {
		return err
	}
	d.Groups = groups.Groups
	return nil
}

// ringPage serves one ring's form with its status.
func (c *Console) ringPage(q *request) error {
	var d ringData
	var ring admin.Ring
	etag, err := q.tagged(http.MethodGet, "/api/v1/rings/"+url.PathEscape(q.r.PathValue("id")), "", nil, &ring)
	if err != nil {
		return err
	}
	d.ETag = etag
	if d.Ring, err = ringWithStatus(q, ring); err != nil {
		return err
	}
	if err := q.get("/api/v1/rules/"+ring.RuleID.String(), nil, &d.Rule); err != nil {
		return err
	}
	if err := loadGroups(q, &d); err != nil {
		return err
	}
	return q.render("ring", "Ring "+ring.Name, "rules", d)
}

// ringRequest decodes the ring form into the API's request for the rule
// ruleID. The gate is nil when its three fields are empty.
func ringRequest(f url.Values, ruleID string) (admin.RingRequest, error) {
	req := admin.RingRequest{Name: f.Get("name"), Rule: ruleID, Group: f.Get("group"), DelayFrom: f.Get("delay_from")}
	pos, err := optionalInt(f, "position", "Position")
	if err != nil {
		return req, err
	}
	delay, err := optionalInt(f, "delay_days", "Delay (days)")
	if err != nil {
		return req, err
	}
	req.Position, req.DelayDays = deref(pos), deref(delay)
	minPct, err := optionalFloat(f, "min_installed_percent", "Minimum installed percent")
	if err != nil {
		return req, err
	}
	minN, err := optionalInt(f, "min_installs", "Minimum installs")
	if err != nil {
		return req, err
	}
	maxFailed, err := optionalFloat(f, "max_failed_percent", "Maximum failed percent")
	if err != nil {
		return req, err
	}
	if minPct != nil || minN != nil || maxFailed != nil {
		req.Gate = &catalog.RingGate{MinInstalledPercent: deref(minPct), MinInstalls: deref(minN), MaxFailedPercent: maxFailed}
	}
	return req, nil
}

// deref is *p, or T's zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// createRing creates a ring of the rule in the path and goes back to the
// rule's page.
func (c *Console) createRing(q *request) (string, flash, error) {
	req, err := ringRequest(q.r.PostForm, q.r.PathValue("id"))
	if err != nil {
		return "", flash{}, err
	}
	var r admin.Ring
	if err := q.api(http.MethodPost, "/api/v1/rings", nil, req, &r); err != nil {
		return "", flash{}, err
	}
	return "/console/rules/" + r.RuleID.String(), flashOK(fmt.Sprintf("Created ring %s of rule %s for group %s.", r.Name, r.Rule, r.Group)), nil
}

// replaceRing replaces the ring with the form, if it is still the one the
// form showed; the ring stays in its rule.
func (c *Console) replaceRing(q *request) (string, flash, error) {
	req, err := ringRequest(q.r.PostForm, q.r.PostForm.Get("rule"))
	if err != nil {
		return "", flash{}, err
	}
	var r admin.Ring
	path := "/api/v1/rings/" + url.PathEscape(q.r.PathValue("id"))
	if _, err := q.tagged(http.MethodPut, path, q.r.PostForm.Get("etag"), req, &r); err != nil {
		return "", flash{}, changedMeanwhile(err, "ring")
	}
	return "/console/rings/" + r.ID.String(), flashOK("Saved ring " + r.Name + "."), nil
}

// deleteRing deletes the ring and goes back to its rule's page.
func (c *Console) deleteRing(q *request) (string, flash, error) {
	var r admin.Ring
	path := "/api/v1/rings/" + url.PathEscape(q.r.PathValue("id"))
	if _, err := q.tagged(http.MethodDelete, path, q.r.PostForm.Get("etag"), nil, &r); err != nil {
		return "", flash{}, changedMeanwhile(err, "ring")
	}
	return "/console/rules/" + r.RuleID.String(), flashOK("Deleted ring " + r.Name + "."), nil
}

// resumeRing resumes a ring that paused itself; the failures that paused
// it are accepted (the API's semantics).
func (c *Console) resumeRing(q *request) (string, flash, error) {
	var r admin.Ring
	if err := q.api(http.MethodPost, "/api/v1/rings/"+url.PathEscape(q.r.PathValue("id"))+"/resume", nil, nil, &r); err != nil {
		return "", flash{}, err
	}
	return "", flashOK(fmt.Sprintf("Resumed ring %s; the failures of %d update(s) are accepted.", r.Name, len(r.Accepted))), nil
}

// setAutoDecline replaces the automatic decline settings with the form,
// if they are still the ones the form showed.
func (c *Console) setAutoDecline(q *request) (string, flash, error) {
	f := q.r.PostForm
	grace, err := optionalInt(f, "superseded_grace_days", "Grace period (days)")
	if err != nil {
		return "", flash{}, err
	}
	req := admin.AutoDecline{Superseded: f.Get("superseded") != "", SupersededGraceDays: deref(grace),
		Architectures: splitList(f.Get("architectures"), ","), Languages: splitList(f.Get("languages"), ","),
		Editions: splitList(f.Get("editions"), "\n")}
	if _, err := q.tagged(http.MethodPut, "/api/v1/autodecline", f.Get("etag"), req, nil); err != nil {
		return "", flash{}, changedMeanwhile(err, "setting")
	}
	return "/console/rules#autodecline", flashOK("Saved the automatic decline settings."), nil
}

// splitList splits a field's text at sep, trimming entries and dropping
// empty ones; never nil.
func splitList(s, sep string) []string {
	out := []string{}
	for _, v := range strings.Split(s, sep) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
