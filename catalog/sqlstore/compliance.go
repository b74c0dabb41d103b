package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file answers the admin views (catalog.ComplianceStore) from the
// columns and counts rollups.go keeps: an update is listed as its newest
// revision (revision.is_newest) unless a bundle names it
// (revision.is_bundled); its counts are update_compliance's; a computer's
// are its *_count columns. Lists are paged in SQL; every list and its total
// are read in one read transaction.

var _ catalog.ComplianceStore = (*Store)(nil)

// sqlArgs collects the parameters of a query built piece by piece.
type sqlArgs struct{ list []any }

// add appends v and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	a.list = append(a.list, v)
	return "$" + strconv.Itoa(len(a.list))
}

// byteOrder returns expr compared in byte order: PostgreSQL compares text
// by the database's collation unless told; SQLite's default is byte order.
func (s *Store) byteOrder(expr string) string {
	if s.d.Name() == "postgres" {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// uuidParam returns the placeholder p typed as a UUID where the engine
// cannot tell its type from where it stands (a SELECT list).
func (s *Store) uuidParam(p string) string {
	if s.d.Name() == "postgres" {
		return "CAST(" + p + " AS uuid)"
	}
	return p
}

// literals returns "IN (...)" of a list of UUIDs or integers written as SQL
// literals, "IN (NULL)" (matching nothing) when empty. Their text is safe
// (hexadecimal digits and dashes, or digits), and literals let the
// planners estimate how many rows match, which a bound JSON list hides
// from PostgreSQL's (it assumes 100 elements: a scan of update_status
// instead of its index for 50 updates).
func literals[T uuid.UUID | int | int32](list []T) string {
	if len(list) == 0 {
		return "IN (NULL)"
	}
	var b strings.Builder
	b.WriteString("IN (")
	for i, v := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		switch v := any(v).(type) {
		case uuid.UUID:
			b.WriteString("'" + v.String() + "'")
		default:
			fmt.Fprint(&b, v)
		}
	}
	b.WriteString(")")
	return b.String()
}

// likePattern returns the LIKE pattern (with ESCAPE '\') of "contains
// text", lower-cased: the columns it is matched against are lower-cased.
func likePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(text)) + "%"
}

// updateFrom returns the FROM clause of a query over updates whose other
// clauses are rest: revision r, joined to update_compliance uc and
// update_state us only when rest names them (a join per listed revision
// is most of the cost of a count).
func updateFrom(rest string) string {
	from := " FROM revision r"
	if strings.Contains(rest, "uc.") {
		from += " LEFT JOIN update_compliance uc ON uc.update_id = r.update_id"
	}
	if strings.Contains(rest, "us.") {
		from += " LEFT JOIN update_state us ON us.update_id = r.update_id"
	}
	return from
}

// The SQL of what an update is, over revision r, update_state us and
// update_compliance uc (updateFrom).
const (
	listedSQL = "r.is_newest = TRUE AND r.is_bundled = FALSE"
	// The sets below are uncorrelated subqueries: each engine reads them
	// once per query (SQLite into an ephemeral index, PostgreSQL into a
	// hashed subplan), not once per revision.
	declinedSet   = "(SELECT update_id FROM update_state WHERE declined = TRUE)"
	declinedSQL   = "r.update_id IN " + declinedSet
	notDeclined   = "r.update_id NOT IN " + declinedSet
	hasApproval   = "r.update_id IN (SELECT update_id FROM approval)"
	approvedSQL   = "(" + hasApproval + " AND " + notDeclined + ")"
	supersededSQL = `r.update_id IN (SELECT sd.update_id FROM supersedence sd
		JOIN revision r2 ON r2.id = sd.revision_id AND r2.is_newest = TRUE)`
	needingSQL = "r.update_id IN (SELECT update_id FROM update_compliance WHERE needed + failed > 0)"
	neededSQL  = "COALESCE(uc.needed, 0)"
	failedSQL  = "COALESCE(uc.failed, 0)"
)

// boolSQL is the condition of want on the condition cond.
func boolSQL(cond string, want bool) string {
	if want {
		return "(" + cond + ")"
	}
	return "NOT (" + cond + ")"
}

