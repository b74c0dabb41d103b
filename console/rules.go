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
//
// A rule, ring or auto-decline form the API refuses (400, 409, 412), or
// whose number the console cannot read, is answered with its page again,
// with the API's status, its reason in the flash and what the person
// typed still in the fields (postForm), rather than a redirect that
// would lose it. Other failures go back as every form's do.
//
// The pages read every ring's status from one plan of the rules (GET
// /api/v1/rings/status): a plan loads and decides the whole catalog, and
// the per-ring read costs one per ring.

// routeRules registers the rules and rings pages.
func (c *Console) routeRules() {
	c.get("GET /console/rules", c.rulesPage)
	c.get("GET /console/rules/new", c.newRulePage)
	c.get("GET /console/rules/{id}", c.rulePage)
	c.get("GET /console/rules/{id}/rings/new", c.newRingPage)
	c.get("GET /console/rings/{id}", c.ringPage)
	c.postForm("POST /console/rules", c.createRule, c.newRuleAgain)
	c.postForm("POST /console/rules/{id}", c.replaceRule, c.ruleAgain)
	c.post("POST /console/rules/{id}/delete", c.deleteRule)
	c.postForm("POST /console/rules/{id}/rings", c.createRing, c.newRingAgain)
	c.postForm("POST /console/rings/{id}", c.replaceRing, c.ringAgain)
	c.post("POST /console/rings/{id}/delete", c.deleteRing)
	c.post("POST /console/rings/{id}/resume", c.resumeRing)
	c.postForm("POST /console/autodecline", c.setAutoDecline, c.autoDeclineAgain)
	c.postPage("POST /console/rules/run", "/console/rules", c.runRules)
}

// maxWaitingShown bounds the updates listed per ring (approved at the
// next run, waiting) and the waiting ones in a run's report: with a large
// catalog a ring may wait on thousands; the page says how many more there
// are. The API cuts the rings' lists (?limit).
const maxWaitingShown = 20

// rulesData is the rules page's data.
type rulesData struct {
	Rules []ruleView
	// AutoDecline and AutoDeclineETag are the settings as the API answers
	// them and their ETag, which the edit form sends back.
	AutoDecline     admin.AutoDecline
	AutoDeclineETag string
	// AutoDeclineForm is what the settings' form shows: the settings, or
	// what the person typed when the API refused it (Stale: because they
	// changed meanwhile).
	AutoDeclineForm autoDeclineForm
	Stale           bool
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

// ringView is a ring with its live status (GET /api/v1/rings/status, cut
// to maxWaitingShown per list), or why the status could not be read.
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
	return max(r.Status.WaitingTotal-len(r.WaitingShown()), 0)
}

// ApprovesShown is the first maxWaitingShown updates the ring approves
// at the next run; ApprovesMore how many more there are.
func (r ringView) ApprovesShown() []rules.Done {
	if r.Status == nil {
		return nil
	}
	return r.Status.Approves[:min(len(r.Status.Approves), maxWaitingShown)]
}

// ApprovesMore is how many approvals ApprovesShown leaves out.
func (r ringView) ApprovesMore() int {
	if r.Status == nil {
		return 0
	}
	return max(r.Status.ApprovesTotal-len(r.ApprovesShown()), 0)
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
	statuses, err := readRingStatuses(q)
	if err != nil {
		return d, err
	}
	for _, r := range list.Rules {
		d.Rules = append(d.Rules, statuses.rule(r))
	}
	etag, err := q.tagged(http.MethodGet, "/api/v1/autodecline", "", nil, &d.AutoDecline)
	if err != nil {
		return d, err
	}
	d.AutoDeclineETag = etag
	d.AutoDeclineForm = autoDeclineFormOf(d.AutoDecline)
	return d, nil
}

// ringStatuses is every ring's status, read at once; or, when the API
// answers none (this process runs no rules: 503), its reason.
type ringStatuses struct {
	byRing map[uuid.UUID]admin.RingStatus
	err    string
}

// readRingStatuses reads every ring's status from one plan of the rules,
// each list cut to maxWaitingShown. A status the API does not answer is
// shown with the API's reason; an ended session fails the page.
func readRingStatuses(q *request) (ringStatuses, error) {
	var list admin.RingStatusList
	switch err := q.get("/api/v1/rings/status", url.Values{"limit": {strconv.Itoa(maxWaitingShown)}}, &list); {
	case err == nil:
	case statusOf(err) == http.StatusUnauthorized:
		return ringStatuses{}, err
	default:
		return ringStatuses{err: reasonOf(err)}, nil
	}
	out := ringStatuses{byRing: make(map[uuid.UUID]admin.RingStatus, len(list.Rings))}
	for _, st := range list.Rings {
		out.byRing[st.Ring.ID] = st
	}
	return out, nil
}