// updateWhere returns the WHERE clause of q (without its page and order).
func (s *Store) updateWhere(q catalog.UpdateQuery, a *sqlArgs) (string, error) {
	types := q.Types
	if len(types) == 0 {
		types = []catalog.UpdateType{catalog.TypeSoftware, catalog.TypeDriver}
	}
	for _, typ := range types {
		switch typ {
		case catalog.TypeSoftware, catalog.TypeDriver, catalog.TypeCategory, catalog.TypeDetectoid:
		default:
			return "", fmt.Errorf("unknown update type %q", typ)
		}
	}
	for _, v := range append([]string{q.Text, q.KB}, q.Severities...) {
		if err := catalog.CheckText("query text", v); err != nil {
			return "", err
		}
	}
	// The types are known constants, written as literals: the planners
	// estimate them far better than a bound list.
	lits := make([]string, len(types))
	for i, typ := range types {
		lits[i] = "'" + string(typ) + "'"
	}
	w := []string{listedSQL, "r.update_type IN (" + strings.Join(lits, ", ") + ")"}
	if q.Text != "" {
		like := `LIKE ` + a.add(likePattern(q.Text)) + ` ESCAPE '\'`
		if s.d.Name() == "sqlite" {
			// A set read by one pass over the table: SQLite would
			// otherwise walk the listed revisions' index
			// (revision_listed) and fetch each row apart.
			w = append(w, "r.id IN (SELECT t.id FROM revision t WHERE t.search_text "+like+")")
		} else {
			w = append(w, "r.search_text "+like)
		}
	}
	// Uncorrelated: the engines build the set of revisions once, from the
	// index on prerequisite.update_id.
	if len(q.Products) > 0 {
		w = append(w, "r.id IN (SELECT p.revision_id FROM prerequisite p WHERE p.update_id "+
			literals(q.Products)+")")
	}
	if len(q.Classifications) > 0 {
		w = append(w, "r.id IN (SELECT p.revision_id FROM prerequisite p WHERE p.update_id "+
			literals(q.Classifications)+")")
	}
	if len(q.Severities) > 0 {
		w = append(w, "r.msrc_severity "+s.d.InList(a.add(jsonList(q.Severities)), "text"))
	}
	if q.KB != "" {
		kb := q.KB
		if len(kb) > 2 && strings.EqualFold(kb[:2], "KB") {
			kb = kb[2:]
		}
		w = append(w, "r.kb_article_id = "+a.add(kb))
	}
	if q.Approved != nil {
		w = append(w, boolSQL(approvedSQL, *q.Approved))
	}
	if q.Declined != nil {
		w = append(w, boolSQL(declinedSQL, *q.Declined))
	}
	if q.Superseded != nil {
		w = append(w, boolSQL(supersededSQL, *q.Superseded))
	}
	if q.ApprovedFor != uuid.Nil {
		w = append(w, notDeclined+" AND r.update_id IN (SELECT update_id FROM approval WHERE group_id = "+a.add(q.ApprovedFor)+")")
	}
	if !q.ReleasedAfter.IsZero() {
		if err := catalog.CheckTime("ReleasedAfter", q.ReleasedAfter); err != nil {
			return "", err
		}
		w = append(w, "r.creation_date >= "+a.add(s.d.Time(s.truncate(q.ReleasedAfter))))
	}
	if !q.ReleasedBefore.IsZero() {
		if err := catalog.CheckTime("ReleasedBefore", q.ReleasedBefore); err != nil {
			return "", err
		}
		w = append(w, "r.creation_date < "+a.add(s.d.Time(s.truncate(q.ReleasedBefore))))
	}
	if q.MinNeeded > 0 {
		w = append(w, neededSQL+" >= "+a.add(q.MinNeeded))
	}
	if q.MinFailed > 0 {
		w = append(w, failedSQL+" >= "+a.add(q.MinFailed))
	}
	return " WHERE " + strings.Join(w, " AND "), nil
}

// updateOrder returns the ORDER BY clause of q: its sort, then UpdateID.
func (s *Store) updateOrder(q catalog.UpdateQuery) string {
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	var keys []string
	switch q.Sort {
	case catalog.SortByTitle:
		keys = []string{s.byteOrder("r.title")}
	case catalog.SortByKB:
		// Numbers of different lengths sort by length first, as numbers.
		keys = []string{"length(r.kb_article_id)", s.byteOrder("r.kb_article_id")}
	case catalog.SortBySeverity:
		keys = []string{"CASE r.msrc_severity WHEN 'Critical' THEN 0 WHEN 'Important' THEN 1 WHEN 'Moderate' THEN 2 WHEN 'Low' THEN 3 ELSE 4 END"}
	case catalog.SortByClassification:
		keys = []string{s.byteOrder(`COALESCE((SELECT c.title FROM prerequisite p
			JOIN revision c ON c.update_id = p.update_id AND c.is_newest = TRUE AND c.category_type = 'UpdateClassification'
			WHERE p.revision_id = r.id ORDER BY p.clause_no, p.position LIMIT 1), '')`)}
	case catalog.SortByNeeded:
		keys = []string{neededSQL}
	case catalog.SortByFailed:
		keys = []string{failedSQL}
	case catalog.SortByInstalled:
		keys = []string{"COALESCE(uc.installed, 0)"}
	default: // released; no date sorts as the oldest
		keys = []string{"CASE WHEN r.creation_date IS NULL THEN 0 ELSE 1 END", "r.creation_date"}
	}
	for i := range keys {
		keys[i] += dir
	}
	return " ORDER BY " + strings.Join(keys, ", ") + ", r.update_id ASC"
}

// ListUpdates returns one page of the updates q selects, one row per
// update (its newest revision), bundle members left out, and how many q
// selects in all; see catalog.ComplianceStore.
func (s *Store) ListUpdates(ctx context.Context, q catalog.UpdateQuery) ([]catalog.UpdateView, int, error) {
	const op = "list updates"
	limit, offset, err := q.Page.Resolve()
	if err != nil {
		return nil, 0, s.invalid(op, err)
	}
	if !q.Sort.Valid() {
		return nil, 0, s.invalid(op, fmt.Errorf("unknown sort %q", q.Sort))
	}
	var a sqlArgs
	where, err := s.updateWhere(q, &a)
	if err != nil {
		return nil, 0, s.invalid(op, err)
	}
	order := s.updateOrder(q)
	var total int
	views, err := readOne(ctx, s, op, func(t *tx) ([]catalog.UpdateView, error) {
		// SQLite: the page and the total in one pass (a window count); a
		// page past the end has no row to carry the total, which a count
		// then reads. PostgreSQL: a count, then the page (its window
		// count sorts every row in parallel workers first, twice the
		// time of both).
		var ids []int32
		total = -1
		page := slices.Clone(a.list)
		pa := sqlArgs{page}
		window := ", count(*) OVER ()"
		if s.d.Name() == "postgres" {
			window = ""
			if err := t.queryRow(ctx, "SELECT count(*)"+updateFrom(where)+where, a.list...).Scan(num(&total)); err != nil {
				return nil, fmt.Errorf("count: %w", err)
			}
			if total <= offset {
				return nil, nil
			}
		}
		err := t.query(ctx, "SELECT r.id"+window+updateFrom(where+order)+where+order+
			" LIMIT "+pa.add(limit)+" OFFSET "+pa.add(offset), pa.list,
			func(row Row) error {
				var id int32
				dest := []any{num(&id)}
				if window != "" {
					dest = append(dest, num(&total))
				}
				err := row.Scan(dest...)
				ids = append(ids, id)
				return err
			})
		if err != nil {
			return nil, err
		}
		if total < 0 {
			if err := t.queryRow(ctx, "SELECT count(*)"+updateFrom(where)+where, a.list...).Scan(num(&total)); err != nil {
				return nil, fmt.Errorf("count: %w", err)
			}
			return nil, nil
		}
		return updateViews(ctx, t, ids)
	})
	if err != nil {
		return nil, 0, err
	}
	return views, total, nil
}