// rule is r with its rings in order, each with its status.
func (s ringStatuses) rule(r admin.Rule) ruleView {
	v := ruleView{Rule: r}
	rings := slices.Clone(r.Rings)
	slices.SortStableFunc(rings, func(a, b admin.Ring) int { return cmp.Compare(a.Position, b.Position) })
	for _, ring := range rings {
		v.Rings = append(v.Rings, s.ring(ring))
	}
	return v
}

// ring is ring with its status: the ring as the status read it (its
// pause may be newer than the list's); a ring created since has none.
func (s ringStatuses) ring(ring admin.Ring) ringView {
	rv := ringView{Ring: ring}
	st, ok := s.byRing[ring.ID]
	switch {
	case s.err != "":
		rv.StatusError = s.err
	case !ok:
		rv.StatusError = "the ring is newer than the plan; reload the page"
	default:
		rv.Status = &st
		rv.Ring = st.Ring
	}
	return rv
}

// ringWithStatus reads one ring's status (GET /api/v1/rings/{id}/status):
// the ring's page, which shows no other.
func ringWithStatus(q *request, ring admin.Ring) (ringView, error) {
	var st admin.RingStatus
	switch err := q.get("/api/v1/rings/"+ring.ID.String()+"/status", url.Values{"limit": {strconv.Itoa(maxWaitingShown)}}, &st); {
	case err == nil:
		return ringStatuses{byRing: map[uuid.UUID]admin.RingStatus{ring.ID: st}}.ring(ring), nil
	case statusOf(err) == http.StatusUnauthorized:
		return ringView{Ring: ring}, err
	default:
		return ringStatuses{err: reasonOf(err)}.ring(ring), nil
	}
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
	New bool
	// Rule is the rule as stored (a new rule's defaults); Form is what
	// the form's fields show: the rule's values, or what the person typed
	// when the API refused it (Stale: because the rule changed meanwhile).
	Rule  admin.Rule
	Form  ruleForm
	Stale bool
	// ETag is the rule's as the form read it, sent back as If-Match.
	ETag                      string
	Products, Classifications []admin.Category
	Groups                    []admin.Group
	Rings                     []ringView
}

// Selected tells whether the form checks the category or group id.
func (d ruleData) Selected(id uuid.UUID) bool { return d.Form.checked[id.String()] }

// ruleForm is the values of the rule form's fields.
type ruleForm struct {
	Name, Action string
	Enabled      bool
	// Deadline is the deadline field's text ("" when none).
	Deadline string
	// checked holds the checked products, classifications and groups:
	// their IDs in lower case.
	checked map[string]bool
}

// ruleFormOf is the rule form showing r.
func ruleFormOf(r admin.Rule) ruleForm {
	f := ruleForm{Name: r.Name, Action: r.Action, Enabled: r.Enabled, checked: map[string]bool{}}
	if r.DeadlineDays != nil {
		f.Deadline = strconv.Itoa(*r.DeadlineDays)
	}
	for _, c := range append(slices.Clone(r.Products), r.Classifications...) {
		f.checked[c.ID.String()] = true
	}
	for _, g := range r.Groups {
		f.checked[g.ID.String()] = true
	}
	return f
}

// typedRuleForm is the rule form showing what the person typed in v.
func typedRuleForm(v url.Values) ruleForm {
	f := ruleForm{Name: v.Get("name"), Action: v.Get("action"), Enabled: v.Get("enabled") != "",
		Deadline: v.Get("deadline_days"), checked: map[string]bool{}}
	for _, key := range []string{"products", "classifications", "groups"} {
		for _, id := range v[key] {
			f.checked[strings.ToLower(strings.TrimSpace(id))] = true
		}
	}
	return f
}

// newRulePage serves the form of a new rule.
func (c *Console) newRulePage(q *request) error {
	d, err := loadNewRule(q)
	if err != nil {
		return err
	}
	return q.render("rule", "New approval rule", "rules", d)
}

// loadNewRule reads the page of a new rule.
func loadNewRule(q *request) (ruleData, error) {
	d := ruleData{New: true, Rule: admin.Rule{Enabled: true, Action: "Install"}}
	d.Form = ruleFormOf(d.Rule)
	return d, loadRuleChoices(q, &d)
}

// newRuleAgain answers a refused new rule with its form again.
func (c *Console) newRuleAgain(q *request, status int, f flash) error {
	d, err := loadNewRule(q)
	if err != nil {
		return err
	}
	d.Form = typedRuleForm(q.r.PostForm)
	q.c.renderPage(q.w, q.r, q.s, status, "rule", "New approval rule", "rules", d, f)
	return nil
}

// rulePage serves one rule's form with its rings.
func (c *Console) rulePage(q *request) error {
	d, err := loadRule(q)
	if err != nil {
		return err
	}
	return q.render("rule", "Approval rule "+d.Rule.Name, "rules", d)
}

// loadRule reads the page of the rule the path names.
func loadRule(q *request) (ruleData, error) {
	var d ruleData
	etag, err := q.tagged(http.MethodGet, "/api/v1/rules/"+url.PathEscape(q.r.PathValue("id")), "", nil, &d.Rule)
	if err != nil {
		return d, err
	}
	d.ETag, d.Form = etag, ruleFormOf(d.Rule)
	if err := loadRuleChoices(q, &d); err != nil {
		return d, err
	}
	statuses, err := readRingStatuses(q)
	if err != nil {
		return d, err
	}
	d.Rings = statuses.rule(d.Rule).Rings
	return d, nil
}

// ruleAgain answers a refused edit of a rule with its page again: the
// rule and its rings as they are, the form as the person filled it, with
// the ETag it was read with (a change meanwhile is still refused).
func (c *Console) ruleAgain(q *request, status int, f flash) error {
	d, err := loadRule(q)
	if err != nil {
		return err
	}
	d.Form, d.ETag, d.Stale = typedRuleForm(q.r.PostForm), q.r.PostForm.Get("etag"), status == http.StatusPreconditionFailed
	q.c.renderPage(q.w, q.r, q.s, status, "rule", "Approval rule "+d.Rule.Name, "rules", d, f)
	return nil
}

// loadRuleChoices reads the products, classifications and groups the rule
// form offers.
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
	New  bool
	Rule admin.Rule
	// Ring is the ring as stored; Form is what the form's fields show:
	// the ring's values, or what the person typed when the API refused it
	// (Stale: because the ring changed meanwhile).
	Ring   ringView
	Form   ringForm
	Stale  bool
	ETag   string
	Groups []admin.Group
}

// ringForm is the values of the ring form's fields, as text.
type ringForm struct {
	Name, Position, Group, DelayDays, DelayFrom string
	// MinInstalledPercent, MinInstalls and MaxFailedPercent are the gate's
	// ("" when the ring has no gate, or no failure limit).
	MinInstalledPercent, MinInstalls, MaxFailedPercent string
}

// ringFormOf is the ring form showing r.
func ringFormOf(r admin.Ring) ringForm {
	f := ringForm{Name: r.Name, Position: strconv.Itoa(r.Position), DelayDays: strconv.Itoa(r.DelayDays), DelayFrom: r.DelayFrom}
	if r.GroupID != uuid.Nil {
		f.Group = r.GroupID.String()
	}
	if g := r.Gate; g != nil {
		f.MinInstalledPercent, f.MinInstalls = strconv.FormatFloat(g.MinInstalledPercent, 'f', -1, 64), strconv.Itoa(g.MinInstalls)
		if g.MaxFailedPercent != nil {
			f.MaxFailedPercent = strconv.FormatFloat(*g.MaxFailedPercent, 'f', -1, 64)
		}
	}
	return f
}

// typedRingForm is the ring form showing what the person typed in v.
func typedRingForm(v url.Values) ringForm {
	return ringForm{Name: v.Get("name"), Position: v.Get("position"), Group: v.Get("group"), DelayDays: v.Get("delay_days"),
		DelayFrom: v.Get("delay_from"), MinInstalledPercent: v.Get("min_installed_percent"), MinInstalls: v.Get("min_installs"),
		MaxFailedPercent: v.Get("max_failed_percent")}
}

// Selects tells whether the form's group is g (by ID or name, as the API
// resolves a group).
func (f ringForm) Selects(g admin.Group) bool {
	ref := strings.TrimSpace(f.Group)
	return strings.EqualFold(ref, g.ID.String()) || strings.EqualFold(ref, g.Name)
}