// UpdateView returns one update as its newest revision; a bundle member is
// found too. An update without a revision is an error wrapping
// catalog.ErrNotFound.
func (s *Store) UpdateView(ctx context.Context, updateID uuid.UUID) (catalog.UpdateView, error) {
	return readOne(ctx, s, "update view "+updateID.String(), func(t *tx) (catalog.UpdateView, error) {
		var id int32
		err := t.queryRow(ctx, "SELECT id FROM revision WHERE update_id = $1 AND is_newest = TRUE", updateID).Scan(num(&id))
		if errors.Is(err, sql.ErrNoRows) {
			return catalog.UpdateView{}, catalog.ErrNotFound
		}
		if err != nil {
			return catalog.UpdateView{}, err
		}
		views, err := updateViews(ctx, t, []int32{id})
		if err != nil {
			return catalog.UpdateView{}, err
		}
		if len(views) != 1 {
			return catalog.UpdateView{}, catalog.ErrNotFound
		}
		return views[0], nil
	})
}

// updateViews reads the views of the given newest revisions, in their
// order.
func updateViews(ctx context.Context, t *tx, ids []int32) ([]catalog.UpdateView, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	d := t.s.d
	idList := jsonList(ids)
	byRev := make(map[int32]*catalog.UpdateView, len(ids))
	byUpdate := make(map[uuid.UUID]*catalog.UpdateView, len(ids))
	var updateIDs []uuid.UUID
	var computers int
	if err := t.queryRow(ctx, "SELECT count(*) FROM computer").Scan(num(&computers)); err != nil {
		return nil, fmt.Errorf("count computers: %w", err)
	}
	err := t.query(ctx, `SELECT r.id, r.update_id, r.revision_number, r.update_type, r.title, r.description,
		r.kb_article_id, r.msrc_severity, r.cves, r.languages, r.creation_date, r.publication_state,
		COALESCE(us.declined, FALSE), COALESCE(uc.installed, 0), COALESCE(uc.needed, 0), COALESCE(uc.failed, 0),
		COALESCE(uc.not_applicable, 0)`+updateFrom("uc. us.")+" WHERE r.id "+d.InList("$1", "integer"), []any{idList},
		func(row Row) error {
			v := &catalog.UpdateView{}
			var typ string
			c := &v.Computers
			if err := row.Scan(num(&v.RevisionID), uuidDest{&v.UpdateID}, num(&v.RevisionNumber), &typ, &v.Title, &v.Description,
				&v.KBArticleID, &v.MsrcSeverity, stringsDest(&v.CVEs), stringsDest(&v.Languages), timeDest{&v.Released},
				&v.PublicationState, &v.Declined, num(&c.Installed), num(&c.Needed), num(&c.Failed), num(&c.NotApplicable)); err != nil {
				return err
			}
			v.Type = catalog.UpdateType(typ)
			c.NoStatus = max(0, computers-c.Installed-c.Needed-c.Failed-c.NotApplicable)
			byRev[v.RevisionID] = v
			byUpdate[v.UpdateID] = v
			updateIDs = append(updateIDs, v.UpdateID)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("updates: %w", err)
	}
	// Products and classifications: the categories of those types the
	// prerequisites name, in document order, once each.
	err = t.query(ctx, `SELECT p.revision_id, p.update_id, c.category_type FROM prerequisite p
		JOIN revision c ON c.update_id = p.update_id AND c.is_newest = TRUE
		WHERE p.revision_id `+d.InList("$1", "integer")+` AND c.category_type IN ('Product', 'UpdateClassification')
		ORDER BY p.revision_id, p.clause_no, p.position`, []any{idList}, func(row Row) error {
		var id int32
		var u uuid.UUID
		var kind string
		if err := row.Scan(num(&id), uuidDest{&u}, &kind); err != nil {
			return err
		}
		v := byRev[id]
		if v == nil {
			return nil
		}
		list := &v.Products
		if kind == "UpdateClassification" {
			list = &v.Classifications
		}
		if !slices.Contains(*list, u) {
			*list = append(*list, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	edges := make(map[int32]*catalog.Summary, len(ids))
	err = readEdges(ctx, t, "revision_id "+d.InList("$1", "integer"), []any{idList}, func(id int32) (*catalog.Summary, error) {
		sm := edges[id]
		if sm == nil {
			sm = &catalog.Summary{}
			edges[id] = sm
		}
		return sm, nil
	})
	if err != nil {
		return nil, err
	}
	for id, sm := range edges {
		if v := byRev[id]; v != nil {
			v.Supersedes, v.BundledUpdates = sm.SupersededUpdates, sm.BundledUpdates
		}
	}
	err = t.query(ctx, `SELECT DISTINCT sd.update_id, r2.update_id FROM supersedence sd
		JOIN revision r2 ON r2.id = sd.revision_id AND r2.is_newest = TRUE
		WHERE sd.update_id `+literals(updateIDs), nil, func(row Row) error {
		var u, by uuid.UUID
		if err := row.Scan(uuidDest{&u}, uuidDest{&by}); err != nil {
			return err
		}
		if v := byUpdate[u]; v != nil {
			v.SupersededBy = append(v.SupersededBy, by)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("superseding updates: %w", err)
	}
	err = t.query(ctx, `SELECT id, update_id, group_id, action, deadline, changed_at, changed_by FROM approval
		WHERE update_id `+literals(updateIDs)+` ORDER BY id`, nil, func(row Row) error {
		var ap catalog.Approval
		var action string
		if err := row.Scan(num(&ap.ID), uuidDest{&ap.UpdateID}, uuidDest{&ap.GroupID}, &action, timeDest{&ap.Deadline},
			timeDest{&ap.ChangedAt}, &ap.By); err != nil {
			return err
		}
		ap.Action = catalog.ApprovalAction(action)
		if v := byUpdate[ap.UpdateID]; v != nil {
			v.Approvals = append(v.Approvals, ap)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approvals: %w", err)
	}
	out := make([]catalog.UpdateView, 0, len(ids))
	for _, id := range ids {
		v := byRev[id]
		if v == nil {
			continue
		}
		slices.SortFunc(v.SupersededBy, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		out = append(out, *v)
	}
	return out, nil
}

// loadPlacer reads the target groups into the index that places computers
// in them as the scan engine does (catalog.GroupIndex.Place).
func loadPlacer(ctx context.Context, t *tx) (*catalog.GroupIndex, error) {
	var groups []catalog.TargetGroup
	err := t.query(ctx, "SELECT id, name, parent_id FROM target_group", nil, func(row Row) error {
		var g catalog.TargetGroup
		var parent uuid.NullUUID
		if err := row.Scan(uuidDest{&g.ID}, &g.Name, &parent); err != nil {
			return err
		}
		g.ParentID = parent.UUID
		groups = append(groups, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("target groups: %w", err)
	}
	return catalog.NewGroupIndex(groups), nil
}

// placementSQL returns the condition on the client ID column col of being
// in group (catalog.StatusQuery.Group), "" for every computer (zero, All
// Computers). An unknown group is an error wrapping catalog.ErrNotFound.
// Requested group names are resolved in Go, once per distinct stored list
// (computers share a few), and matched by the stored text. The condition
// holds only uncorrelated subqueries: the engines read each set of client
// IDs once, not once per row, and col need not be joined to computer.
func placementSQL(ctx context.Context, t *tx, group uuid.UUID, col string, a *sqlArgs) (string, error) {
	if group == uuid.Nil || group == catalog.AllComputersGroupID {
		return "", nil
	}
	p, err := loadPlacer(ctx, t)
	if err != nil {
		return "", err
	}
	if _, ok := p.Group(group); !ok {
		return "", fmt.Errorf("group %s: %w", group, catalog.ErrNotFound)
	}
	var inGroup, member []string // stored requested_groups texts
	err = t.query(ctx, "SELECT DISTINCT requested_groups FROM computer WHERE requested_groups IS NOT NULL", nil, func(row Row) error {
		var text string
		var names []string
		if err := row.Scan(&text); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(text), &names); err != nil {
			return fmt.Errorf("stored requested groups: %w", err)
		}
		set, isMember := p.Place(names, nil)
		if isMember {
			member = append(member, text)
			if set[group] {
				inGroup = append(inGroup, text)
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("requested groups: %w", err)
	}
	d := t.s.d
	assigned := "SELECT cg.client_id FROM computer_group cg WHERE cg.group_id " + literals(p.Below(group))
	conds := []string{col + " IN (" + assigned + ")"}
	if len(inGroup) > 0 {
		requested := "SELECT rc.id FROM computer rc WHERE rc.requested_groups " + d.InList(a.add(jsonList(inGroup)), "text")
		if t.s.d.Name() == "postgres" {
			// One set (a UNION, not an OR of two): PostgreSQL can then
			// join it to update_status either way round (a group's 50
			// popular updates: 320 ms with the OR, 190 ms with the
			// UNION at 30,000 computers). SQLite reads two sets faster
			// (190 ms against 360 ms).
			conds = []string{col + " IN (" + assigned + " UNION " + requested + ")"}
		} else {
			conds = append(conds, col+" IN ("+requested+")")
		}
	}
	if group == catalog.UnassignedComputersGroupID {
		c := "(" + col + " NOT IN (SELECT cg.client_id FROM computer_group cg WHERE cg.group_id <> " + a.add(catalog.AllComputersGroupID) + ")"
		if len(member) > 0 {
			c += " AND " + col + " NOT IN (SELECT rc.id FROM computer rc WHERE rc.requested_groups " +
				d.InList(a.add(jsonList(member)), "text") + ")"
		}
		conds = append(conds, c+")")
	}
	return "(" + strings.Join(conds, " OR ") + ")", nil
}

// statusStates returns the stored states the classes select, and whether
// they select ComplianceNoStatus; empty selects every class but NoStatus.
func statusStates(classes []catalog.Compliance) ([]int, bool, error) {
	if len(classes) == 0 {
		classes = []catalog.Compliance{catalog.ComplianceInstalled, catalog.ComplianceNeeded, catalog.ComplianceFailed,
			catalog.ComplianceNotApplicable}
	}
	var states []int
	noStatus := false
	for _, c := range classes {
		if !c.Valid() {
			return nil, false, fmt.Errorf("unknown compliance class %q", c)
		}
		if c == catalog.ComplianceNoStatus {
			noStatus = true
			continue
		}
		for _, st := range c.States() {
			if !slices.Contains(states, int(st)) {
				states = append(states, int(st))
			}
		}
	}
	return states, noStatus, nil
}

// statusKeys names the expressions a state list sorts on, in one form of
// its query.
type statusKeys struct{ dns, client, title, update, kb, state, changed, lastStatus string }

// joinedStatusKeys are the keys of the query over update_status joined to
// computer (x, c) and revision (r); unionStatusKeys those of the UNION of
// stored states and no status (l).
var (
	joinedStatusKeys = statusKeys{dns: "c.dns_name", client: "c.id", title: "COALESCE(r.title, '')", update: "x.update_id",
		kb: "COALESCE(r.kb_article_id, '')", state: "x.state", changed: "x.changed_at", lastStatus: "c.last_status_time"}
	unionStatusKeys = statusKeys{dns: "l.dns_name", client: "l.client_id", title: "l.title", update: "l.update_id",
		kb: "l.kb", state: "l.state", changed: "l.changed_at", lastStatus: "l.last_status"}
)

// statusOrder returns the ORDER BY of a state list (see
// catalog.StatusSort): q's key in q's direction, then DNS name, client ID,
// title and UpdateID ascending. One update's computers share a title: the
// title and UpdateID are left out, and the default order is then the
// computer_dns_name index's.
func (s *Store) statusOrder(q catalog.StatusQuery, k statusKeys) string {
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	name := []string{s.byteOrder(k.dns), s.byteOrder(k.client)}
	title := []string{s.byteOrder(k.title), k.update}
	var keys []string
	switch q.Sort {
	case catalog.StatusByTitle:
		keys, title = title, nil
	case catalog.StatusByKB:
		keys = []string{s.byteOrder(k.kb)}
	case catalog.StatusByState:
		// Failed, not installed, downloaded, pending reboot, installed,
		// not applicable, unknown (catalog.InstallState values).
		keys = []string{"CASE " + k.state + " WHEN 5 THEN 0 WHEN 2 THEN 1 WHEN 3 THEN 2 WHEN 6 THEN 3 WHEN 4 THEN 4 WHEN 1 THEN 5 ELSE 6 END"}
	case catalog.StatusByChanged:
		// A no-status row's change is not shown: it sorts as none.
		changed := "CASE WHEN " + k.state + " = 0 THEN NULL ELSE " + k.changed + " END"
		keys = []string{"CASE WHEN " + changed + " IS NULL THEN 0 ELSE 1 END", changed}
	case catalog.StatusByLastStatus:
		keys = []string{"CASE WHEN " + k.lastStatus + " IS NULL THEN 0 ELSE 1 END", k.lastStatus}
	default:
		keys, name = name, nil
	}
	for i := range keys {
		keys[i] += dir
	}
	if q.UpdateID != uuid.Nil {
		title = nil // one update: one title
	}
	return " ORDER BY " + strings.Join(slices.Concat(keys, name, title), ", ")
}

// ListStatuses returns one page of computer-update states; see
// catalog.ComplianceStore. ComplianceNoStatus selects, for q.UpdateID, the
// computers without a state for it (State StateUnknown, ChangedAt that of a
// stored unknown state or zero); without an UpdateID it selects nothing.
// An unknown group is an error wrapping catalog.ErrNotFound.
func (s *Store) ListStatuses(ctx context.Context, q catalog.StatusQuery) ([]catalog.StatusRow, int, error) {
	const op = "list statuses"
	limit, offset, err := q.Page.Resolve()
	if err != nil {
		return nil, 0, s.invalid(op, err)
	}
	states, noStatus, err := statusStates(q.Compliances)
	if err != nil {
		return nil, 0, s.invalid(op, err)
	}
	if err := catalog.CheckText("client ID", q.ClientID); err != nil {
		return nil, 0, s.invalid(op, err)
	}
	if !q.Sort.Valid() {
		return nil, 0, s.invalid(op, fmt.Errorf("unknown sort %q", q.Sort))
	}
	noStatus = noStatus && q.UpdateID != uuid.Nil
	var total int
	rows, err := readOne(ctx, s, op, func(t *tx) ([]catalog.StatusRow, error) {
		var a sqlArgs
		const cols = `c.id AS client_id, c.dns_name AS dns_name, x.update_id AS update_id, COALESCE(r.title, '') AS title,
			COALESCE(r.kb_article_id, '') AS kb, x.state AS state, x.error_code AS error_code, x.changed_at AS changed_at,
			c.last_status_time AS last_status`
		scan := func(row Row) (catalog.StatusRow, error) {
			var r catalog.StatusRow
			err := row.Scan(&r.ClientID, &r.DNSName, uuidDest{&r.UpdateID}, &r.Title, &r.KBArticleID, num(&r.State),
				num(&r.ErrorCode), timeDest{&r.ChangedAt}, timeDest{&r.LastStatus})
			return r, err
		}
		var branches []string
		if len(states) > 0 {
			w := []string{"x.state " + literals(states)}
			if q.UpdateID != uuid.Nil {
				w = append(w, "x.update_id = "+a.add(q.UpdateID))
			}
			if q.ClientID != "" {
				w = append(w, "x.client_id = "+a.add(q.ClientID))
			}
			place, err := placementSQL(ctx, t, q.Group, "x.client_id", &a)
			if err != nil {
				return nil, err
			}
			if place != "" {
				w = append(w, place)
			}
			where := " WHERE " + strings.Join(w, " AND ")
			if !noStatus {
				// Stored states only: counted from update_status alone
				// (from the update_status_update index when the update
				// is fixed), and listed in the order of the
				// computer_dns_name index when the update is fixed, so
				// that a page of an update every computer reported reads
				// a page of computers.
				if err := t.queryRow(ctx, "SELECT count(*) FROM update_status x"+where, a.list...).Scan(num(&total)); err != nil {
					return nil, fmt.Errorf("count: %w", err)
				}
				if total <= offset {
					return nil, nil
				}
				order := s.statusOrder(q, joinedStatusKeys)
				from := " FROM update_status x JOIN computer c ON c.id = x.client_id"
				if q.UpdateID != uuid.Nil && (q.Sort == "" || q.Sort == catalog.StatusByName) {
					// When a good part of the computers reported the
					// update, walking the computers in name order (the
					// computer_dns_name index) and looking each one's
					// state up finds a page soonest. SQLite takes the
					// tables in the order of a CROSS JOIN; PostgreSQL in
					// that of a LATERAL subquery it cannot flatten
					// (OFFSET 0).
					var computers int
					if err := t.queryRow(ctx, "SELECT count(*) FROM computer").Scan(num(&computers)); err != nil {
						return nil, fmt.Errorf("count computers: %w", err)
					}
					if total*4 >= computers {
						from = " FROM computer c CROSS JOIN update_status x ON x.client_id = c.id"
						if s.d.Name() == "postgres" {
							from = " FROM computer c JOIN LATERAL (SELECT * FROM update_status x1 WHERE x1.client_id = c.id AND x1.update_id = " +
								a.add(q.UpdateID) + " OFFSET 0) x ON TRUE"
						}
					}
				}
				var out []catalog.StatusRow
				err := t.query(ctx, "SELECT "+cols+from+`
					LEFT JOIN revision r ON r.update_id = x.update_id AND r.is_newest = TRUE`+where+order+
					" LIMIT "+a.add(limit)+" OFFSET "+a.add(offset), a.list, func(row Row) error {
					r, err := scan(row)
					out = append(out, r)
					return err
				})
				return out, err
			}
			branches = append(branches, "SELECT "+cols+` FROM update_status x JOIN computer c ON c.id = x.client_id
				LEFT JOIN revision r ON r.update_id = x.update_id AND r.is_newest = TRUE`+where)
		}
		if noStatus {
			u := s.uuidParam(a.add(q.UpdateID))
			w := []string{"(x.state IS NULL OR x.state = 0)"}
			if q.ClientID != "" {
				w = append(w, "c.id = "+a.add(q.ClientID))
			}
			place, err := placementSQL(ctx, t, q.Group, "c.id", &a)
			if err != nil {
				return nil, err
			}
			if place != "" {
				w = append(w, place)
			}
			branches = append(branches, `SELECT c.id AS client_id, c.dns_name AS dns_name, `+u+` AS update_id,
				COALESCE(r.title, '') AS title, COALESCE(r.kb_article_id, '') AS kb, 0 AS state, 0 AS error_code,
				x.changed_at AS changed_at, c.last_status_time AS last_status
				FROM computer c LEFT JOIN update_status x ON x.client_id = c.id AND x.update_id = `+u+`
				LEFT JOIN revision r ON r.update_id = `+u+` AND r.is_newest = TRUE WHERE `+strings.Join(w, " AND "))
		}
		if len(branches) == 0 {
			return nil, nil
		}
		from := " FROM (" + strings.Join(branches, " UNION ALL ") + ") AS l"
		if err := t.queryRow(ctx, "SELECT count(*)"+from, a.list...).Scan(num(&total)); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		if total <= offset {
			return nil, nil
		}
		order := s.statusOrder(q, unionStatusKeys)
		var out []catalog.StatusRow
		err = t.query(ctx, `SELECT l.client_id, l.dns_name, l.update_id, l.title, l.kb, l.state, l.error_code, l.changed_at,
			l.last_status`+from+order+" LIMIT "+a.add(limit)+" OFFSET "+a.add(offset), a.list, func(row Row) error {
			r, err := scan(row)
			out = append(out, r)
			return err
		})
		return out, err
	})
	if err != nil {
		return nil, 0, err
	}
	return rows, total, nil
}

// computerCounts is the SELECT list of a computer's counts.
const computerCounts = "installed_count, needed_count, failed_count, not_applicable_count"

// ListComputers returns one page of computers with their counts; see
// catalog.ComplianceStore. The text search lower-cases in the database
// (ASCII only on SQLite). An unknown group is an error wrapping
// catalog.ErrNotFound.
func (s *Store) ListComputers(ctx context.Context, q catalog.ComputerQuery) ([]catalog.ComputerView, int, error) {
	const op = "list computers"
	limit, offset, err := q.Page.Resolve()
	if err != nil {
		return nil, 0, s.invalid(op, err)
	}
	if !q.Sort.Valid() {
		return nil, 0, s.invalid(op, fmt.Errorf("unknown sort %q", q.Sort))
	}
	if err := errors.Join(catalog.CheckText("query text", q.Text), catalog.CheckTime("NotReportedSince", q.NotReportedSince)); err != nil {
		return nil, 0, s.invalid(op, err)
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	var keys []string
	switch q.Sort {
	case catalog.SortByLastStatus:
		keys = []string{"CASE WHEN c.last_status_time IS NULL THEN 0 ELSE 1 END", "c.last_status_time"}
	case catalog.SortByLastSync:
		keys = []string{"CASE WHEN c.last_sync IS NULL THEN 0 ELSE 1 END", "c.last_sync"}
	case catalog.SortByNeededMost:
		keys = []string{"c.needed_count"}
	case catalog.SortByFailedMost:
		keys = []string{"c.failed_count"}
	default:
		keys = []string{s.byteOrder("c.dns_name")}
	}
	for i := range keys {
		keys[i] += dir
	}
	order := " ORDER BY " + strings.Join(keys, ", ") + ", " + s.byteOrder("c.id") + " ASC"
	var total int
	views, err := readOne(ctx, s, op, func(t *tx) ([]catalog.ComputerView, error) {
		var a sqlArgs
		var w []string
		place, err := placementSQL(ctx, t, q.Group, "c.id", &a)
		if err != nil {
			return nil, err
		}
		if place != "" {
			w = append(w, place)
		}
		if q.Text != "" {
			p := a.add(likePattern(q.Text))
			w = append(w, "(lower(c.dns_name) LIKE "+p+` ESCAPE '\' OR lower(c.id) LIKE `+p+` ESCAPE '\')`)
		}
		if q.Needing {
			w = append(w, "c.needed_count + c.failed_count > 0")
		}
		if q.Failing {
			w = append(w, "c.failed_count > 0")
		}
		if !q.NotReportedSince.IsZero() {
			w = append(w, "(c.last_status_time IS NULL OR c.last_status_time < "+a.add(s.d.Time(s.truncate(q.NotReportedSince)))+")")
		}
		where := ""
		if len(w) > 0 {
			where = " WHERE " + strings.Join(w, " AND ")
		}
		if err := t.queryRow(ctx, "SELECT count(*) FROM computer c"+where, a.list...).Scan(num(&total)); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		if total <= offset {
			return nil, nil
		}
		var out []catalog.ComputerView
		var ids []string
		err = t.query(ctx, "SELECT "+computerListColumns+", "+computerCounts+" FROM computer c"+where+order+
			" LIMIT "+a.add(limit)+" OFFSET "+a.add(offset), a.list, func(row Row) error {
			var v catalog.ComputerView
			c := &v.Computer
			u := &v.Updates
			if err := row.Scan(&c.ID, &c.DNSName, stringsDest(&c.RequestedGroups), &c.Registered, num(&c.OSMajor), num(&c.OSMinor),
				num(&c.OSBuild), &c.OSDescription, &c.OSLocale, &c.Architecture, &c.Manufacturer, &c.Model, &c.ClientVersion,
				timeDest{&c.FirstSeen}, timeDest{&c.LastSync}, timeDest{&c.LastReport}, timeDest{&c.LastStatusTime},
				jsonDest[catalog.ComputerInfo]{&c.Info}, num(&u.Installed), num(&u.Needed), num(&u.Failed), num(&u.NotApplicable)); err != nil {
				return err
			}
			out = append(out, v)
			ids = append(ids, c.ID)
			return nil
		})
		if err != nil {
			return nil, err
		}
		groups := map[string][]uuid.UUID{}
		err = t.query(ctx, "SELECT client_id, group_id FROM computer_group WHERE client_id "+s.d.InList("$1", "text")+
			" ORDER BY group_id", []any{jsonList(ids)}, func(row Row) error {
			var id string
			var g uuid.UUID
			if err := row.Scan(&id, uuidDest{&g}); err != nil {
				return err
			}
			groups[id] = append(groups[id], g)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("computer groups: %w", err)
		}
		for i := range out {
			out[i].Groups = groups[out[i].ID]
		}
		return out, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return views, total, nil
}

// GroupCounts counts the computers of group in each class for each listed
// update; see catalog.ComplianceStore. An unknown group is an error
// wrapping catalog.ErrNotFound.
func (s *Store) GroupCounts(ctx context.Context, group uuid.UUID, updateIDs []uuid.UUID) (map[uuid.UUID]catalog.ComplianceCounts, error) {
	op := "group counts of " + group.String()
	return readOne(ctx, s, op, func(t *tx) (map[uuid.UUID]catalog.ComplianceCounts, error) {
		var a sqlArgs
		place, err := placementSQL(ctx, t, group, "c.id", &a)
		if err != nil {
			return nil, err
		}
		where := ""
		if place != "" {
			where = " WHERE " + place
		}
		var computers int
		if err := t.queryRow(ctx, "SELECT count(*) FROM computer c"+where, a.list...).Scan(num(&computers)); err != nil {
			return nil, fmt.Errorf("count computers: %w", err)
		}
		out := make(map[uuid.UUID]catalog.ComplianceCounts, len(updateIDs))
		for _, u := range updateIDs {
			out[u] = catalog.ComplianceCounts{NoStatus: computers}
		}
		if len(updateIDs) == 0 {
			return out, nil
		}
		a = sqlArgs{}
		var q string
		if place == "" {
			// Every computer: the kept counts.
			q = "SELECT update_id, installed, needed, failed, not_applicable FROM update_compliance WHERE update_id " +
				literals(updateIDs)
		} else {
			// From the update_status_update index alone: (update_id,
			// state, client_id) holds all this reads.
			placeX, err := placementSQL(ctx, t, group, "x.client_id", &a)
			if err != nil {
				return nil, err
			}
			q = `SELECT x.update_id, sum(CASE WHEN x.state = 4 THEN 1 ELSE 0 END),
				sum(CASE WHEN x.state IN (2, 3, 6) THEN 1 ELSE 0 END), sum(CASE WHEN x.state = 5 THEN 1 ELSE 0 END),
				sum(CASE WHEN x.state = 1 THEN 1 ELSE 0 END)
				FROM update_status x
				WHERE x.update_id ` + literals(updateIDs) + " AND " + placeX + " GROUP BY x.update_id"
		}
		err = t.query(ctx, q, a.list, func(row Row) error {
			var u uuid.UUID
			var c catalog.ComplianceCounts
			if err := row.Scan(uuidDest{&u}, num(&c.Installed), num(&c.Needed), num(&c.Failed), num(&c.NotApplicable)); err != nil {
				return err
			}
			c.NoStatus = max(0, computers-c.Installed-c.Needed-c.Failed-c.NotApplicable)
			out[u] = c
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("counts: %w", err)
		}
		return out, nil
	})
}

// GroupCompliance rolls up every target group: All Computers first, then
// Unassigned Computers, then the others by name (byte order) and ID; see
// catalog.ComplianceStore. The database sums the computers by what places
// them (their requested groups and their assigned groups, a few distinct
// values), and each sum is placed once, as the scan places computers.
func (s *Store) GroupCompliance(ctx context.Context, notReportedSince time.Time) ([]catalog.GroupCompliance, error) {
	const op = "group compliance"
	if err := catalog.CheckTime("notReportedSince", notReportedSince); err != nil {
		return nil, s.invalid(op, err)
	}
	agg := "group_concat(group_id, ',')"
	if s.d.Name() == "postgres" {
		agg = "string_agg(CAST(group_id AS text), ',' ORDER BY group_id)"
	}
	return readOne(ctx, s, op, func(t *tx) ([]catalog.GroupCompliance, error) {
		p, err := loadPlacer(ctx, t)
		if err != nil {
			return nil, err
		}
		byGroup := make(map[uuid.UUID]*catalog.GroupCompliance, len(p.Groups()))
		for id, g := range p.Groups() {
			byGroup[id] = &catalog.GroupCompliance{GroupID: id, Name: g.Name}
		}
		err = t.query(ctx, `SELECT c.requested_groups, g.groups, count(*),
			sum(CASE WHEN c.needed_count + c.failed_count > 0 THEN 1 ELSE 0 END),
			sum(CASE WHEN c.failed_count > 0 THEN 1 ELSE 0 END),
			sum(CASE WHEN c.needed_count + c.failed_count = 0 AND c.last_status_time IS NOT NULL THEN 1 ELSE 0 END),
			sum(CASE WHEN c.last_status_time IS NULL OR c.last_status_time < $1 THEN 1 ELSE 0 END),
			sum(c.installed_count), sum(c.needed_count), sum(c.failed_count), sum(c.not_applicable_count)
			FROM computer c LEFT JOIN (SELECT client_id, `+agg+` AS groups FROM computer_group GROUP BY client_id) g
				ON g.client_id = c.id
			GROUP BY c.requested_groups, g.groups`, []any{s.d.Time(s.truncate(notReportedSince))}, func(row Row) error {
			var requested, assignedText sql.NullString
			var r catalog.GroupCompliance
			u := &r.Updates
			if err := row.Scan(&requested, &assignedText, num(&r.Computers), num(&r.NeedingUpdates), num(&r.WithFailures),
				num(&r.UpToDate), num(&r.NotReported), num(&u.Installed), num(&u.Needed), num(&u.Failed), num(&u.NotApplicable)); err != nil {
				return err
			}
			var names []string
			if requested.Valid {
				if err := json.Unmarshal([]byte(requested.String), &names); err != nil {
					return fmt.Errorf("stored requested groups: %w", err)
				}
			}
			var assigned []uuid.UUID
			if assignedText.Valid {
				for _, g := range strings.Split(assignedText.String, ",") {
					id, err := uuid.Parse(g)
					if err != nil {
						return fmt.Errorf("assigned group %q: %w", g, err)
					}
					assigned = append(assigned, id)
				}
			}
			set, _ := p.Place(names, assigned)
			for g := range set {
				if sum := byGroup[g]; sum != nil {
					sum.Computers += r.Computers
					sum.NeedingUpdates += r.NeedingUpdates
					sum.WithFailures += r.WithFailures
					sum.UpToDate += r.UpToDate
					sum.NotReported += r.NotReported
					sum.Updates.Installed += u.Installed
					sum.Updates.Needed += u.Needed
					sum.Updates.Failed += u.Failed
					sum.Updates.NotApplicable += u.NotApplicable
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("computers: %w", err)
		}
		out := make([]catalog.GroupCompliance, 0, len(byGroup))
		for _, r := range byGroup {
			out = append(out, *r)
		}
		rank := func(id uuid.UUID) int {
			switch id {
			case catalog.AllComputersGroupID:
				return 0
			case catalog.UnassignedComputersGroupID:
				return 1
			}
			return 2
		}
		slices.SortFunc(out, func(a, b catalog.GroupCompliance) int {
			return cmp.Or(cmp.Compare(rank(a.GroupID), rank(b.GroupID)), strings.Compare(a.Name, b.Name),
				bytes.Compare(a.GroupID[:], b.GroupID[:]))
		})
		return out, nil
	})
}

// ComplianceSummary rolls up the server; see catalog.ComplianceStore.
func (s *Store) ComplianceSummary(ctx context.Context, notReportedSince time.Time) (catalog.ComplianceSummary, error) {
	const op = "compliance summary"
	if err := catalog.CheckTime("notReportedSince", notReportedSince); err != nil {
		return catalog.ComplianceSummary{}, s.invalid(op, err)
	}
	since := s.d.Time(s.truncate(notReportedSince))
	if since == nil {
		since = s.d.Time(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) // before every stored time
	}
	return readOne(ctx, s, op, func(t *tx) (catalog.ComplianceSummary, error) {
		var sum catalog.ComplianceSummary
		p := &sum.Pairs
		err := t.queryRow(ctx, `SELECT count(*),
			COALESCE(sum(CASE WHEN needed_count + failed_count > 0 THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN failed_count > 0 THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN needed_count + failed_count = 0 AND last_status_time IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN last_status_time IS NULL OR last_status_time < $1 THEN 1 ELSE 0 END), 0),
			COALESCE(sum(installed_count), 0), COALESCE(sum(needed_count), 0), COALESCE(sum(failed_count), 0),
			COALESCE(sum(not_applicable_count), 0)
			FROM computer`, since).Scan(num(&sum.Computers), num(&sum.NeedingUpdates), num(&sum.WithFailures), num(&sum.UpToDate),
			num(&sum.NotReported), num(&p.Installed), num(&p.Needed), num(&p.Failed), num(&p.NotApplicable))
		if err != nil {
			return sum, fmt.Errorf("computers: %w", err)
		}
		var a sqlArgs
		where, err := s.updateWhere(catalog.UpdateQuery{}, &a)
		if err != nil {
			return sum, err
		}
		// One pass over the listed revisions, every class a set read once.
		err = t.queryRow(ctx, `SELECT count(*),
			COALESCE(sum(CASE WHEN `+needingSQL+` AND `+notDeclined+` AND NOT (`+hasApproval+`) THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN `+approvedSQL+` THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN `+declinedSQL+` THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN `+supersededSQL+` THEN 1 ELSE 0 END), 0) FROM revision r`+where, a.list...).
			Scan(num(&sum.Updates), num(&sum.NeedingApproval), num(&sum.Approved), num(&sum.Declined), num(&sum.Superseded))
		if err != nil {
			return sum, fmt.Errorf("updates: %w", err)
		}
		return sum, nil
	})
}