// newRingPage serves the form of a new ring of a rule, at the position
// after its last ring.
func (c *Console) newRingPage(q *request) error {
	d, err := loadNewRing(q)
	if err != nil {
		return err
	}
	return q.render("ring", "New ring of "+d.Rule.Name, "rules", d)
}

// loadNewRing reads the page of a new ring of the rule the path names.
func loadNewRing(q *request) (ringData, error) {
	d := ringData{New: true}
	if err := q.get("/api/v1/rules/"+url.PathEscape(q.r.PathValue("id")), nil, &d.Rule); err != nil {
		return d, err
	}
	d.Ring.Position = 1
	for _, r := range d.Rule.Rings {
		d.Ring.Position = max(d.Ring.Position, r.Position+1)
	}
	d.Ring.DelayFrom = "release"
	d.Form = ringFormOf(d.Ring.Ring)
	return d, loadGroups(q, &d)
}

// newRingAgain answers a refused new ring with its form again.
func (c *Console) newRingAgain(q *request, status int, f flash) error {
	d, err := loadNewRing(q)
	if err != nil {
		return err
	}
	d.Form = typedRingForm(q.r.PostForm)
	q.c.renderPage(q.w, q.r, q.s, status, "ring", "New ring of "+d.Rule.Name, "rules", d, f)
	return nil
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
	d, err := loadRing(q)
	if err != nil {
		return err
	}
	return q.render("ring", "Ring "+d.Ring.Name, "rules", d)
}

// loadRing reads the page of the ring the path names.
func loadRing(q *request) (ringData, error) {
	var d ringData
	var ring admin.Ring
	etag, err := q.tagged(http.MethodGet, "/api/v1/rings/"+url.PathEscape(q.r.PathValue("id")), "", nil, &ring)
	if err != nil {
		return d, err
	}
	d.ETag, d.Form = etag, ringFormOf(ring)
	if d.Ring, err = ringWithStatus(q, ring); err != nil {
		return d, err
	}
	if err := q.get("/api/v1/rules/"+ring.RuleID.String(), nil, &d.Rule); err != nil {
		return d, err
	}
	return d, loadGroups(q, &d)
}

// ringAgain answers a refused edit of a ring with its page again: the
// ring and its status as they are, the form as the person filled it,
// with the ETag it was read with.
func (c *Console) ringAgain(q *request, status int, f flash) error {
	d, err := loadRing(q)
	if err != nil {
		return err
	}
	d.Form, d.ETag, d.Stale = typedRingForm(q.r.PostForm), q.r.PostForm.Get("etag"), status == http.StatusPreconditionFailed
	q.c.renderPage(q.w, q.r, q.s, status, "ring", "Ring "+d.Ring.Name, "rules", d, f)
	return nil
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

// autoDeclineForm is the values of the automatic decline form's fields.
type autoDeclineForm struct {
	Superseded bool
	// GraceDays, Architectures, Languages (comma-separated) and Editions
	// (one a line) are the fields' text.
	GraceDays, Architectures, Languages, Editions string
}

// autoDeclineFormOf is the automatic decline form showing s.
func autoDeclineFormOf(s admin.AutoDecline) autoDeclineForm {
	return autoDeclineForm{Superseded: s.Superseded, GraceDays: strconv.Itoa(s.SupersededGraceDays),
		Architectures: strings.Join(s.Architectures, ", "), Languages: strings.Join(s.Languages, ", "), Editions: strings.Join(s.Editions, "\n")}
}

// autoDeclineAgain answers refused automatic decline settings with the
// rules page again, the form as the person filled it, with the ETag it
// was read with.
func (c *Console) autoDeclineAgain(q *request, status int, f flash) error {
	d, err := loadRulesData(q)
	if err != nil {
		return err
	}
	v := q.r.PostForm
	d.AutoDeclineForm = autoDeclineForm{Superseded: v.Get("superseded") != "", GraceDays: v.Get("superseded_grace_days"),
		Architectures: v.Get("architectures"), Languages: v.Get("languages"), Editions: v.Get("editions")}
	d.AutoDeclineETag, d.Stale = v.Get("etag"), status == http.StatusPreconditionFailed
	q.c.renderPage(q.w, q.r, q.s, status, "rules", "Rules and rings", "rules", d, f)
	return nil
}
